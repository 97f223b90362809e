"""Reader-facing comment views: post, private status page, guidelines, CMS embed.

Every reader page speaks the article's language unless the reader picked another with the
language links (`?lang=`), which the page's own links and forms carry along
(civility.web.i18n.reader_language)."""

from __future__ import annotations

import functools
import logging
import zlib
from datetime import datetime

from django.conf import settings
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from civility.web import ratelimit
from civility.web.articles.models import Article
from civility.web.commenters import identity
from civility.web.guidelines import GUIDELINE_TITLES, GUIDELINES
from civility.web.i18n import NATIVE_DIGITS, chosen_language, local_digits, reader_language
from civility.web.text import clean_name, has_control, has_visible, parse_id

from . import cache as comment_cache
from . import embed as embed_forms
from .appeals import MAX_APPEAL_CHARS, AppealError, file_appeal
from .models import REJECTED, Appeal, Comment
from .services import (
    MAX_AUTHOR_CHARS,
    MAX_COMMENT_CHARS,
    CommenterRefused,
    CommentError,
    VerificationRequired,
    is_withdrawal,
    submit_comment,
    verified_only,
)
from .status_json import status_json, wants_status_json

log = logging.getLogger(__name__)


def client_ip(request) -> str:
    # Behind a trusted proxy set USE_X_FORWARDED_FOR=1; otherwise the socket address counts.
    if getattr(settings, "USE_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def site_origin(request) -> str:
    """This site's scheme and host as the request reached it: the links in the mails about
    the comment (CIVILITY_SITE_URL, when set, takes its place)."""
    return request.build_absolute_uri("/").rstrip("/")


def public_parent(article: Article, comment_id: int | None) -> Comment | None:
    """The approved comment of this article a reply may answer, or None (missing, pending,
    rejected, another article's, or no id at all: all alike)."""
    if comment_id is None:
        return None
    return Comment.objects.approved().filter(article=article, pk=comment_id).first()


def comments_html(article: Article) -> tuple[str, int]:
    """The rendered, cached list of approved comments (in the active language: reply links
    and dates) and how many there are."""
    language = get_language()

    def build():
        comments = comment_cache.approved_comments(article)
        flat = []

        def walk(items, depth):
            for item in items:
                posted = datetime.fromisoformat(item["created"])
                flat.append({**item, "depth": min(depth, 4), "posted": posted})
                walk(item["replies"], depth + 1)

        walk(comment_cache.threaded(comments), 0)
        context = {"comments": flat, "lang_query": urlencode({"lang": language})}
        return render_to_string("comments/_thread.html", context), len(comments)

    return comment_cache.cached_fragment(f"thread-html:{language}", article, build)


def language_links(request) -> list[dict]:
    """The language switcher: this page in each of the site's languages."""
    current = get_language()
    links = []
    for code, name in settings.LANGUAGES:
        query = request.GET.copy()
        query["lang"] = code
        query.pop("new", None)  # "Thank you, received" belongs to the post, not a reload
        links.append(
            {
                "code": code,
                "name": name,
                "url": "?" + query.urlencode(),
                "current": code == current,
                "bidi": code in settings.LANGUAGES_BIDI,
            }
        )
    return links


def section_context(request, article, *, embed=False, form_values=None, form_error=None) -> dict:
    html, count = comments_html(article)
    reply_id = parse_id(
        request.POST.get("parent") if request.method == "POST" else request.GET.get("reply_to")
    )
    reply_to = public_parent(article, reply_id)
    language = get_language()
    lang_query = urlencode({"lang": language})
    if embed:
        post_url = reverse("comments:embed-post", args=[article.slug])
    else:
        post_url = reverse("comments:post", args=[article.slug])
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
        "verified_only": verified_only(),
        "post_url": f"{post_url}?{lang_query}",
        "guidelines_url": f"{reverse('comments:guidelines')}?{lang_query}",
        "embed_url": f"{reverse('comments:embed', args=[article.slug])}?{lang_query}",
        "lang_query": lang_query,
        "native_digits": NATIVE_DIGITS.get(language, ""),
        "language_links": language_links(request),
    }


