"""The moderators' digest on Celery beat (`civility worker --beat`), scheduled every
CIVILITY_DIGEST_CHECK_MINUTES when CIVILITY_DIGEST_AGE_MINUTES is set (settings.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="civility.digest")
def digest() -> int:
    """Queue the digest if it is due; the number of mails queued."""
    from .digest import send_digest

    return send_digest()
