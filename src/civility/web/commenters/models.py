"""A commenter (a reader known by a verified e-mail or the publisher's sign-on), the link from
a comment to its commenter, the append-only trail of sanctions, and spent one-time tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civility.web.appendonly import AppendOnlyError as AppendOnlyError  # raised by Sanction
from civility.web.appendonly import AppendOnlyModel

from .triggers import PRIVACY_REQUESTS, SANCTIONS

SUSPEND, BAN, LIFT = "suspend", "ban", "lift"


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


class Sanction(AppendOnlyModel):
    """One suspension (until a time), ban (until lifted) or lift, with the moderator and the
    reason. Append-only (AppendOnlyError): a commenter's state is their latest row."""

    trail_triggers = SANCTIONS

    KINDS = [(SUSPEND, _("suspend")), (BAN, _("ban")), (LIFT, _("lift"))]

    commenter = models.ForeignKey(Commenter, on_delete=models.PROTECT, related_name="sanctions")
    kind = models.CharField(max_length=10, choices=KINDS)
    reason = models.TextField()
    until = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(default=timezone.now, db_index=True)

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


class NoticeRequest(models.Model):
    """The commenter asked, when posting `comment`, to be told by e-mail of its outcome and of
    replies to it (notifications.py). Holds no address: the mail goes to the comment's e-mail
    or its verified commenter's, looked up when it is sent, so an erased address is never
    mailed. `language` is the page's language at posting; `origin` the site's scheme and host
    as the reader reached it (the mail's links), unless CIVILITY_SITE_URL says otherwise."""

    comment = models.OneToOneField(
        "comments.Comment", primary_key=True, on_delete=models.PROTECT, related_name="+"
    )
    language = models.CharField(max_length=16)
    origin = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"notices for comment {self.comment_id} in {self.language}"


class Unsubscribed(models.Model):
    """An address that wants no more mail from Civility, as a keyed hash (HMAC-SHA256 with
    SECRET_KEY, like the rate-limit keys): checked before every commenter mail is sent. Kept
    after `civility commenter erase`, so an erased reader who opted out stays out."""

    key = models.CharField(max_length=64, primary_key=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "unsubscribed"

    def __str__(self) -> str:
        return self.key


class OutgoingMail(models.Model):
    """One mail to send (notifications.py): stored in the transaction that caused it, sent after
    it commits, by a worker when there is a broker, retried with backoff when the mail server
    fails. A commenter mail keeps no address and no text: both are read from the comment when
    it is sent. A moderator's digest names its recipient (`to`)."""

    PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
    STATUSES = [(PENDING, "pending"), (SENT, "sent"), (FAILED, "failed"), (SKIPPED, "skipped")]

    kind = models.CharField(max_length=40)
    comment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    to = models.EmailField(blank=True)
    language = models.CharField(max_length=16, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    # At most one mail per key (approved:<comment>, reply:<reply>, digest:<window>:<address>).
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    sent = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} mail {self.pk} ({self.status})"


class PrivacyRequest(AppendOnlyModel):
    """One personal-data request answered (comments/privacy.py): an export, an erasure, or a
    withdrawal of the commenter's comments, by whom (a staff user through the API, or the
    command line), when, and what it touched (counts). The address is kept only as a keyed
    hash (identity.address_key, HMAC-SHA256 with SECRET_KEY), never in clear: the trail shows
    that a request about an address was answered without holding the address. Append-only."""

    trail_triggers = PRIVACY_REQUESTS

    EXPORT, ERASE, WITHDRAW = "export", "erase", "withdraw"
    KINDS = [(EXPORT, "export"), (ERASE, "erase"), (WITHDRAW, "withdraw")]
    API, CLI = "api", "cli"
    CHANNELS = [(API, "API"), (CLI, "command line")]

    kind = models.CharField(max_length=10, choices=KINDS)
    channel = models.CharField(max_length=3, choices=CHANNELS)
    # The staff user (API) or the moderator named with --by (command line); null otherwise.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    address_key = models.CharField(max_length=32, db_index=True)
    counts = models.JSONField(default=dict)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        permissions = [("handle_personal_data", "Can export and erase commenters' personal data")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["export", "erase", "withdraw"]),
                name="privacyrequest_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["api", "cli"]), name="privacyrequest_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.channel}) {self.created:%Y-%m-%d %H:%M}"