# Stands in for the per-request CSRF token (article page) or embed form token in cached
# pages; swapped for a fresh one on output.
CSRF_PLACEHOLDER = "civility-csrf-placeholder-7f3c9a"


def render_comment_page(request, article, template: str, *, embed: bool = False) -> HttpResponse:
    """The article (or embed) page, in the reader's language. For anonymous readers without
    other query parameters than `lang` the whole page is rendered once per comments version
    and language; only the CSRF token (or the embed's form token) differs."""
    language = reader_language(request, article)
    with translation.override(language):
        if set(request.GET) - {"lang"} or request.user.is_authenticated:
            context = section_context(request, article, embed=embed)
            if embed:
                context["form_token"] = embed_forms.form_token(article)
            response = render(request, template, context)
        else:

            def build():
                context = section_context(request, article, embed=embed)
                context["csrf_token"] = context["form_token"] = CSRF_PLACEHOLDER
                return render_to_string(template, context, request=request)

            html = comment_cache.cached_fragment(_page_kind(template, article), article, build)
            token = embed_forms.form_token(article) if embed else None
            response = _page_response(request, html, token)
    return _in_language(response, language)


def _in_language(response: HttpResponse, language: str) -> HttpResponse:
    response["Content-Language"] = language
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response


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


def _page_response(request, html: str, token: str | None = None) -> HttpResponse:
    if token is None:
        token = get_token(request)
    response = HttpResponse(token.encode().join(_page_parts(html)))
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response


def cached_anonymous_page(request, article, template: str) -> HttpResponse | None:
    """The prebuilt anonymous page with this request's CSRF token, if it is already built;
    None otherwise (the view then builds it). The caller vouches the reader is anonymous."""
    language = reader_language(request, article)
    with translation.override(language):
        html = comment_cache.peek_fragment(_page_kind(template, article), article)
    return None if html is None else _in_language(_page_response(request, html), language)


def reader_error(error: CommentError, values: dict) -> str:
    """What to tell a reader whose comment was refused, in their language. Worked out from
    what they sent (the service's own messages are English, for the API and the logs)."""
    field = error.field
    if isinstance(error, CommenterRefused):
        until = error.sanction.until
        if until is None:
            return _("You can no longer comment here: a moderator has banned you.")
        return _("You cannot comment until %(date)s: a moderator has suspended you.") % {
            "date": local_digits(
                formats.date_format(timezone.localtime(until), "SHORT_DATETIME_FORMAT")
            )
        }
    if field == "article":
        return _("Comments are closed on this article.")
    if field == "author":
        name = clean_name(values.get("author") or "")
        if not name:
            return _("Please give a name.")
        if len(name) > MAX_AUTHOR_CHARS:
            return _("Your name is longer than %(max)s characters.") % {
                "max": local_digits(MAX_AUTHOR_CHARS)
            }
        if has_control(name, allow_lines=False):
            return _("Your name contains control characters. Please remove them.")
        return _("Your name needs at least one letter, digit or emoji.")
    if field == "email":
        return _("That e-mail address is not valid. Correct it or leave the field empty.")
    if field == "notify":
        return _("To be told by e-mail, give your e-mail address.")
    if field == "parent":
        return _("The comment you are replying to does not exist.")
    if field == "text":
        text = values.get("text") or ""
        if not text.strip():
            return _("Please write your comment first.")
        if len(text) > MAX_COMMENT_CHARS:
            return ngettext(
                "Your comment is %(count)s characters long; the limit is %(max)s.",
                "Your comment is %(count)s characters long; the limit is %(max)s.",
                len(text),
            ) % {"count": local_digits(len(text)), "max": local_digits(MAX_COMMENT_CHARS)}
        if has_control(text):
            return _("Your comment contains control characters. Please remove them.")
        if not has_visible(text):
            return _("Your comment needs at least one letter, digit or emoji.")
        return _("Your comment contains characters that cannot be stored. Please remove them.")
    return _("Your comment could not be accepted. Please check it and try again.")


