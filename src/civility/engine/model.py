"""The fast tier's model: one hashed n-gram featurizer and a stack of linear heads.

Features of a normalised comment (NormalizedText.text):
  * word unigrams and bigrams, hashed into WORD_BUCKETS, binary, block L2-normalised;
  * character n-grams (2–5) inside each padded word (like scikit-learn's char_wb), hashed into
    CHAR_BUCKETS, binary, block L2-normalised — these carry morphology (tr, fa, ar) and
    misspellings that survive normalisation;
  * a few dense "extra" columns (lexicon and promotion features, language one-hot).

Char n-grams are cached per word, so featurising is a dictionary lookup per token (the words a
batch meets for the first time are hashed together, see ngram_hash.py); scoring a batch is one
sparse matrix product with the stacked weights. Hashing uses crc32, which is
stable across processes and platforms, so artifacts need no vocabulary.
"""

from __future__ import annotations

import json
import re
import sys
import zlib
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .ngram_hash import padded_ngram_crcs

WORD_BUCKETS = 1 << 18
CHAR_BUCKETS = 1 << 18
CHAR_NGRAMS = (2, 5)
TOKEN_RE = re.compile(r"\w+")
LANGUAGE_COLUMNS: tuple[str, ...] = ("en", "ar", "fa", "tr", "ckb", "kmr", "other")
# Count-like extra features are clipped so one comment with 40 URLs cannot dominate.
EXTRA_CLIP = 3.0
_CACHE_LIMIT = 300_000
BIGRAM_MULTIPLIER = 0x9E3779B1
_VECTORISE_FROM = 16  # new words in a batch from which n-grams are hashed with numpy
# A token's features as native-endian bytes: (crc32 of the word as uint32, the number of its
# distinct char n-grams as int32, their char-block columns as int32). Bytes, not ints or
# arrays, so a batch is read with three b"".join + np.frombuffer instead of per-token work.
TokenEntry = tuple[bytes, bytes, bytes]


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _word_ngram_crcs(word: str) -> list[int]:
    """crc32 of each distinct char n-gram of " word " (what padded_ngram_crcs computes)."""
    padded = f" {word} "
    low, high = CHAR_NGRAMS
    grams = {padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)}
    return [zlib.crc32(gram.encode("utf-8")) for gram in grams]


class Featurizer:
    """Turns normalised texts (+ dense extras) into one CSR matrix. Stateless except a cache."""

    def __init__(self, extra_names: tuple[str, ...]):
        self.extra_names = extra_names
        self.n_features = WORD_BUCKETS + CHAR_BUCKETS + len(extra_names)
        self._cache: dict[str, TokenEntry] = {}

    def token(self, word: str) -> TokenEntry:
        cached = self._cache.get(word)
        return cached if cached is not None else self._hash_words([word])[word]

    def _hash_words(self, words: list[str]) -> dict[str, TokenEntry]:
        """Hash new words (in one numpy pass, ngram_hash.py, unless they are few) and cache them."""
        if len(words) < _VECTORISE_FROM:  # a few words: numpy's fixed costs would dominate
            per_word = [_word_ngram_crcs(word) for word in words]
            crcs = np.array([crc for crcs in per_word for crc in crcs], dtype=np.uint32)
            counts = np.array([len(crcs) for crcs in per_word], dtype=np.int64)
        else:
            crcs, _, counts = padded_ngram_crcs(words, *CHAR_NGRAMS)
        columns = (crcs % np.uint32(CHAR_BUCKETS)).astype(np.int32).tobytes()
        ends = np.cumsum(counts * 4).tolist()
        counts_bytes = counts.astype(np.int32).tobytes()
        entries = {}
        start = 0
        for i, (word, end) in enumerate(zip(words, ends, strict=True)):
            entries[word] = (
                _crc(word).to_bytes(4, sys.byteorder),
                counts_bytes[4 * i : 4 * i + 4],
                columns[start:end],
            )
            start = end
        if len(self._cache) + len(entries) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache.update(entries)
        return entries

    def token_lists(self, texts: list[str]) -> list[list[TokenEntry]]:
        """Each text's tokens (TOKEN_RE matches, in order) as cache entries."""
        get = self._cache.get
        out = [[get(w) for w in TOKEN_RE.findall(text)] for text in texts]
        missed = [i for i, entries in enumerate(out) if None in entries]
        if missed:
            # Words seen for the first time are hashed together, once each.
            pending = [TOKEN_RE.findall(texts[i]) for i in missed]
            new = self._hash_words(list({w: None for ws in pending for w in ws if get(w) is None}))
            for i, words in zip(missed, pending, strict=True):
                out[i] = [e or new[w] for e, w in zip(out[i], words, strict=True)]
        return out

    def blocks(
        self,
        texts: list[str],
        extras: np.ndarray,
        batch: TokenBatch | None = None,
    ) -> list[sp.csr_matrix]:
        """The word, char and extras blocks (one row per text); see `transform`.

        A row's word block holds its unigrams, then its bigrams; repeated n-grams are summed
        (term counts), and each block of a row is scaled by 1/sqrt(number of n-grams in it),
        which keeps long and short comments comparable. `batch` (the texts' TokenBatch) may
        be passed to avoid tokenising twice.
        """
        if batch is None:
            batch = TokenBatch(self.token_lists(texts))
        n = len(texts)
        words = self._block(batch.word_columns, batch.word_indptr, WORD_BUCKETS, n)
        chars = self._block(batch.char_columns, batch.char_indptr, CHAR_BUCKETS, n)
        clipped = np.minimum(np.asarray(extras, dtype=np.float32).reshape(n, -1), EXTRA_CLIP)
        return [words, chars, sp.csr_matrix(clipped)]

    @staticmethod
    def _block(indices: np.ndarray, indptr: np.ndarray, width: int, n: int) -> sp.csr_matrix:
        lengths = np.diff(indptr)
        scale = 1.0 / np.sqrt(np.maximum(lengths, 1)).astype(np.float32)
        data = np.repeat(scale, lengths).astype(np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(n, width))

    def transform(self, texts: list[str], extras: np.ndarray) -> sp.csr_matrix:
        """One CSR row per text: [word block | char block | extras]."""
        return sp.hstack(self.blocks(texts, extras), format="csr")


