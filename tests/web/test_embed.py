"""The embed on a publisher's site: its form posts with a signed, expiring form token bound to
the article and from Civility's own origin, never with the CSRF cookie; the main site's form
keeps Django's CSRF check; refusals and errors are pages the frame may show."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client

from civility.web.articles.models import Article
from civility.web.comments import embed as embed_forms
from civility.web.comments.models import Comment

pytestmark = pytest.mark.django_db
SITE = "http://testserver"
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def csp(response) -> dict:
    header = response.get("Content-Security-Policy", "")  # the 413 is answered before it
    return {name: values for name, *values in (part.split() for part in header.split(";") if part)}


def framable(response) -> bool:
    return "X-Frame-Options" not in response and csp(response).get("frame-ancestors") != ["'none'"]


def embed_token(client, article, query="") -> str:
    page = client.get(f"/embed/{article.slug}/{query}")
    assert page.status_code == 200
    return FORM_TOKEN.search(page.content.decode()).group(1)


def embed_post(client, article, token, origin=SITE, **fields):
    data = {"author": "Ann", "text": "Posted from the frame.", "form_token": token, **fields}
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(f"/embed/{article.slug}/comments/", data, **headers)


def test_embed_form_carries_a_fresh_token_and_no_csrf_cookie(article):
    reader = Client(enforce_csrf_checks=True)
    first, second = embed_token(reader, article), embed_token(reader, article)
    assert first != second  # one per rendering, the cached page included
    page = reader.get(f"/embed/{article.slug}/")
    html = page.content.decode()
    assert "csrfmiddlewaretoken" not in html and "placeholder" not in html
    assert "csrftoken" not in page.cookies and "sessionid" not in page.cookies
    assert f'action="/embed/{article.slug}/comments/?lang=en"' in html
    assert framable(page)


def test_embed_posts_without_any_cookie_from_its_own_origin(article, fake_engine):
    reader = Client(enforce_csrf_checks=True)
    token = embed_token(reader, article)
    reader.cookies.clear()  # what a cross-site frame has: no cookie reaches Civility
    response = embed_post(reader, article, token)
    assert response.status_code == 302
    assert "embed=1" in response["Location"]
    comment = Comment.objects.get()
    assert comment.body == "Posted from the frame."
    status = reader.get(response["Location"])
    assert status.status_code == 200 and framable(status)
    assert f'href="/embed/{article.slug}/?lang=en"' in status.content.decode()


def test_a_post_from_another_origin_is_refused_even_with_a_valid_token(article, fake_engine):
    reader = Client(enforce_csrf_checks=True)
    token = embed_token(reader, article)
    for origin in ("https://evil.example", "http://testserver.evil.example", "null"):
        response = embed_post(reader, article, token, origin=origin)
        assert response.status_code == 403, origin
        assert framable(response)
        assert "Your comment was not sent" in response.content.decode()
    # no Origin: the Referer's origin decides; neither: refused
    response = embed_post(
        reader, article, token, origin=None, HTTP_REFERER="https://evil.example/page"
    )
    assert response.status_code == 403
    assert embed_post(reader, article, token, origin=None).status_code == 403
    assert not Comment.objects.exists()
    ok = reader.post(
        f"/embed/{article.slug}/comments/",
        {"author": "Ann", "text": "Old browser.", "form_token": token},
        HTTP_REFERER=f"{SITE}/embed/{article.slug}/",
    )
    assert ok.status_code == 302


def test_token_must_be_for_this_article_and_signed(article, fake_engine):
    other = Article.objects.create(slug="other-story", title="Another story")
    reader = Client()
    foreign = embed_token(reader, other)
    assert embed_post(reader, article, foreign).status_code == 403
    assert embed_post(reader, article, "").status_code == 403
    forged = signing.dumps({"a": article.pk, "n": "x"}, salt="some.other.salt")
    assert embed_post(reader, article, forged).status_code == 403
    tampered = embed_token(reader, article)[:-2] + "xx"
    assert embed_post(reader, article, tampered).status_code == 403
    assert not Comment.objects.exists()


def test_an_expired_form_keeps_the_text_and_offers_a_fresh_token(article, fake_engine, settings):
    reader = Client()
    token = embed_token(reader, article)
    settings.CIVILITY_EMBED_FORM_MAX_AGE = -1  # every token is now too old
    response = embed_post(reader, article, token, text="My careful words.")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="form_token"' in html and "My careful words." in html
    assert framable(response)
    settings.CIVILITY_EMBED_FORM_MAX_AGE = 3600
    fresh = FORM_TOKEN.search(html).group(1)
    assert embed_post(reader, article, fresh, text="My careful words.").status_code == 302


def test_token_checks_directly(article):
    token = embed_forms.form_token(article)
    embed_forms.check_form_token(token, article)
    with pytest.raises(embed_forms.FormTokenError):
        embed_forms.check_form_token(token + "x", article)
    with pytest.raises(embed_forms.FormTokenError):
        embed_forms.check_form_token(["not", "text"], article)


def test_main_site_form_still_needs_csrf_and_ignores_form_tokens(article, fake_engine):
    strict = Client(enforce_csrf_checks=True)
    token = embed_token(strict, article)
    response = strict.post(
        f"/articles/{article.slug}/comments/",
        {"author": "Ann", "text": "Forged.", "form_token": token},
        HTTP_ORIGIN=SITE,
    )
    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_errors_inside_the_frame_are_readable_framed_pages(article, fake_engine, settings):
    reader = Client()
    missing = reader.get("/embed/no-such-story/")
    assert missing.status_code == 404 and framable(missing)
    assert "Comments not found" in missing.content.decode()
    token = embed_token(reader, article)
    invalid = embed_post(reader, article, token, author="")
    assert invalid.status_code == 400 and framable(invalid)
    assert 'data-field="author"' in invalid.content.decode()
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (1, 3600)
    assert embed_post(reader, article, embed_token(reader, article)).status_code == 302
    limited = embed_post(reader, article, embed_token(reader, article))
    assert limited.status_code == 429 and framable(limited)
    assert "Retry-After" in limited
    assert f'href="/embed/{article.slug}/?lang=en"' in limited.content.decode()
    too_big = reader.post(
        f"/embed/{article.slug}/comments/",
        {"author": "Ann", "text": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)},
        HTTP_ORIGIN=SITE,
    )
    assert too_big.status_code == 413 and framable(too_big)
    # a form from an old embed page, posted to the article's form without a CSRF cookie
    stale = Client(enforce_csrf_checks=True).post(
        f"/articles/{article.slug}/comments/?embed=1", {"author": "Ann", "text": "Old page."}
    )
    assert stale.status_code == 403 and framable(stale)
    assert "Reload the page" in stale.content.decode()


def test_embed_in_the_article_language_and_the_readers_pick(fake_engine):
    article = Article.objects.create(slug="kurdish-story", title="Çîrok", language="ckb")
    page = Client().get(f"/embed/{article.slug}/")
    assert '<html lang="ckb" dir="rtl">' in page.content.decode()
    picked = Client().get(f"/embed/{article.slug}/?lang=kmr")
    assert '<html lang="kmr" dir="ltr">' in picked.content.decode()
    token = FORM_TOKEN.search(picked.content.decode()).group(1)
    response = Client().post(
        f"/embed/{article.slug}/comments/?lang=kmr",
        {"author": "Rojda", "text": "Spas.", "form_token": token},
        HTTP_ORIGIN=SITE,
    )
    assert "lang=kmr" in response["Location"]
    assert '<html lang="kmr" dir="ltr">' in Client().get(response["Location"]).content.decode()


def test_frame_ancestors_come_from_the_configuration(article, settings):
    from civility.web.middleware import ContentSecurityPolicyMiddleware

    settings.CIVILITY_EMBED_ANCESTORS = "https://news.example.org https://*.example.net"
    middleware = ContentSecurityPolicyMiddleware(lambda request: None)
    assert "frame-ancestors https://news.example.org https://*.example.net" in middleware.framed
    assert middleware.unframed.endswith("frame-ancestors 'none'")


def test_embed_script_sizes_the_frame_from_civility_messages_only():
    script = Client().get("/embed.js").content.decode()
    assert "event.origin !== base" in script and "event.source !== frame.contentWindow" in script
    assert 'searchParams.set("lang"' in script