def verification_needed(request, values: dict) -> str:
    """A post refused because the site takes verified commenters only: a sign-in link goes to
    the address given (if any, and not too many already), and the reader is told what to do,
    in the page's language. The form keeps what they typed."""
    email = (values.get("email") or "").strip()
    if not email:
        return _(
            "This site publishes comments from verified readers only. Give your e-mail "
            "address and send again: we will mail you a sign-in link. Your comment is still here."
        )
    name = clean_name(values.get("author") or "")[:MAX_AUTHOR_CHARS]
    if identity.send_sign_in_link(request, email, name, None):
        message = _(
            "This site publishes comments from verified readers only. We have sent a sign-in "
            "link to %(email)s: open it in this browser, then send your comment again. It is "
            "still here."
        )
    else:
        message = _(
            "This site publishes comments from verified readers only. A sign-in link was sent "
            "to %(email)s recently: open it in this browser, then send your comment again. It "
            "is still here."
        )
    return message % {"email": email}


def _submit(request, article, *, embed: bool) -> HttpResponse:
    """The comment form's post, for the article page and the embed alike (already checked
    for CSRF or the embed's form token): store the comment, then show its status page."""
    values = {k: request.POST.get(k, "") for k in ("author", "email", "text", "notify")}
    parent = None
    parent_id = request.POST.get("parent", "")
    template = "comments/embed.html" if embed else "articles/detail.html"
    commenter = identity.session_commenter(request)
    try:
        if parent_id:
            # A pending or rejected comment is answered exactly like a missing one, so replies
            # cannot be used to learn which comment ids exist.
            parent = public_parent(article, parse_id(parent_id))
            if parent is None:
                raise CommentError("parent", "the comment replied to does not exist")
        comment = submit_comment(
            article,
            values["author"],
            values["email"],
            values["text"],
            parent=parent,
            ip=client_ip(request),
            commenter=commenter,
            notify_in=get_language() if values["notify"] else None,
            origin=site_origin(request),
        )
        if comment.author_email and commenter is None:
            identity.send_sign_in_link(
                request, comment.author_email, comment.author_name, comment.pk
            )
    except VerificationRequired as exc:
        message = verification_needed(request, values)
        return _form_again(request, article, template, values, exc.field, message, embed=embed)
    except CommentError as exc:
        message = reader_error(exc, values)
        return _form_again(request, article, template, values, exc.field, message, embed=embed)
    except ratelimit.RateLimited as exc:
        context = {"retry_after": exc.retry_after, "embed": embed, "article": article}
        response = render(request, "comments/rate_limited.html", context, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    query = {"new": "1", "lang": get_language()}
    if embed:
        query["embed"] = "1"
    return redirect(
        reverse("comments:status", args=[comment.status_token]) + "?" + urlencode(query)
    )


class FormError:
    """The error shown above the form: the field it is about and the reader's message."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message


def _form_again(request, article, template, values, field, message, *, embed, status=400):
    context = section_context(
        request, article, embed=embed, form_values=values, form_error=FormError(field, message)
    )
    if embed:
        context["form_token"] = embed_forms.form_token(article)
    return render(request, template, context, status=status)


@require_POST
def post_comment(request, slug):
    """The article page's form (Django's CSRF check applies). `?embed=1` is what older embed
    pages posted to; it ends on the framed status page as before."""
    article = get_object_or_404(Article, slug=slug)
    with translation.override(reader_language(request, article)):
        embed = request.GET.get("embed") == "1"
        response = _submit(request, article, embed=embed)
        if embed:
            response.xframe_options_exempt = True
        return response


def frame_message(request, *, title, message, status, article=None) -> HttpResponse:
    """A readable page for a refusal or an error inside the embed's frame (it may be framed
    like the embed itself, and links back to the comments when there are any)."""
    context = {"title": title, "message": message, "article": article, "embed": True}
    if article is not None:
        context["embed_url"] = (
            reverse("comments:embed", args=[article.slug])
            + "?"
            + urlencode({"lang": get_language()})
        )
    response = render(request, "comments/frame_message.html", context, status=status)
    response.xframe_options_exempt = True
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # the embed's form carries a signed form token and is checked for its Origin
@xframe_options_exempt
@require_POST
def embed_post(request, slug):
    """The embed's form, posted from inside a frame on the publisher's site."""
    article = comment_cache.get_article(slug)
    language = reader_language(request, article)
    with translation.override(language):
        if article is None:
            return frame_message(
                request,
                title=_("Comments not found"),
                message=_("There are no comments for this page. It may have been removed."),
                status=404,
            )
        if not embed_forms.origin_allowed(request):
            log.warning(
                "embed post refused: origin %r is not this site's (article %s)",
                request.headers.get("Origin") or request.headers.get("Referer"),
                article.slug,
            )
            return frame_message(
                request,
                title=_("Your comment was not sent"),
                message=_(
                    "The form was sent from a page that may not post comments here. "
                    "Please write your comment in the comment box under the article."
                ),
                status=403,
                article=article,
            )
        values = {k: request.POST.get(k, "") for k in ("author", "email", "text")}
        try:
            embed_forms.check_form_token(request.POST.get("form_token"), article)
        except embed_forms.FormTokenError as exc:
            if not exc.expired:
                log.warning("embed post refused for %s: %s", article.slug, exc)
                return frame_message(
                    request,
                    title=_("Your comment was not sent"),
                    message=_("The comment form was not valid. Reload the comments and try again."),
                    status=403,
                    article=article,
                )
            message = _(
                "The form was open for too long, so your comment was not sent yet. "
                "Your text is still here: please send it again."
            )
            return _form_again(
                request, article, "comments/embed.html", values, "form_token", message, embed=True
            )
        response = _submit(request, article, embed=True)
        response.xframe_options_exempt = True
        return response


@require_GET
@xframe_options_exempt  # shown inside the CMS embed after posting; its one form is the appeal
def comment_status(request, token):
    comment = Comment.objects.select_related("article").filter(status_token=token).first()
    if comment is None:
        raise Http404
    if wants_status_json(request):
        return status_json(request, comment)
    return _status_page(request, comment)


def _status_page(request, comment, *, appeal_error="", appeal_text="", status=200):
    """The commenter's private page: the outcome, the guidelines broken, and for a rejected
    comment its appeal (the form, or the appeal sent and its outcome)."""
    language = reader_language(request, comment.article)
    with translation.override(language):
        reasons = []
        withdrawn = comment.status == REJECTED and is_withdrawal(comment.latest_decision.reasons)
        if comment.status == REJECTED and not withdrawn:
            codes = comment.latest_decision.reasons or ["other"]
            reasons = [
                {"code": c, "title": GUIDELINE_TITLES.get(c, GUIDELINE_TITLES["other"])}
                for c in codes
            ]
        embed = request.GET.get("embed") == "1"
        lang_query = urlencode({"lang": language})
        status_url = request.build_absolute_uri(comment.get_status_url())
        appeal = Appeal.objects.filter(comment=comment).select_related("outcome").first()
        appeal_query = {"lang": language, **({"embed": "1"} if embed else {})}
        context = {
            "comment": comment,
            "reasons": reasons,
            "just_posted": request.GET.get("new") == "1",
            "just_appealed": request.GET.get("appealed") == "1" and appeal is not None,
            "status_url": f"{status_url}?{lang_query}",
            "embed": embed,
            "article_url": f"{comment.article.get_absolute_url()}?{lang_query}",
            "embed_url": (
                reverse("comments:embed", args=[comment.article.slug]) + "?" + lang_query
            ),
            "guidelines_url": f"{reverse('comments:guidelines')}?{lang_query}",
            "language_links": language_links(request),
            "appeal": appeal,
            "appeal_outcome": getattr(appeal, "outcome", None) if appeal else None,
            "withdrawn": withdrawn,
            # A withdrawal answers the author's own request: there is nothing to appeal.
            "can_appeal": appeal is None and comment.status == REJECTED and not withdrawn,
            "appeal_url": reverse("comments:appeal", args=[comment.status_token])
            + "?"
            + urlencode(appeal_query),
            "appeal_error": appeal_error,
            "appeal_text": appeal_text,
            "max_appeal": local_digits(MAX_APPEAL_CHARS),
        }
        response = render(request, "comments/status.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token must not leak through links
    return _in_language(response, language)


def appeal_problem(error: AppealError, text) -> str:
    """What to tell a commenter whose appeal was refused, in the page's language."""
    if error.code == "appealed":
        return _("You have appealed this decision already. Each rejection can be appealed once.")
    if error.code == "not_rejected":
        return _("Only a comment that was not published can be appealed.")
    if error.code == "withdrawn":
        return _("This comment was withdrawn at your request, so there is nothing to appeal.")
    if not isinstance(text, str) or not text.strip():
        return _("Please write why your comment should be published.")
    if len(text.strip()) > MAX_APPEAL_CHARS:
        return _("Your appeal is %(count)s characters long; the limit is %(max)s.") % {
            "count": local_digits(len(text.strip())),
            "max": local_digits(MAX_APPEAL_CHARS),
        }
    if has_control(text):
        return _("Your appeal contains control characters. Please remove them.")
    if not has_visible(text):
        return _("Your appeal needs at least one letter, digit or emoji.")
    return _("Your appeal contains characters that cannot be stored. Please remove them.")


