"""Screenshots of the moderator queue, the dashboard and an article page for docs/screenshots/.

Run `CIVILITY_SCREENSHOTS_DIR=docs/screenshots .venv/bin/pytest -m browser
tests/browser/test_screenshots.py` to refresh the committed images; otherwise they go to a
temporary folder and the test only checks that the pages render and the images are PNGs.
Scores come from a scripted engine so the pictures are the same on every run."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from civility.web.comments import services
from civility.web.comments.models import Comment, Decision

from .conftest import CATEGORIES, ScriptedAssessment, ScriptedSpan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# (text, language, relevance, {phrase: (category, score)}) — written for this demo.
SHOWCASE = [
    (
        "The talks matter, but who checks that the coalition keeps its promises this time?",
        "en",
        0.41,
        {},
    ),
    ("أتمنى أن تؤدي هذه المحادثات إلى انسحاب منظم يحفظ أمن المدنيين.", "ar", 0.33, {}),
    ("Bu görüşmeler bölgedeki istikrar için önemli.", "tr", 0.28, {}),
    (
        "Only an idiot would believe these negotiators. Shut up and read the facts.",
        "en",
        0.22,
        {"idiot": ("personal_attack", 0.71), "Shut up": ("personal_attack", 0.71)},
    ),
    (
        "Great deals on flights to Baghdad!!! Visit cheap-flights.example now",
        "en",
        0.12,
        {"cheap-flights.example": ("promotion", 0.64), "Great deals": ("promotion", 0.64)},
    ),
    ("این مذاکرات فقط نمایش است و هیچ چیزی تغییر نمی‌کند.", "fa", 0.18, {}),
    (
        "People like you should be dragged out and taught a lesson.",
        "en",
        0.09,
        {"dragged out and taught a lesson": ("threat", 0.58)},
    ),
]
APPROVED_BY_HAND = 3  # the first three are published, the rest wait in the queue


def seed_history(article, moderator, days=12):
    """Earlier, already decided comments so the dashboard has a shape: a fixed pattern of
    volumes, automatic and human decisions and rejection reasons (no randomness)."""
    reasons = ["personal_attack", "promotion", "profanity", "threat", "off_topic", "abuse"]
    now = timezone.now()
    for day in range(1, days + 1):
        for n in range(3 + (day * 5) % 7):
            posted = now - timedelta(days=day, hours=n)
            comment = Comment.objects.create(
                article=article,
                author_name=f"Reader {day}-{n}",
                body="An earlier comment.",
                created=posted,
            )
            by_policy = (day + n) % 3 != 0
            rejected = n % 4 == 0
            Decision.objects.create(
                comment=comment,
                action="reject" if rejected else "approve",
                reasons=[reasons[(day + n) % len(reasons)]] if rejected else [],
                actor=None if by_policy else moderator,
                actor_policy_version="policy-showcase" if by_policy else "",
                created=posted
                + (timedelta(seconds=2) if by_policy else timedelta(minutes=7 + 9 * n)),
            )


class ShowcaseModerator:
    class policy:  # noqa: N801 - mirrors Moderator.policy
        version = "showcase"

    def assess(self, text, article=None, lang=None):
        _, language, relevance, phrases = next(item for item in SHOWCASE if item[0] == text)
        categories = dict.fromkeys(CATEGORIES, 0.03)
        spans = []
        for phrase, (category, score) in phrases.items():
            start = text.index(phrase)
            spans.append(ScriptedSpan(start, start + len(phrase), category))
            categories[category] = score
        reasons = [c for c in CATEGORIES if categories[c] >= 0.3] or ["unsupported_language"]
        return ScriptedAssessment(
            decision="review",
            score=max(categories.values()),
            categories=categories,
            language=language,
            reasons=[r.replace("_", " ").capitalize() for r in reasons],
            reason_codes=reasons,
            spans=sorted(spans, key=lambda s: s.start),
            relevance=relevance,
        )


def test_screenshots_of_queue_dashboard_and_article(
    site, article, moderator, moderator_page, reader_page, monkeypatch, tmp_path
):
    monkeypatch.setattr(services, "engine_moderator", lambda: ShowcaseModerator())
    # The signed-in moderator starts on the live queue, whose stream reads the decisions while
    # this test writes a hundred of them: in-memory SQLite (shared cache) refuses such a write
    # at once ("table is locked") instead of waiting. Leave the queue until the data is in.
    moderator_page.goto("about:blank")
    out = Path(os.environ.get("CIVILITY_SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    comments = [
        services.submit_comment(article, author, "", text, ip=f"10.2.0.{i}")
        for i, ((text, *_), author) in enumerate(
            zip(SHOWCASE, ["Layla", "Omar", "Deniz", "Rex", "Promo", "Sara", "Anon"], strict=True)
        )
    ]
    for comment in comments[:APPROVED_BY_HAND]:
        services.record_decision(comment, "approve", [], moderator)
    from civility.web.articles.models import Article

    earlier = Article.objects.create(
        slug="budget-vote", title="Parliament votes on the budget", body="The vote was close."
    )
    seed_history(earlier, moderator)  # on another article, so the article page stays readable

    moderator_page.set_viewport_size({"width": 1200, "height": 900})
    moderator_page.goto(f"{site.url}/moderation/?order=risk")
    expect(moderator_page.locator(".card")).to_have_count(len(SHOWCASE) - APPROVED_BY_HAND)
    expect(moderator_page.locator(".card mark")).to_have_count(5)
    moderator_page.screenshot(path=out / "moderation-queue.png", full_page=True)
    moderator_page.goto(f"{site.url}/moderation/dashboard/")
    expect(moderator_page.locator("svg.chart:not(.spark)")).to_have_count(3)
    moderator_page.screenshot(path=out / "moderation-dashboard.png", full_page=True)

    reader_page.set_viewport_size({"width": 1000, "height": 900})
    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    expect(reader_page.locator(".comment-list > li")).to_have_count(APPROVED_BY_HAND)
    reader_page.screenshot(path=out / "article-page.png", full_page=True)

    for name in ("moderation-queue.png", "moderation-dashboard.png", "article-page.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
