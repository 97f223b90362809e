"""What makes the encoder's fine-tuning resumable across sittings (no torch at import time).

A run lives in a state folder outside the repository (`CIVILITY_TRAIN_STATE`, default
`$XDG_CACHE_HOME/civility/train-state`, i.e. `~/.cache/civility/train-state`):

    run.json            the run's configuration; a resumed run must match it
    checkpoint.pt       trainable weights, optimiser state, step, torch RNG (written atomically)
    trace.jsonl         one line per step taken: step, learning-rate scale, a digest of its rows
    cache-L{K}/         the frozen lower layers' outputs, one chunk of rows per file pair

Everything a step depends on is a function of the step number and the run's seed: the
learning-rate schedule (fixed length, warm-up then linear decay) and the rows of its batch (pool
p of 32 batches is drawn by a generator seeded with (seed, p)). A resumed run therefore takes
exactly the steps an uninterrupted one would have taken.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

POOL_BATCHES = 32
WARMUP_SHARE = 0.05


def default_state_dir() -> Path:
    """`CIVILITY_TRAIN_STATE`, else `$XDG_CACHE_HOME/civility/train-state` (~/.cache/…)."""
    if configured := os.environ.get("CIVILITY_TRAIN_STATE"):
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "civility" / "train-state"


@dataclass(frozen=True)
class RunConfig:
    layers: int
    frozen_layers: int  # the lower layers whose outputs are cached, never trained
    batch_size: int
    planned_steps: int
    seed: int
    max_tokens: int
    encoder_lr: float
    heads_lr: float
    data_fingerprint: str  # the training rows and their labels
    rows: int
    teacher: str = ""  # a distillation's teacher logits (their fingerprint); "" for none

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> RunConfig:
        return cls(**json.loads(path.read_text("utf-8")))

    def differences(self, other: RunConfig) -> list[str]:
        mine, theirs = asdict(self), asdict(other)
        return [
            f"{k}: {theirs[k]} in the state, {mine[k]} now" for k in mine if mine[k] != theirs[k]
        ]


def planned_steps(rows: int, epochs: float, batch_size: int) -> int:
    return max(1, math.ceil(epochs * rows / batch_size))


def lr_scale(step: int, planned: int) -> float:
    """Step 1..planned: linear warm-up over the first 5%, then linear decay to zero."""
    progress = (step - 1) / planned
    if progress < WARMUP_SHARE:
        return progress / WARMUP_SHARE
    return max(0.0, (1.0 - progress) / (1.0 - WARMUP_SHARE))


def data_fingerprint(texts: list[str], labels: np.ndarray, weights: np.ndarray) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    digest.update(np.ascontiguousarray(labels, dtype=np.int8).tobytes())
    digest.update(np.round(weights, 12).tobytes())
    return digest.hexdigest()[:16]


def array_fingerprint(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, np.float32).tobytes()).hexdigest()[:16]


def batch_plan(
    weights: np.ndarray,
    lengths: np.ndarray,
    planned: int,
    batch_size: int,
    seed: int,
    start_step: int = 1,
) -> Iterator[tuple[int, np.ndarray]]:
    """(step, row indices) for steps start_step..planned.

    Rows are drawn by `weights` in pools of 32 batches, sorted by length within the pool (so a
    batch pads little) and the pool's batches shuffled. Pool p depends only on (seed, p), so a
    run resumed at any step draws the same rows as one that never stopped.
    """
    first_pool = (start_step - 1) // POOL_BATCHES
    last_pool = (planned - 1) // POOL_BATCHES
    for pool in range(first_pool, last_pool + 1):
        rng = np.random.default_rng([seed, pool])
        n = min(POOL_BATCHES, planned - pool * POOL_BATCHES)
        picked = rng.choice(len(weights), size=n * batch_size, p=weights)
        order = np.argsort(lengths[picked], kind="stable")
        groups = [order[i * batch_size : (i + 1) * batch_size] for i in range(n)]
        rng.shuffle(groups)
        for i, group in enumerate(groups):
            step = pool * POOL_BATCHES + i + 1
            if step >= start_step:
                yield step, picked[group]


def rows_digest(indices: np.ndarray) -> str:
    return hashlib.sha1(np.asarray(indices, np.int64).tobytes(), usedforsecurity=False).hexdigest()[
        :12
    ]


def read_trace(state: Path) -> dict[int, dict]:
    """The trace of a run, the last record of each step (a step redone after a kill replaces
    the one taken before it)."""
    trace: dict[int, dict] = {}
    path = state / "trace.jsonl"
    if path.exists():
        for line in path.read_text("utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            trace[record["step"]] = record
    return trace


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]


class LayerCache:
    """The frozen lower layers' outputs (float16, one [tokens, hidden] array per row), stored
    as chunk files under the state folder. A chunk's .json is written after its .npy, so an
    interrupted build leaves no half chunk in the index; building again adds what is missing."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.index: dict[str, tuple[int, int, int]] = {}
        self.arrays: list[np.ndarray] = []
        for meta_path in sorted(folder.glob("chunk-*.json")):
            array_path = meta_path.with_suffix(".npy")
            if not array_path.exists():
                continue
            chunk = len(self.arrays)
            self.arrays.append(np.load(array_path, mmap_mode="r"))
            for key, offset, length in json.loads(meta_path.read_text("utf-8"))["rows"]:
                self.index[key] = (chunk, offset, length)

    def missing(self, keys: list[str]) -> list[int]:
        return [i for i, key in enumerate(keys) if key not in self.index]

    def add_chunk(self, keys: list[str], hidden: list[np.ndarray]) -> None:
        number = len(list(self.folder.glob("chunk-*.json")))
        stem = self.folder / f"chunk-{number:05d}"
        flat = np.concatenate(hidden).astype(np.float16)
        rows, offset = [], 0
        for key, array in zip(keys, hidden, strict=True):
            rows.append([key, offset, int(array.shape[0])])
            offset += int(array.shape[0])
        tmp = stem.with_suffix(".tmp.npy")
        np.save(tmp, flat)
        os.replace(tmp, stem.with_suffix(".npy"))
        write_atomic(stem.with_suffix(".json"), json.dumps({"rows": rows}))
        chunk = len(self.arrays)
        self.arrays.append(np.load(stem.with_suffix(".npy"), mmap_mode="r"))
        for key, start, length in rows:
            self.index[key] = (chunk, start, length)

    def get(self, key: str) -> np.ndarray:
        chunk, offset, length = self.index[key]
        return self.arrays[chunk][offset : offset + length]


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
