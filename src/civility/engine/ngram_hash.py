"""crc32 of every char n-gram of many words at once, with numpy.

The featurizer hashes each distinct char n-gram (2–5 characters, UTF-8 encoded) of a padded
word " word " with zlib.crc32. Doing that gram by gram in Python costs ~10 µs per new word,
which dominates a batch of fresh comments. Here all windows of all new words advance one byte
at a time through the standard table-driven CRC-32 (the one zlib.crc32 computes), so a batch
costs a few dozen numpy operations.

A word's n-grams are a set: equal n-grams count once. They are deduplicated by (byte length,
crc32), which is exact for n-grams of up to 4 bytes (CRC-32 tells apart any two messages of
equal length up to 32 bits) and wrong only if two different longer n-grams of one word share a
crc32 (about 1 in 4 billion per pair).
"""

from __future__ import annotations

import numpy as np

_POLY = 0xEDB88320  # CRC-32 (ISO-HDLC), reflected: what zlib.crc32 computes


def _table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table[i] = c
    return table


_TABLE = _table()


def padded_ngram_crcs(
    words: list[str], low: int, high: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the padded forms " w " of `words`: (word index, crc32) of each distinct n-gram of
    low..high characters, grouped by word in order, and per-word counts.

    Returns (crcs uint32, owners int64, counts int64) with counts[i] n-grams for words[i]."""
    padded = [f" {word} ".encode() for word in words]
    buf = np.frombuffer(b"".join(padded), dtype=np.uint8)
    word_ends = np.cumsum(np.fromiter(map(len, padded), dtype=np.int64, count=len(padded)))
    # Characters start at every byte that is not a UTF-8 continuation byte (10xxxxxx).
    char_starts = np.flatnonzero((buf & 0xC0) != 0x80)
    n_chars = len(char_starts)
    bounds = np.append(char_starts, len(buf))  # char k is buf[bounds[k]:bounds[k + 1]]
    char_bytes = np.diff(bounds)
    owner = np.searchsorted(word_ends, char_starts, side="right")
    chars_per_word = np.bincount(owner, minlength=len(words))
    first_char = np.cumsum(chars_per_word) - chars_per_word
    # Characters from this one to the end of its padded word, itself included.
    remaining = chars_per_word[owner] - (np.arange(n_chars) - first_char[owner])

    register = np.full(n_chars, 0xFFFFFFFF, dtype=np.uint32)
    keys: list[np.ndarray] = []
    last = len(buf) - 1
    for c in range(high):
        # Window k (starting at char k) takes in its (c+1)-th character, char k + c.
        fits = remaining > c
        nxt = np.minimum(np.arange(n_chars) + c, n_chars - 1)
        length = np.where(fits, char_bytes[nxt], 0)
        base = bounds[nxt]
        for b in range(int(length.max(initial=0))):
            byte = buf[np.minimum(base + b, last)]
            stepped = _TABLE[(register ^ byte) & 0xFF] ^ (register >> 8)
            register = np.where(length > b, stepped, register)
        if c + 1 >= low:
            k = np.flatnonzero(fits)
            crc = (register[k] ^ np.uint32(0xFFFFFFFF)).astype(np.int64)
            gram_bytes = bounds[k + c + 1] - bounds[k]
            keys.append((owner[k] << 40) | (gram_bytes << 32) | crc)
    # Sort and drop repeats (np.unique's hash-based path is many times slower here).
    unique = np.sort(np.concatenate(keys)) if keys else np.empty(0, dtype=np.int64)
    unique = unique[np.concatenate(([True], unique[1:] != unique[:-1]))] if len(unique) else unique
    owners = unique >> 40
    crcs = (unique & 0xFFFFFFFF).astype(np.uint32)
    counts = np.bincount(owners, minlength=len(words)).astype(np.int64)
    return crcs, owners, counts
