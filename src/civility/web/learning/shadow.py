"""Storing a shadow version's assessments beside the active ones."""

from __future__ import annotations

from .models import ShadowAssessment


def record_shadows(pairs) -> None:
    """For each (comment, engine Assessment) whose assessment carries a shadow one, keep it."""
    rows = [
        ShadowAssessment(
            comment=comment,
            model_version=result.shadow.model_version,
            categories=dict(result.shadow.categories),
            score=float(result.shadow.score),
            suggested_decision=result.shadow.decision,
            reason_codes=list(result.shadow.reason_codes),
            language=result.shadow.language,
        )
        for comment, result in pairs
        if getattr(result, "shadow", None) is not None
    ]
    if rows:
        ShadowAssessment.objects.bulk_create(rows, ignore_conflicts=True)