class TokenBatch:
    """A batch's tokens flattened into arrays, so hashing bigrams and laying out CSR rows are
    a few numpy operations per batch instead of Python work per token."""

    def __init__(self, token_lists: list[list[TokenEntry]]):
        self.token_lists = token_lists
        self.counts = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        # starts[r]:starts[r + 1] are text r's tokens in the flat arrays.
        self.starts = np.zeros(len(token_lists) + 1, dtype=np.int64)
        np.cumsum(self.counts, out=self.starts[1:])
        flat = list(chain.from_iterable(token_lists))
        hashes = np.frombuffer(b"".join(map(itemgetter(0), flat)), dtype=np.uint32)
        self.word_hashes = hashes.astype(np.uint64)
        counts = np.frombuffer(b"".join(map(itemgetter(1), flat)), dtype=np.int32)
        self.char_counts = counts.astype(np.int64)
        self._char_bytes = b"".join(map(itemgetter(2), flat))
        self.text_of_token = np.repeat(np.arange(len(token_lists)), self.counts)

    @cached_property
    def char_columns(self) -> np.ndarray:
        """Every token's char-block columns, token after token."""
        return np.frombuffer(self._char_bytes, dtype=np.int32)

    @cached_property
    def token_char_starts(self) -> np.ndarray:
        """Where each token's columns begin in `char_columns()` (length: tokens + 1)."""
        out = np.zeros(len(self.char_counts) + 1, dtype=np.int64)
        np.cumsum(self.char_counts, out=out[1:])
        return out

    @cached_property
    def char_indptr(self) -> np.ndarray:
        return self.token_char_starts[self.starts]

    @cached_property
    def has_next(self) -> np.ndarray:
        """For each token but the last: whether the next token is in the same text."""
        same = np.ones(max(len(self.word_hashes) - 1, 0), dtype=bool)
        ends = self.starts[1:][self.counts > 0] - 1  # each non-empty text's last token
        same[ends[ends < len(same)]] = False
        return same

    @cached_property
    def bigram_columns(self) -> np.ndarray:
        """Word-block column of each (token, next token) pair, all pairs (see has_next).
        Only the low 18 bits of the product matter, so wrapping uint64 arithmetic is exact."""
        h = self.word_hashes
        return ((h[:-1] * np.uint64(BIGRAM_MULTIPLIER)) ^ h[1:]) % np.uint64(WORD_BUCKETS)

    @cached_property
    def word_indptr(self) -> np.ndarray:
        out = np.zeros(len(self.counts) + 1, dtype=np.int64)
        np.cumsum(np.maximum(2 * self.counts - 1, 0), out=out[1:])
        return out

    @cached_property
    def word_columns(self) -> np.ndarray:
        """Each row's unigram columns followed by its bigram columns."""
        indptr = self.word_indptr
        out = np.empty(indptr[-1], dtype=np.int32)
        if not len(out):
            return out
        shift = (indptr[:-1] - self.starts[:-1])[self.text_of_token]  # row start - token start
        tokens = np.arange(len(self.word_hashes))
        out[tokens + shift] = self.word_hashes % np.uint64(WORD_BUCKETS)
        pairs = np.flatnonzero(self.has_next)
        after_unigrams = shift[pairs] + self.counts[self.text_of_token[pairs]]
        out[pairs + after_unigrams] = self.bigram_columns[pairs]
        return out


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
