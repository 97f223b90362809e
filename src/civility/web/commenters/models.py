"""A commenter (a reader known by a verified e-mail or the publisher's sign-on), the link from
a comment to its commenter, the append-only trail of sanctions, and spent one-time tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SUSPEND, BAN, LIFT = "suspend", "ban", "lift"


class AppendOnlyError(Exception):
    """Something tried to rewrite or delete the sanctions trail."""


class Commenter(models.Model):
    # What readers see next to the commenter's comments.
    display_name = models.CharField(_("name"), max_length=80)
    # Private: never shown to readers, nor in public API answers. Null when unknown or erased.
    email = models.EmailField(_("verified e-mail"), null=True, blank=True)
    # The publisher's user id from single sign-on.
    sso_subject = models.CharField(max_length=200, null=True, blank=True)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    # Personal data erased at the commenter's request (`civility commenter erase`).
    erased = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="commenter_email_unique"),
            models.UniqueConstraint(fields=["sso_subject"], name="commenter_sso_unique"),
        ]

    def __str__(self) -> str:
        return self.shown_name

    @property
    def shown_name(self) -> str:
        return str(_("former commenter")) if self.erased else self.display_name


class Authorship(models.Model):
    """Comment `comment` was posted by `commenter` (a verified session or sign-on). A row of
    its own, so linking never writes to the comment itself."""

    comment = models.OneToOneField(
        "comments.Comment", primary_key=True, on_delete=models.PROTECT, related_name="authorship"
    )
    commenter = models.ForeignKey(Commenter, on_delete=models.PROTECT, related_name="authorships")

    def __str__(self) -> str:
        return f"comment {self.comment_id} by commenter {self.commenter_id}"


class SanctionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("sanctions are append-only")

    def delete(self):
        raise AppendOnlyError("sanctions are append-only")


class Sanction(models.Model):
    """One suspension (until a time), ban (until lifted) or lift, with the moderator and the
    reason. Append-only: a commenter's state is their latest row."""

    KINDS = [(SUSPEND, _("suspend")), (BAN, _("ban")), (LIFT, _("lift"))]

    commenter = models.ForeignKey(Commenter, on_delete=models.PROTECT, related_name="sanctions")
    kind = models.CharField(max_length=10, choices=KINDS)
    reason = models.TextField()
    until = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(default=timezone.now, db_index=True)

    objects = SanctionQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[SUSPEND, BAN, LIFT]), name="sanction_kind_valid"
            ),
            # A suspension ends; a ban and a lift have no end.
            models.CheckConstraint(
                condition=Q(kind=SUSPEND, until__isnull=False) | Q(~Q(kind=SUSPEND), until=None),
                name="sanction_until_only_suspend",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} commenter {self.commenter_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("sanctions are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("sanctions are append-only")

    def in_force(self, now=None) -> bool:
        if self.kind == BAN:
            return True
        if self.kind == SUSPEND:
            return self.until > (now or timezone.now())
        return False


class SpentToken(models.Model):
    """A one-time token already used (a sign-in link's nonce, a sign-on token's jti): the
    second use is refused. Holds no personal data."""

    key = models.CharField(max_length=200, primary_key=True)
    used = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key
