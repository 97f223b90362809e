"""Model versions learnt from the newsroom, kept under the data directory:

    $CIVILITY_DATA_DIR/models/
        versions/<version>/adapter.json, adapter.npz   (one per `civility learn`)
        state.json   {"active": version or null, "previous": [...], "shadow": version or null}

The shipped model is the version with no adapter ("shipped"). `state.json` is replaced
atomically (written beside, fsynced, renamed) under a lock, so every process reading it sees
the old state or the new one, never half of one; servers re-read it when it changes.
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
from pathlib import Path

from .adapter import ADAPTER_META, Adapter, AdapterUnavailable

logger = logging.getLogger(__name__)
SHIPPED = "shipped"
# Names are made by `learn`; anything else (a path, "..") is refused before touching the disk.
VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
STATE_FILE = "state.json"


class StoreError(ValueError):
    """A store operation that cannot be done; the message says why."""


def default_data_dir() -> Path:
    return Path(os.environ.get("CIVILITY_DATA_DIR", Path.cwd() / "var"))


class ModelStore:
    def __init__(self, data_dir: str | Path | None = None):
        self.root = Path(data_dir if data_dir is not None else default_data_dir()) / "models"
        self.versions_dir = self.root / "versions"
        self._cache: dict[str, Adapter] = {}

    # -- state ----------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    def state(self) -> dict:
        try:
            raw = json.loads(self.state_path.read_text("utf-8"))
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.state_path} is unreadable: {exc}") from exc
        return {
            "active": raw.get("active"),
            "previous": list(raw.get("previous", [])),
            "shadow": raw.get("shadow"),
            "changed": raw.get("changed"),
        }

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
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".state-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state, f, indent=2)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.state_path)
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
        """Every stored version, oldest first, with its status and summary."""
        state = self.state()
        out = []
        if not self.versions_dir.exists():
            return out
        for folder in self.versions_dir.iterdir():
            meta_path = folder / ADAPTER_META
            if folder.name.startswith(".") or not meta_path.exists():
                continue
            meta = json.loads(meta_path.read_text("utf-8"))
            out.append(
                {
                    "version": meta["version"],
                    "created": meta.get("created"),
                    "parent": meta.get("parent"),
                    "base_version": meta.get("base_version"),
                    "adapted": meta.get("languages", []),
                    "opened": meta.get("opened", []),
                    "report": meta.get("report", {}),
                    "status": self._status(meta["version"], state),
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
        if version not in self._cache:
            self._require(version)
            self._cache[version] = Adapter.load(self.versions_dir / version)
        return self._cache[version]

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
            else:
                self._require(version)
            if version == state["active"]:
                raise StoreError(f"{version or SHIPPED} is already active")
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
            state["active"] = state["previous"].pop()
            self._write_state(state)
        return state["active"] or SHIPPED

    def set_shadow(self, version: str | None) -> None:
        """Score new comments with `version` beside the active one (None: stop)."""
        with self._locked():
            state = self.state()
            if version is not None:
                self._require(version)
                if version == state["active"]:
                    raise StoreError(f"{version} is the active version")
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


def _on(base, version, store):
    if not version:
        return None
    try:
        return base.with_adapter(store.load(version))
    except (AdapterUnavailable, StoreError, OSError, ValueError) as exc:
        logger.warning("model version %s not used: %s", version, exc)
        return None
