"""API tokens for moderators and staff. Only a SHA-256 of each token is stored; the token
itself is shown once, when it is created."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "civ_"  # noqa: S105 - a public prefix, not a secret


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenManager(models.Manager):
    def issue(self, user, name: str = "") -> tuple[ApiToken, str]:
        """Create a token for `user`; returns (record, raw token). Store the raw one safely."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.create(
            user=user, name=name or "token", key_hash=hash_token(raw), prefix=raw[:10]
        )
        return token, raw

    def authenticate(self, raw: str):
        """The active user holding this token, or None."""
        if not raw or len(raw) > 200:
            return None
        token = self.select_related("user").filter(key_hash=hash_token(raw), revoked=False).first()
        if token is None or not token.user.is_active:
            return None
        return token.user


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=10, help_text="first characters, to recognise a token")
    created = models.DateTimeField(default=timezone.now)
    revoked = models.BooleanField(default=False)

    objects = ApiTokenManager()

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
