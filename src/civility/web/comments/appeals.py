"""Appeals against a rejection (EU Digital Services Act, article 20: an internal
complaint-handling system).

- `file_appeal(comment, text, language)`: the comment's author (whoever holds its private
  status link, or the API's `status_token`) appeals its rejection once, with a short text.
- `decide_appeal(appeal, outcome, reason, actor)`: a moderator other than the one who rejected
  upholds the rejection or overturns it. An overturn appends an approval to the comment's
  decision trail (reason code APPEAL_OVERTURNED, the note naming the appeal), which publishes
  the comment unchanged; an upheld appeal changes no decision. Either way the outcome is a
  row of its own (AppealOutcome), and the commenter is mailed after the commit.

Appeals and outcomes are append-only (models and database triggers), like the decisions."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F

from civility.web.commenters import notifications
from civility.web.text import visible_text_problem

from .models import (
    APPEAL_OVERTURNED,
    APPROVE,
    OVERTURNED,
    REJECT,
    UPHELD,
    Appeal,
    AppealOutcome,
    Comment,
    Decision,
)
from .services import is_withdrawal, record_decision

MAX_APPEAL_CHARS = 1000
MAX_REASON_CHARS = 1000
OUTCOMES = (UPHELD, OVERTURNED)


class AppealError(ValueError):
    """An appeal cannot be filed or decided. `.field` names what is wrong, `.status` is the
    HTTP status that says it (400 bad input, 403 not this moderator, 409 the state does not
    allow it) and `.code` which refusal it is: invalid, not_moderator, same_moderator,
    not_rejected, withdrawn, appealed, decided, approved_since."""

    def __init__(self, field: str, message: str, status: int = 400, code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status
        self.code = code


def _clean(text, field: str, what: str, limit: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise AppealError(field, f"the {what} is empty")
    problem = visible_text_problem(text, what)
    if problem:
        raise AppealError(field, problem)
    text = text.strip()
    if len(text) > limit:
        raise AppealError(field, f"the {what} is {len(text)} characters; the limit is {limit}")
    return text


def _lock(comment: Comment) -> Decision:
    """Take the comment's row lock (as services.record_decision does: appeals, outcomes and
    decisions on one comment are made one after another) and return its latest decision."""
    Comment.objects.filter(pk=comment.pk).update(ip_hash=F("ip_hash"))
    return Decision.objects.filter(comment=comment).select_related("actor").order_by("-id").first()


def file_appeal(comment: Comment, text, language: str = "") -> Appeal:
    """Appeal the comment's rejection. Raises AppealError: `text` (empty, too long, control
    characters, nothing visible), `comment` (not rejected now, or withdrawn at the author's
    request: 409) or `appeal` (appealed
    already: once per comment, 409)."""
    text = _clean(text, "text", "appeal", MAX_APPEAL_CHARS)
    if language not in dict(settings.LANGUAGES):
        language = ""
    with transaction.atomic():
        latest = _lock(comment)
        if Appeal.objects.filter(comment=comment).exists():
            raise AppealError(
                "appeal", "this comment was appealed already: once only", 409, "appealed"
            )
        if latest is None or latest.action != REJECT:
            raise AppealError(
                "comment", "only a rejected comment can be appealed", 409, "not_rejected"
            )
        if is_withdrawal(latest.reasons):
            raise AppealError(
                "comment",
                "this comment was withdrawn at its author's request: there is nothing to appeal",
                409,
                "withdrawn",
            )
        return Appeal.objects.create(
            comment=comment, rejection=latest, text=text, language=language
        )


def rejecters(appeal: Appeal, latest: Decision) -> set[int]:
    """The moderators who may not decide this appeal: whoever made the rejection appealed,
    and whoever rejected the comment again since (no one for the automatic policy)."""
    ids = {appeal.rejection.actor_id}
    if latest.action == REJECT:
        ids.add(latest.actor_id)
    return {pk for pk in ids if pk is not None}


def decide_appeal(appeal: Appeal, outcome, reason, actor, origin: str = "") -> AppealOutcome:
    """Uphold or overturn. Raises AppealError: `outcome`, `reason` (400), `actor` (not a
    moderator, or the one who rejected: 403), `appeal` (decided already, 409) or `outcome`
    (upheld on a comment approved since the appeal, 409).

    On a comment a moderator approved since the appeal was filed, an overturn closes the
    appeal with that approval (the comment is published already). `origin`: the site's
    scheme and host as the moderator reached it, for the links in the commenter's mail."""
    if outcome not in OUTCOMES:
        raise AppealError("outcome", "outcome must be 'upheld' or 'overturned'")
    reason = _clean(reason, "reason", "reason", MAX_REASON_CHARS)
    if actor is None or not actor.is_authenticated:
        raise AppealError(
            "actor", "deciding an appeal needs a signed-in moderator", 403, "not_moderator"
        )
    if not actor.has_perm("comments.moderate_comment"):
        raise AppealError("actor", "this user may not moderate comments", 403, "not_moderator")
    comment = appeal.comment
    with transaction.atomic():
        latest = _lock(comment)  # never None: the appealed rejection stays in the trail
        done = AppealOutcome.objects.filter(appeal=appeal).select_related("actor").first()
        if done is not None:
            raise AppealError(
                "appeal",
                f"this appeal was {done.outcome} already by {done.actor.get_username()} "
                f"at {done.created.isoformat()}",
                409,
                "decided",
            )
        if actor.pk in rejecters(appeal, latest):
            raise AppealError(
                "actor",
                "you rejected this comment: a moderator other than the one who rejected "
                "decides its appeal",
                403,
                "same_moderator",
            )
        decision = None
        if outcome == OVERTURNED:
            if latest.action == APPROVE:
                decision = latest  # approved since the appeal: published already
            else:
                decision = record_decision(
                    comment,
                    APPROVE,
                    [APPEAL_OVERTURNED],
                    actor,
                    f"appeal {appeal.pk}: {reason}",
                    seen=latest.pk,
                    change=True,
                    overturning_appeal=True,
                )
        elif latest.action == APPROVE:
            raise AppealError(
                "outcome",
                f"the comment was approved since the appeal (decision {latest.pk}): it is "
                "published; close the appeal as overturned",
                409,
                "approved_since",
            )
        result = AppealOutcome.objects.create(
            appeal=appeal, outcome=outcome, reason=reason, actor=actor, decision=decision
        )
        mail_outcome(result, origin)
    return result


def pending_appeals():
    """Appeals without an outcome, oldest first, with what the queue page shows."""
    return (
        Appeal.objects.filter(outcome__isnull=True)
        .select_related("comment__article", "rejection__actor", "outcome")
        .order_by("created", "id")
    )


def mail_outcome(result: AppealOutcome, origin: str = "") -> None:
    """Queue the outcome mail to the commenter (kinds appeal_upheld and appeal_overturned,
    templates in comments/templates/mail/), in the caller's transaction: sent after the
    commit, in the language of the page the appeal was filed from, to the comment's e-mail or
    its verified commenter's (none: nothing is sent). Not opt-in: the commenter asked."""
    appeal = result.appeal
    notifications.notify(
        appeal.comment,
        f"appeal_{result.outcome}",
        extra={
            "appeal": appeal.pk,
            "reason": result.reason,
            "reasons": list(appeal.rejection.reasons or []),
            "origin": origin,
        },
        opted_in_only=False,
        key=f"appeal:{appeal.pk}",
        language=appeal.language or None,
    )
