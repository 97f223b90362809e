"""The span F1 that `civility train` tunes and `civility evaluate` reports runs on the shipped
scorer, with spans found the way `score_many` finds them."""

from civility.engine.moderator import _shipped_scorer
from civility.engine.training.datasets import Row
from civility.engine.training.prepared import prepare, span_f1, span_f1_of


def test_span_f1_of_matches_score_many_spans():
    scorer = _shipped_scorer()
    texts = ["You are a fucking idiot and a liar", "A calm and thoughtful article, thanks."]
    rows = [
        Row(texts[0], "en", "toxic_spans", "dev", extra={"spans": list(range(10, 23))}),
        Row(texts[1], "en", "toxic_spans", "dev", extra={"spans": []}),
    ]
    prepared = prepare(rows, scorer.featurizer)
    probs = scorer.probabilities(prepared.norms, prepared.signals)
    results = scorer.score_many(prepared.norms, ["en", "en"])
    expected = [
        span_f1({c for s in r.spans for c in range(s.start, s.end)}, set(row.extra["spans"]))
        for r, row in zip(results, rows, strict=True)
    ]
    assert span_f1_of(scorer, prepared, probs, [0, 1]) == sum(expected) / 2
    assert expected[0] > 0  # the profanity is found
    assert expected[1] == 1.0  # nothing found where nothing is toxic
