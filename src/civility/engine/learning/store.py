"""Model versions learnt from the newsroom, kept under the data directory:

    $CIVILITY_DATA_DIR/models/
        versions/<version>/adapter.json, adapter.npz   (one per `civility learn`)
        state.json   {"active": version or null, "previous": [...], "shadow": version or null}

The shipped model is the version with no adapter ("shipped"). `state.json` is replaced
atomically (written beside, fsynced, renamed) under a lock, so every process reading it sees
the old state or the new one, never half of one; servers re-read it when it changes. Each
change is copied to `state.good.json` too: if `state.json` is later found truncated or edited
into nonsense, every process reads the last good state instead (a warning says so), so a
process that starts then scores with the same version as those already running.

A version is checked in full before it is promoted, shadowed or rolled back to (`verify`): its
files, every array's shape and values, and a run on made-up comments in each of its languages.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..cascade import HEADS
from .adapter import ADAPTER_META, ADAPTER_WEIGHTS, Adapter, AdapterUnavailable
from .features import EMBEDDING_DIM, NGRAM_WIDTH, Features

logger = logging.getLogger(__name__)
SHIPPED = "shipped"
# Names are made by `learn`; anything else (a path, "..") is refused before touching the disk.
VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
STATE_FILE = "state.json"
GOOD_STATE_FILE = "state.good.json"  # a copy of the last state written


class StoreError(ValueError):
    """A store operation that cannot be done; the message says why."""


def default_data_dir() -> Path:
    return Path(os.environ.get("CIVILITY_DATA_DIR", Path.cwd() / "var"))


class ModelStore:
    def __init__(self, data_dir: str | Path | None = None):
        self.root = Path(data_dir if data_dir is not None else default_data_dir()) / "models"
        self.versions_dir = self.root / "versions"
        self._cache: dict[str, Adapter] = {}
        self.problem = ""  # set by state() when it had to use the last good state
        # Called with a verified adapter before it is promoted or shadowed: the site's engine
        # raises AdapterUnavailable if the version cannot run on it.
        self.check = None

    # -- state ----------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    @property
    def good_state_path(self) -> Path:
        return self.root / GOOD_STATE_FILE

    def state(self) -> dict:
        """{"active", "previous", "shadow", "changed"}. When state.json is unreadable, the
        last good state, and `self.problem` says so; StoreError when there is none."""
        self.problem = ""
        try:
            return _read_state(self.state_path)
        except FileNotFoundError:
            return _read_state(None)
        except StoreError as exc:
            try:
                good = _read_state(self.good_state_path)
            except (FileNotFoundError, StoreError):
                raise StoreError(
                    f"{exc}; there is no earlier good state to use: remove the file to return "
                    "to the shipped model, or promote a version"
                ) from None
            self.problem = f"{exc}; using the last good state ({GOOD_STATE_FILE})"
            logger.warning("model store: %s", self.problem)
            return good

    def signature(self) -> tuple[int, int] | None:
        """Cheap change detection for servers: the state file's (mtime_ns, inode)."""
        try:
            stat = self.state_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_ino

    @contextlib.contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write_state(self, state: dict) -> None:
        state = {**state, "changed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        text = json.dumps(state, indent=2) + "\n"
        for path in (self.state_path, self.good_state_path):
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".state-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise

    # -- versions -------------------------------------------------------------------------------

    def add(self, adapter: Adapter) -> Path:
        """Store a candidate (not active until promoted)."""
        if not VERSION_NAME.fullmatch(adapter.version) or ".." in adapter.version:
            raise StoreError(f"{adapter.version!r} is not a model version name")
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        target = self.versions_dir / adapter.version
        if target.exists():
            raise StoreError(f"version {adapter.version} already exists")
        staging = Path(tempfile.mkdtemp(dir=self.versions_dir, prefix=".incoming-"))
        try:
            adapter.save(staging)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    def versions(self) -> list[dict]:
        """Every stored version, oldest first, with its status and summary; a version whose
        adapter.json cannot be read is listed with its `problem`."""
        state = self.state()
        out = []
        if not self.versions_dir.exists():
            return out
        for folder in self.versions_dir.iterdir():
            meta_path = folder / ADAPTER_META
            if folder.name.startswith(".") or not meta_path.exists():
                continue
            problem = ""
            try:
                meta = _read_meta(folder)
            except StoreError as exc:
                meta, problem = {}, str(exc)
            report = meta.get("report")
            out.append(
                {
                    "version": folder.name,
                    "created": _text_or_none(meta.get("created")),
                    "parent": meta.get("parent"),
                    "base_version": meta.get("base_version"),
                    "adapted": _names(meta.get("languages")),
                    "opened": _names(meta.get("opened")),
                    "report": report if isinstance(report, dict) else {},
                    "status": self._status(folder.name, state),
                    "problem": problem,
                }
            )
        return sorted(out, key=lambda v: (v["created"] or "", v["version"]))

    @staticmethod
    def _status(version: str, state: dict) -> str:
        if version == state["active"]:
            return "active"
        if version == state["shadow"]:
            return "shadow"
        if version in state["previous"]:
            return "previous"
        return "candidate"

    def _require(self, version: str) -> None:
        if not VERSION_NAME.fullmatch(version or "") or ".." in version:
            raise StoreError(
                f"{version!r} is not a model version name (like nr-20261203-143332-8fd46f)"
            )
        if not (self.versions_dir / version / ADAPTER_META).exists():
            known = ", ".join(v["version"] for v in self.versions()) or "none"
            raise StoreError(f"no model version {version!r} (stored: {known})")

    def load(self, version: str) -> Adapter:
        """The version's adapter, its files checked (StoreError if they do not hold one)."""
        if version not in self._cache:
            self._require(version)
            self._cache[version] = _load_checked(self.versions_dir / version)
        return self._cache[version]

    def verify(self, version: str) -> Adapter:
        """Check a version in full before any process is told to use it: its files as `load`
        does, then a run on made-up comments in each language it adapts, whose scores must be
        probabilities, and its bands laid over the shipped policy. StoreError says what is
        wrong."""
        self._cache.pop(version, None)  # from the disk as it is now
        adapter = self.load(version)
        try:
            _trial_run(adapter)
        except Exception as exc:  # whatever breaks is a reason not to use it
            raise StoreError(f"version {version} cannot be used: {_why(exc)}") from exc
        return adapter

    # -- switching ------------------------------------------------------------------------------

    def promote(self, version: str | None = None) -> str:
        """Make `version` (default: the newest candidate) active for every process."""
        with self._locked():
            state = self.state()
            if version is None:
                candidates = [v for v in self.versions() if v["status"] in {"candidate", "shadow"}]
                if not candidates:
                    raise StoreError("no candidate version to promote; run `civility learn`")
                version = candidates[-1]["version"]
            if version == SHIPPED:
                version = None
            if version == state["active"]:
                raise StoreError(f"{version or SHIPPED} is already active")
            if version is not None:
                self._check(version)
            state["previous"].append(state["active"])
            state["active"] = version
            if state["shadow"] == version:
                state["shadow"] = None
            self._write_state(state)
        return version or SHIPPED

    def rollback(self) -> str:
        """Return to the version that was active before the current one."""
        with self._locked():
            state = self.state()
            if not state["previous"]:
                raise StoreError("nothing to roll back to: no version was active before this one")
            if state["previous"][-1] is not None:
                self._check(state["previous"][-1])
            state["active"] = state["previous"].pop()
            self._write_state(state)
        return state["active"] or SHIPPED

    def _check(self, version: str) -> None:
        """`verify`, then `self.check` (the site's engine: can it run this version?)."""
        adapter = self.verify(version)
        if self.check is not None:
            try:
                self.check(adapter)
            except Exception as exc:  # AdapterUnavailable, or the site's policy refusing it
                raise StoreError(f"version {version} cannot be used: {_why(exc)}") from exc

    def set_shadow(self, version: str | None) -> None:
        """Score new comments with `version` beside the active one (None: stop)."""
        with self._locked():
            state = self.state()
            if version is not None:
                self._require(version)
                if version == state["active"]:
                    raise StoreError(f"{version} is the active version")
                self._check(version)
            state["shadow"] = version
            self._write_state(state)

    # -- engines --------------------------------------------------------------------------------

    def active_adapter(self) -> Adapter | None:
        version = self.state()["active"]
        return self.load(version) if version else None

    def engines(self, base):
        """(active moderator, shadow moderator or None) on the shipped engine `base`. A version
        that cannot run on it (another shipped model, no encoder) is skipped with a warning."""
        state = self.state()
        active = _on(base, state["active"], self)
        shadow = _on(base, state["shadow"], self) if state["shadow"] else None
        return active or base, shadow


def _read_state(path: Path | None) -> dict:
    """A state file's contents, checked; None: the state with nothing stored yet."""
    raw = {}
    if path is not None:
        try:
            raw = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path} is unreadable: {_why(exc)}") from None
        if not isinstance(raw, dict):
            raise StoreError(f"{path} is unreadable: it holds no JSON object")
    state = {
        "active": raw.get("active"),
        "previous": raw.get("previous", []),
        "shadow": raw.get("shadow"),
        "changed": raw.get("changed"),
    }
    names = [state["active"], state["shadow"]]
    if not isinstance(state["previous"], list):
        raise StoreError(f"{path} is unreadable: 'previous' is not a list")
    names += state["previous"]
    for name in names:
        if name is not None and not (
            isinstance(name, str) and VERSION_NAME.fullmatch(name) and ".." not in name
        ):
            raise StoreError(f"{path} is unreadable: {name!r} is not a model version name")
    state["previous"] = list(state["previous"])
    return state


