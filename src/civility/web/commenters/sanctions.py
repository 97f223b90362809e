"""Suspending (until a time) and banning (until lifted) a commenter, and lifting either.

A commenter's state is their latest Sanction. It covers the commenter, their verified e-mail
and their sign-on subject: a post from their session, or one typing their verified address,
is refused while it is in force."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from civility.web.text import storable_problem, visible_text_problem

from .models import BAN, LIFT, SUSPEND, Commenter, Sanction

MAX_REASON_CHARS = 1000
MAX_SUSPENSION_DAYS = 3650


class SanctionError(ValueError):
    """A sanction cannot be recorded; `.field` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def current(commenter: Commenter | None, now: datetime | None = None) -> Sanction | None:
    """The sanction in force on this commenter now, or None."""
    if commenter is None:
        return None
    latest = Sanction.objects.filter(commenter=commenter).order_by("-id").first()
    if latest is not None and latest.in_force(now):
        return latest
    return None


def in_force_for(commenter: Commenter | None, email: str = "") -> Sanction | None:
    """The sanction that refuses a post from this commenter, or one giving this e-mail."""
    found = current(commenter)
    if found is None and email:
        owner = Commenter.objects.filter(email__iexact=email).first()
        if owner is not None and owner != commenter:
            found = current(owner)
    return found


def record(commenter: Commenter, kind: str, reason, actor, *, days=None, until=None) -> Sanction:
    """Append a suspension (`days` or `until`), a ban, or a lift. Raises SanctionError."""
    if kind not in (SUSPEND, BAN, LIFT):
        raise SanctionError("action", "action must be 'suspend', 'ban' or 'lift'")
    if not isinstance(reason, str) or not reason.strip():
        raise SanctionError("reason", "a sanction needs a reason")
    problem = storable_problem(reason) or visible_text_problem(reason, "reason")
    if problem:
        raise SanctionError("reason", problem)
    if len(reason) > MAX_REASON_CHARS:
        raise SanctionError("reason", f"the reason is longer than {MAX_REASON_CHARS} characters")
    if actor is None or not actor.is_authenticated:
        raise SanctionError("actor", "a sanction needs a signed-in moderator")
    if not actor.has_perm("comments.moderate_comment"):
        raise SanctionError("actor", "this user may not moderate comments")
    now = timezone.now()
    end = None
    if kind == SUSPEND:
        if until is None:
            if isinstance(days, bool) or not isinstance(days, int):
                raise SanctionError("days", "a suspension needs a number of days")
            if not 1 <= days <= MAX_SUSPENSION_DAYS:
                raise SanctionError("days", f"days must be 1 to {MAX_SUSPENSION_DAYS}")
            end = now + timedelta(days=days)
        else:
            if timezone.is_naive(until):
                raise SanctionError("until", "the end needs a time zone")
            if until <= now:
                raise SanctionError("until", "the end of a suspension must be in the future")
            end = until
    with transaction.atomic():
        # One after another per commenter: the trail's order is its id.
        Commenter.objects.filter(pk=commenter.pk).select_for_update().first()
        if kind == LIFT and current(commenter, now) is None:
            raise SanctionError("action", "this commenter is neither suspended nor banned")
        return Sanction.objects.create(
            commenter=commenter, kind=kind, reason=reason.strip(), until=end, actor=actor
        )
