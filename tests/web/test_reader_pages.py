"""Reader pages: home, article with approved comments, posting, status link, guidelines, embed."""

import re

import pytest
from django.test import Client

from civility.web.comments.models import Comment
from civility.web.comments.services import MAX_COMMENT_CHARS, record_decision

pytestmark = pytest.mark.django_db


def post_form(client, article, **fields):
    data = {"author": "Ann", "email": "", "text": "A fair point about the talks.", **fields}
    return client.post(f"/articles/{article.slug}/comments/", data)


def test_home_lists_articles(client, article):
    response = client.get("/")
    assert response.status_code == 200
    assert article.title in response.content.decode()
    assert f'href="/articles/{article.slug}/"' in response.content.decode()


def test_article_page_shows_form_with_counter_csrf_and_guidelines_link(client, article):
    page = client.get(f"/articles/{article.slug}/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    # The counter knows the server's limit; the box has no maxlength, which browsers would
    # count differently (UTF-16 units, one per line break) from the server.
    assert f'data-max="{MAX_COMMENT_CHARS}"' in page
    assert not re.search(r"<textarea[^>]*maxlength", page)
    assert 'id="text-counter"' in page and "reader/reader.js" in page
    assert 'href="/guidelines/?lang=en"' in page


def test_form_requires_csrf_token(article, fake_engine):
    strict = Client(enforce_csrf_checks=True)
    response = post_form(strict, article)
    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_posting_redirects_to_private_status_page(client, article, fake_engine):
    response = post_form(client, article, text="hmm, a borderline remark")
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert response["Location"].startswith(f"/comments/status/{comment.status_token}/")
    status_page = client.get(response["Location"])
    assert "Awaiting moderation" in status_page.content.decode()
    assert status_page["Cache-Control"] == "private, no-store"
    assert (
        "hmm, a borderline remark" not in client.get(f"/articles/{article.slug}/").content.decode()
    )


def test_approved_comments_appear_threaded_and_pending_do_not(
    client, article, post, moderator_user
):
    parent = post("The first point.")
    reply = post("A reply to the first point.", author="Bo", parent=parent, ip="10.0.0.2")
    pending = post("hmm, this waits", author="Cy", ip="10.0.0.3")
    page = client.get(f"/articles/{article.slug}/").content.decode()
    assert page.index("The first point.") < page.index("A reply to the first point.")
    assert re.search(rf'class="comment depth-1" id="comment-{reply.pk}"', page)
    assert "hmm, this waits" not in page
    record_decision(pending, "approve", [], moderator_user)
    assert "hmm, this waits" in client.get(f"/articles/{article.slug}/").content.decode()
    record_decision(pending, "reject", ["other"], moderator_user)
    assert "hmm, this waits" not in client.get(f"/articles/{article.slug}/").content.decode()


def test_rejected_status_page_names_the_guideline(client, article, fake_engine):
    response = post_form(client, article, text="You are an idiot.")
    page = client.get(response["Location"]).content.decode()
    assert "Not published" in page
    assert 'data-code="personal_attack"' in page
    assert "You are an idiot." not in client.get(f"/articles/{article.slug}/").content.decode()


def test_unknown_status_token_is_404(client, db):
    assert client.get("/comments/status/not-a-real-token/").status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '"><svg onload=alert(1)>',
        "javascript:alert(1) http://spam.example/buy",
    ],
)
def test_comment_text_is_escaped_and_links_are_not_live(client, article, post, payload):
    post(f"Look: {payload}", author=f"<b>{payload}</b>")
    page = client.get(f"/articles/{article.slug}/").content.decode()
    thread = page[page.index('class="comment-list"') :]
    assert "<script>alert" not in thread and "<img" not in thread and "<svg" not in thread
    assert "<b>" not in thread
    assert 'href="http://spam.example' not in thread and 'href="javascript:' not in thread


def test_line_breaks_kept_and_direction_auto(client, article, post):
    post("سلام دوستان\nخط دوم")
    page = client.get(f"/articles/{article.slug}/").content.decode()
    assert 'class="comment-text" dir="auto">سلام دوستان<br>خط دوم' in page


