"""Figures for the moderation dashboard, over a window of recent days."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from civility.web.comments.models import REASON_CODES, REJECT, Comment, Decision


@dataclass
class DashboardStats:
    days: int
    comments_per_day: list[tuple[date, int]]
    rejections_by_reason: list[tuple[str, int]]
    approvals: int
    rejections: int
    decided: int
    decided_automatically: int
    median_to_decision: timedelta | None
    median_to_human_decision: timedelta | None
    pending: int

    @property
    def automatic_share(self) -> float:
        return self.decided_automatically / self.decided if self.decided else 0.0


def _median(durations: list[timedelta]) -> timedelta | None:
    if not durations:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations))


def dashboard_stats(days: int, now: datetime | None = None) -> DashboardStats:
    now = now or timezone.now()
    first_day = timezone.localdate(now) - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    recent = Comment.objects.filter(created__gte=since)

    counts = {
        row["day"]: row["n"]
        for row in recent.annotate(day=TruncDate("created")).values("day").annotate(n=Count("id"))
    }
    per_day = [
        (first_day + timedelta(days=i), counts.get(first_day + timedelta(days=i), 0))
        for i in range(days)
    ]

    decisions = Decision.objects.filter(created__gte=since)
    by_reason: Counter[str] = Counter()
    for reasons in decisions.filter(action=REJECT).values_list("reasons", flat=True):
        by_reason.update(code for code in set(reasons or []) if code in REASON_CODES)
    action_counts = dict(decisions.values_list("action").annotate(n=Count("id")))

    # Time to decision counts from posting to the FIRST decision: a later reversal is a
    # correction, not the moment the commenter got an answer.
    first = Decision.objects.filter(comment=OuterRef("pk")).order_by("id")
    timed = recent.annotate(
        first_at=Subquery(first.values("created")[:1]),
        first_policy=Subquery(first.values("actor_policy_version")[:1]),
    ).values_list("created", "first_at", "first_policy")
    all_waits, human_waits = [], []
    automatic = 0
    pending = 0
    for created, first_at, first_policy in timed:
        if first_at is None:
            pending += 1
            continue
        wait = max(first_at - created, timedelta(0))
        all_waits.append(wait)
        if first_policy:
            automatic += 1
        else:
            human_waits.append(wait)

    return DashboardStats(
        days=days,
        comments_per_day=per_day,
        rejections_by_reason=[(code, by_reason[code]) for code in REASON_CODES],
        approvals=action_counts.get("approve", 0),
        rejections=action_counts.get(REJECT, 0),
        decided=len(all_waits),
        decided_automatically=automatic,
        median_to_decision=_median(all_waits),
        median_to_human_decision=_median(human_waits),
        pending=pending,
    )
