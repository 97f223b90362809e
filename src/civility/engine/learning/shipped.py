"""The shipped model's public data beside the newsroom's decisions (`civility learn
--shipped-data DIR`, DIR being the data sets the shipped model was trained from, e.g.
../shared/data): a sample of their training split is mixed into learning at a lower weight, so
the heads keep what the shipped data taught them, and a sample of their dev split judges the
candidate, so no language the newsroom does not write in gets worse unnoticed."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..cascade import HEADS
from ..training import datasets
from .examples import Example
from .features import compute_features


def sample_rows(root: str | Path, split: str, per_language: int, seed: int = 20261203):
    """Up to `per_language` rows of each language's trainable sets in `split`, with an
    "overall" label."""
    by_language = defaultdict(list)
    for row in datasets.load(root):
        if row.split == split and row.labels.get("overall", datasets.UNKNOWN) != datasets.UNKNOWN:
            by_language[row.language].append(row)
    rng = random.Random(seed)
    out = []
    for language in sorted(by_language):
        rows = by_language[language]
        out.extend(rng.sample(rows, min(per_language, len(rows))))
    return out


def shipped_data(
    moderator, root: str | Path, train_per_language: int = 400, dev_per_language: int = 300
):
    """((features, labels) of training rows, (features, examples) of dev rows)."""
    train = sample_rows(root, "train", train_per_language)
    dev = sample_rows(root, "dev", dev_per_language)
    if not train or not dev:
        raise ValueError(f"no labelled rows found under {root}")
    train_features = compute_features(
        moderator, [r.text for r in train], [r.language for r in train]
    )
    labels = np.array([[r.labels.get(h, datasets.UNKNOWN) for h in HEADS] for r in train], np.int8)
    dev_features = compute_features(moderator, [r.text for r in dev], [r.language for r in dev])
    dev_examples = [
        Example(r.text, "reject" if r.labels["overall"] == 1 else "approve", (), r.language)
        for r in dev
    ]
    return (train_features, labels), (dev_features, dev_examples)
