"""Knowing a commenter without a password: a one-time sign-in link sent by e-mail.

A reader's first comment that gives an e-mail address sends a link to it. The link carries a
token signed with SECRET_KEY (salted), holding the address, the name and the comment, that
expires after CIVILITY_SIGN_IN_MAX_AGE seconds and is spent on first use (its nonce goes into
SpentToken). Following it (a page with a button: mail scanners that fetch links spend
nothing) makes that browser's session the verified commenter: later comments from it are
linked to the Commenter."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from civility.web import ratelimit

from .models import Authorship, Commenter, SpentToken

log = logging.getLogger(__name__)

SALT = "civility.commenters.sign-in"
SESSION_KEY = "civility_commenter"


class SignInError(Exception):
    """The sign-in link cannot be used; `.reason` is expired, used or invalid."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def session_commenter(request) -> Commenter | None:
    """The verified commenter of this browser, if any (and not erased since)."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    pk = session.get(SESSION_KEY)
    if not isinstance(pk, int):
        return None
    commenter = Commenter.objects.filter(pk=pk, erased__isnull=True).first()
    if commenter is None:
        session.pop(SESSION_KEY, None)
    return commenter


def sign_in_token(email: str, name: str, comment_id: int | None) -> str:
    payload = {"e": email, "n": name, "c": comment_id, "k": secrets.token_urlsafe(12)}
    return signing.dumps(payload, salt=SALT, compress=True)


def read_token(token: object) -> dict:
    """The token's payload, or SignInError (expired / invalid). Spends nothing."""
    if not isinstance(token, str) or not token or len(token) > 2000:
        raise SignInError("invalid")
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.CIVILITY_SIGN_IN_MAX_AGE)
    except signing.SignatureExpired:
        raise SignInError("expired") from None
    except signing.BadSignature:
        raise SignInError("invalid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("e"), str):
        raise SignInError("invalid")
    return payload


def spend(key: str) -> bool:
    """Mark a one-time key used; False if it was used before."""
    try:
        with transaction.atomic():
            SpentToken.objects.create(key=key)
    except IntegrityError:
        return False
    return True


def commenter_for_email(email: str, name: str) -> Commenter:
    """The commenter with this verified address, created on first verification."""
    existing = Commenter.objects.filter(email__iexact=email).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Commenter.objects.create(email=email, display_name=name)
    except IntegrityError:  # verified at the same moment in another request
        return Commenter.objects.get(email__iexact=email)


def redeem(token: object) -> tuple[Commenter, int | None]:
    """Spend a sign-in token: the commenter it verifies and the comment it was sent for.
    Raises SignInError (expired, used, invalid)."""
    payload = read_token(token)
    if not spend("mail:" + str(payload.get("k"))):
        raise SignInError("used")
    commenter = commenter_for_email(payload["e"], str(payload.get("n") or "")[:80])
    comment_id = payload.get("c") if isinstance(payload.get("c"), int) else None
    return commenter, comment_id


def link_comment(comment_id: int | None, commenter: Commenter, email: str) -> None:
    """Link the comment the link was sent for, if it gave this address and has no commenter."""
    if comment_id is None:
        return
    from django.apps import apps

    comment_model = apps.get_model("comments", "Comment")
    if not comment_model.objects.filter(pk=comment_id, author_email__iexact=email).exists():
        return
    Authorship.objects.get_or_create(comment_id=comment_id, defaults={"commenter": commenter})


def sign_in(request, commenter: Commenter) -> None:
    request.session.cycle_key()  # a new session id: a planted one gains nothing
    request.session[SESSION_KEY] = commenter.pk


def address_key(email: str) -> str:
    # Keyed, like the IP hashes: a rate-limit row does not hold the address in any form that a
    # dictionary of addresses could reverse without the SECRET_KEY.
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, email.casefold().encode(), hashlib.sha256).hexdigest()[:32]


def send_sign_in_link(request, email: str, name: str, comment_id: int | None) -> bool:
    """Mail a one-time sign-in link to `email`, in the active language, after the current
    transaction commits. At most CIVILITY_SIGN_IN_MAILS per address; False when refused."""
    try:
        ratelimit.check("sign-in-mail", address_key(email), ratelimit.Limit(*_mail_limit()))
    except ratelimit.RateLimited:
        log.info("sign-in mail not sent: too many for this address")
        return False
    language = translation.get_language()
    token = sign_in_token(email, name, comment_id)
    url = request.build_absolute_uri(
        reverse("commenters:verify") + "?" + urlencode({"token": token, "lang": language})
    )
    hours = settings.CIVILITY_SIGN_IN_MAX_AGE // 3600
    with translation.override(language):
        subject = _("Confirm your e-mail address to comment")
        body = "\n\n".join(
            [
                _("Hello %(name)s,") % {"name": name},
                _(
                    "You posted a comment with this e-mail address. Open this link to confirm "
                    "it is yours; your next comments from the same browser will then show "
                    "moderators your history:"
                ),
                url,
                _("The link works once and expires in %(hours)s hours.") % {"hours": hours},
                _("If you did not post a comment, ignore this mail."),
            ]
        )

    def deliver():
        try:
            send_mail(subject, body, None, [email])
        except Exception as exc:  # a mail server down must not lose the comment
            log.error("sign-in mail not sent (%s: %s)", type(exc).__name__, exc)

    transaction.on_commit(deliver)
    return True


def _mail_limit() -> tuple[int, int]:
    return tuple(getattr(settings, "CIVILITY_SIGN_IN_MAILS", (3, 3600)))