def test_form_errors_name_the_field_and_keep_the_text(client, article, fake_engine):
    response = post_form(client, article, author="", text="kept text")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-field="author"' in page and "kept text" in page
    response = post_form(client, article, text="x" * (MAX_COMMENT_CHARS + 1))
    assert response.status_code == 400 and 'data-field="text"' in response.content.decode()
    response = post_form(client, article, email="not-an-address")
    assert 'data-field="email"' in response.content.decode()
    assert not Comment.objects.exists()


def test_reply_to_missing_comment_is_a_form_error(client, article, fake_engine):
    response = post_form(client, article, parent="999999")
    assert response.status_code == 400 and 'data-field="parent"' in response.content.decode()


def test_closed_article_refuses_comments(client, article, fake_engine):
    article.comments_open = False
    article.save()
    assert "Comments are closed" in client.get(f"/articles/{article.slug}/").content.decode()
    assert post_form(client, article).status_code == 400
    assert not Comment.objects.exists()


def test_posting_is_rate_limited_per_ip_with_retry_after(client, article, fake_engine, settings):
    settings.CIVILITY_POST_LIMIT_PER_IP = (2, 60)
    for i in range(2):
        assert post_form(client, article, author=f"Reader {i}").status_code == 302
    response = post_form(client, article, author="Reader 3")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert Comment.objects.count() == 2


def test_engine_failure_keeps_the_comment_pending(client, article, fake_engine):
    response = post_form(client, article, text="EXPLODE the engine please")
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.status == "pending"
    assert "Awaiting moderation" in client.get(response["Location"]).content.decode()


def test_guidelines_page_lists_every_reason_code(client, db):
    page = client.get("/guidelines/").content.decode()
    for code in (
        "profanity",
        "vulgarity",
        "threat",
        "personal_attack",
        "abuse",
        "promotion",
        "off_topic",
        "other",
    ):
        assert f'id="{code}"' in page


def test_embed_script_and_frame(client, article, post):
    post("Embedded and approved.")
    script = client.get("/embed.js")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]
    assert "/embed/" in script.content.decode()
    frame = client.get(f"/embed/{article.slug}/")
    assert frame.status_code == 200
    assert "X-Frame-Options" not in frame
    assert "Embedded and approved." in frame.content.decode()
    assert client.get(f"/articles/{article.slug}/")["X-Frame-Options"] == "DENY"
    # Posting from the frame ends on the status page, which must render inside the frame too.
    # Older embed pages posted to the article's form with ?embed=1: it still ends framed.
    response = client.post(
        f"/articles/{article.slug}/comments/?embed=1", {"author": "Ann", "text": "From the frame."}
    )
    assert "X-Frame-Options" not in client.get(response["Location"])


def test_oversized_form_body_gets_413(client, article, fake_engine, settings):
    response = client.post(
        f"/articles/{article.slug}/comments/",
        {"author": "Ann", "text": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)},
    )
    assert response.status_code == 413
    assert "too much text" in response.content.decode()
    assert not Comment.objects.exists()


def test_cached_article_page_gets_a_fresh_csrf_token_per_visitor(article, post):
    post("Cached but approved.")
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    pages = [c.get(f"/articles/{article.slug}/").content.decode() for c in (first, second)]
    tokens = [re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', p).group(1) for p in pages]
    assert tokens[0] != tokens[1]
    assert all("placeholder" not in t for t in tokens)
    assert all("Cached but approved." in p for p in pages)
    # The token in the cached page really works for posting.
    response = first.post(
        f"/articles/{article.slug}/comments/",
        {"author": "Ann", "text": "Posting with the token.", "csrfmiddlewaretoken": tokens[0]},
    )
    assert response.status_code == 302


def test_automatic_approval_refreshes_the_cached_page(
    client, article, post, django_capture_on_commit_callbacks
):
    assert "Arrives later." not in client.get(f"/articles/{article.slug}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        post("Arrives later.")
    assert "Arrives later." in client.get(f"/articles/{article.slug}/").content.decode()
    assert (
        "Arrives later." in client.get(f"/api/v1/articles/{article.slug}/comments").content.decode()
    )
