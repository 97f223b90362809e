"""A commenter's personal data: everything held about an e-mail address (export), and its
erasure (the address, the sign-on subject and the IP hashes removed; the name shown as
"former commenter"; comment texts left as they were). See docs/privacy.md."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from civility.web.commenters import notifications
from civility.web.commenters.models import Commenter
from civility.web.comments import services
from civility.web.comments.models import Comment

# What erased comments show as their author (stored: the comment keeps no other name).
FORMER_COMMENTER = "former commenter"


def _held(email: str):
    commenters = list(Commenter.objects.filter(email__iexact=email))
    comments = Comment.objects.filter(
        Q(author_email__iexact=email) | Q(authorship__commenter__in=commenters)
    ).distinct()
    return commenters, comments


def export(email: str) -> dict:
    """Everything held about the commenter with this address, as plain data."""
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


def erase(email: str) -> dict:
    """Erase the personal data held about this address; counts of what was changed."""
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
    for article_id in sorted(articles):  # the public lists show the new name
        services.comments_changed(article_id)
    return {"commenters": erased, "comments": changed}
