"""Publisher single sign-on: the CMS signs a short-lived JWT (HS256, the shared secret
CIVILITY_SSO_SECRET) for its signed-in user, and the page, the embed or the API exchanges it,
once, for a commenter.

Claims: `sub` (the publisher's user id, required), `name` (display name, required), `email`
(optional), `aud` (must be CIVILITY_SSO_AUDIENCE), `iat` and `exp` (required; a token may live
at most CIVILITY_SSO_MAX_AGE seconds), `jti` (required; a second exchange of the same jti is
refused). Anything wrong raises SSOError with a reason a client can act on."""

from __future__ import annotations

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from civility.web.text import clean_name, visible_text_problem

from .identity import spend
from .models import Commenter

LEEWAY = 30  # seconds of clock difference between the CMS and us
MAX_NAME_CHARS = 80
MAX_TOKEN_CHARS = 4096


class SSOError(ValueError):
    """The sign-on token cannot be exchanged; `.reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def enabled() -> bool:
    return bool(getattr(settings, "CIVILITY_SSO_SECRET", ""))


def _claims(token: object) -> dict:
    if not enabled():
        raise SSOError("single sign-on is not configured on this site")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise SSOError("the sign-on token is missing or too long")
    try:
        claims = jwt.decode(
            token,
            settings.CIVILITY_SSO_SECRET,
            algorithms=["HS256"],
            audience=settings.CIVILITY_SSO_AUDIENCE,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "sub", "aud", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise SSOError("the sign-on token has expired") from None
    except jwt.InvalidAudienceError:
        raise SSOError("the sign-on token is for another audience") from None
    except jwt.InvalidSignatureError:
        raise SSOError("the sign-on token's signature is not valid") from None
    except jwt.ImmatureSignatureError:
        raise SSOError("the sign-on token was issued in the future") from None
    except jwt.MissingRequiredClaimError as exc:
        raise SSOError(f"the sign-on token lacks the claim {exc.claim!r}") from None
    except jwt.InvalidTokenError as exc:
        raise SSOError(f"the sign-on token is not valid ({type(exc).__name__})") from None
    if not isinstance(claims.get("iat"), int | float) or not isinstance(
        claims.get("exp"), int | float
    ):
        raise SSOError("the sign-on token's iat and exp must be numbers")
    if claims["exp"] - claims["iat"] > settings.CIVILITY_SSO_MAX_AGE:
        raise SSOError(
            f"the sign-on token lives longer than {settings.CIVILITY_SSO_MAX_AGE} seconds"
        )
    for claim in ("sub", "jti"):
        value = claims.get(claim)
        if not isinstance(value, str) or not value or len(value) > 200:
            raise SSOError(f"the sign-on token's {claim} must be text of 1 to 200 characters")
    return claims


def _name(claims: dict) -> str:
    name = claims.get("name")
    if not isinstance(name, str):
        raise SSOError("the sign-on token's name must be text")
    name = clean_name(name)
    problem = visible_text_problem(name, "name", allow_lines=False) if name else "is empty"
    if problem:
        raise SSOError(f"the sign-on token's name {problem}")
    if len(name) > MAX_NAME_CHARS:
        raise SSOError(f"the sign-on token's name is longer than {MAX_NAME_CHARS} characters")
    return name


def _email(claims: dict) -> str | None:
    email = claims.get("email")
    if email in (None, ""):
        return None
    if not isinstance(email, str) or len(email) > 254:
        raise SSOError("the sign-on token's email must be an address")
    try:
        validate_email(email)
    except ValidationError:
        raise SSOError("the sign-on token's email is not a valid address") from None
    return email


def exchange(token: object) -> Commenter:
    """The commenter this token signs on (created on first sign-on). Spends the token's jti;
    raises SSOError."""
    claims = _claims(token)
    name, email = _name(claims), _email(claims)
    if not spend("sso:" + claims["jti"]):
        raise SSOError("the sign-on token was used already")
    subject = claims["sub"]
    commenter = Commenter.objects.filter(sso_subject=subject).first()
    if commenter is not None:
        return commenter
    # The verified e-mail of an existing commenter joins them; otherwise a new commenter.
    if email:
        by_email = Commenter.objects.filter(email__iexact=email, sso_subject=None).first()
        if by_email is not None:
            Commenter.objects.filter(pk=by_email.pk).update(sso_subject=subject)
            by_email.sso_subject = subject
            return by_email
        if Commenter.objects.filter(email__iexact=email).exists():
            email = None  # held by another sign-on subject: not this one's to claim
    try:
        with transaction.atomic():
            return Commenter.objects.create(display_name=name, email=email, sso_subject=subject)
    except IntegrityError:  # signed on at the same moment elsewhere
        return Commenter.objects.get(sso_subject=subject)
