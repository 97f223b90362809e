"""EMAIL_URL (`smtp://user:password@host:587`, `smtps://…:465`, `console:`, `locmem:`) as
Django's e-mail settings. Pure Python: settings.py imports it before Django is set up."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}


def email_settings(url: str) -> dict:
    """The EMAIL_* settings for `url`; empty means the console (the demo prints its mails).
    Raises ValueError naming what is wrong."""
    url = (url or "").strip()
    if not url:
        return {"EMAIL_BACKEND": BACKENDS["console"]}
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in BACKENDS:
        raise ValueError(f"EMAIL_URL: unknown scheme {scheme!r}; known: {', '.join(BACKENDS)}")
    result = {"EMAIL_BACKEND": BACKENDS[scheme]}
    if scheme not in ("smtp", "smtps"):
        return result
    if not parts.hostname:
        raise ValueError("EMAIL_URL: an smtp URL needs a host, e.g. smtp://user:pw@host:587")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("EMAIL_URL: the port is not a number") from None
    query = parse_qs(parts.query)
    result.update(
        EMAIL_HOST=parts.hostname,
        EMAIL_PORT=port or (465 if scheme == "smtps" else 587),
        EMAIL_HOST_USER=unquote(parts.username or ""),
        EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
        EMAIL_USE_SSL=scheme == "smtps",
        # STARTTLS on the submission port unless ?tls=0 (a local relay on port 25).
        EMAIL_USE_TLS=scheme == "smtp" and query.get("tls", ["1"])[0] != "0",
        EMAIL_TIMEOUT=float(query.get("timeout", ["10"])[0]),
    )
    return result
