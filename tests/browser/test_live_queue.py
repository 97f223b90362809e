"""Two moderators, two browsers, one queue, served as deployed (`civility serve`: gunicorn's
asyncio workers, two of them, so the two pages may well stream from different processes).

- Layla decides; Sam's open queue drops the card within 2 s and says who decided it.
- A comment posted meanwhile appears in both queues within 2 s.
- Sam sees that Layla is reading a card (a soft claim).
- Sam's page, its live updates cut off, still holds the comment as pending; his decision on
  it is refused with the conflict message, and nothing is recorded."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CIVILITY = str(Path(sys.executable).with_name("civility"))
TESTS_WEB = str(Path(__file__).resolve().parents[1] / "web")
SLUG = "live-queue"
LIVE_WITHIN_MS = 2_000  # the bound for a decision made in another browser

SETUP = f"""
import django; django.setup()
from django.contrib.auth.models import User
from civility.web.api.models import ApiToken
from civility.web.articles.models import Article
from civility.web.comments.services import moderators_group
Article.objects.create(slug={SLUG!r}, title="Talks resume", body="Delegations met.")
for name, first, last in (("layla", "Layla", "Hassan"), ("sam", "Sam", "")):
    user = User.objects.create_user(name, password={PASSWORD!r}, first_name=first, last_name=last)
    user.groups.add(moderators_group())
print(ApiToken.objects.issue(User.objects.get(username="sam"))[1])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our server
            return json.loads(response.read())

    def post(self, author: str, text: str) -> int:
        return self.call("POST", f"/articles/{SLUG}/comments", {"author": author, "text": text})[
            "id"
        ]

    def queue_item(self, comment_id: int) -> dict:
        items = self.call("GET", "/moderation/queue?status=all&limit=200")["comments"]
        return next(item for item in items if item["id"] == comment_id)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("live")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="civility.web.settings",
        CIVILITY_DATA_DIR=str(data_dir),
        CIVILITY_PRODUCTION="0",  # plain HTTP on 127.0.0.1
        CIVILITY_ENGINE="scripted_engine:build",  # "hmm" goes to review; no model to load
        PYTHONPATH=os.pathsep.join(filter(None, [TESTS_WEB, env.get("PYTHONPATH")])),
        LOG_LEVEL="ERROR",
    )
    subprocess.run([CIVILITY, "migrate", "-v0"], env=env, check=True)
    token = subprocess.run(
        [sys.executable, "-c", SETUP], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    port = free_port()
    process = subprocess.Popen(
        [CIVILITY, "serve", "--port", str(port), "--workers", "2", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, "civility serve exited during start-up"
        try:
            with urllib.request.urlopen(f"{url}/guidelines/", timeout=5):  # noqa: S310
                break
        except OSError:
            assert time.monotonic() < deadline, "civility serve did not start"
            time.sleep(0.3)
    yield Site(url, token)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def open_queue(browser, site: Site, username: str, live: bool = True):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    if not live:  # this moderator's page gets no live updates (a stale page)
        context.route(re.compile(r"/moderation/live/"), lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{site.url}/accounts/login/?next=/moderation/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(f"{site.url}/moderation/")
    return context, page


def card(page, comment_id: int):
    return page.locator(f"#comment-{comment_id}")


def streaming(page) -> None:
    """Wait until the page's event stream has given its first events."""
    expect(page.locator("#queue")).to_have_attribute("data-live", "streaming")


def test_a_decision_in_one_browser_shows_in_the_other_within_two_seconds(browser, served):
    first = served.post("Nadia", "hmm, what will the talks decide?")
    second = served.post("Omar", "hmm, and the timetable?")
    layla_context, layla = open_queue(browser, served, "layla")
    sam_context, sam = open_queue(browser, served, "sam")
    try:
        streaming(layla)
        streaming(sam)
        # Layla's page starts on the first card: after a moment it is hers, and Sam sees it.
        expect(card(sam, first).locator(".readers")).to_have_text(
            "Layla Hassan is reading this", timeout=10_000
        )
        expect(card(layla, first).locator(".readers")).to_be_hidden()

        layla.keyboard.press("a")
        expect(card(layla, first)).to_have_attribute("data-status", "approved")
        started = time.monotonic()
        expect(card(sam, first)).to_have_count(0, timeout=LIVE_WITHIN_MS)
        print(f"decision seen in the other browser after {time.monotonic() - started:.2f} s")
        expect(sam.locator("#live-notices")).to_contain_text(
            f"Comment {first} was approved by Layla Hassan."
        )
        expect(card(sam, second)).to_be_visible()
        # Her own decided card stays on her page, marked, until she reloads.
        expect(card(layla, first)).to_have_class(re.compile(r"\bdecided\b"))

        started = time.monotonic()
        third = served.post("Zana", "hmm, posted while both watch")
        expect(card(sam, third)).to_be_visible(timeout=LIVE_WITHIN_MS)
        expect(card(layla, third)).to_be_visible(timeout=LIVE_WITHIN_MS)
        print(f"new comment seen in both browsers after {time.monotonic() - started:.2f} s")
        expect(sam.locator("#queue-count")).to_have_text("2 comments")
        assert served.queue_item(first)["status"] == "approved"
    finally:
        layla_context.close()
        sam_context.close()


def test_a_decision_from_a_stale_page_gets_the_conflict_message(browser, served):
    comment = served.post("Rasha", "hmm, is this one fine?")
    layla_context, layla = open_queue(browser, served, "layla")
    sam_context, sam = open_queue(browser, served, "sam", live=False)
    try:
        expect(card(sam, comment)).to_be_visible()
        layla.locator(f"#comment-{comment} .approve-button").click()
        expect(card(layla, comment)).to_have_attribute("data-status", "approved")
        layla_decision = served.queue_item(comment)["decision_id"]

        # Sam's page never heard of it: he rejects what he still sees as pending.
        sam.locator(f"#comment-{comment}").click()
        sam.keyboard.press("r")
        expect(card(sam, comment).locator("details.reject")).to_have_attribute("open", "")
        sam.keyboard.press("Enter")  # with the engine's suggested reason, promotion
        conflict = card(sam, comment).locator(".conflict")
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text(f"Not applied: comment {comment} was approved by")
        expect(conflict).to_contain_text("Layla Hassan")
        # The card now shows the comment as it is: approved, with a change of decision offered.
        expect(card(sam, comment)).to_have_attribute("data-status", "approved")
        expect(card(sam, comment).locator(".change-label")).to_be_visible()

        item = served.queue_item(comment)
        assert (item["status"], item["decision_id"]) == ("approved", layla_decision)
    finally:
        layla_context.close()
        sam_context.close()
