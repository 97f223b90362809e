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
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import (
    get_language_from_request,
    gettext_lazy,
    ngettext,
    pgettext,
)
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civility.web.comments.models import APPROVE, Comment
from civility.web.comments.services import DecisionError, author_history, record_decision
from civility.web.errors import json_error
from civility.web.i18n import local_digits

from . import charts
from .forms import (
    REASON_CHOICES,
    REASON_LABELS,
    STATUS_CHOICES,
    BulkDecisionForm,
    DecisionForm,
    PreferencesForm,
    QueueFilterForm,
)
from .models import ModeratorProfile
from .queue import queue_comments
from .stats import DAY, LanguageStats, dashboard_stats, language_stats

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


def _card(comment: Comment) -> dict:
    """What one queue card shows, besides the comment itself."""
    assessment = getattr(comment, "assessment", None)
    scores = []
    if assessment is not None:
        scores = sorted(
            ((code, float(value)) for code, value in (assessment.categories or {}).items()),
            key=lambda item: -item[1],
        )
    approved, rejected = author_history(comment)
    return {
        "comment": comment,
        "assessment": assessment,
        "scores": [(code, REASON_LABELS.get(code, code), value) for code, value in scores],
        "history": {"approved": approved, "rejected": rejected},
        "decisions": list(comment.decisions.all()),
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
            "cards": [_card(comment) for comment in page.object_list],
            "reason_choices": REASON_CHOICES,
            "status_choices": STATUS_CHOICES,
            "next_url": request.get_full_path(),
            "querystring": _querystring_without_page(request),
        },
    )


def _querystring_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@require_POST
@moderator_required
def decide(request: HttpRequest, comment_id: int) -> HttpResponse:
    comment = get_object_or_404(Comment, pk=comment_id)
    form = DecisionForm(request.POST)
    error = field = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            record_decision(comment, data["action"], data["reasons"], request.user, data["note"])
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
    status = "approved" if data["action"] == APPROVE else "rejected"
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
                "history_html": history_html,
            }
        )
    messages.success(request, message)
    return _back_to_queue(request, f"#comment-{comment.pk}")


@require_POST
@moderator_required
def bulk_decide(request: HttpRequest) -> HttpResponse:
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        if "comment_ids" in form.errors:
            messages.error(request, _("Select at least one comment first (x on a card)."))
        else:
            messages.error(request, " ".join(form.non_field_errors()))
        return _back_to_queue(request)
    data = form.cleaned_data
    comments = list(Comment.objects.filter(pk__in=data["comment_ids"]).order_by("created", "id"))
    try:
        with transaction.atomic():  # all or nothing: a half-applied bulk action would confuse
            for comment in comments:
                record_decision(
                    comment, data["action"], data["reasons"], request.user, data["note"]
                )
    except DecisionError as exc:
        messages.error(request, exc.message)
        return _back_to_queue(request)
    if data["action"] == APPROVE:
        text = ngettext("Approved %(n)d comment.", "Approved %(n)d comments.", len(comments))
    else:
        text = ngettext("Rejected %(n)d comment.", "Rejected %(n)d comments.", len(comments))
    messages.success(request, text % {"n": len(comments)})
    return _back_to_queue(request)


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
