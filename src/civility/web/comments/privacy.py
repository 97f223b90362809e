"""A commenter's personal data: everything held about an e-mail address (export), its
erasure (the address, the sign-on subject and the IP hashes removed; the name shown as
"former commenter"; comment texts left as they were), and the withdrawal of their comments
(each one not already rejected gets a rejection citing AUTHOR_REQUEST, by a moderator, in the
decision trail; texts unchanged). Every request answered is appended to the PrivacyRequest
trail, which keeps a keyed hash of the address, never the address. See docs/privacy.md."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from civility.web.commenters import notifications
from civility.web.commenters.identity import address_key
from civility.web.commenters.models import Commenter, PrivacyRequest
from civility.web.comments import services
from civility.web.comments.models import AUTHOR_REQUEST, REJECT, REJECTED, Comment

# What erased comments show as their author (stored: the comment keeps no other name).
FORMER_COMMENTER = "former commenter"


# Who may answer a request through the API (the command line is the operator's own).
PERMISSION = "commenters.handle_personal_data"
# What withdrawing needs besides: it appends decisions (services.record_decision).
MODERATE = "comments.moderate_comment"


class PrivacyError(ValueError):
    """A request cannot be answered as asked; nothing was changed. `.field` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _record(kind: str, email: str, channel: str, actor, counts: dict) -> None:
    """Append the request to the trail: who (actor, channel), what, counts, the address keyed."""
    PrivacyRequest.objects.create(
        kind=kind,
        channel=channel,
        actor=actor if actor is not None and actor.is_authenticated else None,
        address_key=address_key(email),
        counts=counts,
    )


def _check_withdrawer(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_perm(MODERATE):
        raise PrivacyError(
            "withdraw", "withdrawing comments needs a moderator (one who may reject comments)"
        )


def _held(email: str):
    commenters = list(Commenter.objects.filter(email__iexact=email))
    comments = Comment.objects.filter(
        Q(author_email__iexact=email) | Q(authorship__commenter__in=commenters)
    ).distinct()
    return commenters, comments


def export(email: str, *, actor=None, channel: str = PrivacyRequest.CLI) -> dict:
    """Everything held about the commenter with this address, as plain data; the request is
    recorded in the trail (by `actor` through `channel`)."""
    commenters, comments = _held(email)
    out_comments = []
    notices = notifications.held_about(comments.values_list("pk", flat=True))
    held = comments.with_status().select_related("article", "appeal__outcome")
    for comment in held.prefetch_related("decisions"):
        out_comments.append(
            {
                "id": comment.pk,
                "article": comment.article.slug,
                "article_title": comment.article.title,
                "parent": comment.parent_id,
                "author_name": comment.author_name,
                "author_email": comment.author_email,
                "text": comment.body,
                "language": comment.language,
                "posted": comment.created.isoformat(),
                "ip_hash": comment.ip_hash,
                "status": comment.current_status,
                "decisions": [
                    {
                        "action": d.action,
                        "reasons": list(d.reasons),
                        "decided": d.created.isoformat(),
                        "automatic": d.automatic,
                    }
                    for d in comment.decisions.all()
                ],
                "appeal": _appeal(comment),
                # Asked for notification mails: the language and the mails (none: not asked).
                "notifications": notices.get(comment.pk),
            }
        )
    counts = {"commenters": len(commenters), "comments": len(out_comments)}
    _record(PrivacyRequest.EXPORT, email, channel, actor, counts)
    return {
        "email": email,
        "exported": timezone.now().isoformat(),
        "commenters": [
            {
                "id": c.pk,
                "name": c.display_name,
                "email": c.email,
                "sso_subject": c.sso_subject,
                "first_seen": c.first_seen.isoformat(),
                "sanctions": [
                    {
                        "action": s.kind,
                        "reason": s.reason,
                        "until": s.until.isoformat() if s.until else None,
                        "created": s.created.isoformat(),
                    }
                    for s in c.sanctions.all()
                ],
            }
            for c in commenters
        ],
        "comments": out_comments,
        "unsubscribed_from_notifications": notifications.is_unsubscribed(email),
    }


def _appeal(comment) -> dict | None:
    """The commenter's appeal of the comment's rejection (their words) and its outcome."""
    appeal = getattr(comment, "appeal", None)
    if appeal is None:
        return None
    outcome = getattr(appeal, "outcome", None)
    return {
        "text": appeal.text,
        "filed": appeal.created.isoformat(),
        "outcome": outcome.outcome if outcome else "pending",
        "reason": outcome.reason if outcome else None,
        "decided": outcome.created.isoformat() if outcome else None,
    }


def withdraw(email: str, actor, *, channel: str = PrivacyRequest.CLI) -> dict:
    """Withdraw every comment of this address not already rejected (published or pending): a
    rejection citing AUTHOR_REQUEST by `actor`, a moderator. Raises PrivacyError without one."""
    _check_withdrawer(actor)
    with transaction.atomic():
        _commenters, comments = _held(email)
        counts = {"withdrawn": _withdraw(list(comments.values_list("pk", flat=True)), actor)}
        _record(PrivacyRequest.WITHDRAW, email, channel, actor, counts)
    return counts


def _withdraw(ids: list[int], actor) -> int:
    """Reject each of these comments not already rejected, citing AUTHOR_REQUEST alone."""
    held = Comment.objects.filter(pk__in=ids).with_status().exclude(current_status=REJECTED)
    withdrawn = 0
    for comment in held.select_related("article").order_by("pk"):
        services.record_decision(comment, REJECT, [AUTHOR_REQUEST], actor)
        withdrawn += 1
    return withdrawn


def erase(
    email: str, *, actor=None, channel: str = PrivacyRequest.CLI, withdraw: bool = False
) -> dict:
    """Erase the personal data held about this address; counts of what was changed. With
    `withdraw`, the comments are withdrawn too (as `withdraw()`, after the erasure, so the
    decisions' events already name the former commenter), all in one transaction."""
    if withdraw:
        _check_withdrawer(actor)
    with transaction.atomic():
        commenters, comments = _held(email)
        ids = list(comments.values_list("pk", flat=True))
        articles = set(comments.values_list("article_id", flat=True))
        changed = Comment.objects.filter(pk__in=ids).update(
            author_email="", ip_hash="", author_name=FORMER_COMMENTER
        )
        erased = Commenter.objects.filter(pk__in=[c.pk for c in commenters]).update(
            email=None, sso_subject=None, display_name="", erased=timezone.now()
        )
        counts = {"commenters": erased, "comments": changed}
        if withdraw:
            counts["withdrawn"] = _withdraw(ids, actor)
        _record(PrivacyRequest.ERASE, email, channel, actor, counts)
    for article_id in sorted(articles):  # the public lists show the new name
        services.comments_changed(article_id)
    return counts
