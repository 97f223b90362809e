"""A verified commenter's standing as their comment is decided (the policy's [trust] table):
their approved comments and how long ago their latest rejection was. Counted here from the
decision trail and handed to the engine's policy, which never learns who anyone is.

Only a comment linked to a Commenter (a verified e-mail or the publisher's sign-on) has a
standing: a name typed into a box is anyone's, so unverified comments are neither trusted nor
watched. Counted over the commenter's other comments, each by its latest decision: a rejection
later reversed is not a rejection, an approval later reversed not an approval. A comment
withdrawn at its author's request (a rejection citing only AUTHOR_REQUEST) is neither: asking
for it says nothing about the commenter's civility."""

from __future__ import annotations

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from civility.engine.policy import Standing
from civility.web.commenters.models import Authorship

from .models import APPROVED, AUTHOR_REQUEST, REJECTED, Comment, Decision

# A decision withdrawing its comment at the author's request (reasons stored as a JSON list of
# plain codes: the quoted code matches the same on SQLite and PostgreSQL).
_withdrawal = Decision.objects.filter(reasons__icontains=f'"{AUTHOR_REQUEST}"')


def standings(comment_ids: list[int], commenters: dict | None = None) -> dict[int, Standing]:
    """{comment id: its commenter's Standing} for the comments linked to a commenter.
    `commenters` ({comment id: Commenter or None}) when the caller knows the links already (a
    fresh post): then no lookup is made for them."""
    if commenters is None:
        links = dict(
            Authorship.objects.filter(comment_id__in=comment_ids).values_list(
                "comment_id", "commenter_id"
            )
        )
    else:
        links = {pk: c.pk for pk, c in commenters.items() if c is not None}
    if not links:
        return {}
    rows = (
        Comment.objects.filter(authorship__commenter_id__in=set(links.values()))
        .exclude(pk__in=comment_ids)  # the comments being decided are not their own record
        .with_status()
        .with_decision_id()
        .annotate(withdrawn=Exists(_withdrawal.filter(pk=OuterRef("decision_id"))))
        .values("authorship__commenter_id")
        .annotate(
            approved=Count("pk", filter=Q(current_status=APPROVED)),
            last_rejection=Max("decided_at", filter=Q(current_status=REJECTED, withdrawn=False)),
        )
    )
    now = timezone.now()
    by_commenter = {}
    for row in rows:
        last = row["last_rejection"]
        since = None if last is None else max(0.0, (now - last).total_seconds() / 86400)
        by_commenter[row["authorship__commenter_id"]] = Standing(row["approved"], since)
    # A verified commenter without other comments yet has a standing too: a newcomer's.
    return {pk: by_commenter.get(commenter, Standing()) for pk, commenter in links.items()}


def with_standing(pairs: list, moderator, commenters: dict | None = None) -> list:
    """(comment, engine result) pairs with each result decided again under its commenter's
    standing (policy [trust]); unchanged for comments without a verified commenter, and for an
    engine whose policy knows no standing. A shadow version's result is decided again under
    its own policy."""
    policy = getattr(moderator, "policy", None)
    if not pairs or not hasattr(policy, "with_standing"):
        return pairs
    found = standings([comment.pk for comment, _ in pairs], commenters)
    if not found:
        return pairs
    shadow_policy = getattr(getattr(moderator, "shadow", None), "policy", None)
    out = []
    for comment, result in pairs:
        standing = found.get(comment.pk)
        if standing is not None:
            result = policy.with_standing(result, standing)
            shadow = getattr(result, "shadow", None)
            if shadow is not None and hasattr(shadow_policy, "with_standing"):
                result.shadow = shadow_policy.with_standing(shadow, standing)
        out.append((comment, result))
    return out
