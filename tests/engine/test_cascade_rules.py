"""The cascade's combination rules, on made-up numbers (no model needed)."""

from __future__ import annotations

import numpy as np

from civility.engine.cascade import (
    HEADS,
    LIFT_TARGETS,
    Cascade,
    lift_to_overall,
    logit,
    thin_head,
)


def test_thin_heads_average_the_tiers_logits():
    fast = np.array([0.5, 0.1, 0.9])
    enc = np.array([0.0, float(logit(0.9)), float(logit(0.1))])
    np.testing.assert_allclose(thin_head(fast, enc), [0.5, 0.5, 0.5], atol=1e-6)


def test_likeliest_offence_is_raised_to_overall_and_nothing_else():
    scores = {h: np.array([0.05, 0.05]) for h in HEADS}
    scores["personal_attack"] = np.array([0.30, 0.01])
    scores["promotion"] = np.array([0.01, 0.60])
    scores["overall"] = np.array([0.90, 0.60])
    lifted = lift_to_overall(scores)
    assert lifted["personal_attack"][0] == 0.90  # the likeliest offence of comment 0
    assert lifted["profanity"][0] == 0.05
    assert lifted["promotion"][1] == 0.60  # promotion is not an offence category
    assert max(lifted[c][1] for c in ("profanity", "threat", "abuse", "personal_attack")) <= 0.60


class FakeEncoder:
    version = "e5s-test"
    heads = HEADS

    def __init__(self):
        self.seen = []

    def logits(self, texts):
        self.seen.extend(texts)
        return np.zeros((len(texts), len(HEADS)))


def stacker(gate_approve: float, gate_reject: float) -> dict:
    linear = {"weights": [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], "bias": 0.0}
    fast = {"weights": [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], "bias": 0.0}
    return {
        "version": "test",
        "languages": ["en", "ar", "fa", "tr"],
        "encoder_languages": ["ckb", "kmr", "other"],
        "lift_languages": ["ar", "fa", "tr"],
        "heads": {h: {"full": linear, "fast": fast} for h in HEADS},
        "gate": {
            "reject_above": {"profanity": gate_reject},
            "approve_below": {
                lang: dict.fromkeys(
                    ("profanity", "vulgarity", "threat", "personal_attack", "abuse", "promotion"),
                    gate_approve,
                )
                for lang in ("en", "tr")
            },
        },
    }


class Result:
    def __init__(self, value):
        self.categories = dict.fromkeys(
            ("profanity", "vulgarity", "threat", "personal_attack", "abuse", "promotion"), value
        )
        self.overall = value


def test_gate_sends_only_unsettled_comments_to_the_encoder():
    encoder = FakeEncoder()
    cascade = Cascade(encoder, stacker(gate_approve=0.05, gate_reject=0.95))
    texts = ["clean words", "middle words", "awful words", "kurdish words"]
    results = [Result(0.01), Result(0.5), Result(0.99), Result(0.01)]
    calls = cascade.refine(texts, ["en", "en", "en", "kmr"], results)
    assert calls == 2
    assert encoder.seen == ["middle words", "kurdish words"]
    # The encoder's zero logits leave the fast logit alone in the full stacker.
    assert abs(results[1].categories["abuse"] - 0.5) < 1e-6
    assert results[0].categories["abuse"] < 0.05 and results[2].categories["abuse"] > 0.95


def test_a_closed_gate_sends_everything_to_the_encoder():
    encoder = FakeEncoder()
    cascade = Cascade(encoder, stacker(gate_approve=0.0, gate_reject=1.01))
    cascade.refine(["a b", "c d"], ["en", "tr"], [Result(0.001), Result(0.999)])
    assert encoder.seen == ["a b", "c d"]


def test_wordless_comments_never_reach_the_encoder():
    encoder = FakeEncoder()
    cascade = Cascade(encoder, stacker(gate_approve=0.0, gate_reject=1.01))
    cascade.refine(["👍👍", "123"], ["other", "other"], [Result(0.2), Result(0.2)])
    assert encoder.seen == []


def test_spam_is_not_lifted_into_an_offence():
    scores = {h: np.array([0.05]) for h in HEADS}
    scores["promotion"] = np.array([0.90])
    scores["overall"] = np.array([0.95])
    lifted = lift_to_overall(scores)
    assert max(lifted[c][0] for c in ("profanity", "personal_attack", "abuse")) == 0.05


def test_a_generic_offence_is_never_lifted_onto_threat():
    scores = {h: np.array([0.01]) for h in HEADS}
    scores["threat"] = np.array([0.04])  # the likeliest offence, but faint
    scores["overall"] = np.array([0.30])
    lifted = lift_to_overall({h: v.copy() for h, v in scores.items()}, targets=LIFT_TARGETS)
    assert lifted["threat"][0] == 0.04
    assert max(lifted[c][0] for c in LIFT_TARGETS) == 0.30
    # Stackers fitted before LIFT_TARGETS (no "lift_targets" key) keep the old lift.
    assert lift_to_overall(scores)["threat"][0] == 0.30


def test_lift_only_where_asked():
    scores = {h: np.array([0.05, 0.05]) for h in HEADS}
    scores["overall"] = np.array([0.9, 0.9])
    lifted = lift_to_overall(scores, where=[True, False])
    assert lifted["profanity"][0] == 0.9 and lifted["profanity"][1] == 0.05
