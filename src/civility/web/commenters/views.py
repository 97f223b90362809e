"""The page a sign-in link opens: a button that spends the link (a GET spends nothing, so a
mail scanner fetching the link does not use it up); the sign-on page; the unsubscribe page of
the notification mails."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from civility.web.i18n import chosen_language

from . import identity, notifications, sso


@require_http_methods(["GET", "POST"])
def verify(request):
    language = chosen_language(request) or translation.get_language()
    with translation.override(language):
        token = request.POST.get("token") if request.method == "POST" else request.GET.get("token")
        context = {"token": token or "", "done": False, "error": None}
        status = 200
        try:
            if request.method == "POST":
                commenter, comment_id = identity.redeem(token)
                identity.link_comment(comment_id, commenter, commenter.email or "")
                identity.sign_in(request, commenter)
                context["done"] = True
                context["name"] = commenter.shown_name
            else:
                identity.read_token(token)
        except identity.SignInError as exc:
            status = 400
            context["error"] = {
                "expired": _("This link has expired. Post a comment again to get a new one."),
                "used": _("This link was used already. Each link works once."),
            }.get(exc.reason, _("This link is not valid."))
        response = render(request, "commenters/verify.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    # The token must not leak to other sites; "no-referrer" would make the form post with
    # Origin: null, which the CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    response["Content-Language"] = language
    return response


@require_http_methods(["GET", "POST"])
def sso_sign_in(request):
    """The publisher's page sends its signed-in reader here with a sign-on token
    (`?token=…&next=/articles/…/`); the button exchanges it, once, for a commenter session.
    A button, not the GET itself, so another site cannot sign a browser in unseen."""
    language = chosen_language(request) or translation.get_language()
    data = request.POST if request.method == "POST" else request.GET
    token, target = data.get("token", ""), data.get("next", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    with translation.override(language):
        context = {"token": token, "next": target, "error": None}
        status = 200
        if request.method == "POST":
            try:
                commenter = sso.exchange(token)
            except sso.SSOError as exc:
                status = 400
                context["error"] = _("The sign-on did not work: %(reason)s.") % {
                    "reason": exc.reason
                }
            else:
                identity.sign_in(request, commenter)
                return HttpResponseRedirect(target)
        response = render(request, "commenters/sso.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    # The token must not leak to other sites; "no-referrer" would make the form post with
    # Origin: null, which the CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    response["Content-Language"] = language
    return response


@csrf_exempt  # the signed token is the authority; one-click unsubscribe posts without a form
@require_http_methods(["GET", "POST"])
def unsubscribe(request):
    """The unsubscribe link of every commenter mail. GET shows a button (a mail scanner that
    fetches links unsubscribes nobody); POST unsubscribes: the page's button, or a mail
    program's one-click POST (RFC 8058: `List-Unsubscribe=One-Click` to the link itself)."""
    language = chosen_language(request) or translation.get_language()
    token = request.POST.get("token") or request.GET.get("token") or ""
    with translation.override(language):
        context = {"token": token, "done": False, "error": None}
        status = 200
        try:
            if request.method == "POST":
                notifications.unsubscribe(token)
                context["done"] = True
            else:
                notifications.read_unsubscribe_token(token)
        except notifications.UnsubscribeError as exc:
            status = 400
            context["error"] = (
                _("This link has expired. The link in a newer mail from us works.")
                if exc.reason == "expired"
                else _("This link is not valid.")
            )
        response = render(request, "commenters/unsubscribe.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "same-origin"
    response["Content-Language"] = language
    return response
