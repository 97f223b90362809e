"""Machine endpoints: Perspective's analyze/suggestscore and Coral's moderation phase.

They take JSON only, from servers rather than browsers, so CSRF does not apply: the API key
(Perspective) or the HMAC signature (Coral) is what authenticates a request."""

from __future__ import annotations

import html
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.urls import get_script_prefix
from django.utils.html import strip_tags
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from civility.web import ratelimit
from civility.web.errors import json_error
from civility.web.jsonbody import JsonBodyError, parse_json
from civility.web.text import storable_problem

from . import coral, discovery
from .models import ApiKey, FeedbackExample
from .protocol import ProtocolError, attribute_scores, parse_analyze, parse_suggest

log = logging.getLogger(__name__)

RATE_SCOPE = "perspective"
# The largest body we read: a 20 KB comment plus its context, JSON-escaped.
MAX_BODY_BYTES = 64 * 1024


def _moderator():
    # Imported on first use so the site loads (and tests run on a fake) without the models.
    from civility.web.engine import get_moderator

    return get_moderator()


def _error(error: ProtocolError, headers: dict | None = None) -> JsonResponse:
    return JsonResponse(error.to_body(), status=error.code, headers=headers)


def _authenticate(request) -> ApiKey:
    """The key from `?key=` or, as Google's clients may send it, the X-Goog-Api-Key header
    (which stays out of access logs). When both are given, both must be the same key."""
    in_query = request.GET.get("key", "")
    in_header = request.headers.get("X-Goog-Api-Key", "")
    if in_query and in_header and in_query != in_header:
        raise ProtocolError(
            "Two different API keys were sent (key= and X-Goog-Api-Key); send one.",
            code=400,
        )
    raw_key = in_query or in_header
    key = ApiKey.find_active(raw_key)
    if key is None:
        message = (
            "The request is missing a valid API key."
            if not raw_key
            else "API key not valid. Please pass a valid API key."
        )
        raise ProtocolError(message, code=403, status="PERMISSION_DENIED")
    return key


def _read_json(request) -> object:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise ProtocolError(f"Content-Type must be application/json, not {content_type!r}")
    try:
        body = request.body
    except RequestDataTooBig:
        raise ProtocolError("Request too large.", code=413) from None
    if len(body) > MAX_BODY_BYTES:
        raise ProtocolError("Request too large.", code=413)
    try:
        return parse_json(body)
    except JsonBodyError as exc:
        raise ProtocolError(f"Invalid JSON payload received: {exc}.") from None


def _perspective_call(request, handle):
    """Key, rate limit and JSON parsing shared by both Perspective methods."""
    try:
        key = _authenticate(request)
        ratelimit.check(RATE_SCOPE, str(key.pk), ratelimit.Limit(key.qps, 1))
        return handle(key, _read_json(request))
    except ratelimit.RateLimited as limited:
        error = ProtocolError(
            f"Quota exceeded: this key allows {key.qps} requests per second.",
            code=429,
            status="RESOURCE_EXHAUSTED",
        )
        return _error(error, headers={"Retry-After": str(limited.retry_after)})
    except ProtocolError as error:
        return _error(error)


def _assess(text: str, article: dict | None, hint: str | None):
    """Assess trusting the engine's own language detection first.

    The request's language is only a fallback, for text the engine cannot place: Coral sends
    "en" for every tenant locale Perspective lacked, so an Arabic newsroom's comments arrive
    labelled English. Returns (assessment, detected language)."""
    moderator = _moderator()
    try:
        assessment = moderator.assess(text, article=article)
        detected = assessment.language
        if detected == "other" and hint is not None:
            assessment = moderator.assess(text, article=article, lang=hint)
    except ValueError as exc:  # the engine's InputError: says what is wrong with the input
        raise ProtocolError(str(exc)) from None
    return assessment, detected


@csrf_exempt
@require_POST
def analyze(request):
    return _perspective_call(request, _analyze)


