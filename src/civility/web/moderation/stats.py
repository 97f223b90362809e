"""Figures for the moderation dashboard, over a window of recent days: the overall ones, and
per language and period how the engine's decisions and suggestions fared with moderators."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, NullIf, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from civility.web.comments.models import (
    APPROVE,
    OVERTURNED,
    REASON_CODES,
    REJECT,
    UPHELD,
    Appeal,
    Comment,
    Decision,
)


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


# --- per language, over time ---------------------------------------------------------------

DAY, WEEK = "day", "week"
# Up to two weeks the periods are days; beyond, calendar weeks (Monday to Sunday).
DAILY_UP_TO_DAYS = 14
# What the engine may suggest; "review" hands the comment to a moderator.
ENGINE_DECISIONS = (APPROVE, REJECT)
REVIEW = "review"
# The policy's decisions carry its version (and no moderator); every other decision is a
# person's: a moderator's, or one imported from the newsroom's earlier system (no assessment,
# so it never counts for or against the engine's agreement).
AUTOMATIC = ~Q(actor_policy_version="")
HUMAN = Q(actor_policy_version="")


@dataclass
class PeriodFigures:
    """What happened to the comments of one language posted in one period (or the window).

    Every comment counts in the period it was posted in, whenever it was decided."""

    start: date
    end: date  # the period's last day, included
    posted: int = 0
    decided: int = 0  # comments with at least one decision
    automatic: int = 0  # ... whose first decision was the policy's
    human: int = 0  # comments with at least one decision by a person (not the policy)
    compared: int = 0  # ... for which the engine suggested approve or reject
    agreed: int = 0  # ... and the latest human decision was that suggestion
    sent_to_review: int = 0  # human-decided comments the engine suggested "review" for
    without_suggestion: int = 0  # human-decided comments without an assessment
    reversed: int = 0  # automatic first decisions a person later decided otherwise
    model_versions: list[str] = field(default_factory=list)

    @property
    def automatic_share(self) -> float | None:
        return self.automatic / self.decided if self.decided else None

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    @property
    def reversal_share(self) -> float | None:
        return self.reversed / self.automatic if self.automatic else None

    def add(self, other: PeriodFigures) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.model_versions = sorted({*self.model_versions, *other.model_versions})


COUNTS = (
    "posted",
    "decided",
    "automatic",
    "human",
    "compared",
    "agreed",
    "sent_to_review",
    "without_suggestion",
    "reversed",
)


@dataclass
class LanguageSeries:
    language: str  # the engine's code ("en", "ckb", "other"), "" when nothing says
    periods: list[PeriodFigures]
    total: PeriodFigures

    @property
    def name(self) -> str:
        """The language's own name, as the language menus show it."""
        names = dict(settings.LANGUAGES)
        if self.language in names:
            return names[self.language]
        if self.language == "other":
            return _("Other languages")
        return _("Unknown language") if not self.language else self.language


@dataclass
class LanguageStats:
    period: str  # DAY or WEEK
    start: date  # first day of the first period
    end: date  # today
    languages: list[LanguageSeries]


def period_for(days: int) -> str:
    return DAY if days <= DAILY_UP_TO_DAYS else WEEK


def _periods(first_day: date, today: date, period: str) -> list[tuple[date, date]]:
    if period == DAY:
        count = (today - first_day).days + 1
        return [(first_day + timedelta(days=i),) * 2 for i in range(count)]
    monday = first_day - timedelta(days=first_day.weekday())
    starts = []
    while monday <= today:
        starts.append(monday)
        monday += timedelta(days=7)
    return [(start, min(start + timedelta(days=6), today)) for start in starts]


def _language_order(code: str) -> tuple[int, int, str]:
    """The site's languages in their menu order, then other codes, "other", unknown last."""
    site = [c for c, _name in settings.LANGUAGES]
    if code in site:
        return (0, site.index(code), code)
    return (2 if not code else 1 if code == "other" else 0, len(site), code)


