"""The fast tier's model: one hashed n-gram featurizer and a stack of linear heads.

Features of a normalised comment (NormalizedText.text):
  * word unigrams and bigrams, hashed into WORD_BUCKETS, binary, block L2-normalised;
  * character n-grams (2–5) inside each padded word (like scikit-learn's char_wb), hashed into
    CHAR_BUCKETS, binary, block L2-normalised — these carry morphology (tr, fa, ar) and
    misspellings that survive normalisation;
  * a few dense "extra" columns (lexicon and promotion features, language one-hot).

Char n-grams are cached per word, so featurising is a dictionary lookup per token; scoring a
batch is one sparse matrix product with the stacked weights. Hashing uses crc32, which is
stable across processes and platforms, so artifacts need no vocabulary.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

WORD_BUCKETS = 1 << 18
CHAR_BUCKETS = 1 << 18
CHAR_NGRAMS = (2, 5)
TOKEN_RE = re.compile(r"\w+")
LANGUAGE_COLUMNS: tuple[str, ...] = ("en", "ar", "fa", "tr", "ckb", "kmr", "other")
# Count-like extra features are clipped so one comment with 40 URLs cannot dominate.
EXTRA_CLIP = 3.0
_CACHE_LIMIT = 300_000


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True)
class TokenFeatures:
    """Hashed features of one token: its word bucket and its char n-gram buckets."""

    word_hash: int
    word_id: int
    char_ids: np.ndarray


class Featurizer:
    """Turns normalised texts (+ dense extras) into one CSR matrix. Stateless except a cache."""

    def __init__(self, extra_names: tuple[str, ...]):
        self.extra_names = extra_names
        self.n_features = WORD_BUCKETS + CHAR_BUCKETS + len(extra_names)
        self._cache: dict[str, TokenFeatures] = {}

    def token(self, word: str) -> TokenFeatures:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        padded = f" {word} "
        low, high = CHAR_NGRAMS
        grams = {
            padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)
        }
        hashes = np.array([zlib.crc32(g.encode("utf-8")) for g in grams], dtype=np.int64)
        char_ids = (hashes % CHAR_BUCKETS + WORD_BUCKETS).astype(np.int32)
        word_hash = _crc(word)
        features = TokenFeatures(word_hash, word_hash % WORD_BUCKETS, char_ids)
        self._cache[word] = features
        return features

    @staticmethod
    def bigram_id(left: TokenFeatures, right: TokenFeatures) -> int:
        return ((left.word_hash * 0x9E3779B1) ^ right.word_hash) % WORD_BUCKETS

    def tokens(self, text: str) -> list[tuple[int, int, TokenFeatures]]:
        return [(m.start(), m.end(), self.token(m.group())) for m in TOKEN_RE.finditer(text)]

    def blocks(self, texts: list[str], extras: np.ndarray) -> list[sp.csr_matrix]:
        """The word, char and extras blocks (one row per text); see `transform`.

        Repeated n-grams are summed (term counts), and each block of a row is scaled by
        1/sqrt(number of n-grams in it), which keeps long and short comments comparable.
        """
        word_ids: list[int] = []
        word_ptr = [0]
        char_arrays: list[np.ndarray] = []
        char_ptr = [0]
        for text in texts:
            feats = [self.token(w) for w in TOKEN_RE.findall(text)]
            word_ids.extend(t.word_id for t in feats)
            word_ids.extend(self.bigram_id(a, b) for a, b in zip(feats, feats[1:], strict=False))
            word_ptr.append(len(word_ids))
            char_arrays.extend(t.char_ids for t in feats)
            char_ptr.append(char_ptr[-1] + sum(len(t.char_ids) for t in feats))
        n = len(texts)
        words = self._block(np.asarray(word_ids, dtype=np.int32), word_ptr, WORD_BUCKETS, n)
        chars = np.concatenate(char_arrays) - WORD_BUCKETS if char_arrays else np.empty(0, np.int32)
        chars = self._block(chars.astype(np.int32), char_ptr, CHAR_BUCKETS, n)
        clipped = np.minimum(np.asarray(extras, dtype=np.float32).reshape(n, -1), EXTRA_CLIP)
        return [words, chars, sp.csr_matrix(clipped)]

    @staticmethod
    def _block(indices: np.ndarray, indptr: list[int], width: int, n: int) -> sp.csr_matrix:
        ptr = np.asarray(indptr, dtype=np.int64)
        lengths = np.diff(ptr)
        scale = 1.0 / np.sqrt(np.maximum(lengths, 1)).astype(np.float32)
        data = np.repeat(scale, lengths).astype(np.float32)
        return sp.csr_matrix((data, indices, ptr), shape=(n, width))

    def transform(self, texts: list[str], extras: np.ndarray) -> sp.csr_matrix:
        """One CSR row per text: [word block | char block | extras]."""
        return sp.hstack(self.blocks(texts, extras), format="csr")

    def token_scale(self, text: str) -> tuple[float, float]:
        """The per-feature values a text's word and char blocks get (for span attribution)."""
        feats = [self.token(w) for w in TOKEN_RE.findall(text)]
        n_words = max(2 * len(feats) - 1, 1)
        n_chars = max(sum(len(t.char_ids) for t in feats), 1)
        return 1.0 / float(np.sqrt(n_words)), 1.0 / float(np.sqrt(n_chars))


@dataclass
class LinearStack:
    """Every head's weights side by side: decision = X @ weights + bias, then Platt scaling."""

    heads: tuple[str, ...]
    weights: np.ndarray  # (n_features, n_heads) float32
    bias: np.ndarray  # (n_heads,)
    platt_slope: np.ndarray  # (n_heads,) calibrated p = sigmoid(slope * z + intercept)
    platt_intercept: np.ndarray

    def decision(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.weights) + self.bias

    def probabilities(self, X: sp.csr_matrix) -> np.ndarray:
        return sigmoid(self.platt_slope * self.decision(X) + self.platt_intercept)

    def column(self, head: str) -> int:
        return self.heads.index(head)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


WEIGHTS_FILE = "fast_tier.npz"
META_FILE = "fast_tier.json"


def save(directory: str | Path, stack: LinearStack, meta: dict) -> None:
    """Weights as float16 (compressed npz) and everything else as readable JSON."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        directory / WEIGHTS_FILE,
        weights=stack.weights.astype(np.float16),
        bias=stack.bias.astype(np.float32),
        platt_slope=stack.platt_slope.astype(np.float32),
        platt_intercept=stack.platt_intercept.astype(np.float32),
    )
    meta = {**meta, "heads": list(stack.heads)}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")


def load(directory: str | Path) -> tuple[LinearStack, dict]:
    directory = Path(directory)
    meta = json.loads((directory / META_FILE).read_text("utf-8"))
    with np.load(directory / WEIGHTS_FILE) as arrays:
        stack = LinearStack(
            heads=tuple(meta["heads"]),
            weights=arrays["weights"].astype(np.float32),
            bias=arrays["bias"],
            platt_slope=arrays["platt_slope"],
            platt_intercept=arrays["platt_intercept"],
        )
    return stack, meta
