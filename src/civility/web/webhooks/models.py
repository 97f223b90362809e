"""Webhooks a newsroom registers, and the log of every delivery (docs/workers.md)."""

from __future__ import annotations

import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civility.web.events import EVENTS  # noqa: F401 - the events a webhook may choose

from .safety import UnsafeURL, check_url


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def validate_events(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("choose at least one event"))
    unknown = [e for e in value if e not in EVENTS]
    if unknown:
        raise ValidationError(
            _("unknown event(s) %(unknown)s; known: %(known)s"),
            params={"unknown": ", ".join(map(str, unknown)), "known": ", ".join(EVENTS)},
        )


class Webhook(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list, validators=[validate_events])
    # Keys the HMAC-SHA256 signature of every delivery; the receiver keeps a copy.
    secret = models.CharField(_("signing secret"), max_length=128, default=new_secret)
    active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    # A save or delete is seen at once by this process's subscriber list, and by the others
    # within seconds: events.forget_changed, connected to post_save and post_delete in apps.py.

    def clean(self) -> None:
        try:
            check_url(self.url)
        except UnsafeURL as exc:
            raise ValidationError({"url": str(exc)}) from None


class Delivery(models.Model):
    """One event for one webhook: the exact body sent, and every attempt."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUSES = [(PENDING, _("pending")), (DELIVERED, _("delivered")), (FAILED, _("failed"))]

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    # X-Civility-Delivery: the receiver's key for ignoring a delivery it has seen.
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    comment_id = models.BigIntegerField(null=True, db_index=True)
    payload = models.TextField()
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due (its message carries the same delay); a pending delivery
    # far past it lost its message, and the sweeper sends another.
    next_attempt = models.DateTimeField(default=timezone.now, db_index=True)
    last_response = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    log = models.JSONField(default=list)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    delivered = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id} ({self.status})"