def language_stats(
    days: int, now: datetime | None = None, period: str | None = None
) -> LanguageStats:
    """Per language and per period (days up to DAILY_UP_TO_DAYS, else Monday weeks), over the
    last `days` days (weeks: from the Monday on or before the first day): how many comments
    were decided automatically, how often moderators agreed with the engine's suggestion, and
    how many automatic decisions they reversed. docs/web.md says what each figure means.

    One grouped query: each comment's facts (its first decision, a moderator's latest one,
    whether moderators approved or rejected it at all, the engine's suggestion and model
    version) are correlated subqueries, and the database counts comments per distinct set of
    facts, language and day. Python then adds those few rows up into periods."""
    now = now or timezone.now()
    period = period or period_for(days)
    today = timezone.localdate(now)
    periods = _periods(today - timedelta(days=days - 1), today, period)
    first_day = periods[0][0]
    since = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))

    trail = Decision.objects.filter(comment=OuterRef("pk"))
    first = trail.order_by("id")
    by_people = trail.filter(HUMAN)
    rows = (
        Comment.objects.filter(created__gte=since)
        .annotate(
            lang=Coalesce(NullIf(F("assessment__language"), Value("")), F("language")),
            day=TruncDate("created"),
            # "auto:approve", "human:reject", …: who made the first decision, and what.
            first_decision=Subquery(
                first.annotate(
                    who=Concat(
                        Case(When(AUTOMATIC, then=Value("auto:")), default=Value("human:")),
                        F("action"),
                        output_field=CharField(),
                    )
                ).values("who")[:1]
            ),
            human_action=Subquery(by_people.order_by("-id").values("action")[:1]),
            human_approved=Exists(by_people.filter(action=APPROVE)),
            human_rejected=Exists(by_people.filter(action=REJECT)),
            suggestion=F("assessment__suggested_decision"),
            model_version=F("assessment__model_version"),
        )
        .values(
            "lang",
            "day",
            "first_decision",
            "human_action",
            "human_approved",
            "human_rejected",
            "suggestion",
            "model_version",
        )
        .annotate(n=Count("id"))
        .order_by()
    )

    index = {}  # day -> period position
    for position, (start, end) in enumerate(periods):
        for offset in range((end - start).days + 1):
            index[start + timedelta(days=offset)] = position
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # PostgreSQL's JIT spends longer compiling this query's per-comment subqueries
            # than running them (30,000 comments over 90 days: 1.4 s of 2.0 s; 0.5 s
            # without it). Off for this transaction only.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        rows = list(rows)

    series: dict[str, list[PeriodFigures]] = {}
    for row in rows:
        day = row["day"]
        if isinstance(day, datetime):  # some backends hand back a datetime
            day = day.date()
        position = index.get(day)
        if position is None:  # posted after `now`
            continue
        language = row["lang"] or ""
        figures = series.setdefault(language, [PeriodFigures(s, e) for s, e in periods])[position]
        n = row["n"]
        figures.posted += n
        if row["first_decision"] is not None:
            figures.decided += n
            who, action = row["first_decision"].split(":", 1)
            if who == "auto":
                figures.automatic += n
                opposite = "human_rejected" if action == APPROVE else "human_approved"
                if row[opposite]:
                    figures.reversed += n
        if row["human_action"] is not None:
            figures.human += n
            suggestion = row["suggestion"]
            if suggestion in ENGINE_DECISIONS:
                figures.compared += n
                if row["human_action"] == suggestion:
                    figures.agreed += n
            elif suggestion == REVIEW:
                figures.sent_to_review += n
            elif suggestion is None:
                figures.without_suggestion += n
        if row["model_version"] and row["model_version"] not in figures.model_versions:
            figures.model_versions = sorted([*figures.model_versions, row["model_version"]])

    languages = []
    for language in sorted(series, key=_language_order):
        total = PeriodFigures(periods[0][0], periods[-1][1])
        for figures in series[language]:
            total.add(figures)
        languages.append(LanguageSeries(language, series[language], total))
    return LanguageStats(period, first_day, today, languages)


# --- appeals ---------------------------------------------------------------------------------


@dataclass
class AppealFigures:
    """Appeals filed in the range against rejections citing one guideline (or all of them):
    how many, how many wait, and how the decided ones ended."""

    code: str
    appeals: int = 0
    pending: int = 0
    upheld: int = 0
    overturned: int = 0

    @property
    def decided(self) -> int:
        return self.upheld + self.overturned

    @property
    def overturn_rate(self) -> float | None:
        """Overturned ÷ decided; None while none is decided."""
        return self.overturned / self.decided if self.decided else None


@dataclass
class AppealStats:
    days: int
    total: AppealFigures
    by_guideline: list[AppealFigures]


def appeal_stats(days: int, now: datetime | None = None) -> AppealStats:
    """Appeals filed in the last `days` days (today included), by the guideline(s) the
    appealed rejection cited: a rejection citing two counts under both (the total counts
    each appeal once); a rejection citing none counts as "other"."""
    now = now or timezone.now()
    first_day = timezone.localdate(now) - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    total = AppealFigures("all")
    by_code: dict[str, AppealFigures] = {}
    rows = Appeal.objects.filter(created__gte=since).values_list(
        "rejection__reasons", "outcome__outcome"
    )
    for reasons, outcome in rows:
        codes = [c for c in dict.fromkeys(reasons or []) if c in REASON_CODES] or ["other"]
        for figures in (total, *(by_code.setdefault(c, AppealFigures(c)) for c in codes)):
            figures.appeals += 1
            if outcome == UPHELD:
                figures.upheld += 1
            elif outcome == OVERTURNED:
                figures.overturned += 1
            else:
                figures.pending += 1
    ordered = [by_code[code] for code in REASON_CODES if code in by_code]
    return AppealStats(days=days, total=total, by_guideline=ordered)
