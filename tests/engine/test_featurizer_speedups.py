"""The vectorised featurizer and span paths must give what the plain per-token definitions give."""

import re
import zlib

import numpy as np
import pytest

from civility.engine.model import (
    _VECTORISE_FROM,
    CHAR_BUCKETS,
    CHAR_NGRAMS,
    WORD_BUCKETS,
    Featurizer,
    TokenBatch,
)
from civility.engine.ngram_hash import padded_ngram_crcs

WORDS = [
    "a",
    "ab",
    "government",
    "aaaaaaa",
    "aptalsın",
    "değil",
    "الحكومة",
    "خیلی",
    "😀x",
    "x😀😀y",
    "١٢٣",
    "ڕێگە",
    "x" * 40,
]


def reference_crcs(word: str) -> list[int]:
    """zlib.crc32 of each distinct 2–5 char n-gram of " word " (the definition)."""
    padded = f" {word} "
    low, high = CHAR_NGRAMS
    grams = {padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)}
    return sorted(zlib.crc32(g.encode("utf-8")) for g in grams)


def test_vectorised_crcs_equal_zlib_per_word():
    crcs, owners, counts = padded_ngram_crcs(WORDS, *CHAR_NGRAMS)
    ends = np.cumsum(counts)
    for i, word in enumerate(WORDS):
        got = sorted(crcs[ends[i] - counts[i] : ends[i]].tolist())
        assert got == reference_crcs(word), word
        assert set(owners[ends[i] - counts[i] : ends[i]].tolist()) == {i}


def test_no_words():
    crcs, owners, counts = padded_ngram_crcs([], *CHAR_NGRAMS)
    assert len(crcs) == len(owners) == len(counts) == 0


@pytest.mark.parametrize("split", [1, 3, len(WORDS)])
def test_cache_hits_and_misses_give_the_same_entries(split):
    texts = [" ".join(WORDS[:split]), " ".join(WORDS), "", "!!!"]
    warm = Featurizer(())
    warm.token_lists([" ".join(WORDS)])
    assert warm.token_lists(texts) == Featurizer(()).token_lists(texts)


def reference_row(text: str) -> dict[int, float]:
    """Column -> value of one text's word and char blocks, from the module's definitions."""
    words = re.findall(r"\w+", text)
    hashes = [zlib.crc32(w.encode("utf-8")) for w in words]
    word_cols = [h % WORD_BUCKETS for h in hashes] + [
        ((a * 0x9E3779B1) ^ b) % WORD_BUCKETS for a, b in zip(hashes, hashes[1:], strict=False)
    ]
    char_cols = [c % CHAR_BUCKETS + WORD_BUCKETS for w in words for c in reference_crcs(w)]
    row: dict[int, float] = {}
    for cols in (word_cols, char_cols):
        for col in cols:
            row[col] = row.get(col, 0.0) + 1.0 / np.sqrt(len(cols))
    return row


def test_transform_matches_the_definition():
    texts = ["government aptalsın الحكومة", "a", "", "x😀😀y değil değil"]
    X = Featurizer(("extra",)).transform(texts, np.zeros((len(texts), 1)))
    for i, text in enumerate(texts):
        row = X.getrow(i).tocoo()
        row.sum_duplicates()  # repeated n-grams are separate entries, summed by the product
        got = {int(c): float(v) for c, v in zip(row.col, row.data, strict=True) if v}
        want = reference_row(text)
        assert got.keys() == want.keys()
        for col, value in want.items():
            assert got[col] == pytest.approx(value, rel=1e-6)


def test_token_batch_marks_text_boundaries():
    featurizer = Featurizer(())
    batch = TokenBatch(featurizer.token_lists(["a b", "", "c", "d e f"]))
    assert batch.has_next.tolist() == [True, False, False, True, True]
    assert batch.text_of_token.tolist() == [0, 0, 2, 3, 3, 3]


def test_few_and_many_new_words_hash_alike():
    words = [w for w in WORDS if re.fullmatch(r"\w+", w)]
    few = Featurizer(())
    one_at_a_time = [few.token_lists([word])[0][0] for word in words]  # per-word path
    many = Featurizer(())
    fillers = [f"filler{i}" for i in range(_VECTORISE_FROM)]  # enough new words to vectorise
    all_at_once = many.token_lists([" ".join(words + fillers)])[0]
    for word, entry, other in zip(words, one_at_a_time, all_at_once, strict=False):
        assert entry[:2] == other[:2], word
        assert sorted(np.frombuffer(entry[2], np.int32)) == sorted(
            np.frombuffer(other[2], np.int32)
        ), word
