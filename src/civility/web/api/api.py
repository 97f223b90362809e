"""The JSON API at /api/v1/ (Django Ninja; OpenAPI at /api/v1/openapi.json).

Errors are always `{"error": message, "field": name-or-null}`: 400 for bad input (naming the
field), 401 without a valid bearer token, 403 without the permission, 404, 413 (middleware),
429 with Retry-After."""

from __future__ import annotations

import json
from typing import Literal

from django.conf import settings
from django.http import Http404, HttpResponse
from ninja import NinjaAPI, Path, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from civility.web import ratelimit
from civility.web.articles.models import Article
from civility.web.commenters import sanctions as commenter_sanctions
from civility.web.commenters import sso as commenter_sso
from civility.web.commenters.models import Commenter
from civility.web.comments import appeals as comment_appeals
from civility.web.comments import cache as comment_cache
from civility.web.comments import privacy, services
from civility.web.comments.models import ACTION_STATUS, Appeal, Comment
from civility.web.comments.views import client_ip, public_parent, site_origin
from civility.web.errors import error_body
from civility.web.i18n import supported
from civility.web.moderation.appeals import appeals_queryset, latest_decisions
from civility.web.moderation.commenters import history as commenter_history
from civility.web.moderation.stats import PeriodFigures, appeal_stats, language_stats
from civility.web.text import MAX_ID

from . import schemas
from .models import ApiToken
from .queue import queue_items

