"""Sign-in throttling, per account and per client IP, for the moderator login and the admin.

Failed sign-ins are counted in the shared rate-limit buckets (`civility.web.ratelimit`: Redis
or the database, so every worker process counts together). Once an account, or an address,
has used up its failures, further attempts are refused *before* the password is checked, with
a clear message and a 429, until the bucket refills. Successful sign-ins cost nothing.

django-axes was the library candidate; it needs its backend in front of every authenticate()
call (test clients and commands included) and keeps a second store of attempts, while the
buckets the site already shares make this a form and a view."""

from __future__ import annotations

import hashlib
import math

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.utils.translation import ngettext

from civility.web import ratelimit


def _limits() -> tuple[ratelimit.Limit, ratelimit.Limit]:
    per_account = getattr(settings, "CIVILITY_LOGIN_LIMIT_PER_ACCOUNT", (5, 900))
    per_ip = getattr(settings, "CIVILITY_LOGIN_LIMIT_PER_IP", (20, 900))
    return ratelimit.Limit(*per_account), ratelimit.Limit(*per_ip)


def _keys(request, username: str) -> tuple[str, str]:
    from civility.web.comments.services import hash_ip
    from civility.web.comments.views import client_ip

    account = hashlib.sha256(username.strip().casefold().encode("utf-8", "replace")).hexdigest()
    return account[:32], hash_ip(client_ip(request)) or "no-ip"


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing to check passwords for a throttled account or address."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        account_key, ip_key = _keys(self.request, username)
        per_account, per_ip = _limits()
        try:
            ratelimit.peek("login-account", account_key, per_account)
            ratelimit.peek("login-ip", ip_key, per_ip)
        except ratelimit.RateLimited as limited:
            self.retry_after = limited.retry_after
            minutes = max(1, math.ceil(limited.retry_after / 60))
            self.throttled_message = ngettext(
                "Too many failed sign-ins for this account or from your network. "
                "Try again in %(n)d minute.",
                "Too many failed sign-ins for this account or from your network. "
                "Try again in %(n)d minutes.",
                minutes,
            ) % {"n": minutes}
            raise forms.ValidationError(self.throttled_message, code="throttled") from None
        try:
            return super().clean()
        except forms.ValidationError:
            for scope, key, limit in (
                ("login-account", account_key, per_account),
                ("login-ip", ip_key, per_ip),
            ):
                try:
                    ratelimit.check(scope, key, limit)
                except ratelimit.RateLimited:
                    pass  # already empty; the next attempt is refused by peek()
            raise


class ThrottledLoginView(LoginView):
    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        retry_after = getattr(form, "retry_after", None)
        if retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response
