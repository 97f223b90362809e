"""Hostile input to the engine: invalid Unicode is refused with a clear error, and a caller's
language hint cannot lift the rule that unmodelled languages go to a human."""

import pytest

from civility.engine import InputError, Moderator


@pytest.fixture(scope="module")
def moderator():
    return Moderator.default(semantic=False)


@pytest.mark.parametrize(
    ("text", "article", "field"),
    [
        ("metro hours \ud800 good", None, "text"),
        ("fine", {"title": "T\udfff", "body": ""}, "article.title"),
        ("fine", {"title": "T", "body": "\ud83d body"}, "article.body"),
    ],
)
def test_lone_surrogates_are_refused_with_the_field_named(moderator, text, article, field):
    with pytest.raises(InputError, match=f"{field} contains invalid Unicode"):
        moderator.assess(text, article=article)


def test_a_hint_in_the_wrong_script_is_ignored(moderator):
    result = moderator.assess("Я найду тебя и убью", lang="en")
    assert result.language == "other"
    assert result.decision != "approve"
    assert "unsupported_language" in result.reason_codes


def test_a_hint_in_the_right_script_is_kept(moderator):
    # Short Kurmanji is easily mistaken for another Latin-script language; the hint settles it.
    assert moderator.assess("rast e", lang="kmr").language == "kmr"
    assert moderator.assess("Bu haber çok güzel", lang="tr").language == "tr"


def test_a_hint_naming_another_arabic_script_language_is_kept(moderator):
    assert moderator.assess("این گفتگوها مهم است", lang="fa").language == "fa"


def test_comments_without_words_go_to_a_human(moderator):
    for text in ("🖕🖕🖕", "0 5 5 5 1 2 3 4 5 6 7 💰💰", "👍"):
        assert moderator.assess(text).decision == "review"
