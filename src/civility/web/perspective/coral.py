"""Coral Talk's external moderation phase: signature check and our verdict in Coral's words."""

from __future__ import annotations

import hashlib
import hmac
import os

SECRET_ENV = "CORAL_SIGNING_SECRET"  # noqa: S105 - the variable name, not a secret
APPROVE_ENV = "CORAL_APPROVE_CLEAR_PASS"
# Newsroom staff are trusted by Coral itself (its approveStaff phase); we give no opinion.
TRUSTED_ROLES = frozenset({"STAFF", "MODERATOR", "ADMIN"})
TOXIC = "COMMENT_DETECTED_TOXIC"
SPAM = "COMMENT_DETECTED_SPAM"


def signing_secrets() -> list[str]:
    """Secrets from the environment, read per request so a rotation needs no code reload."""
    raw = os.environ.get(SECRET_ENV, "")
    return [secret.strip() for secret in raw.split(",") if secret.strip()]


def approve_clear_passes() -> bool:
    return os.environ.get(APPROVE_ENV, "0").strip().lower() in {"1", "true", "yes"}


def signature_valid(body: bytes, header: str, secrets: list[str]) -> bool:
    """True if any `sha256=<hex>` in the header is the HMAC of the body under any secret."""
    offered = []
    for part in header.split(","):
        scheme, _, digest = part.strip().partition("=")
        if scheme == "sha256" and digest:
            offered.append(digest.strip().lower())
    expected = [hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets]
    # Compare every pair, without stopping early, so timing says nothing about which matched.
    matched = False
    for digest in offered:
        for candidate in expected:
            matched |= hmac.compare_digest(digest, candidate)
    return matched


def verdict(assessment) -> dict | None:
    """Coral's answer for an assessment, or None for "no opinion" (HTTP 204)."""
    codes = list(assessment.reason_codes)
    if assessment.decision == "approve":
        return {"status": "APPROVED", "actions": []} if approve_clear_passes() else None
    status = "REJECTED" if assessment.decision == "reject" else "SYSTEM_WITHHELD"
    return {"status": status, "actions": flag_actions(codes)}


def flag_actions(reason_codes: list[str]) -> list[dict]:
    """One FLAG per Coral reason. Off-topic and unmodelled language have no Coral reason: the
    comment is withheld for a human without a flag."""
    reasons = []
    for code in reason_codes:
        if code in {"off_topic", "unsupported_language"}:
            continue
        reason = SPAM if code == "promotion" else TOXIC
        if reason not in reasons:
            reasons.append(reason)
    return [{"actionType": "FLAG", "reason": reason} for reason in reasons]
