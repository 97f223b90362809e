"""One human decision as a training label, and how guideline reasons become per-head labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..assessment import CATEGORIES
from ..cascade import HEADS

UNKNOWN = -1
# Reasons that say something is wrong without naming a guideline category: the comment breaks
# the guidelines ("overall"), and the category heads learn nothing from it.
GENERIC_REASONS = frozenset({"other"})
# Reasons about the article, not the text's civility: neither head learns from them.
NOT_CIVILITY_REASONS = frozenset({"off_topic"})


@dataclass(frozen=True)
class Example:
    """A comment and the latest human decision on it (never an automatic one)."""

    text: str
    decision: str  # "approve" or "reject"
    reasons: tuple[str, ...] = ()
    language: str | None = None  # a hint; the engine detects it when None
    decided_at: float = 0.0  # seconds since the epoch; orders the time-based holdout
    key: str = ""  # stable identity (the comment's id): a later decision on it replaces this one


def latest_per_key(examples: Iterable[Example]) -> list[Example]:
    """One example per key, the latest decision winning (a reversal replaces the first
    decision); then in time order. Examples without a key are all kept."""
    latest: dict[str, Example] = {}
    keyless: list[Example] = []
    for example in examples:
        if not example.key:
            keyless.append(example)
            continue
        seen = latest.get(example.key)
        if seen is None or example.decided_at >= seen.decided_at:
            latest[example.key] = example
    return sorted([*latest.values(), *keyless], key=lambda e: e.decided_at)


def labels_of(example: Example) -> np.ndarray:
    """Per head (cascade.HEADS order): 1 breaks it, 0 does not, UNKNOWN not said.

    Approval says the comment breaks no guideline. A rejection says the comment breaks the
    guideline its reasons name; other categories are left unknown (moderators give the main
    reason, not every one). A rejection only for being off topic teaches nothing about civility.
    """
    row = np.full(len(HEADS), UNKNOWN, np.int8)
    if example.decision == "approve":
        row[:] = 0
        return row
    if example.decision != "reject":
        raise ValueError(f"decision must be approve or reject, got {example.decision!r}")
    named = [r for r in example.reasons if r in CATEGORIES]
    for reason in named:
        row[HEADS.index(reason)] = 1
    if named or not example.reasons or any(r in GENERIC_REASONS for r in example.reasons):
        row[HEADS.index("overall")] = 1
    return row


def label_matrix(examples: list[Example]) -> np.ndarray:
    if not examples:
        return np.zeros((0, len(HEADS)), np.int8)
    return np.vstack([labels_of(e) for e in examples])
