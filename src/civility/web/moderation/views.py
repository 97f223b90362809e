"""Moderator pages: the queue (approve / reject, one by one or in bulk) and the dashboard.

Every action is a plain POST form with CSRF; the queue's JavaScript submits the same forms
and asks for JSON so a moderator can keep working from the keyboard without reloads.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import (
    get_language_from_request,
    gettext_lazy,
    ngettext,
    pgettext,
)
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civility.web.comments.models import ACTION_STATUS, APPROVE, Appeal, Comment, Decision
from civility.web.comments.services import (
    DecisionConflict,
    DecisionError,
    author_history,
    decision_facts,
    record_decision,
)
from civility.web.errors import json_error
from civility.web.i18n import local_digits
from civility.web.text import parse_id

from . import charts, live
from .commenters import card_commenter
from .forms import (
    CITED_CHOICES,
    ORDER_RISK,
    REASON_LABELS,
    STATUS_CHOICES,
    BulkDecisionForm,
    DecisionForm,
    PreferencesForm,
    QueueFilterForm,
)
from .models import ModeratorProfile
from .queue import queue_comments
from .stats import DAY, LanguageStats, appeal_stats, dashboard_stats, language_stats

PAGE_SIZE = 25
DASHBOARD_DAYS = (7, 14, 30, 90)
STATUS_LABELS = {
    "pending": gettext_lazy("pending"),
    "approved": gettext_lazy("approved"),
    "rejected": gettext_lazy("rejected"),
}


def moderator_required(view):
    """Anonymous visitors go to the login page; signed-in non-moderators get 403."""
    return wraps(view)(
        login_required(permission_required("comments.moderate_comment", raise_exception=True)(view))
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back_to_queue(request: HttpRequest, anchor: str = "") -> HttpResponse:
    target = request.POST.get("next", "")
    # Only a path on this site; anything else (another host, or a bare word that redirect()
    # would try to reverse as a view name) goes back to the queue.
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("moderation:queue")
    return HttpResponseRedirect(target + anchor)


def moderator_api(view):
    """For the queue's script (cards, live updates, claims): 403 in JSON, never a redirect to
    the login page, for anyone who is not a signed-in moderator."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated or not user.has_perm("comments.moderate_comment"):
            return json_error(request, 403, "sign in as a moderator")
        return view(request, *args, **kwargs)

    return wrapper


def _order_key(comment: Comment, order: str) -> str:
    """A text that sorts like the queue does (the script places a new card by it)."""
    when = f"{max(comment.created.timestamp(), 0.0):020.6f}|{comment.pk:020d}"
    if order != ORDER_RISK:
        return when
    assessment = getattr(comment, "assessment", None)
    if assessment is None:
        return f"1|{when}"
    return f"0|{1.0 - min(max(float(assessment.score), 0.0), 1.0):.9f}|{when}"


def _card(comment: Comment, order: str = "") -> dict:
    """What one queue card shows, besides the comment itself."""
    assessment = getattr(comment, "assessment", None)
    scores = []
    if assessment is not None:
        scores = sorted(
            ((code, float(value)) for code, value in (assessment.categories or {}).items()),
            key=lambda item: -item[1],
        )
    approved, rejected = author_history(comment)
    decisions = list(comment.decisions.all())
    appeal = Appeal.objects.filter(comment=comment).select_related("outcome").first()
    return {
        "comment": comment,
        "assessment": assessment,
        "scores": [(code, REASON_LABELS.get(code, code), value) for code, value in scores],
        "history": {"approved": approved, "rejected": rejected},
        "commenter": card_commenter(comment),
        # The author's appeal of a rejection, and its outcome (None while pending).
        "appeal": appeal,
        "appeal_outcome": getattr(appeal, "outcome", None) if appeal else None,
        "decisions": decisions,
        # The state a decision from this card is made on (services.record_decision).
        "decision_id": decisions[-1].pk if decisions else None,
        "order": _order_key(comment, order),
    }