def _read_meta(folder: Path) -> dict:
    path = folder / ADAPTER_META
    try:
        meta = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"version {folder.name}: {path.name} is unreadable: {_why(exc)}") from None
    if not isinstance(meta, dict):
        raise StoreError(f"version {folder.name}: {path.name} holds no JSON object")
    return meta


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _text_or_none(value):
    return value if isinstance(value, str) else None


def _names(value) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _load_checked(folder: Path) -> Adapter:
    """Adapter.load, with every field and array checked: StoreError names the first problem."""
    version = folder.name
    meta = _read_meta(folder)

    def bad(what: str) -> StoreError:
        return StoreError(f"version {version} cannot be used: {what}")

    if meta.get("version") != version:
        raise bad(f"{ADAPTER_META} names version {meta.get('version')!r}")
    if not isinstance(meta.get("base_version"), str) or not meta["base_version"]:
        raise bad("it names no shipped model (base_version)")
    for key in ("languages", "opened", "language_columns", "heads"):
        value = meta.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(f"{key!r} is not a list of names")
    if not set(meta["opened"]) <= set(meta["languages"]):
        raise bad("it opens languages it does not adapt")
    unknown = sorted(set(meta["heads"]) - set(HEADS))
    if unknown:
        raise bad(f"unknown head(s) {', '.join(unknown)}")
    for key in ("approve_below", "reject_above"):
        bands = meta.get(key)
        if not isinstance(bands, dict):
            raise bad(f"{key!r} is not a table of bands")
        for language in meta["opened"]:
            value = bands.get(language)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad(f"no {key} band for {language}")
            if not 0.0 <= value <= 1.0:
                raise bad(f"the {key} band of {language} is {value}, not between 0 and 1")
    try:
        adapter = Adapter.load(folder)
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise bad(f"{ADAPTER_WEIGHTS} is unreadable: {_why(exc)}") from None
    stack_width = 3 + len(adapter.language_columns)
    for name, head in adapter.heads.items():
        shapes = {
            "ngram_index": (head.ngram_index, (len(head.ngram_weight),)),
            "embedding_weight": (head.embedding_weight, (EMBEDDING_DIM,)),
            "stack_weight": (head.stack_weight, (stack_width,)),
        }
        for part, (array, shape) in shapes.items():
            if array.shape != shape:
                raise bad(f"head {name}: {part} has shape {array.shape}, expected {shape}")
        index = head.ngram_index
        if index.size and (not np.issubdtype(index.dtype, np.integer) or index.min() < 0):
            raise bad(f"head {name}: ngram_index holds invalid columns")
        if index.size and index.max() >= NGRAM_WIDTH:
            raise bad(f"head {name}: ngram_index points past the n-gram block")
        arrays = (head.ngram_weight, head.embedding_weight, head.stack_weight)
        if (
            not all(np.isfinite(a).all() for a in arrays)
            or not np.isfinite([head.bias, head.stack_bias]).all()
        ):
            raise bad(f"head {name}: weights that are not finite numbers")
    return adapter


