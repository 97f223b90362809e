"""Reader-facing comment views: post, private status page, guidelines, CMS embed."""

from __future__ import annotations

import functools
import zlib

from django.conf import settings
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_POST

from civility.web import ratelimit
from civility.web.articles.models import Article
from civility.web.text import parse_id

from . import cache as comment_cache
from .models import REJECTED, Comment
from .services import MAX_AUTHOR_CHARS, MAX_COMMENT_CHARS, CommentError, submit_comment
from .status_json import status_json, wants_status_json

# Our community guidelines, in our own words; codes match the decision reason codes.
GUIDELINES: list[tuple[str, str, str]] = [
    (
        "profanity",
        gettext_lazy("No profanity"),
        gettext_lazy(
            "Swearing adds heat, not light. Make your point without it, even when you are angry."
        ),
    ),
    (
        "vulgarity",
        gettext_lazy("No vulgar or sexual content"),
        gettext_lazy("Crude sexual language and descriptions have no place under the news."),
    ),
    (
        "threat",
        gettext_lazy("No threats"),
        gettext_lazy(
            "Never threaten or wish violence on anyone, including public figures, and do not urge others to."
        ),
    ),
    (
        "personal_attack",
        gettext_lazy("Argue with ideas, not people"),
        gettext_lazy(
            "Insults and name-calling aimed at the author, other readers or people in the story are not published."
        ),
    ),
    (
        "abuse",
        gettext_lazy("No abuse of groups"),
        gettext_lazy(
            "No hatred or contempt for people because of their sex, race, ethnicity, nationality, "
            "religion, sexual orientation or similar traits."
        ),
    ),
    (
        "promotion",
        gettext_lazy("No advertising or self-promotion"),
        gettext_lazy(
            "Comments are not a place for sales pitches, contact details or links to your own channels."
        ),
    ),
    (
        "off_topic",
        gettext_lazy("Stay on the article's subject"),
        gettext_lazy("Comments should respond to the article they are under."),
    ),
    (
        "other",
        gettext_lazy("Other reasons"),
        gettext_lazy(
            "Rarely, a comment is declined for another reason, such as sharing someone's private details "
            "or spam; the moderator's choice is recorded."
        ),
    ),
]
GUIDELINE_TITLES = {code: title for code, title, _text in GUIDELINES}