# No CSRF cookie: the status link's token in the URL is the commenter's proof of authorship
# (only its holder can post here), and the page may be framed on the publisher's site, where
# third-party cookies are not sent. A forged post could only appeal a comment whose private
# link the forger holds already.
@csrf_exempt
@xframe_options_exempt
@require_POST
def appeal(request, token):
    """The status page's appeal form: once per rejected comment, then back to the page."""
    comment = Comment.objects.select_related("article").filter(status_token=token).first()
    if comment is None:
        raise Http404
    language = reader_language(request, comment.article)
    text = request.POST.get("text", "")
    try:
        file_appeal(comment, text, language)
    except AppealError as exc:
        with translation.override(language):
            message = appeal_problem(exc, text)
        shown = text[: MAX_APPEAL_CHARS * 2] if exc.field == "text" else ""
        return _status_page(
            request, comment, appeal_error=message, appeal_text=shown, status=exc.status
        )
    query = {"lang": language, "appealed": "1"}
    if request.GET.get("embed") == "1":
        query["embed"] = "1"
    return redirect(comment.get_status_url() + "?" + urlencode(query) + "#appeal")


@require_GET
def guidelines(request):
    language = chosen_language(request) or get_language()
    with translation.override(language):
        items = [{"code": c, "title": t, "text": x} for c, t, x in GUIDELINES]
        context = {"guidelines": items, "language_links": language_links(request)}
        response = render(request, "comments/guidelines.html", context)
    return _in_language(response, language)


@require_GET
@xframe_options_exempt
def embed(request, slug):
    article = comment_cache.get_article(slug)
    if article is None:
        with translation.override(chosen_language(request) or get_language()):
            return frame_message(
                request,
                title=_("Comments not found"),
                message=_("There are no comments for this page. It may have been removed."),
                status=404,
            )
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
