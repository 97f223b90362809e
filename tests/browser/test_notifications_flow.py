"""Notifications in a real browser (issue 16, item 4): a reader on a Persian article ticks
"e-mail me" when posting; a moderator approves from the queue card; the approval mail arrives
at a real SMTP server (aiosmtpd) in Persian, right-to-left, with a link that shows the comment
under the article; its unsubscribe link, opened and confirmed in the browser, stops the next
approval mail."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from civility.web.articles.models import Article
from civility.web.commenters.models import OutgoingMail, Unsubscribed
from civility.web.comments.models import Comment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_commenters_flow import inbox  # noqa: E402, F401 - the real SMTP server fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ADDRESS = "shirin.reader@example.org"
VERIFY = "/commenters/verify/"


def post(page, site, article, text):
    page.goto(f"{site.url}/articles/{article.slug}/")
    expect(page.locator("html")).to_have_attribute("lang", "fa")
    page.fill("#id_author", "شیرین")
    page.fill("#id_email", ADDRESS)
    page.fill("#id_text", text)
    page.check("#id_notify")
    page.click("#post-comment button[type=submit]")
    expect(page.locator(".notice")).to_have_text("سپاس. نظر شما دریافت شد.")
    return Comment.objects.get(body=text)


def approve(moderator_page, comment):
    moderator_page.reload()
    moderator_page.click(f"#comment-{comment.pk} .approve-button")
    expect(moderator_page.locator(f"#comment-{comment.pk}")).to_have_attribute(
        "data-status", "approved"
    )


def notices(server):
    """The notification mails received (not the sign-in links)."""
    return [m for _to, m in server.messages if VERIFY not in m.get_body(("plain",)).get_content()]


def test_approval_mail_in_persian_then_unsubscribe_stops_the_next(
    site,
    inbox,  # noqa: F811 - the fixture imported above
    reader_page,
    moderator_page,
):
    article = Article.objects.create(
        slug="talks-fa",
        title="گفت‌وگوهای امنیتی",
        body="هیئت‌ها در بغداد دیدار کردند.",
        language="fa",
    )
    first = post(reader_page, site, article, "این گفت‌وگوها مهم است.")
    approve(moderator_page, first)

    deadline = time.monotonic() + 20
    while not notices(inbox) and time.monotonic() < deadline:
        time.sleep(0.05)
    (message,) = notices(inbox)
    assert message["To"] == ADDRESS
    assert message["Subject"] == "نظر شما منتشر شد"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "گفت‌وگوهای امنیتی" in text
    assert '<html lang="fa" dir="rtl">' in html
    unsubscribe = re.search(r"https?://\S+/commenters/unsubscribe/\?\S+", text).group(0)
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"  # folded: long
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The mail's link shows the comment under the article.
    link = re.search(rf"https?://\S+/articles/{article.slug}/\S+#comment-{first.pk}", text)
    reader_page.goto(link.group(0))
    expect(reader_page.locator(f"#comment-{first.pk} .comment-text")).to_have_text(first.body)

    # Unsubscribe: the page asks first (in Persian, right to left), the button does it.
    reader_page.goto(unsubscribe)
    expect(reader_page.locator("html")).to_have_attribute("dir", "rtl")
    assert not Unsubscribed.objects.exists()
    reader_page.click(".unsubscribe form button[type=submit]")
    expect(reader_page.locator(".notice")).to_have_text(
        "انجام شد. این نشانی دیگر ایمیلی دربارهٔ نظرها از ما دریافت نمی‌کند."
    )
    assert Unsubscribed.objects.count() == 1

    # The same address opts in again: the next approval sends nothing.
    second = post(reader_page, site, article, "و یک نکتهٔ دیگر دربارهٔ این گفت‌وگوها.")
    approve(moderator_page, second)
    mail = OutgoingMail.objects.get(comment_id=second.pk)
    assert mail.status == OutgoingMail.SKIPPED and mail.last_error == "unsubscribed"
    assert len(notices(inbox)) == 1