def _trial_run(adapter: Adapter) -> None:
    """Score made-up comments (random sentence embeddings, a few n-grams, middling shipped
    scores) in every language the adapter adapts, and lay its bands over the shipped policy.
    Raises if anything fails or a score is not a probability."""
    from ..policy import Policy

    languages = sorted(adapter.languages) or ["en"]
    rows = 4 * len(languages)
    rng = np.random.default_rng(0)
    features = Features(
        np.array([lang for lang in languages for _ in range(4)], dtype=object),
        np.full((rows, len(HEADS)), 0.5, np.float32),
        sp.random(rows, NGRAM_WIDTH, density=20 / NGRAM_WIDTH, format="csr", random_state=0),
        rng.standard_normal((rows, EMBEDDING_DIM)).astype(np.float32),
    )
    with np.errstate(all="ignore"):  # overflow shows as a non-finite score below
        scores = adapter.scores(features)
    for head, values in scores.items():
        values = np.asarray(values)
        if values.shape != (rows,) or not np.isfinite(values).all():
            raise ValueError(f"head {head} scores are not finite")
        if (values < 0).any() or (values > 1).any():
            raise ValueError(f"head {head} scores fall outside 0-1")
    adapter.policy_over(Policy.default())


def _on(base, version, store):
    if not version:
        return None
    try:
        return base.with_adapter(store.load(version))
    except (AdapterUnavailable, StoreError, OSError, ValueError) as exc:
        logger.warning("model version %s not used: %s", version, exc)
        return None
