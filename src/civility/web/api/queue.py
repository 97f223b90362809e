"""The moderation queue as plain data for the API."""

from __future__ import annotations

from django.db.models import Q

from civility.web.comments.models import Comment
from civility.web.comments.services import author_history


def queue_items(*, status, article, language, category, q, order, limit) -> list[dict]:
    comments = (
        Comment.objects.with_status()
        .with_decision_id()
        .select_related("article", "assessment", "authorship")
    )
    if status == "auto":
        comments = comments.filter(decided_automatically=True)
    elif status != "all":
        comments = comments.filter(current_status=status)
    if article:
        comments = comments.filter(article__slug=article)
    if language:
        comments = comments.filter(language=language)
    if q:
        comments = comments.filter(Q(body__icontains=q) | Q(author_name__icontains=q))
    if order == "risk":
        comments = comments.order_by("-assessment__score", "created", "id")
    else:
        comments = comments.order_by("created", "id")
    items = []
    # Category scores live in JSON; filter them here so SQLite and PostgreSQL behave alike.
    for comment in comments.iterator(chunk_size=200):
        assessment = comment.assessment if hasattr(comment, "assessment") else None
        if category and (assessment is None or float(assessment.categories.get(category, 0)) < 0.5):
            continue
        approved, rejected = author_history(comment)
        link = getattr(comment, "authorship", None)  # the verified commenter, if any
        items.append(
            {
                "id": comment.pk,
                "article": {"slug": comment.article.slug, "title": comment.article.title},
                "author": comment.author_name,
                "text": comment.body,
                "language": comment.language,
                "created": comment.created.isoformat(),
                "status": comment.current_status,
                # What a decision on this comment sends as `seen_decision`.
                "decision_id": comment.decision_id,
                "decided_automatically": comment.decided_automatically,
                "assessment": None
                if assessment is None
                else {
                    "suggested_decision": assessment.suggested_decision,
                    "score": assessment.score,
                    "categories": assessment.categories,
                    "abuse_kinds": assessment.abuse_kinds,
                    "spans": assessment.spans,
                    "relevance": assessment.relevance,
                    "reasons": assessment.reasons,
                    "model_version": assessment.model_version,
                },
                "author_history": {"approved": approved, "rejected": rejected},
                # GET /moderation/commenters/{id}: their history and sanctions.
                "commenter": link.commenter_id if link is not None else None,
            }
        )
        if len(items) >= limit:
            break
    return items
