"""Commenters in the moderation pages: a verified commenter's history (approved, rejected by
guideline) on the queue card, their page with all their comments and sanctions, and the
suspend / ban / lift form (the card's and the page's)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civility.web.commenters import sanctions
from civility.web.commenters.models import BAN, LIFT, SUSPEND, Authorship, Commenter
from civility.web.comments.models import APPROVED, REJECTED, Comment, Decision

from .forms import REASON_LABELS


def history(commenter: Commenter, exclude: int | None = None) -> dict:
    """Approved and rejected comments of a commenter, rejections counted by the guideline(s)
    their latest decision cited."""
    comments = Comment.objects.filter(authorship__commenter=commenter)
    if exclude is not None:
        comments = comments.exclude(pk=exclude)
    statuses = dict(comments.with_status().values_list("pk", "current_status"))
    rejected = [pk for pk, status in statuses.items() if status == REJECTED]
    by_guideline: dict[str, int] = {}
    seen: set[int] = set()
    latest_first = Decision.objects.filter(comment_id__in=rejected).order_by("comment_id", "-id")
    for comment_id, reasons in latest_first.values_list("comment_id", "reasons"):
        if comment_id in seen:
            continue
        seen.add(comment_id)
        for code in reasons or ["other"]:
            by_guideline[code] = by_guideline.get(code, 0) + 1
    return {
        "approved": sum(1 for s in statuses.values() if s == APPROVED),
        "rejected": len(rejected),
        "by_guideline": [
            {"code": code, "label": REASON_LABELS.get(code, code), "count": count}
            for code, count in sorted(by_guideline.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def card_commenter(comment: Comment) -> dict | None:
    """What a queue card shows of the comment's verified commenter (None if it has none)."""
    link = Authorship.objects.filter(comment_id=comment.pk).select_related("commenter").first()
    if link is None:
        return None
    commenter = link.commenter
    return {
        "commenter": commenter,
        "history": history(commenter, exclude=comment.pk),
        "sanction": sanctions.current(commenter),
        "url": reverse("moderation:commenter", args=[commenter.pk]),
    }


@require_GET
def commenter_page(request: HttpRequest, commenter_id: int) -> HttpResponse:
    commenter = get_object_or_404(Commenter, pk=commenter_id)
    comments = (
        Comment.objects.filter(authorship__commenter=commenter)
        .with_status()
        .with_decision_id()  # the state a withdrawal is decided on
        .select_related("article")
        .order_by("-created", "-id")
    )
    context = {
        "commenter": commenter,
        "history": history(commenter),
        "sanction": sanctions.current(commenter),
        "trail": commenter.sanctions.select_related("actor").order_by("id"),
        "comments": comments,
        "next_url": request.get_full_path(),
    }
    return render(request, "moderation/commenter.html", context)


@require_POST
def sanction(request: HttpRequest, commenter_id: int) -> HttpResponse:
    """Suspend (for `days`), ban, or lift, with a reason; back to where the form was."""
    commenter = get_object_or_404(Commenter, pk=commenter_id)
    kind = request.POST.get("action", "")
    days = request.POST.get("days", "")
    try:
        days_number = int(days) if kind == SUSPEND and days.strip().isdigit() else None
        sanctions.record(
            commenter, kind, request.POST.get("reason", ""), request.user, days=days_number
        )
    except sanctions.SanctionError as exc:
        messages.error(request, _sanction_problem(exc))
    else:
        messages.success(
            request,
            {
                SUSPEND: _("The commenter is suspended."),
                BAN: _("The commenter is banned."),
                LIFT: _("The sanction is lifted."),
            }[kind],
        )
    target = request.POST.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = reverse("moderation:commenter", args=[commenter.pk])
    return HttpResponseRedirect(target)


def _sanction_problem(exc: sanctions.SanctionError) -> str:
    return {
        "reason": _("Give a reason for the sanction."),
        "days": _("Give the number of days of the suspension (1 to 3650)."),
        "action": _("Choose suspend, ban or lift; only a sanction in force can be lifted."),
    }.get(exc.field, _("The sanction could not be recorded."))
