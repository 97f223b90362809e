"""The embed on a publisher's page from another site, in Chromium: the host page is served
from http://localhost:<port>, Civility from http://127.0.0.1:<port> (different sites, so the
browser sends Civility no SameSite=Lax cookie from the frame). The reader posts inside the
frame, a moderator approves, the comment shows after a reload; the frame sizes itself through
postMessage; and a page on a third origin that forges the form fails, CSRF still enforced."""

from __future__ import annotations

import os
import re
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from civility.web.comments import services
from civility.web.comments.models import Comment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REPOSITORY = Path(__file__).resolve().parents[2]
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


class Pages:
    """A throwaway web server on localhost answering fixed HTML pages by path."""

    def __init__(self, pages: dict[str, str]):
        self.pages = pages
        self.hits: list[str] = []
        pages_, hits = self.pages, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                hits.append(self.path)
                body = pages_.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not here").encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("localhost", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def civility(site):
    """Civility's address as the host page names it: 127.0.0.1, not localhost."""
    port = urlsplit(site.url).port
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def output_folder() -> Path:
    folder = Path(os.environ.get("CIVILITY_TEST_OUTPUT") or REPOSITORY / "out") / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def host(civility, article):
    pages = Pages(
        {
            "/news/security-talks": (
                "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                "<title>The Daily Example</title></head><body>"
                "<h1>Iraq and the US resume security talks</h1><p>Our reporting…</p>"
                f"<script src='{civility}/embed.js' data-article='{article.slug}' async></script>"
                "<p id='after'>Footer</p></body></html>"
            )
        }
    )
    yield pages
    pages.close()


def form_token(civility, article) -> str:
    with urllib.request.urlopen(f"{civility}/embed/{article.slug}/") as response:  # noqa: S310
        return FORM_TOKEN.search(response.read().decode()).group(1)


def test_post_in_the_frame_on_another_site_then_approve_and_see_it(
    civility, host, article, browser, moderator, output_folder
):
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(f"{host.url}/news/security-talks")
    frame_element = page.locator("iframe.civility-comments")
    expect(frame_element).to_have_attribute("src", f"{civility}/embed/{article.slug}/")
    frame = page.frame_locator("iframe.civility-comments")
    expect(frame.locator("#post-comment h3")).to_have_text("Post a comment")

    # The frame tells the host page its height; the listener takes it only from Civility.
    expect(frame_element).to_have_attribute("style", re.compile(r"height: \d+px"))
    height = frame_element.evaluate("f => f.style.height")
    page.evaluate("window.postMessage({type: 'civility:resize', height: 7}, '*')")
    page.wait_for_timeout(200)
    assert frame_element.evaluate("f => f.style.height") == height  # a message from the host page
    expect(frame_element).to_have_attribute("title", re.compile("Iraq and the US"))

    frame.locator("#id_author").fill("Layla")
    frame.locator("#id_text").fill("Will the talks cover the coalition's timetable?")
    frame.locator("#post-comment button[type=submit]").click()
    expect(frame.locator("h1")).to_have_text("Awaiting moderation")
    comment = Comment.objects.get()
    assert comment.status == "pending"
    # Nothing was needed from Civility's cookies: none was set for its site.
    assert not [c for c in context.cookies() if c["domain"] == "127.0.0.1"]
    page.screenshot(path=output_folder / "embed-held.png", full_page=True)

    services.record_decision(comment, "approve", [], moderator)
    page.reload()
    frame = page.frame_locator("iframe.civility-comments")
    expect(frame.locator(f"#comment-{comment.pk} .comment-text")).to_have_text(
        "Will the talks cover the coalition's timetable?"
    )
    page.screenshot(path=output_folder / "embed-approved.png", full_page=True)
    context.close()


def test_a_forged_post_from_a_third_origin_fails(civility, host, article, browser):
    token = form_token(civility, article)  # a real token: the Origin check still refuses
    forger = Pages(
        {
            "/prize": (
                "<!doctype html><html><body><h1>You won!</h1>"
                f"<form id='embed' method='post' action='{civility}/embed/{article.slug}/comments/'>"
                "<input name='author' value='Forger'><input name='text' value='Buy now!'>"
                f"<input type='hidden' name='form_token' value='{token}'>"
                "<button id='go-embed'>Claim</button></form>"
                f"<form id='main' method='post' action='{civility}/articles/{article.slug}/comments/'>"
                "<input name='author' value='Forger'><input name='text' value='Buy now!'>"
                "<input type='hidden' name='csrfmiddlewaretoken' value='guessed'>"
                "<button id='go-main'>Claim again</button></form>"
                "</body></html>"
            )
        }
    )
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        # The reader has visited the genuine article page first, so a CSRF cookie exists.
        page.goto(f"{civility}/articles/{article.slug}/")
        page.goto(f"{forger.url}/prize")
        with page.expect_navigation():
            page.click("#go-embed")
        with translation.override("en"):
            expect(page.locator("h1")).to_have_text(gettext("Your comment was not sent"))
        page.goto(f"{forger.url}/prize")
        with page.expect_response(lambda r: "/comments/" in r.url) as answer:
            page.click("#go-main")
        assert answer.value.status == 403  # Django's CSRF check on the main site's form
    finally:
        context.close()
        forger.close()
    assert not Comment.objects.exists()
