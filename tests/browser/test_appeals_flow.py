"""An appeal in the browser (issue 16 item 5): moderator A rejects a comment from the queue,
the commenter appeals from the status page the post led to, A is not offered the appeal, a
second moderator B overturns it, and the comment appears under the article, unchanged."""

import pytest
from playwright.sync_api import expect

from civility.web.comments.models import APPEAL_OVERTURNED, Appeal, AppealOutcome, Comment

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "The <em>minister</em> misled us & the talks — وزير 🙂 idiot-proof plan?"
APPEAL = "It criticises a public statement, not a person. <b>Please</b> look again."


@pytest.fixture
def second_moderator_page(browser, site):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(
        "omar", "omar@example.org", PASSWORD, first_name="Omar", last_name="Said"
    )
    user.groups.add(Group.objects.get(name="Moderators"))
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{site.url}/accounts/login/?next=/moderation/appeals/")
    page.fill("input[name=username]", "omar")
    page.fill("input[name=password]", PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(f"{site.url}/moderation/appeals/")
    yield page
    context.close()


def test_rejected_appealed_then_overturned_by_another_moderator(
    site, article, reader_page, moderator_page, second_moderator_page
):
    # The commenter posts; the page they land on is the comment's private status page.
    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    reader_page.fill("#id_author", "Dana")
    reader_page.fill("#id_text", TEXT)
    reader_page.click("#post-comment button[type=submit]")
    expect(reader_page.locator("h1")).to_have_text("Awaiting moderation")
    status_url = reader_page.url
    comment = Comment.objects.get(author_name="Dana")

    # Moderator A rejects it from the queue: personal attack only.
    moderator_page.reload()
    card = moderator_page.locator(f"#comment-{comment.pk}")
    moderator_page.keyboard.press("r")
    expect(card.locator("details.reject")).to_have_attribute("open", "")
    moderator_page.keyboard.press("4")  # personal attack
    moderator_page.keyboard.press("7")  # unticks the engine's "off topic" suggestion
    moderator_page.keyboard.press("Enter")
    expect(card).to_have_attribute("data-status", "rejected")

    # The commenter appeals from the status page.
    reader_page.goto(status_url)
    expect(reader_page.locator("h1")).to_have_text("Not published")
    form = reader_page.locator("form.appeal-form")
    expect(form.locator("h2")).to_have_text("Appeal this decision")
    reader_page.fill("#appeal-text", APPEAL)
    form.locator("button[type=submit]").click()
    expect(reader_page.locator(".notice")).to_have_text("Thank you. Your appeal was received.")
    expect(reader_page.locator(".appeal-text")).to_have_text(APPEAL)
    expect(reader_page.locator("form.appeal-form")).to_have_count(0)
    appeal = Appeal.objects.get(comment=comment)

    # Moderator A sees the appeal but may not decide it.
    moderator_page.goto(f"{site.url}/moderation/appeals/")
    mine = moderator_page.locator(f"#appeal-{appeal.pk}")
    expect(mine.locator(".own-rejection")).to_have_text(
        "You rejected this comment, so another moderator must decide its appeal."
    )
    expect(mine.locator("form.appeal-decision")).to_have_count(0)

    # Moderator B overturns it, with a reason.
    second_moderator_page.reload()
    theirs = second_moderator_page.locator(f"#appeal-{appeal.pk}")
    expect(theirs.locator(".appeal-text")).to_have_text(APPEAL)
    expect(theirs.locator(".rejection .codes")).to_have_text("Personal attack")
    expect(theirs.locator(".rejection bdi")).to_have_text("moderator")
    theirs.locator("input[name=outcome][value=overturned]").check()
    theirs.locator("textarea[name=reason]").fill("Criticism of a statement.")
    theirs.locator("form.appeal-decision button[type=submit]").click()
    expect(second_moderator_page.locator(".mod-messages")).to_contain_text(
        f"Appeal {appeal.pk} overturned: the comment is published."
    )
    outcome = AppealOutcome.objects.get(appeal=appeal)
    assert (outcome.outcome, outcome.actor.username) == ("overturned", "omar")
    assert outcome.decision.reasons == [APPEAL_OVERTURNED]

    # The comment appears under the article, its text unchanged.
    reader_page.goto(f"{site.url}/articles/{article.slug}/")
    expect(reader_page.locator(f"#comment-{comment.pk} .comment-text")).to_have_text(TEXT)
    assert Comment.objects.get(pk=comment.pk).body == TEXT
    reader_page.goto(status_url)
    expect(reader_page.locator("h1")).to_have_text("Approved")
    expect(reader_page.locator(".appeal-overturned")).to_be_visible()
    expect(reader_page.locator(".appeal-reason")).to_have_text("Criticism of a statement.")


def test_the_appeal_form_speaks_the_page_language(site, reader_page, moderator):
    from django.contrib.auth.models import User

    from civility.web.articles.models import Article
    from civility.web.comments import services

    article = Article.objects.create(
        slug="talks-ar", title="محادثات أمنية", body="التقى الوفدان في بغداد.", language="ar"
    )
    comment = services.submit_comment(article, "Sara", "", "رأي مخالف", ip="10.0.0.5")
    services.record_decision(comment, "reject", ["off_topic"], User.objects.get(pk=moderator.pk))
    reader_page.goto(f"{site.url}{comment.get_status_url()}")
    expect(reader_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(reader_page.locator("form.appeal-form h2")).to_have_text("اطعن في هذا القرار")
    reader_page.fill("#appeal-text", "التعليق يتعلق بالمقال.")
    reader_page.locator("form.appeal-form button[type=submit]").click()
    expect(reader_page.locator(".notice")).to_have_text("شكرًا لك. وصلنا طعنك.")
    assert Appeal.objects.get(comment=comment).language == "ar"
