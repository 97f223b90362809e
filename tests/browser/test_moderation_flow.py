"""The moderation flow in a real browser: post, decide from the keyboard, see the result."""

import re

import pytest
from playwright.sync_api import expect

from civility.web.comments import services
from civility.web.comments.models import Comment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CURRENT = re.compile(r"\bcurrent\b")


def post_through_the_form(page, site, article, author, text):
    page.goto(f"{site.url}/articles/{article.slug}/")
    page.fill("#id_author", author)
    page.fill("#id_text", text)
    page.click("#post-comment button[type=submit]")
    expect(page.locator("h1")).to_have_text("Awaiting moderation")
    return Comment.objects.get(author_name=author)


def card(page, comment):
    return page.locator(f"#comment-{comment.pk}")


def test_post_then_approve_with_the_a_key_then_visible(site, article, reader_page, moderator_page):
    comment = post_through_the_form(
        reader_page, site, article, "Layla", "Will the talks cover the coalition's timetable?"
    )
    status_url = reader_page.url
    assert comment.status == "pending"
    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    expect(reader_page.locator(f"#comment-{comment.pk}")).to_have_count(0)

    moderator_page.reload()
    expect(card(moderator_page, comment)).to_have_class(CURRENT)
    moderator_page.keyboard.press("a")
    expect(card(moderator_page, comment)).to_have_attribute("data-status", "approved")
    decision = comment.decisions.get()
    assert (decision.action, decision.actor.username) == ("approve", "moderator")

    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    expect(reader_page.locator(f"#comment-{comment.pk} .comment-text")).to_have_text(
        "Will the talks cover the coalition's timetable?"
    )
    reader_page.goto(status_url)
    expect(reader_page.locator("h1")).to_have_text("Approved")


def test_reject_with_the_reason_picker_never_shows_and_names_the_guideline(
    site, article, reader_page, moderator_page
):
    comment = post_through_the_form(
        reader_page, site, article, "Sam", "Someone should hurt the negotiators, you idiot."
    )
    status_url = reader_page.url
    moderator_page.reload()
    body = card(moderator_page, comment).locator(".comment-body mark")
    expect(body).to_have_text("idiot")

    moderator_page.keyboard.press("r")
    picker = card(moderator_page, comment).locator("details.reject")
    expect(picker).to_have_attribute("open", "")
    moderator_page.keyboard.press("3")  # third reason: threat of violence
    moderator_page.keyboard.press("7")  # seventh: unticks the engine's "off topic" suggestion
    moderator_page.keyboard.press("Enter")
    expect(card(moderator_page, comment)).to_have_attribute("data-status", "rejected")
    assert comment.decisions.get().reasons == ["threat"]

    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    expect(reader_page.locator(".comment-list")).to_have_count(0)
    assert "hurt the negotiators" not in reader_page.content()
    reader_page.goto(status_url)
    expect(reader_page.locator("h1")).to_have_text("Not published")
    expect(reader_page.locator(".guideline-reasons li")).to_have_count(1)
    expect(reader_page.locator(".guideline-reasons li[data-code=threat]")).to_be_visible()


def test_bulk_approve_selected_with_x_then_shift_a(site, article, reader_page, moderator_page):
    first, second, third = (
        services.submit_comment(article, name, "", f"{name} asks about the talks.", ip="10.1.1.1")
        for name in ("Ana", "Ben", "Cem")
    )
    moderator_page.reload()
    keyboard = moderator_page.keyboard
    keyboard.press("x")  # first card
    keyboard.press("j")
    keyboard.press("j")
    keyboard.press("x")  # third card
    expect(card(moderator_page, first).locator("input.select")).to_be_checked()
    expect(card(moderator_page, second).locator("input.select")).not_to_be_checked()
    keyboard.press("Shift+A")
    expect(moderator_page.locator(".mod-messages")).to_contain_text("Approved 2 comments")
    statuses = {c.pk: c.status for c in Comment.objects.with_status()}
    assert statuses == {first.pk: "approved", second.pk: "pending", third.pk: "approved"}
    expect(card(moderator_page, second)).to_be_visible()  # still pending, still queued

    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    expect(reader_page.locator(".comment-list > li")).to_have_count(2)


def test_help_overlay_opens_with_question_mark(site, article, moderator_page):
    services.submit_comment(article, "Dana", "", "A question.", ip="10.1.1.2")
    moderator_page.reload()
    overlay = moderator_page.locator("#help-overlay")
    expect(overlay).to_be_hidden()
    moderator_page.keyboard.press("?")
    expect(overlay).to_be_visible()
    moderator_page.keyboard.press("a")  # ignored while the help is open
    moderator_page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    assert Comment.objects.get().decisions.count() == 0


@pytest.mark.parametrize(
    "text",
    ["هذا تعليق عن المحادثات الأمنية في بغداد", "این یک نظر درباره گفتگوهای امنیتی است"],
    ids=["arabic", "persian"],
)
def test_rtl_comment_reads_right_to_left(site, article, reader_page, moderator_page, text):
    comment = post_through_the_form(reader_page, site, article, "Noor", text)
    moderator_page.reload()
    body = card(moderator_page, comment).locator(".comment-body")
    assert body.evaluate("el => getComputedStyle(el).direction") == "rtl"
    moderator_page.keyboard.press("a")
    expect(card(moderator_page, comment)).to_have_attribute("data-status", "approved")

    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    shown = reader_page.locator(f"#comment-{comment.pk} .comment-text")
    expect(shown).to_have_text(text)
    assert shown.evaluate("el => getComputedStyle(el).direction") == "rtl"


def test_queue_works_without_javascript(browser, site, article, moderator):
    from .conftest import PASSWORD

    keep, drop = (
        services.submit_comment(article, name, "", f"{name} on the talks.", ip="10.1.1.3")
        for name in ("Keep", "Drop")
    )
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{site.url}/accounts/login/?next=/moderation/")
    page.fill("input[name=username]", moderator.username)
    page.fill("input[name=password]", PASSWORD)
    page.click(".login button[type=submit]")
    page.click(f"#comment-{keep.pk} .approve-button")
    expect(page.locator(".mod-messages")).to_contain_text(f"Comment {keep.pk} approved")
    page.click(f"#comment-{drop.pk} details.reject summary")
    page.locator(f"#comment-{drop.pk} input[name=reasons][value=promotion]").check()
    page.click(f"#comment-{drop.pk} .reject-button")
    expect(page.locator(".mod-messages")).to_contain_text(f"Comment {drop.pk} rejected")
    expect(page.locator(".card")).to_have_count(0)  # nothing pending any more
    context.close()
    # submit_comment's instances carry the status they were returned with: read it afresh.
    assert Comment.objects.get(pk=keep.pk).status == "approved"
    assert set(drop.decisions.get().reasons) == {"off_topic", "promotion"}  # engine + added
