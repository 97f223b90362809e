"""A withdrawal at the author's request in the browser (issue 16 item 6): a published comment's
queue card has "Withdraw at the author's request"; the queue's script posts it as a change of
decision, the card turns rejected, the comment leaves the article page, and the decision trail
holds a rejection citing author_request with the text unchanged."""

import pytest
from playwright.sync_api import expect

from civility.web.comments.models import AUTHOR_REQUEST, Comment, Decision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "I said this before <b>the vote</b> — رأيي 🙂 please take it down."


def test_a_moderator_withdraws_a_published_comment_from_its_card(
    site, article, moderator, moderator_page, reader_page
):
    from civility.web.comments import services

    comment = services.submit_comment(article, "Dana", "dana@example.org", TEXT, ip="10.0.0.1")
    services.record_decision(comment, "approve", [], moderator)
    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    expect(reader_page.locator(f"#comment-{comment.pk}")).to_have_count(1)

    moderator_page.goto(f"{site.url}/moderation/?status=approved")
    card = moderator_page.locator(f"#comment-{comment.pk}")
    expect(card).to_have_attribute("data-status", "approved")
    card.get_by_role("button", name="Withdraw at the author's request").click()
    expect(card).to_have_attribute("data-status", "rejected")
    expect(card.locator(".decision-trail")).to_contain_text("Withdrawn at the author's request")

    latest = Decision.objects.filter(comment=comment).order_by("-id").first()
    assert latest.action == "reject" and latest.reasons == [AUTHOR_REQUEST]
    assert latest.actor_id == moderator.pk
    assert Comment.objects.get(pk=comment.pk).body == TEXT
    reader_page.reload()
    expect(reader_page.locator(f"#comment-{comment.pk}")).to_have_count(0)
    expect(reader_page.get_by_text("please take it down")).to_have_count(0)
