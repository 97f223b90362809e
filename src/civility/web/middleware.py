"""Refuse oversized request bodies with a clear 413, before any view reads them."""

from __future__ import annotations

import io
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.template.loader import render_to_string

from civility.web.errors import json_error, wants_json


def too_large_response(request) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if wants_json(request):
        message = f"request body is larger than the limit of {limit} bytes"
        return json_error(request, 413, message, "body")
    # Inside the embed's frame (its form posts to /embed/…), a page the frame may show.
    embed = request.path.startswith("/embed/")
    html = render_to_string("too_large.html", {"limit": limit, "embed": embed}, request=request)
    response = HttpResponse(html, status=413)
    response.xframe_options_exempt = embed
    return response


class BodySizeLimitMiddleware:
    """413 for a declared Content-Length over DATA_UPLOAD_MAX_MEMORY_SIZE, and for bodies
    that turn out too big while being read (Django raises RequestDataTooBig then)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return too_large_response(request)
        if _chunked_without_length(request.META) and not _read_chunked(request):
            return too_large_response(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request)
        return None


def _chunked_without_length(meta) -> bool:
    return (
        "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        and not meta.get("CONTENT_LENGTH")
        and "wsgi.input" in meta
    )


def _read_chunked(request) -> bool:
    """A WSGI server hands a chunked body over decoded but without a Content-Length, and
    Django then reads it as empty. Read it here, up to the limit, and give it to Django as
    an ordinary body; False when it is over the limit. (Under `civility serve` the ASGI
    front has done this already.)"""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = request.META["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        return False
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = io.BytesIO(body)
    return True


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors {ancestors}"
)


class ContentSecurityPolicyMiddleware:
    """A strict Content-Security-Policy on every response: scripts, styles, images and forms
    from this origin only, nothing inline, no plugins, no <base>. Framing is refused except
    for the views marked `xframe_options_exempt` (the embed and the status page it shows),
    which CIVILITY_EMBED_ANCESTORS may frame. Reader text can therefore never run as script,
    even if a template forgot to escape it."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.framed = CSP.format(ancestors=settings.CIVILITY_EMBED_ANCESTORS)
        self.unframed = CSP.format(ancestors="'none'")

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            framed = getattr(response, "xframe_options_exempt", False)
            response["Content-Security-Policy"] = self.framed if framed else self.unframed
        return response


# Slugs as Django's <slug:…> converter accepts them; anything else takes the normal route.
_ARTICLE_PAGE = re.compile(r"/articles/(?P<slug>[-a-zA-Z0-9_]+)/")
_COMMENTS_API = re.compile(r"/api/v1/articles/(?P<slug>[-a-zA-Z0-9_]+)/comments")


class CachedPublicReadsMiddleware:
    """Serve the two hot public reads straight from the per-article cache, before URL
    resolution, the API framework, authentication and messages run (the profile showed those
    cost more than the cached read itself):

    - GET /api/v1/articles/<slug>/comments (the same JSON for everyone);
    - GET /articles/<slug>/ without query parameters, for readers without a session cookie
      (so certainly anonymous), once the page is prebuilt.

    It sits after the session, locale, common (host check) and CSRF middleware and after
    X-Frame-Options, so their work on requests and responses (language, Content-Length,
    the CSRF cookie for the form's fresh token, security headers) is unchanged. Anything
    else, an unknown article or a page not yet built falls through to the normal views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = None
        if request.method == "GET":
            response = self._fast_response(request)
        return response if response is not None else self.get_response(request)

    @staticmethod
    def _fast_response(request):
        from civility.web.comments import cache as comment_cache

        match = _COMMENTS_API.fullmatch(request.path_info)
        if match:
            article = comment_cache.get_article(match["slug"])
            if article is None:
                return None
            from civility.web.api.api import comments_json_response

            return comments_json_response(article)
        match = _ARTICLE_PAGE.fullmatch(request.path_info)
        if match and not request.GET and settings.SESSION_COOKIE_NAME not in request.COOKIES:
            article = comment_cache.get_article(match["slug"])
            if article is None:
                return None
            from civility.web.comments.views import cached_anonymous_page

            return cached_anonymous_page(request, article, "articles/detail.html")
        return None