@require_GET
@moderator_required
def queue(request: HttpRequest) -> HttpResponse:
    filter_form = QueueFilterForm(request.GET or None)
    filters = filter_form.values()
    page = Paginator(queue_comments(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "moderation/queue.html",
        {
            "filter_form": filter_form,
            "filters": filters,
            "page": page,
            "cards": [_card(comment, filters["order"]) for comment in page.object_list],
            "reason_choices": CITED_CHOICES,
            "status_choices": STATUS_CHOICES,
            "next_url": request.get_full_path(),
            "querystring": _querystring_without_page(request),
            # The live updates start from what this page shows.
            "live_cursor": str(live.head()),
            "claim_seconds": live.CLAIM_SECONDS,
        },
    )


def _querystring_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _decider(decision: Decision) -> str:
    if decision.automatic:
        return _("the automatic policy")
    if decision.imported:
        return decision.decided_by or _("the earlier system")
    return live.display_name(decision.actor)


def _local_time(value) -> str:
    return local_digits(formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT"))


def conflict_message(conflict: DecisionConflict) -> str:
    """Why a decision was not applied: who decided the comment, how and when, since."""
    latest = conflict.latest
    if latest.action == APPROVE:
        text = _(
            "Not applied: comment %(id)s was approved by %(who)s at %(when)s, after you "
            "loaded it. Check it again before deciding."
        )
    else:
        text = _(
            "Not applied: comment %(id)s was rejected by %(who)s at %(when)s, after you "
            "loaded it. Check it again before deciding."
        )
    return text % {
        "id": local_digits(conflict.comment.pk),
        "who": _decider(latest),
        "when": _local_time(latest.created),
    }


def _decided_notice(decision: Decision) -> str:
    if decision.action == APPROVE:
        text = _("Comment %(id)s was approved by %(who)s.")
    else:
        text = _("Comment %(id)s was rejected by %(who)s.")
    return text % {"id": local_digits(decision.comment_id), "who": _decider(decision)}


def _render_cards(request: HttpRequest, comments, order: str, next_url: str) -> list[dict]:
    context = {"reason_choices": CITED_CHOICES, "next_url": next_url}
    out = []
    for comment in comments:
        card = _card(comment, order)
        html = render_to_string("moderation/_card.html", {**context, "card": card}, request=request)
        out.append(
            {
                "id": comment.pk,
                "html": html,
                "order": card["order"],
                "decision": card["decision_id"],
            }
        )
    return out


def _card_html(request: HttpRequest, comment_id: int) -> str:
    """One card as it is now, whatever the filters (after a decision, or a conflict)."""
    comments = queue_comments({"status": "all"}).filter(pk=comment_id)
    next_url = request.POST.get("next", "")
    if not next_url.startswith("/"):
        next_url = reverse("moderation:queue")
    order = ORDER_RISK if "order=risk" in next_url else ""
    cards = _render_cards(request, comments, order, next_url)
    return cards[0]["html"] if cards else ""


@require_POST
@moderator_required
def decide(request: HttpRequest, comment_id: int) -> HttpResponse:
    """A first decision on a pending comment."""
    return _decide(request, comment_id, change=False)


@require_POST
@moderator_required
def change(request: HttpRequest, comment_id: int) -> HttpResponse:
    """Change decision: reverse (or restate) the decision the moderator saw."""
    return _decide(request, comment_id, change=True)


def _decide(request: HttpRequest, comment_id: int, change: bool) -> HttpResponse:
    comment = get_object_or_404(Comment, pk=comment_id)
    form = DecisionForm(request.POST)
    error = field = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            _record(request, comment, data, data["seen"], change)
        except DecisionConflict as conflict:
            return _conflict(request, conflict)
        except DecisionError as exc:
            error, field = exc.message, exc.field
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
        field = next((name for name in form.errors if name != "__all__"), "reasons")
    if error is not None:
        if _wants_json(request):
            return json_error(request, 400, error, field)
        messages.error(request, error)
        return _back_to_queue(request, f"#comment-{comment.pk}")
    status = ACTION_STATUS[data["action"]]
    message = _("Comment %(id)s %(status)s.") % {"id": comment.pk, "status": STATUS_LABELS[status]}
    if _wants_json(request):
        decisions = list(comment.decisions.select_related("actor").all())
        history_html = render_to_string(
            "moderation/_decisions.html", {"decisions": decisions}, request=request
        )
        return JsonResponse(
            {
                "id": comment.pk,
                "status": status,
                "status_label": str(STATUS_LABELS[status]),
                "message": message,
                "decision_id": decisions[-1].pk,
                "history_html": history_html,
                "card_html": _card_html(request, comment.pk),
            }
        )
    messages.success(request, message)
    return _back_to_queue(request, f"#comment-{comment.pk}")


def _record(request: HttpRequest, comment: Comment, data: dict, seen, change: bool = False):
    """The form's decision, made on the state `seen` (services.record_decision)."""
    return record_decision(
        comment,
        data["action"],
        data["reasons"],
        request.user,
        data["note"],
        seen=seen,
        change=change,
    )


def _conflict(request: HttpRequest, conflict: DecisionConflict) -> HttpResponse:
    """Someone decided first: say who, what and when; the moderator's decision is dropped."""
    message = conflict_message(conflict)
    if _wants_json(request):
        return JsonResponse(
            {
                "error": message,
                "field": "seen_decision",
                "conflict": True,
                "current": decision_facts(conflict.latest),
                "card_html": _card_html(request, conflict.comment.pk),
            },
            status=409,
        )
    messages.error(request, message)
    return _back_to_queue(request, f"#comment-{conflict.comment.pk}")


@require_POST
@moderator_required
def bulk_decide(request: HttpRequest) -> HttpResponse:
    """The same decision on the selected comments, each applied on its own: the messages say
    how many were applied, and which were not and why (decided by someone else meanwhile)."""
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        if "comment_ids" in form.errors:
            messages.error(request, _("Select at least one comment first (x on a card)."))
        else:
            messages.error(request, " ".join(form.non_field_errors()))
        return _back_to_queue(request)
    data = form.cleaned_data
    comments = list(Comment.objects.filter(pk__in=data["comment_ids"]).order_by("created", "id"))
    applied, problems = 0, []
    for comment in comments:
        seen = request.POST.get(f"seen_{comment.pk}", "").strip()
        try:
            # An id, or empty for pending; anything else is refused by record_decision.
            _record(request, comment, data, (len(seen) < 20 and parse_id(seen)) or seen or None)
            applied += 1
        except DecisionConflict as conflict:
            problems.append(conflict_message(conflict))
        except DecisionError as exc:
            if exc.field == "seen_decision" and parse_id(seen[:20]):
                text = _(
                    "Comment %(id)s was not changed: it is already decided. Use “Change "
                    "decision” on its card."
                )
                problems.append(text % {"id": local_digits(comment.pk)})
            else:
                problems.append(_("Comment %(id)s: %(error)s") % {"id": comment.pk, "error": exc})
    if applied:
        if data["action"] == APPROVE:
            text = ngettext("Approved %(n)d comment.", "Approved %(n)d comments.", applied)
        else:
            text = ngettext("Rejected %(n)d comment.", "Rejected %(n)d comments.", applied)
        messages.success(request, text % {"n": applied})
    for problem in problems:
        messages.error(request, problem)
    return _back_to_queue(request)


CARDS_PER_REQUEST = 100


def _ids(text: str) -> list[int] | None:
    parts = text.split(",")
    if not 1 <= len(parts) <= CARDS_PER_REQUEST:
        return None
    ids = [parse_id(p) if len(p) < 20 else None for p in parts]
    return None if None in ids else list(dict.fromkeys(ids))


@require_GET
@moderator_api
def cards(request: HttpRequest) -> HttpResponse:
    """The cards of these comments (?ids=1,2,3) as the queue with these filters shows them,
    and the ones it no longer shows ("gone": decided, for the pending queue), each with a
    notice of who decided it: what the live queue asks for after an event."""
    ids = _ids(request.GET.get("ids", ""))
    if ids is None:
        message = f"ids: 1 to {CARDS_PER_REQUEST} comment ids, separated by commas"
        return json_error(request, 400, message, "ids")
    filters = QueueFilterForm(request.GET or None).values()
    params = request.GET.copy()
    params.pop("ids", None)
    params.pop("page", None)
    next_url = reverse("moderation:queue") + (f"?{params.urlencode()}" if params else "")
    matching = queue_comments(filters)
    found = _render_cards(request, matching.filter(pk__in=ids), filters["order"], next_url)
    shown = {card["id"] for card in found}
    latest: dict[int, Decision] = {}
    gone_decisions = Decision.objects.filter(comment_id__in=[i for i in ids if i not in shown])
    for decision in gone_decisions.select_related("actor").order_by("id"):
        latest[decision.comment_id] = decision
    gone = [
        {
            "id": pk,
            "decision": latest[pk].pk if pk in latest else None,
            "notice": _decided_notice(latest[pk]) if pk in latest else "",
        }
        for pk in ids
        if pk not in shown
    ]
    count = matching.count()
    count_text = ngettext("%(shown)s comment", "%(shown)s comments", count) % {
        "shown": local_digits(count)
    }
    return JsonResponse({"cards": found, "gone": gone, "count": count_text})


@require_GET
@moderator_api
def live_updates(request: HttpRequest) -> HttpResponse:
    """Server-Sent Events for an open queue: "queue" names the comments that changed since
    the cursor (Last-Event-ID, or ?since= from the page), "claims" who else reads what. Under
    `civility serve` the stream stays open; elsewhere it ends after one batch and the browser
    reconnects after `retry` ms. ?format=json answers the same batch as JSON (a plain poll)."""
    cursor = (
        live.parse(request.headers.get("Last-Event-ID"))
        or live.parse(request.GET.get("since"))
        or live.head()
    )
    changed, cursor = live.changes(cursor)
    claims = live.claims_by_others(request.user.pk)
    if request.GET.get("format") == "json":
        return JsonResponse({"cursor": str(cursor), "comments": changed, "claims": claims})
    body = (
        f"retry: {int(live.POLL_SECONDS * 1000)}\n\n"
        + live.event("queue", {"comments": changed}, str(cursor))
        + live.event("claims", {"claims": claims})
    )
    response = HttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the stream back
    if request.META.get("civility.streams"):  # the ASGI front keeps it open (asgi.py)
        request.META["civility.stream"] = live.Stream(request.user.pk, cursor, claims)
    return response


@require_POST
@moderator_api
def claim(request: HttpRequest, comment_id: int) -> HttpResponse:
    """The moderator is reading this comment: the others see it for CLAIM_SECONDS (the page
    renews it while the moderator stays on the card)."""
    if not Comment.objects.filter(pk=comment_id).exists():
        return json_error(request, 404, "no comment with this id")
    live.claim(request.user, comment_id)
    return JsonResponse({"comment": comment_id, "seconds": live.CLAIM_SECONDS})


@require_POST
@moderator_api
def release(request: HttpRequest) -> HttpResponse:
    """The moderator left the card, or the page."""
    comment = request.POST.get("comment", "")
    comment_id = parse_id(comment) if len(comment) < 20 else None
    if comment and comment_id is None:
        return json_error(request, 400, "comment: a comment id, or nothing for any", "comment")
    live.release(request.user, comment_id)
    return HttpResponse(status=204)


@require_GET
@moderator_required
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        days = int(request.GET.get("days", 14))
    except ValueError:
        days = 14
    days = days if days in DASHBOARD_DAYS else 14
    stats = dashboard_stats(days)
    # Django's date format syntax; each language says how a short day label looks in it.
    day_format = pgettext("chart label of a day, Django date format", "M j")
    per_day = [
        (local_digits(formats.date_format(day, day_format)), count)
        for day, count in stats.comments_per_day
    ]
    by_reason = [
        (str(_("Other") if code == "other" else REASON_LABELS[code]), n)
        for code, n in stats.rejections_by_reason
    ]
    by_language = language_stats(days)
    appeals = appeal_stats(days)
    return render(
        request,
        "moderation/dashboard.html",
        {
            "stats": stats,
            "day_choices": DASHBOARD_DAYS,
            "per_day_chart": charts.column_chart(per_day, title=_("Comments per day")),
            "by_reason_chart": charts.bar_chart(by_reason, title=_("Rejections by guideline")),
            "automatic_chart": charts.share_bar(
                stats.automatic_share, title=_("Share of comments decided automatically")
            ),
            "languages": _language_sections(by_language, day_format),
            "period_heading": _("Day") if by_language.period == DAY else _("Week starting"),
            "appeals": appeals,
            "appeal_rows": [
                (str(_("Other") if f.code == "other" else REASON_LABELS[f.code]), f)
                for f in appeals.by_guideline
            ],
        },
    )


def _language_sections(stats: LanguageStats, day_format: str) -> list[dict]:
    """Each language's table rows (a period's label and figures) and its three sparklines."""
    sections = []
    for series in stats.languages:
        labels = [local_digits(formats.date_format(p.start, day_format)) for p in series.periods]
        sparks = []
        for caption, figure in (
            (_("Decided automatically"), "automatic_share"),
            (_("Agreement with moderators"), "agreement"),
            (_("Reversed automatic decisions"), "reversal_share"),
        ):
            points = [
                (label, getattr(p, figure)) for label, p in zip(labels, series.periods, strict=True)
            ]
            title = f"{series.name}: {caption}"
            sparks.append((caption, charts.share_sparkline(points, title=title)))
        sections.append(
            {
                "series": series,
                "bidi": series.language in settings.LANGUAGES_BIDI,
                "rows": list(zip(labels, series.periods, strict=True)),
                "sparks": sparks,
            }
        )
    return sections


@require_http_methods(["GET", "POST"])
@moderator_required
def preferences(request: HttpRequest) -> HttpResponse:
    """The moderator's own settings: the language of the moderator pages."""
    if request.method == "GET":
        profile = ModeratorProfile.objects.filter(user=request.user).first()
        form = PreferencesForm(initial={"language": profile.language if profile else ""})
        return render(request, "moderation/preferences.html", {"form": form})
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return render(request, "moderation/preferences.html", {"form": form}, status=400)
    language = form.cleaned_data["language"]
    ModeratorProfile.objects.update_or_create(user=request.user, defaults={"language": language})
    # Say it in the language just chosen (empty: the browser's), not the one of this request.
    with translation.override(language or get_language_from_request(request)):
        messages.success(request, _("Preferences saved."))
    return HttpResponseRedirect(reverse("moderation:preferences"))
