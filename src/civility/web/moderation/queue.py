"""Which comments the moderation queue shows, for a set of filters, in which order."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from civility.web.comments.models import Comment, Decision

from .forms import ORDER_RISK, STATUS_ALL, STATUS_AUTO


def _json_list_contains(field: str, code: str) -> Q:
    # Reason codes are stored as JSON lists of plain identifiers. Matching the quoted code in
    # the JSON text works the same on SQLite and PostgreSQL (`contains` does not on SQLite).
    return Q(**{f"{field}__icontains": f'"{code}"'})


def queue_comments(filters: dict) -> QuerySet:
    comments = (
        Comment.objects.with_status()
        .select_related("article", "assessment", "assessment_failure")
        .prefetch_related("decisions__actor")
    )
    status = filters["status"]
    if status == STATUS_AUTO:
        comments = comments.filter(decided_automatically=True)
    elif status != STATUS_ALL:
        comments = comments.filter(current_status=status)
    if filters.get("article") is not None:
        comments = comments.filter(article=filters["article"])
    if filters.get("language"):
        language = filters["language"]
        comments = comments.filter(
            Q(assessment__language=language)
            | (Q(assessment__isnull=True) | Q(assessment__language="")) & Q(language=language)
        )
    if filters.get("category"):
        code = filters["category"]
        cited = Decision.objects.filter(
            _json_list_contains("reasons", code), comment=OuterRef("pk")
        )
        comments = comments.filter(
            _json_list_contains("assessment__reason_codes", code) | Q(Exists(cited))
        )
    if filters.get("q"):
        text = filters["q"]
        comments = comments.filter(Q(body__icontains=text) | Q(author_name__icontains=text))
    if filters.get("order") == ORDER_RISK:
        return comments.order_by(F("assessment__score").desc(nulls_last=True), "created", "id")
    return comments.order_by("created", "id")
