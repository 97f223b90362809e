"""The fast tier's scorer: shipped artifacts load, and results honour the CategoryResult contract."""

from __future__ import annotations

import numpy as np
import pytest

from civility.engine.assessment import ABUSE_KINDS, CATEGORIES
from civility.engine.language import detect_language
from civility.engine.model import Featurizer
from civility.engine.scoring import SHIPPED_MODELS, CategoryScorer
from civility.engine.text import normalize

SAMPLES = [
    "Thanks for the thorough reporting on the budget.",
    "You are a complete idiot and everyone knows it.",
    "I will find you and kill you.",
    "Check out my channel and subscribe!!! http://example.com/promo",
    "sen tam bir aptalsın",
    "این مقاله خیلی خوب بود",
    "هذا مقال رائع شكرا",
    "",
    "y0u 1diot",
]


@pytest.fixture(scope="module")
def scorer() -> CategoryScorer:
    return CategoryScorer.load()


def _score(scorer, texts):
    norms = [normalize(t) for t in texts]
    return scorer.score_many(norms, [detect_language(t) for t in texts])


def test_shipped_artifacts_load_and_are_compact(scorer):
    assert scorer.version
    total = sum(p.stat().st_size for p in SHIPPED_MODELS.iterdir() if p.is_file())
    assert total <= 30 * 1024 * 1024
    assert scorer.stack.weights.shape == (scorer.featurizer.n_features, len(scorer.stack.heads))


def test_every_key_present_and_probabilities_in_range(scorer):
    results = _score(scorer, SAMPLES)
    assert len(results) == len(SAMPLES)
    for result in results:
        assert set(result.categories) == set(CATEGORIES)
        assert set(result.abuse_kinds) == set(ABUSE_KINDS)
        values = [*result.categories.values(), *result.abuse_kinds.values(), result.overall]
        assert all(0.0 <= v <= 1.0 for v in values)
        # Breaking one guideline means breaking "at least one".
        assert result.overall >= max(result.categories.values()) - 1e-9


def test_deterministic_and_batch_equals_single(scorer):
    batch = _score(scorer, SAMPLES)
    again = _score(scorer, SAMPLES)
    singles = [_score(scorer, [text])[0] for text in SAMPLES]
    for a, b, c in zip(batch, again, singles, strict=True):
        assert a.categories == b.categories
        for category in CATEGORIES:
            assert a.categories[category] == pytest.approx(c.categories[category], abs=1e-6)
        assert a.overall == pytest.approx(c.overall, abs=1e-6)
        assert a.spans == c.spans


def test_empty_batch(scorer):
    assert scorer.score_many([], []) == []


def test_spans_point_into_the_original_text(scorer):
    texts = ["You are a stupid idiot", "what a f.u.c.k.i.n.g moron you are", "ѕtupid іdiot"]
    for text, result in zip(texts, _score(scorer, texts), strict=True):
        for span in result.spans:
            assert 0 <= span.start < span.end <= len(text)
            assert span.category in CATEGORIES
    plain = _score(scorer, ["You are a stupid idiot"])[0]
    marked = {"You are a stupid idiot"[s.start : s.end] for s in plain.spans}
    assert any("idiot" in m for m in marked)


def test_insult_scores_above_civil_comment(scorer):
    civil, insult = _score(scorer, [SAMPLES[0], SAMPLES[1]])
    assert insult.categories["personal_attack"] > civil.categories["personal_attack"]
    assert insult.overall > civil.overall


def test_featurizer_is_stable_across_instances():
    text = normalize("Some words, some more words").text
    a = Featurizer(("x",)).transform([text], np.zeros((1, 1)))
    b = Featurizer(("x",)).transform([text], np.zeros((1, 1)))
    assert (a != b).nnz == 0
    assert a.nnz > 0
