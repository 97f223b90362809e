"""Commenters in a real browser (issue 16): a comment with an e-mail sends a sign-in mail to
a real SMTP server started here (aiosmtpd); its link verifies the browser; the queue card
shows the verified commenter's history; a moderator bans them from the card; their next post,
on an Arabic article, is refused with the Arabic message."""

from __future__ import annotations

import email
import re
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from civility.web.articles.models import Article
from civility.web.commenters.models import BAN, Authorship, Commenter
from civility.web.comments.models import Comment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ADDRESS = "dana.reader@example.org"


class Inbox:
    """An SMTP server's handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"

    def wait_for(self, count: int, seconds: float = 20.0):
        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} mail(s) arrived, not {count}"
        return self.messages[count - 1]


@pytest.fixture
def inbox(settings):
    handler = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks its server on the port)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield handler
    controller.stop()


def post(page, site, article, text, name="Dana", address=""):
    page.goto(f"{site.url}/articles/{article.slug}/")
    page.fill("#id_author", name)
    page.fill("#id_email", address)
    page.fill("#id_text", text)
    page.click("#post-comment button[type=submit]")


def test_verify_by_mail_then_banned_from_the_card_then_refused_in_arabic(
    site, article, inbox, reader_page, moderator_page
):
    arabic = Article.objects.create(
        slug="talks-ar", title="محادثات أمنية", body="التقى الوفدان في بغداد.", language="ar"
    )
    post(reader_page, site, article, "Will the talks cover the timetable?", address=ADDRESS)
    expect(reader_page.locator("h1")).to_have_text("Awaiting moderation")

    recipients, message = inbox.wait_for(1)
    assert recipients == [ADDRESS]
    assert message["Subject"] == "Confirm your e-mail address to comment"
    link = re.search(r"https?://\S+/commenters/verify/\?\S+", message.get_content()).group(0)
    reader_page.goto(link)
    reader_page.click("form button[type=submit]")
    expect(reader_page.locator(".notice")).to_contain_text("Your e-mail address is confirmed")
    dana = Commenter.objects.get(email=ADDRESS)

    post(reader_page, site, article, "A second thought on the coalition.")
    expect(reader_page.locator("h1")).to_have_text("Awaiting moderation")
    second = Comment.objects.get(body="A second thought on the coalition.")
    assert Authorship.objects.get(comment=second).commenter == dana
    assert len(inbox.messages) == 1  # a verified browser gets no second link

    moderator_page.reload()
    card = moderator_page.locator(f"#comment-{second.pk}")
    commenter = card.locator("details.commenter")
    expect(commenter.locator("summary")).to_contain_text("Verified commenter")
    expect(commenter.locator("summary")).to_contain_text("0 approved, 0 rejected")
    commenter.locator("summary").click()
    commenter.locator("input[name=action][value=ban]").check()
    commenter.locator("input[name=reason]").fill("Threats under three articles")
    commenter.locator("button[type=submit]").click()
    expect(moderator_page.locator(".mod-messages")).to_contain_text("The commenter is banned.")
    expect(
        moderator_page.locator(f"#comment-{second.pk} details.commenter .sanction")
    ).to_have_text("banned")
    assert dana.sanctions.get().kind == BAN

    before = Comment.objects.count()
    post(reader_page, site, arabic, "تعليق جديد عن المحادثات.")
    expect(reader_page.locator("#post-comment")).to_contain_text(
        "لم يعد بإمكانك التعليق هنا: لقد حظرك أحد المشرفين."
    )
    assert Comment.objects.count() == before