def client_ip(request) -> str:
    # Behind a trusted proxy set USE_X_FORWARDED_FOR=1; otherwise the socket address counts.
    if getattr(settings, "USE_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def public_parent(article: Article, comment_id: int | None) -> Comment | None:
    """The approved comment of this article a reply may answer, or None (missing, pending,
    rejected, another article's, or no id at all: all alike)."""
    if comment_id is None:
        return None
    return Comment.objects.approved().filter(article=article, pk=comment_id).first()


def comments_html(article: Article) -> tuple[str, int]:
    """The rendered, cached list of approved comments and how many there are."""

    def build():
        comments = comment_cache.approved_comments(article)
        flat = []

        def walk(items, depth):
            for item in items:
                flat.append({**item, "depth": min(depth, 4)})
                walk(item["replies"], depth + 1)

        walk(comment_cache.threaded(comments), 0)
        return render_to_string("comments/_thread.html", {"comments": flat}), len(comments)

    return comment_cache.cached_fragment("thread-html", article, build)


def section_context(request, article, *, embed=False, form_values=None, form_error=None) -> dict:
    html, count = comments_html(article)
    reply_id = parse_id(
        request.POST.get("parent") if request.method == "POST" else request.GET.get("reply_to")
    )
    reply_to = public_parent(article, reply_id)
    return {
        "article": article,
        "comments_html": mark_safe(html),  # noqa: S308 - rendered by our autoescaping template
        "comment_count": count,
        "embed": embed,
        "form_values": form_values or {},
        "form_error": form_error,
        "reply_to": reply_to,
        "max_chars": MAX_COMMENT_CHARS,
        "max_author": MAX_AUTHOR_CHARS,
        "guidelines_url": reverse("comments:guidelines"),
    }


# Stands in for the per-request CSRF token in cached pages; swapped for the real one on output.
CSRF_PLACEHOLDER = "civility-csrf-placeholder-7f3c9a"


def render_comment_page(request, article, template: str, *, embed: bool = False) -> HttpResponse:
    """The article (or embed) page. For anonymous readers without query parameters the whole
    page is rendered once per comments version and language; only the CSRF token differs."""
    if request.GET or request.user.is_authenticated:
        return render(request, template, section_context(request, article, embed=embed))

    def build():
        context = section_context(request, article, embed=embed)
        context["csrf_token"] = CSRF_PLACEHOLDER
        return render_to_string(template, context, request=request)

    html = comment_cache.cached_fragment(_page_kind(template, article), article, build)
    return _page_response(request, html)


def _page_kind(template: str, article) -> str:
    # The page shows the article itself too: an edit (title, body, comments closed) must not
    # be answered from a page built before it, even though no comment changed.
    shown = "\x1f".join(
        (article.title, article.body, article.language, article.url, str(article.comments_open))
    )
    stamp = zlib.crc32(shown.encode("utf-8", "surrogatepass"))
    return f"page:{template}:{get_language()}:{stamp:08x}"


@functools.lru_cache(maxsize=64)
def _page_parts(html: str) -> list[bytes]:
    # Keyed by the cached string object itself (its hash is kept, equality is identity on a
    # hit), so each request only joins ready bytes around its token.
    return html.encode().split(CSRF_PLACEHOLDER.encode())


def _page_response(request, html: str) -> HttpResponse:
    response = HttpResponse(get_token(request).encode().join(_page_parts(html)))
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response


def cached_anonymous_page(request, article, template: str) -> HttpResponse | None:
    """The prebuilt anonymous page with this request's CSRF token, if it is already built;
    None otherwise (the view then builds it). The caller vouches the reader is anonymous."""
    html = comment_cache.peek_fragment(_page_kind(template, article), article)
    return None if html is None else _page_response(request, html)


@require_POST
def post_comment(request, slug):
    article = get_object_or_404(Article, slug=slug)
    embed = request.GET.get("embed") == "1"
    values = {k: request.POST.get(k, "") for k in ("author", "email", "text")}
    parent = None
    parent_id = request.POST.get("parent", "")
    try:
        if parent_id:
            # A pending or rejected comment is answered exactly like a missing one, so replies
            # cannot be used to learn which comment ids exist.
            parent = public_parent(article, parse_id(parent_id))
            if parent is None:
                raise CommentError("parent", _("the comment replied to does not exist"))
        comment = submit_comment(
            article,
            values["author"],
            values["email"],
            values["text"],
            parent=parent,
            ip=client_ip(request),
        )
    except CommentError as exc:
        context = section_context(request, article, embed=embed, form_values=values, form_error=exc)
        template = "comments/embed.html" if embed else "articles/detail.html"
        return render(request, template, context, status=400)
    except ratelimit.RateLimited as exc:
        response = render(
            request, "comments/rate_limited.html", {"retry_after": exc.retry_after}, status=429
        )
        response["Retry-After"] = str(exc.retry_after)
        return response
    return redirect(reverse("comments:status", args=[comment.status_token]) + "?new=1")


@require_GET
@xframe_options_exempt  # shown inside the CMS embed after posting; it has no actions to hijack
def comment_status(request, token):
    comment = Comment.objects.select_related("article").filter(status_token=token).first()
    if comment is None:
        raise Http404
    if wants_status_json(request):
        return status_json(request, comment)
    reasons = []
    if comment.status == REJECTED:
        codes = comment.latest_decision.reasons or ["other"]
        reasons = [
            {"code": c, "title": GUIDELINE_TITLES.get(c, GUIDELINE_TITLES["other"])} for c in codes
        ]
    context = {
        "comment": comment,
        "reasons": reasons,
        "just_posted": request.GET.get("new") == "1",
        "status_url": request.build_absolute_uri(comment.get_status_url()),
    }
    response = render(request, "comments/status.html", context)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token must not leak through links
    return response


@require_GET
def guidelines(request):
    items = [{"code": c, "title": t, "text": x} for c, t, x in GUIDELINES]
    return render(request, "comments/guidelines.html", {"guidelines": items})


@require_GET
@xframe_options_exempt
def embed(request, slug):
    article = comment_cache.get_article(slug)
    if article is None:
        raise Http404
    return render_comment_page(request, article, "comments/embed.html", embed=True)


@require_GET
def embed_js(request):
    from django.contrib.staticfiles import finders

    path = finders.find("reader/embed.js")
    with open(path, encoding="utf-8") as handle:
        script = handle.read()
    response = HttpResponse(script, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response
