"""What a candidate model version in shadow said about each new comment (never used to decide)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ShadowAssessment(models.Model):
    comment = models.ForeignKey(
        "comments.Comment", on_delete=models.PROTECT, related_name="shadow_assessments"
    )
    model_version = models.CharField(max_length=200)
    categories = models.JSONField(default=dict)
    score = models.FloatField()
    suggested_decision = models.CharField(max_length=10)
    reason_codes = models.JSONField(default=list)
    language = models.CharField(max_length=8, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "model_version"], name="one_shadow_per_comment_and_version"
            )
        ]

    def __str__(self) -> str:
        return (
            f"shadow {self.model_version} on comment {self.comment_id}: {self.suggested_decision}"
        )
