"""What training and evaluation share: featurised rows, and the span metric and tuning split.

Both `train.py` and `evaluate.py` import this module; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import model
from ..scoring import CategoryScorer, comment_signals, extras_matrix
from ..text import normalize
from . import datasets
from .datasets import Row


@dataclass
class Prepared:
    rows: list[Row]
    norms: list
    signals: list
    extra_names: tuple[str, ...]
    X: object  # scipy CSR


def prepare(rows: list[Row], featurizer: model.Featurizer | None = None) -> Prepared:
    norms = [normalize(r.text) for r in rows]
    signals = [comment_signals(n, r.language) for n, r in zip(norms, rows, strict=True)]
    if featurizer is None:
        featurizer = model.Featurizer(tuple(sorted(signals[0].extras)))
    extras = extras_matrix(signals, featurizer.extra_names)
    X = featurizer.transform([n.text for n in norms], extras)
    return Prepared(rows, norms, signals, featurizer.extra_names, X)


def is_span_tuning_row(row: Row) -> bool:
    """The half of the toxic-spans dev split used to tune the span threshold."""
    return (
        row.source == "toxic_spans"
        and row.split == "dev"
        and datasets.hash_split(row.text, 2, salt="spans") == "dev"
    )


def span_f1(predicted: set[int], gold: set[int]) -> float:
    """SemEval-2021 Task 5 per-comment F1 (both empty counts as a perfect match)."""
    if not gold and not predicted:
        return 1.0
    if not gold or not predicted:
        return 0.0
    overlap = len(predicted & gold)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(gold)
    return 2 * precision * recall / (precision + recall)


def span_f1_of(scorer: CategoryScorer, prepared, probs: np.ndarray, idx) -> float:
    """Mean SemEval span F1 of the rows `idx` of a prepared table (gold in row.extra['spans']),
    with spans found exactly as `CategoryScorer.score_many` finds them."""
    idx = list(idx)
    if not idx:
        return float("nan")
    norms = [prepared.norms[i] for i in idx]
    signals = [prepared.signals[i] for i in idx]
    categories = [
        scorer.combine_scores(prepared.rows[i].language, prepared.signals[i], probs[i])[0]
        for i in idx
    ]
    batch = model.TokenBatch(scorer.featurizer.token_lists([n.text for n in norms]))
    predicted = scorer.batch_spans(norms, categories, signals, batch)
    scores = [
        span_f1(
            {c for s in spans for c in range(s.start, s.end)}, set(prepared.rows[i].extra["spans"])
        )
        for i, spans in zip(idx, predicted, strict=True)
    ]
    return float(np.mean(scores))
