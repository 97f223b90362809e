"""The appeals queue: rejected comments whose authors appealed, each with the comment, the
rejection (guidelines, who, when) and the appeal, decided (upheld or overturned, with a reason
the commenter reads) by a moderator other than the one who rejected."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civility.web.comments import appeals as service
from civility.web.comments.models import ACTION_STATUS, OVERTURNED, Appeal, Decision
from civility.web.i18n import local_digits

from . import live

PAGE_SIZE = 25
PENDING, DECIDED = "pending", "decided"


def rejecter_label(decision: Decision) -> str:
    """Who made a rejection, as moderators know them."""
    if decision.automatic:
        return _("the automatic policy")
    if decision.imported:
        return decision.decided_by or _("the earlier system")
    return live.display_name(decision.actor)


def appeals_queryset(shown: str):
    if shown == DECIDED:
        return (
            Appeal.objects.filter(outcome__isnull=False)
            .select_related("comment__article", "rejection__actor", "outcome__actor")
            .order_by("-outcome__created", "-id")
        )
    return service.pending_appeals()


def latest_decisions(appeals) -> dict[int, Decision]:
    """Each appealed comment's latest decision (comment id → Decision), in one query."""
    latest: dict[int, Decision] = {}
    trails = Decision.objects.filter(comment_id__in=[a.comment_id for a in appeals])
    for decision in trails.order_by("id"):
        latest[decision.comment_id] = decision
    return latest


@require_GET
def appeals_page(request: HttpRequest) -> HttpResponse:
    shown = DECIDED if request.GET.get("status") == DECIDED else PENDING
    page = Paginator(appeals_queryset(shown), PAGE_SIZE).get_page(request.GET.get("page"))
    items = []
    appeals = list(page.object_list)
    latest = latest_decisions(appeals)
    for appeal in appeals:
        outcome = getattr(appeal, "outcome", None)
        items.append(
            {
                "appeal": appeal,
                "comment": appeal.comment,
                "rejection": appeal.rejection,
                "rejected_by": rejecter_label(appeal.rejection),
                "outcome": outcome,
                "decided_by": live.display_name(outcome.actor) if outcome else "",
                "may_decide": request.user.pk
                not in service.rejecters(appeal, latest[appeal.comment_id]),
                "status": ACTION_STATUS[latest[appeal.comment_id].action],
            }
        )
    context = {
        "items": items,
        "page": page,
        "shown": shown,
        "max_reason": service.MAX_REASON_CHARS,
        "next_url": request.get_full_path(),
    }
    return render(request, "moderation/appeals.html", context)


@require_POST
def decide(request: HttpRequest, appeal_id: int) -> HttpResponse:
    """Uphold or overturn, with a reason; back to the appeals queue with what happened."""
    appeal = get_object_or_404(Appeal.objects.select_related("comment", "rejection"), pk=appeal_id)
    origin = request.build_absolute_uri("/").rstrip("/")
    number = local_digits(appeal.pk)
    try:
        result = service.decide_appeal(
            appeal,
            request.POST.get("outcome", ""),
            request.POST.get("reason", ""),
            request.user,
            origin=origin,
        )
    except service.AppealError as exc:
        messages.error(request, f"{_('Appeal %(id)s:') % {'id': number}} {problem(exc)}")
    else:
        if result.outcome == OVERTURNED:
            text = _("Appeal %(id)s overturned: the comment is published.")
        else:
            text = _("Appeal %(id)s upheld: the comment stays unpublished.")
        messages.success(request, text % {"id": number})
    target = request.POST.get("next", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = reverse("moderation:appeals")
    return HttpResponseRedirect(target)


def problem(exc: service.AppealError) -> str:
    """Why an appeal's decision was not recorded, in the moderator's language."""
    if exc.code == "same_moderator":
        return _(
            "You rejected this comment, so another moderator must decide its appeal. "
            "Nothing was recorded."
        )
    if exc.code == "not_moderator":
        return _("You may not moderate comments.")
    if exc.code == "decided":
        return _("This appeal was decided already. Nothing was recorded.")
    if exc.code == "approved_since":
        return _(
            "The comment was approved after the appeal was filed: it is published. "
            "Close the appeal as overturned."
        )
    if exc.field == "outcome":
        return _("Choose whether to uphold the rejection or overturn it.")
    return _(
        "Give a reason for the decision, at most %(max)s characters: the commenter reads it."
    ) % {"max": local_digits(service.MAX_REASON_CHARS)}
