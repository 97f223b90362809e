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


def test_span_f1_follows_the_semeval_definition():
    from civility.engine.training.prepared import span_f1

    assert span_f1(set(), set()) == 1.0
    assert span_f1({1, 2}, set()) == 0.0
    assert span_f1(set(), {1, 2}) == 0.0
    half = span_f1({1, 2}, {1, 2, 3, 4})  # precision 1, recall 0.5
    assert half == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_band_choice_meets_its_precision_and_miss_targets():
    from civility.engine.training.train import APPROVE_MAX_MISS, REJECT_PRECISION, choose_band

    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.4).astype(int)
    scores = np.clip(0.35 * y + rng.normal(0.3, 0.15, len(y)), 0, 1)
    band = choose_band(scores, y, y)
    rejected = scores >= band["reject_above"]
    assert (y[rejected] == 1).mean() >= REJECT_PRECISION
    assert (scores[y == 1] < band["approve_below"]).mean() <= APPROVE_MAX_MISS
    assert band["approve_below"] <= band["reject_above"]
