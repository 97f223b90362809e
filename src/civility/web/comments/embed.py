"""Posting from the embed on a publisher's site, without the CSRF cookie.

The embed is an iframe from Civility's origin inside a page of another site. Browsers do not
send a SameSite=Lax cookie (Django's CSRF cookie) with requests made inside a cross-site frame,
and block third-party cookies more and more, so the main site's CSRF check cannot work there.
The embed's form therefore carries its own proof instead:

- a **form token**, signed with SECRET_KEY, issued for each rendering of the form, bound to the
  article and expiring after CIVILITY_EMBED_FORM_MAX_AGE seconds; and
- the browser's **Origin** header (or, when a browser sends none, the Referer's origin), which
  must be Civility's own origin: the form lives in Civility's frame, so a genuine post always
  comes from there, and a page on any other origin that forges the form is refused even with a
  valid token copied into it.

Only `/embed/<slug>/comments/` accepts this; every other form of the site keeps Django's CSRF.
No cookie is set or needed, so the embed works with third-party cookies blocked."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing

SALT = "civility.comments.embed-form"


class FormTokenError(Exception):
    """The embed form's token cannot be used; `.expired` tells a stale form from a bad one."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


def max_age() -> int:
    return int(getattr(settings, "CIVILITY_EMBED_FORM_MAX_AGE", 6 * 3600))


def form_token(article) -> str:
    """A fresh token for one rendering of the article's embed form."""
    return signing.dumps({"a": article.pk, "n": secrets.token_urlsafe(9)}, salt=SALT)


def check_form_token(token: object, article) -> None:
    """Raise FormTokenError unless `token` was issued for this article and has not expired."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise FormTokenError("the form token is missing")
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.SignatureExpired:
        raise FormTokenError("the form token has expired", expired=True) from None
    except signing.BadSignature:
        raise FormTokenError("the form token is not valid") from None
    if not isinstance(payload, dict) or payload.get("a") != article.pk:
        raise FormTokenError("the form token belongs to another article")


def own_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def origin_allowed(request) -> bool:
    """Whether the post comes from a page of this site (or a CSRF_TRUSTED_ORIGINS one)."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        # No Origin (an old browser) or an opaque one: fall back on the Referer's origin.
        referer = urlsplit(request.headers.get("Referer", ""))
        if not referer.scheme or not referer.netloc:
            return False
        origin = f"{referer.scheme}://{referer.netloc}"
    allowed = {own_origin(request), *getattr(settings, "CSRF_TRUSTED_ORIGINS", [])}
    return origin in allowed
