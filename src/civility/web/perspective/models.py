"""API keys for the Perspective-compatible door, and the feedback clients send us.

Analyze calls store nothing at all (with or without `doNotStore`): the comment text is scored
in memory and forgotten. Only suggestscore, whose whole point is to hand us a labelled example,
writes rows."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models

# Generous enough for a busy Coral tenant; a newsroom sets it per key (`apikey add --qps`).
DEFAULT_QPS = 10
KEY_PREFIX = "cvl_"


def hash_key(raw_key: str) -> str:
    """Keys are 256-bit random tokens, so one SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


class ApiKey(models.Model):
    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # First characters of the key, so an operator can tell keys apart without the secret.
    hint = models.CharField(max_length=12)
    qps = models.PositiveIntegerField(default=DEFAULT_QPS)
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def create(cls, name: str, qps: int = DEFAULT_QPS) -> tuple[ApiKey, str]:
        """The new key and its raw secret; the secret is never stored and cannot be shown again."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(name=name, key_hash=hash_key(raw), hint=raw[:8], qps=qps)
        return key, raw

    @classmethod
    def find_active(cls, raw_key: str) -> ApiKey | None:
        if not raw_key:
            return None
        return cls.objects.filter(key_hash=hash_key(raw_key), revoked=False).first()


class FeedbackExample(models.Model):
    """One labelled example from suggestscore: "this text deserves this score for this attribute"."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="feedback")
    text = models.TextField()
    attribute = models.CharField(max_length=40)
    score = models.FloatField()
    lang = models.CharField(max_length=8, blank=True)
    client_token = models.CharField(max_length=200, blank=True)
    community_id = models.CharField(max_length=200, blank=True)
    # Coral puts the comment's URL and ids here (as JSON text); kept verbatim for provenance.
    context = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def to_export(self) -> dict:
        return {
            "text": self.text,
            "attribute": self.attribute,
            "score": self.score,
            "lang": self.lang,
            "client_token": self.client_token,
            "community_id": self.community_id,
            "context": self.context,
            "key": self.api_key.name,
            "created_at": self.created_at.isoformat(),
        }
