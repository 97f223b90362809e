"""The moderators' digest: one mail when the oldest pending comment has waited longer than
CIVILITY_DIGEST_AGE_MINUTES, at most once per CIVILITY_DIGEST_EVERY_MINUTES (docs/web.md).

`civility notifications digest` runs it once (cron), and with a broker the `--beat` worker runs
it every CIVILITY_DIGEST_CHECK_MINUTES (task `civility.digest`). Recipients: the addresses in
CIVILITY_DIGEST_TO, or else every active user who may moderate and has an e-mail address, each
in the language of their moderator pages (English when they follow the browser). The mails go
through the commenters' outbox (notifications.send_to): sent after the commit, retried when
the mail server fails."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone, translation

from civility.web.commenters import notifications
from civility.web.commenters.identity import address_key
from civility.web.commenters.models import OutgoingMail
from civility.web.comments.models import Comment
from civility.web.i18n import local_digits, supported

from .models import ModeratorProfile

log = logging.getLogger(__name__)

KIND = "digest"


def recipients() -> list[tuple[str, str]]:
    """(address, language) of everyone the digest goes to."""
    if settings.CIVILITY_DIGEST_TO:
        return [(address, settings.LANGUAGE_CODE) for address in settings.CIVILITY_DIGEST_TO]
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__codename="moderate_comment")
            | Q(user_permissions__codename="moderate_comment")
        )
        .distinct()
        .order_by("pk")
    )
    languages = dict(ModeratorProfile.objects.values_list("user_id", "language"))
    seen, found = set(), []
    for user in users:
        if user.email.casefold() in seen:
            continue
        seen.add(user.email.casefold())
        found.append((user.email, supported(languages.get(user.pk)) or settings.LANGUAGE_CODE))
    return found


def oldest_pending():
    """(how many comments are pending, when the oldest was posted) or (0, None)."""
    pending = Comment.objects.pending()
    oldest = pending.order_by("created", "id").values_list("created", flat=True).first()
    return (pending.count(), oldest) if oldest is not None else (0, None)


def send_digest(now=None, *, age_minutes: float | None = None) -> int:
    """Queue the digest if it is due; the number of mails queued. Due: some comment has been
    pending for `age_minutes` (default CIVILITY_DIGEST_AGE_MINUTES; 0: never) and no digest was
    queued in the last CIVILITY_DIGEST_EVERY_MINUTES."""
    now = now or timezone.now()
    age = settings.CIVILITY_DIGEST_AGE_MINUTES if age_minutes is None else age_minutes
    if not age or age <= 0:
        return 0
    every = settings.CIVILITY_DIGEST_EVERY_MINUTES
    count, oldest = oldest_pending()
    if oldest is None or now - oldest < timedelta(minutes=age):
        return 0
    addresses = recipients()
    if not addresses:
        log.warning("a digest is due but no moderator has an e-mail address (CIVILITY_DIGEST_TO)")
        return 0
    # One digest per period: the window's number is in each mail's key, and a digest queued
    # in the last period (a window boundary in between) holds the next one back.
    window = int(now.timestamp() // (every * 60))
    site = getattr(settings, "CIVILITY_SITE_URL", "")
    queued = 0
    with transaction.atomic():
        recent = OutgoingMail.objects.filter(
            kind=KIND, created__gt=now - timedelta(minutes=every)
        ).select_for_update()
        if list(recent.values_list("pk", flat=True)[:1]):
            return 0
        for address, language in addresses:
            with translation.override(language):
                extra = {
                    "pending": count,
                    "pending_shown": local_digits(count, language),
                    "oldest": oldest.isoformat(),
                    "oldest_shown": local_digits(
                        formats.date_format(timezone.localtime(oldest), "SHORT_DATETIME_FORMAT"),
                        language,
                    ),
                    "every_shown": local_digits(f"{every:g}", language),
                    "queue_url": f"{site}{reverse('moderation:queue')}",
                }
            mail = notifications.send_to(
                address,
                KIND,
                language,
                extra=extra,
                key=f"{KIND}:{window}:{address_key(address)}",
            )
            queued += mail is not None
    return queued
