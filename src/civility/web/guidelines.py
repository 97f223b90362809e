"""The newsroom's community guidelines, in our own words, in plain language: the reader pages
show them, the status page and the rejection mail name the one a comment broke. Their codes are
the decision reason codes (the engine's categories, `off_topic` and `other`).

Web infrastructure, below every app: comments and commenters both read it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

GUIDELINES: list[tuple[str, str, str]] = [
    (
        "profanity",
        gettext_lazy("No profanity"),
        gettext_lazy(
            "Swearing adds heat, not light. Make your point without it, even when you are angry."
        ),
    ),
    (
        "vulgarity",
        gettext_lazy("No vulgar or sexual content"),
        gettext_lazy("Crude sexual language and descriptions have no place under the news."),
    ),
    (
        "threat",
        gettext_lazy("No threats"),
        gettext_lazy(
            "Never threaten or wish violence on anyone, including public figures, and do not urge others to."
        ),
    ),
    (
        "personal_attack",
        gettext_lazy("Argue with ideas, not people"),
        gettext_lazy(
            "Insults and name-calling aimed at the author, other readers or people in the story are not published."
        ),
    ),
    (
        "abuse",
        gettext_lazy("No abuse of groups"),
        gettext_lazy(
            "No hatred or contempt for people because of their sex, race, ethnicity, nationality, "
            "religion, sexual orientation or similar traits."
        ),
    ),
    (
        "promotion",
        gettext_lazy("No advertising or self-promotion"),
        gettext_lazy(
            "Comments are not a place for sales pitches, contact details or links to your own channels."
        ),
    ),
    (
        "off_topic",
        gettext_lazy("Stay on the article's subject"),
        gettext_lazy("Comments should respond to the article they are under."),
    ),
    (
        "other",
        gettext_lazy("Other reasons"),
        gettext_lazy(
            "Rarely, a comment is declined for another reason, such as sharing someone's private details "
            "or spam; the moderator's choice is recorded."
        ),
    ),
]
GUIDELINE_TITLES = {code: title for code, title, _text in GUIDELINES}
