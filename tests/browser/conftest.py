"""Browser tests: Playwright drives Debian's /usr/bin/chromium against pytest-django's
live server, which runs in a thread of this process, so the engine can be replaced here.

Never downloads a browser: if /usr/bin/chromium is missing the tests are skipped (the
Makefile's `browser-deps` target installs it with apt)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CATEGORIES = ("profanity", "vulgarity", "threat", "personal_attack", "abuse", "promotion")
PASSWORD = "a-long-browser-test-password"  # noqa: S105 - test account only


@dataclass(frozen=True)
class ScriptedSpan:
    start: int
    end: int
    category: str

    def to_dict(self):
        return {"start": self.start, "end": self.end, "category": self.category}


@dataclass
class ScriptedAssessment:
    decision: str
    score: float
    categories: dict
    language: str
    reasons: list
    reason_codes: list
    spans: list = field(default_factory=list)
    abuse_kinds: dict = field(default_factory=dict)
    relevance: float | None = 0.02
    model_version: str = "scripted-1+policy-browser"


class ScriptedModerator:
    """Sends every comment to human review, so the tests never depend on model scores.
    The word "idiot" gets a personal-attack span, to show highlighting on the card."""

    class policy:  # noqa: N801 - mirrors Moderator.policy
        version = "browser"

    def assess(self, text, article=None, lang=None):
        categories = dict.fromkeys(CATEGORIES, 0.02)
        rtl = any("\u0600" <= ch <= "\u06ff" for ch in text)
        spans = []
        position = text.find("idiot")
        if position >= 0:
            categories["personal_attack"] = 0.6
            spans.append(ScriptedSpan(position, position + 5, "personal_attack"))
        return ScriptedAssessment(
            decision="review",
            score=max(categories.values()),
            categories=categories,
            language=lang or ("ar" if rtl else "en"),
            reasons=["Not relevant to the article"],
            reason_codes=["off_topic"],
            spans=spans,
        )


def _restore_audit_guards():
    """Triggers and the Moderators group as the migrations made them. A transactional
    test's flush empties every table (the group too) and must lift SQLite's triggers."""
    from django.contrib.auth.models import Group, Permission
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for module in _trigger_modules():
                for sql in [*module.drop_statements("sqlite"), *module.create_statements("sqlite")]:
                    cursor.execute(sql)
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(Permission.objects.get(codename="moderate_comment"))


def _trigger_modules():
    """The decision trail's triggers (with the comment body's) and every other append-only
    trail's (sanctions, appeals)."""
    from civility.web import appendonly
    from civility.web.comments import triggers

    return (triggers, *appendonly.trail_triggers())


def _lift_sqlite_triggers():
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for module in _trigger_modules():
                for sql in module.drop_statements("sqlite"):
                    cursor.execute(sql)


@pytest.fixture
def site(live_server, monkeypatch):
    """The live server with the scripted engine, clean limits and caches, and the audit
    guards in place; lifts the SQLite triggers afterwards so the flush can empty tables."""
    from django.core.cache import cache

    from civility.web import ratelimit
    from civility.web.comments import cache as comment_cache
    from civility.web.comments import services

    def forget_everything():
        # Each test recreates the same slugs and ids after a flush: nothing cached may survive.
        ratelimit.reset()
        cache.clear()
        comment_cache.forget_article()

    _restore_audit_guards()
    monkeypatch.setattr(services, "engine_moderator", lambda: ScriptedModerator())
    forget_everything()
    yield live_server
    forget_everything()
    _lift_sqlite_triggers()


@pytest.fixture
def article(site):
    from civility.web.articles.models import Article

    return Article.objects.create(
        slug="security-talks",
        title="Iraq and the US resume security talks",
        body="Delegations met in Baghdad to discuss the future of the coalition.",
    )


@pytest.fixture
def moderator(site):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("moderator", "mod@example.org", PASSWORD)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture(scope="module")
def browser():
    """Chromium, for one test module. Playwright's sync API keeps an event loop running in
    this thread while it is open, so it is closed after each module: the tests that pytest-django
    runs after the transactional ones (asyncio.run() in the ASGI tests, `civility check` in a
    subprocess) must not find that loop, nor DJANGO_ALLOW_ASYNC_UNSAFE in the environment."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (make browser-deps installs it)")
    from playwright.sync_api import sync_playwright

    # The ORM calls the tests make between page actions are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def reader_page(browser):
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def moderator_page(browser, site, moderator):
    """A signed-in moderator looking at the queue."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{site.url}/accounts/login/?next=/moderation/")
    page.fill("input[name=username]", moderator.username)
    page.fill("input[name=password]", PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(f"{site.url}/moderation/")
    yield page
    context.close()