def _analyze(key: ApiKey, data: object) -> JsonResponse:
    # Nothing from an analyze call is written anywhere, so doNotStore needs no branch here.
    parsed = parse_analyze(data)
    assessment, detected = _assess(parsed.text, parsed.article, parsed.language_hint)
    if assessment.language == "other":
        raise ProtocolError(
            f"Attribute {parsed.attributes[0].name} does not support the comment's language "
            "(not one of en, ar, fa, tr, ckb, kmr); send languages to say which it is."
        )
    answer = {
        "attributeScores": attribute_scores(assessment, parsed),
        "languages": parsed.languages or [assessment.language],
        "detectedLanguages": [] if detected == "other" else [detected],
    }
    if parsed.client_token is not None:
        answer["clientToken"] = parsed.client_token
    return JsonResponse(answer)


@csrf_exempt
@require_POST
def suggestscore(request):
    return _perspective_call(request, _suggestscore)


def _suggestscore(key: ApiKey, data: object) -> JsonResponse:
    parsed = parse_suggest(data)
    # The engine's language, for the same reason as in analyze: Coral's languages may be wrong.
    language = _assess(parsed.text, None, parsed.language_hint)[0].language
    FeedbackExample.objects.bulk_create(
        FeedbackExample(
            api_key=key,
            text=parsed.text,
            attribute=attribute,
            score=score,
            lang=language,
            client_token=parsed.client_token or "",
            community_id=parsed.community_id,
            context=parsed.context_text,
        )
        for attribute, score in parsed.scores.items()
    )
    answer = {} if parsed.client_token is None else {"clientToken": parsed.client_token}
    return JsonResponse(answer)


@require_GET
def discovery_document(request):
    """GET /$discovery/rest?version=v1alpha1: the document Google's client libraries build
    their Perspective client from, pointing at this server. Public, like Google's."""
    version = request.GET.get("version", "")
    if version != discovery.VERSION:
        error = ProtocolError(
            f"Discovery document not found for API service: commentanalyzer format: rest "
            f"version: {version[:40] or '(none)'}; this server serves {discovery.VERSION}.",
            code=404,
            status="NOT_FOUND",
        )
        return _error(error)
    root = request.build_absolute_uri(get_script_prefix())
    response = JsonResponse(discovery.document(root))
    response["Cache-Control"] = "public, max-age=3600"
    response["Vary"] = "Host, X-Forwarded-Proto"
    return response


@csrf_exempt
@require_POST
def coral_moderate(request):
    secrets = coral.signing_secrets()
    if not secrets:
        message = f"Coral moderation is not configured: set {coral.SECRET_ENV} on the server."
        return json_error(request, 503, message)
    try:
        body = request.body
    except RequestDataTooBig:
        return json_error(request, 413, "request too large", "body")
    header = request.headers.get("X-Coral-Signature", "")
    if not coral.signature_valid(body, header, secrets):
        return json_error(request, 401, "missing or invalid X-Coral-Signature")
    try:
        data = parse_json(body)
        raw_text = data["comment"]["body"]
        role = (data.get("author") or {}).get("role", "COMMENTER")
        story_url = (data.get("story") or {}).get("url") or ""
    except JsonBodyError as exc:
        return json_error(request, 400, str(exc), "body")
    except (TypeError, KeyError, AttributeError):
        message = "expected Coral's JSON with comment.body, author and story"
        return json_error(request, 400, message, "body")
    if not isinstance(raw_text, str):
        return json_error(request, 400, "comment.body must be a string", "comment.body")
    if not isinstance(role, str):
        return json_error(request, 400, "author.role must be a string", "author.role")
    if not isinstance(story_url, str):
        return json_error(request, 400, "story.url must be a string", "story.url")
    problem = storable_problem(story_url, max_chars=2000)
    if problem:
        return json_error(request, 400, f"story.url {problem}", "story.url")
    text = html.unescape(strip_tags(raw_text))
    if role in coral.TRUSTED_ROLES or not text.strip():
        return HttpResponse(status=204)
    try:
        assessment = _moderator().assess(text, article=_article_for(story_url))
    except ValueError as exc:  # the engine's InputError, e.g. text over its length limit
        log.warning("coral: comment not assessed: %s", exc)
        return HttpResponse(status=204)
    answer = coral.verdict(assessment)
    return HttpResponse(status=204) if answer is None else JsonResponse(answer)


def _article_for(story_url: str) -> dict | None:
    """The article Civility knows at this URL, for relevance; Coral's story is never fetched."""
    if not story_url:
        return None
    from civility.web.articles.models import Article

    article = Article.objects.filter(url=story_url).first()
    return None if article is None else article.engine_article()