api = NinjaAPI(
    title="Civility API",
    version="1",
    description="Comments, pre-moderation and the engine, for newsrooms.",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        return ApiToken.objects.authenticate(token)


bearer = BearerToken()


def error(status: int, message: str, field: str | None = None) -> HttpResponse:
    return HttpResponse(
        error_body(status, message, field), status=status, content_type="application/json"
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error(404, str(exc) or "not found")


# Pydantic's wording where it would puzzle a client.
VALIDATION_MESSAGES = {"string_unicode": "contains invalid Unicode (a lone surrogate)"}


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    # The field by name: list positions ("reasons.0") and the request part are left out.
    loc = [
        str(p)
        for p in first.get("loc", ())
        if not isinstance(p, int) and p not in ("body", "payload", "query", "path")
    ]
    field = ".".join(loc) or None
    message = VALIDATION_MESSAGES.get(first.get("type"), first.get("msg", "invalid input"))
    return error(400, f"{field}: {message}" if field else message, field)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    field = "body" if exc.status_code == 400 else None
    return error(exc.status_code, exc.message, field)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    response = error(401, "a valid moderator token is required: Authorization: Bearer <token>")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(ratelimit.RateLimited)
def on_rate_limited(request, exc: ratelimit.RateLimited):
    response = error(429, f"too many requests; retry after {exc.retry_after} s")
    response["Retry-After"] = str(exc.retry_after)
    return response


PERMISSION_REFUSALS = {privacy.PERMISSION: "this token's user may not handle personal data"}


def _require(request, permission: str | None = None, staff: bool = False) -> None:
    user = request.auth
    if staff and not user.is_staff:
        raise HttpError(403, "this token's user is not staff")
    if permission and not user.has_perm(permission):
        message = PERMISSION_REFUSALS.get(permission, "this token's user may not moderate comments")
        raise HttpError(403, message)


@api.post(
    "/articles",
    auth=bearer,
    response={
        200: schemas.ArticleOut,
        201: schemas.ArticleOut,
        400: schemas.Error,
        401: schemas.Error,
        403: schemas.Error,
        413: schemas.Error,
    },
    summary="Create or update an article by slug (staff token)",
)
def upsert_article(request, payload: schemas.ArticleIn):
    _require(request, staff=True)
    fields = payload.dict(exclude={"slug"})
    article, created = Article.objects.update_or_create(slug=payload.slug, defaults=fields)
    out = {**fields, "slug": article.slug, "created": created}
    return Status(201 if created else 200, out)


@api.get(
    "/articles/{slug}/comments",
    response={200: schemas.CommentList, 404: schemas.Error},
    summary="Approved comments of an article, oldest first (replies carry their parent id)",
)
def list_comments(request, slug: str):
    article = comment_cache.get_article(slug)
    if article is None:
        return error(404, "no article with this slug", "slug")
    return comments_json_response(article)


def comments_json_response(article) -> HttpResponse:
    """The approved comments as JSON, served from the per-article cache as ready text and
    rebuilt after each public change. The read fast path (middleware) serves this too."""

    def build() -> bytes:  # bytes: nothing to encode per request
        comments = comment_cache.approved_comments(article)
        return json.dumps(
            {"article": article.slug, "count": len(comments), "comments": comments},
            ensure_ascii=False,
        ).encode()

    body = comment_cache.cached_fragment("api-json", article, build)
    return HttpResponse(body, content_type="application/json")


@api.post(
    "/articles/{slug}/comments",
    response={
        201: schemas.CommentCreated,
        400: schemas.Error,
        404: schemas.Error,
        413: schemas.Error,
        429: schemas.Error,
    },
    summary="Post a comment; it is held for moderation unless the policy decides at once",
)
def post_comment(request, slug: str, payload: schemas.CommentIn):
    article = comment_cache.get_article(slug)
    if article is None:
        return Status(404, {"error": "no article with this slug", "field": "slug"})
    parent = None
    if payload.parent is not None:
        # Only approved comments can be replied to; any other id gets the same answer, so the
        # API does not tell which (pending, rejected) comment ids exist.
        parent = public_parent(article, payload.parent)
        if parent is None:
            message = "parent: no published comment with this id under this article"
            return Status(400, {"error": message, "field": "parent"})
    commenter = None
    if payload.sso_token is not None:
        try:
            commenter = commenter_sso.exchange(payload.sso_token)
        except commenter_sso.SSOError as exc:
            return Status(400, {"error": f"sso_token: {exc.reason}", "field": "sso_token"})
    try:
        comment = services.submit_comment(
            article,
            payload.author,
            payload.email,
            payload.text,
            parent=parent,
            ip=client_ip(request),
            lang=payload.lang,
            commenter=commenter,
            notify_in=(supported(payload.lang) or article.language) if payload.notify else None,
            origin=site_origin(request),
        )
    except services.CommentError as exc:
        return Status(400, {"error": f"{exc.field}: {exc.message}", "field": exc.field})
    status_url = request.build_absolute_uri(comment.get_status_url())
    return Status(
        201,
        {
            "id": comment.pk,
            "status": comment.status,
            "being_assessed": comment.being_assessed,
            "status_url": status_url,
        },
    )


@api.post(
    "/assess",
    response={
        200: dict,
        400: schemas.Error,
        413: schemas.Error,
        429: schemas.Error,
        503: schemas.Error,
    },
    summary="Run the engine on one text; the same JSON as one line of `civility score`",
)
def assess(request, payload: schemas.AssessIn):
    ratelimit.check(
        "assess-ip",
        services.hash_ip(client_ip(request)),
        ratelimit.Limit(*settings.CIVILITY_ASSESS_LIMIT_PER_IP),
    )
    try:
        moderator = services.engine_moderator()
    except (ImportError, OSError) as exc:
        return Status(503, {"error": f"the engine is not available: {exc}", "field": None})
    article = payload.article.model_dump() if payload.article is not None else None
    try:
        result = moderator.assess(payload.text, article=article, lang=payload.lang)
    except ValueError as exc:  # the engine's InputError names the field first
        message = str(exc)
        field = message.split(" ", 1)[0].split(".", 1)[0] if message else None
        known = field if field in {"text", "article", "lang"} else None
        return Status(400, {"error": message, "field": known})
    return Status(200, result.to_dict())


QUEUE_PARAMETERS = {"status", "article", "language", "category", "q", "order", "limit"}


def _unknown_parameter(request, known: set[str]) -> Status | None:
    """A 400 naming the first query parameter the endpoint does not know, else None."""
    unknown = sorted(set(request.GET) - known)
    if not unknown:
        return None
    message = f"unknown query parameter {unknown[0]!r}; known: {', '.join(sorted(known))}"
    return Status(400, {"error": message, "field": unknown[0]})


@api.get(
    "/moderation/queue",
    auth=bearer,
    response={200: dict, 400: schemas.Error, 401: schemas.Error, 403: schemas.Error},
    summary="Comments for moderators: pending by default, oldest or highest risk first",
)
def moderation_queue(
    request,
    status: Literal["pending", "approved", "rejected", "auto", "all"] = Query(
        "pending", description="auto: decided by the policy"
    ),
    article: str | None = Query(None, max_length=200, description="article slug"),
    language: str | None = Query(None, max_length=8),
    category: str | None = Query(
        None,
        max_length=40,
        description="only comments whose score in this category is at least 0.5",
    ),
    q: str | None = Query(
        None, max_length=200, description="search in the text and the author name"
    ),
    order: Literal["oldest", "risk"] = Query("oldest"),
    limit: int = Query(50, ge=1, le=200),
):
    _require(request, permission="comments.moderate_comment")
    refused = _unknown_parameter(request, QUEUE_PARAMETERS)
    if refused is not None:
        return refused
    items = queue_items(
        status=status,
        article=article,
        language=language,
        category=category,
        q=q,
        order=order,
        limit=limit,
    )
    return Status(200, {"count": len(items), "comments": items})


DECISION_RESPONSES = {
    200: schemas.DecisionOut,
    400: schemas.Error,
    401: schemas.Error,
    403: schemas.Error,
    404: schemas.Error,
    409: schemas.Conflict,
    413: schemas.Error,
}


@api.post(
    "/moderation/comments/{comment_id}/decision",
    auth=bearer,
    response=DECISION_RESPONSES,
    summary="Approve or reject a pending comment (appends to its decision trail); 409 if "
    "someone decided it after the state you saw",
)
def decide(request, payload: schemas.DecisionIn, comment_id: int = Path(..., ge=1, le=MAX_ID)):
    _require(request, permission="comments.moderate_comment")
    return _answer(_apply(request.auth, comment_id, payload, change=False))


@api.post(
    "/moderation/comments/{comment_id}/decision/change",
    auth=bearer,
    response=DECISION_RESPONSES,
    summary="Change a comment's decision (approve a rejected one, or the reverse); 409 if "
    "someone decided it after the decision you are changing",
)
def change_decision(
    request, payload: schemas.ChangeIn, comment_id: int = Path(..., ge=1, le=MAX_ID)
):
    _require(request, permission="comments.moderate_comment")
    return _answer(_apply(request.auth, comment_id, payload, change=True))


@api.post(
    "/moderation/decisions",
    auth=bearer,
    response={
        200: schemas.BulkOut,
        400: schemas.Error,
        401: schemas.Error,
        403: schemas.Error,
        413: schemas.Error,
    },
    summary="Several decisions at once, each applied on its own: the answer says per comment "
    "whether it was applied, in conflict (with who decided what, when) or refused",
)
def decide_many(request, payload: schemas.BulkIn):
    _require(request, permission="comments.moderate_comment")
    results = []
    for item in payload.decisions:
        outcome, status, body = _apply(request.auth, item.comment, item, change=item.change)
        if outcome == "applied":
            results.append({"comment": item.comment, "outcome": outcome, "decision": body})
        else:
            results.append({"comment": item.comment, "outcome": outcome, **body})
    counts = {k: sum(r["outcome"] == k for r in results) for k in ("applied", "conflict", "error")}
    return Status(
        200,
        {
            "applied": counts["applied"],
            "conflicts": counts["conflict"],
            "errors": counts["error"],
            "results": results,
        },
    )


def _apply(user, comment_id: int, payload, change: bool) -> tuple[str, int, dict]:
    """(outcome, HTTP status, body) of one decision: applied, conflict or error."""
    comment = Comment.objects.filter(pk=comment_id).first()
    if comment is None:
        return "error", 404, {"error": "no comment with this id", "field": None}
    try:
        decision = services.record_decision(
            comment,
            payload.action,
            payload.reasons,
            user,
            payload.note,
            seen=payload.seen_decision,
            change=change,
        )
    except services.DecisionConflict as conflict:
        return "conflict", 409, _conflict_body(conflict)
    except services.DecisionError as exc:
        status = 403 if exc.field == "actor" else 400
        return "error", status, {"error": f"{exc.field}: {exc.message}", "field": exc.field}
    return (
        "applied",
        200,
        {
            "id": comment.pk,
            "status": ACTION_STATUS[decision.action],
            "decision_id": decision.pk,
            "action": decision.action,
            "reasons": decision.reasons,
            "actor": decision.actor_label,
            "created": decision.created.isoformat(),
        },
    )


def _answer(result: tuple[str, int, dict]) -> Status:
    _, status, body = result
    return Status(status, body)


def _conflict_body(conflict: services.DecisionConflict) -> dict:
    latest = conflict.latest
    saw = "it pending" if conflict.seen is None else f"decision {conflict.seen}"
    message = (
        f"comment {conflict.comment.pk} was {ACTION_STATUS[latest.action]} by "
        f"{latest.actor_label} at {latest.created.isoformat()} (decision {latest.pk}), after "
        f"you saw {saw}; nothing was recorded. Look at it again; to reverse that decision, "
        f"POST /moderation/comments/{conflict.comment.pk}/decision/change with "
        f"seen_decision {latest.pk}"
    )
    return {
        "error": message,
        "field": "seen_decision",
        "current": services.decision_facts(latest),
        "decided_since": [services.decision_facts(d) for d in conflict.since],
    }


LANGUAGE_STATS_PARAMETERS = {"days", "period"}


def _period_out(p: PeriodFigures) -> dict:
    return {
        "start": p.start,
        "end": p.end,
        "posted": p.posted,
        "decided": p.decided,
        "automatic": p.automatic,
        "automatic_share": p.automatic_share,
        "human_decided": p.human,
        "compared": p.compared,
        "agreed": p.agreed,
        "agreement": p.agreement,
        "sent_to_review": p.sent_to_review,
        "without_suggestion": p.without_suggestion,
        "reversed": p.reversed,
        "reversal_share": p.reversal_share,
        "model_versions": p.model_versions,
    }


@api.get(
    "/moderation/stats/languages",
    auth=bearer,
    response={
        200: schemas.LanguageStats,
        400: schemas.Error,
        401: schemas.Error,
        403: schemas.Error,
    },
    summary="Per language and period: decided automatically, agreement with moderators, "
    "reversed automatic decisions (the dashboard's figures)",
)
def moderation_language_stats(
    request,
    days: int = Query(84, ge=1, le=366, description="the last N days, today included"),
    period: Literal["day", "week"] | None = Query(
        None, description="default: day up to 14 days, else weeks from Monday"
    ),
):
    _require(request, permission="comments.moderate_comment")
    refused = _unknown_parameter(request, LANGUAGE_STATS_PARAMETERS)
    if refused is not None:
        return refused
    stats = language_stats(days, period=period)
    return Status(
        200,
        {
            "period": stats.period,
            "start": stats.start,
            "end": stats.end,
            "languages": [
                {
                    "language": series.language,
                    "name": series.name,
                    "periods": [_period_out(p) for p in series.periods],
                    "total": _period_out(series.total),
                }
                for series in stats.languages
            ],
        },
    )


def _sanction_out(sanction) -> dict:
    return {
        "id": sanction.pk,
        "commenter": sanction.commenter_id,
        "action": sanction.kind,
        "reason": sanction.reason,
        "until": sanction.until.isoformat() if sanction.until else None,
        "actor": sanction.actor.get_username(),
        "created": sanction.created.isoformat(),
    }


def _commenter_or_404(commenter_id: int):
    commenter = Commenter.objects.filter(pk=commenter_id).first()
    if commenter is None:
        raise Http404("no commenter with this id")
    return commenter


@api.get(
    "/moderation/commenters/{commenter_id}",
    auth=bearer,
    response={
        200: schemas.CommenterOut,
        400: schemas.Error,
        401: schemas.Error,
        403: schemas.Error,
        404: schemas.Error,
    },
    summary="A verified commenter: history (approved, rejected by guideline) and sanctions",
)
def commenter_detail(request, commenter_id: int = Path(..., ge=1, le=MAX_ID)):
    _require(request, permission="comments.moderate_comment")
    commenter = _commenter_or_404(commenter_id)
    figures = commenter_history(commenter)
    current = commenter_sanctions.current(commenter)
    return Status(
        200,
        {
            "id": commenter.pk,
            "name": commenter.shown_name,
            "first_seen": commenter.first_seen.isoformat(),
            "verified": bool(commenter.email or commenter.sso_subject),
            "approved": figures["approved"],
            "rejected": figures["rejected"],
            "rejected_by_guideline": [
                {"code": g["code"], "count": g["count"]} for g in figures["by_guideline"]
            ],
            "sanction": _sanction_out(current) if current else None,
            "sanctions": [_sanction_out(s) for s in commenter.sanctions.select_related("actor")],
        },
    )


@api.post(
    "/moderation/commenters/{commenter_id}/sanctions",
    auth=bearer,
    response={
        201: schemas.SanctionOut,
        400: schemas.Error,
        401: schemas.Error,
        403: schemas.Error,
        404: schemas.Error,
        413: schemas.Error,
    },
    summary="Suspend (for `days`), ban (until lifted) or lift, with a reason; appended to "
    "the commenter's sanctions trail",
)
def sanction_commenter(
    request, payload: schemas.SanctionIn, commenter_id: int = Path(..., ge=1, le=MAX_ID)
):
    _require(request, permission="comments.moderate_comment")
    commenter = _commenter_or_404(commenter_id)
    try:
        sanction = commenter_sanctions.record(
            commenter, payload.action, payload.reason, request.auth, days=payload.days
        )
    except commenter_sanctions.SanctionError as exc:
        return Status(400, {"error": f"{exc.field}: {exc.message}", "field": exc.field})
    return Status(201, _sanction_out(sanction))


# -- appeals (docs/web.md "Appeals") -----------------------------------------------------------


def _appeal_out(appeal, latest=None) -> dict:
    """One appeal as the API shows it; `latest`: the comment's latest decision, if known."""
    rejection = appeal.rejection
    outcome = getattr(appeal, "outcome", None)
    comment = appeal.comment
    return {
        "id": appeal.pk,
        "comment": comment.pk,
        "article": comment.article.slug,
        "comment_text": comment.body,
        "comment_status": ACTION_STATUS[latest.action] if latest else comment.status,
        "status": outcome.outcome if outcome else "pending",
        "text": appeal.text,
        "language": appeal.language,
        "created": appeal.created.isoformat(),
        "rejection": {
            "decision_id": rejection.pk,
            "reasons": list(rejection.reasons or []),
            "actor": rejection.actor.get_username() if rejection.actor_id else None,
            "automatic": rejection.automatic,
            "created": rejection.created.isoformat(),
        },
        "outcome": None
        if outcome is None
        else {
            "outcome": outcome.outcome,
            "reason": outcome.reason,
            "actor": outcome.actor.get_username(),
            "created": outcome.created.isoformat(),
            "decision_id": outcome.decision_id,
        },
    }


def _appeal_error(exc: comment_appeals.AppealError) -> Status:
    return Status(exc.status, {"error": f"{exc.field}: {exc.message}", "field": exc.field})


@api.post(
    "/appeals",
    response={
        201: schemas.AppealFiled,
        400: schemas.Error,
        404: schemas.Error,
        409: schemas.Error,
        413: schemas.Error,
    },
    summary="Appeal a rejected comment, once, as its author: the status_token is the secret "
    "of the status_url its posting returned; 409 if it is not rejected or was appealed already",
)
def file_appeal(request, payload: schemas.AppealIn):
    comment = (
        Comment.objects.select_related("article").filter(status_token=payload.status_token).first()
    )
    if comment is None:
        return Status(404, {"error": "no comment with this status token", "field": "status_token"})
    language = payload.lang or comment.article.language
    try:
        appeal = comment_appeals.file_appeal(comment, payload.text, language)
    except comment_appeals.AppealError as exc:
        return _appeal_error(exc)
    return Status(
        201,
        {
            "id": appeal.pk,
            "comment": comment.pk,
            "status": "pending",
            "created": appeal.created.isoformat(),
        },
    )


APPEALS_PARAMETERS = {"status", "limit"}


@api.get(
    "/moderation/appeals",
    auth=bearer,
    response={200: schemas.AppealList, 400: schemas.Error, 401: schemas.Error, 403: schemas.Error},
    summary="Appeals: pending (oldest first, by default) or decided (latest first), each with "
    "the comment, the rejection (guidelines, who, when) and the appeal's text",
)
def list_appeals(
    request,
    status: Literal["pending", "decided"] = Query("pending"),
    limit: int = Query(50, ge=1, le=200),
):
    _require(request, permission="comments.moderate_comment")
    refused = _unknown_parameter(request, APPEALS_PARAMETERS)
    if refused is not None:
        return refused
    appeals = list(appeals_queryset(status)[:limit])
    latest = latest_decisions(appeals)
    shown = [_appeal_out(a, latest[a.comment_id]) for a in appeals]
    return Status(200, {"count": len(appeals), "appeals": shown})


@api.post(
    "/moderation/appeals/{appeal_id}/decision",
    auth=bearer,
    response={
        200: schemas.AppealOut,
        400: schemas.Error,
        401: schemas.Error,
        403: schemas.Error,
        404: schemas.Error,
        409: schemas.Error,
        413: schemas.Error,
    },
    summary="Uphold or overturn an appeal, with a reason the commenter reads; 403 for the "
    "moderator who rejected the comment; an overturn publishes the comment unchanged",
)
def decide_appeal(
    request, payload: schemas.AppealDecisionIn, appeal_id: int = Path(..., ge=1, le=MAX_ID)
):
    _require(request, permission="comments.moderate_comment")
    appeal = (
        Appeal.objects.select_related("comment__article", "rejection__actor")
        .filter(pk=appeal_id)
        .first()
    )
    if appeal is None:
        raise Http404("no appeal with this id")
    try:
        comment_appeals.decide_appeal(
            appeal,
            payload.outcome,
            payload.reason,
            request.auth,
            origin=request.build_absolute_uri("/").rstrip("/"),
        )
    except comment_appeals.AppealError as exc:
        return _appeal_error(exc)
    appeal = Appeal.objects.select_related(
        "comment__article", "rejection__actor", "outcome__actor"
    ).get(pk=appeal.pk)
    return Status(200, _appeal_out(appeal))


def _appeal_figures(figures) -> dict:
    return {
        "guideline": figures.code,
        "appeals": figures.appeals,
        "pending": figures.pending,
        "upheld": figures.upheld,
        "overturned": figures.overturned,
        "overturn_rate": figures.overturn_rate,
    }


@api.get(
    "/moderation/stats/appeals",
    auth=bearer,
    response={
        200: schemas.AppealStatsOut,
        400: schemas.Error,
        401: schemas.Error,
        403: schemas.Error,
    },
    summary="Appeals filed in the last N days by the guideline the rejection cited: pending, "
    "upheld, overturned and the overturn rate (the dashboard's figures)",
)
def moderation_appeal_stats(
    request, days: int = Query(84, ge=1, le=366, description="the last N days, today included")
):
    _require(request, permission="comments.moderate_comment")
    refused = _unknown_parameter(request, {"days"})
    if refused is not None:
        return refused
    stats = appeal_stats(days)
    return Status(
        200,
        {
            "days": stats.days,
            "total": _appeal_figures(stats.total),
            "by_guideline": [_appeal_figures(f) for f in stats.by_guideline],
        },
    )


# -- personal data (docs/privacy.md) -----------------------------------------------------------
# The address travels in the body, never the URL, so it stays out of access logs. Each request
# is recorded in the PrivacyRequest trail (a keyed hash of the address, never the address).

PRIVACY_RESPONSES = {
    400: schemas.Error,
    401: schemas.Error,
    403: schemas.Error,
    413: schemas.Error,
}


def _privacy_change(change, *args, **kwargs) -> Status:
    """Erase or withdraw: the counts, or 403 when the user may not withdraw (nothing done)."""
    try:
        return Status(200, change(*args, **kwargs))
    except privacy.PrivacyError as exc:
        return Status(403, {"error": f"{exc.field}: {exc.message}", "field": exc.field})


@api.post(
    "/moderation/privacy/export",
    auth=bearer,
    response={200: dict, **PRIVACY_RESPONSES},
    summary="Everything held about a commenter's e-mail address, as `civility commenter "
    "export` prints it (permission commenters.handle_personal_data)",
)
def privacy_export(request, payload: schemas.PrivacyIn):
    _require(request, permission=privacy.PERMISSION)
    return Status(200, privacy.export(payload.email, actor=request.auth, channel="api"))


@api.post(
    "/moderation/privacy/erase",
    auth=bearer,
    response={200: schemas.EraseOut, **PRIVACY_RESPONSES},
    summary="Erase a commenter's address, sign-on subject and IP hashes (the name becomes "
    "'former commenter'; texts stay), as `civility commenter erase`; with withdraw, also "
    "withdraw the comments (permission commenters.handle_personal_data)",
)
def privacy_erase(request, payload: schemas.EraseIn):
    _require(request, permission=privacy.PERMISSION)
    return _privacy_change(
        privacy.erase, payload.email, actor=request.auth, channel="api", withdraw=payload.withdraw
    )


@api.post(
    "/moderation/privacy/withdraw",
    auth=bearer,
    response={200: schemas.WithdrawOut, **PRIVACY_RESPONSES},
    summary="Withdraw every comment of a commenter's address not already rejected: a "
    "rejection with reason author_request by the token's user, texts unchanged (permissions "
    "commenters.handle_personal_data and comments.moderate_comment)",
)
def privacy_withdraw(request, payload: schemas.PrivacyIn):
    _require(request, permission=privacy.PERMISSION)
    return _privacy_change(privacy.withdraw, payload.email, request.auth, channel="api")
