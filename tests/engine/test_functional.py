"""Functional checks in the spirit of HateCheck, through the public engine API.

Sentences are written for this project. Clear violations must not be approved; civil comments
that merely mention violence, identities, or criticise power must never be rejected.
"""

from __future__ import annotations

import pytest

from civility.engine import Moderator


@pytest.fixture(scope="module")
def moderator() -> Moderator:
    return Moderator.default()


CLEAR_VIOLATIONS = [
    ("I will find you and kill you, you worthless piece of shit", "en"),
    ("You are a fucking idiot", "en"),
    ("shut up you stupid moron", "en"),
    ("Earn $500 a day from home!!! Message me on WhatsApp +1 555 123 4567", "en"),
    ("Check out my channel and subscribe http://bit.ly/xyz123", "en"),
    ("f.u.c.k you", "en"),
    ("y0u 1diot", "en"),
    ("fuсk you", "en"),  # Cyrillic "с"
    ("انت حمار وكلب ابن كلب", "ar"),
    ("sen tam bir aptalsın salak herif", "tr"),
    ("siktir git orospu çocuğu", "tr"),
    ("خفه شو احمق بیشعور", "fa"),
]

MUST_NOT_BE_REJECTED = [
    "I would never call anyone an idiot, even when I disagree.",
    "Calling refugees vermin is disgusting and this paper should say so.",
    'The crowd chanted "death to the traitors", a slogan we should all condemn.',
    "The assassination of the minister shocked the whole country.",
    "Police say three people were killed in the attack on the market.",
    "This newspaper's coverage of the election has been lazy and one-sided.",
    "The government has failed the flood victims and the minister should resign.",
    "As a Shia from Basra, I can tell you the article misses what people here want.",
    "Kurdish women fought ISIS and deserve more recognition.",
    "I am a gay man and I found this piece very moving.",
    "My Muslim neighbours organised the food drive for the whole street.",
    "Immigrants built this city and the report shows it.",
    "The black community in the town has asked for a public hearing.",
    "Great analysis, thank you for explaining the budget so clearly.",
]


@pytest.mark.parametrize(("text", "lang"), CLEAR_VIOLATIONS)
def test_clear_violations_are_not_approved(moderator, text, lang):
    result = moderator.assess(text, lang=lang)
    assert result.decision in {"reject", "review"}, result.to_dict()


@pytest.mark.parametrize("text", MUST_NOT_BE_REJECTED)
def test_civil_comments_are_never_rejected(moderator, text):
    result = moderator.assess(text, lang="en")
    assert result.decision != "reject", result.to_dict()


def test_explicit_threat_is_flagged_as_threat_with_span(moderator):
    text = "I know where you live and I will kill you"
    result = moderator.assess(text, lang="en")
    assert result.decision in {"reject", "review"}
    assert "threat" in result.reason_codes
    threat_spans = [s for s in result.spans if s.category == "threat"]
    assert any("kill" in text[s.start : s.end] for s in threat_spans)


def test_evasion_variants_score_like_the_plain_insult(moderator):
    plain = moderator.assess("you idiot", lang="en").categories["personal_attack"]
    for variant in ("y0u 1diot", "you i.d.i.o.t", "уоu іdiоt"):  # leet, dotted, Cyrillic
        score = moderator.assess(variant, lang="en").categories["personal_attack"]
        assert score >= 0.5 * plain, variant


def test_spam_scores_promotion_highest(moderator):
    result = moderator.assess("Make money fast!!! visit www.easy-cash-now.biz and DM me", lang="en")
    assert max(result.categories, key=result.categories.get) == "promotion"
    assert result.decision != "approve"


def test_constructive_criticism_scores_low(moderator):
    text = "I disagree with the columnist: the figures in paragraph three ignore inflation."
    result = moderator.assess(text, lang="en")
    assert result.score < 0.5
    assert result.decision != "reject"
