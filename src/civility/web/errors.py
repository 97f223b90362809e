"""Errors, in one shape per door, for every status (500 included), never HTML on a JSON door.

- Civility's JSON endpoints (`/api/`, `/coral/`, and any request that asks for JSON) answer
  `{"error": message, "field": name-or-null}`.
- The Perspective door (`/v1alpha1/`) answers Google's shape,
  `{"error": {"code": status, "message": message, "status": NAME}}`, because Perspective
  clients (Coral Talk among them) parse that.

`JsonErrorsMiddleware` (first in MIDDLEWARE) refuses URLs and cookies carrying NUL before
anything looks them up, and rewrites any error response on a JSON door that is not already
in the door's shape (Django's 404 and 405 pages, a framework's `{"detail": …}`) into it.
The `handler400/403/404/500` views (wired in `civility.web.urls`) and `csrf_failure` do the
same for errors Django raises itself, so an unexpected exception on a JSON door is a JSON 500."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from django.http import HttpResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/coral/")
PERSPECTIVE_PREFIX = "/v1alpha1/"
# Google's canonical status names for the HTTP statuses the Perspective door can answer.
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}
# Headers an error response keeps when it is rewritten into the door's shape.
KEPT_HEADERS = ("Retry-After", "WWW-Authenticate", "Allow", "Vary", "Cache-Control")


def is_perspective(request) -> bool:
    return request.path.startswith(PERSPECTIVE_PREFIX)


def wants_json(request) -> bool:
    return (
        request.path.startswith((*JSON_PREFIXES, PERSPECTIVE_PREFIX))
        or "application/json" in request.headers.get("Accept", "")
        or "application/json" in request.headers.get("Content-Type", "")
    )


def error_body(status: int, message: str, field: str | None = None, *, google=False) -> bytes:
    if google:
        payload = {
            "error": {
                "code": status,
                "message": str(message),
                "status": GOOGLE_STATUS.get(
                    status, "INVALID_ARGUMENT" if status < 500 else "INTERNAL"
                ),
            }
        }
    else:
        payload = {"error": str(message), "field": field}
    text = json.dumps(payload, ensure_ascii=False)
    # A message quoting hostile input may hold a lone surrogate: escape it, JSON allows that.
    return text.encode("utf-8", "backslashreplace")


def json_error(request, status: int, message: str, field: str | None = None) -> HttpResponse:
    """The error in the shape of the door `request` came through."""
    body = error_body(
        status, message, field, google=request is not None and is_perspective(request)
    )
    return HttpResponse(body, status=status, content_type="application/json")


def _default_message(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


def _in_shape(response, google: bool) -> bool:
    if "application/json" not in response.get("Content-Type", ""):
        return False
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(payload, dict):
        return False
    error = payload.get("error")
    if google:
        return isinstance(error, dict) and isinstance(error.get("message"), str)
    return isinstance(error, str) and "field" in payload


def _has_nul(request) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if any("\x00" in value for values in request.GET.lists() for value in values[1]):
        return True
    return any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items())


class JsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            return bad_request(request, ValueError("the URL or a cookie contains a NUL character"))
        response = self.get_response(request)
        if response.status_code < 400 or getattr(response, "streaming", False):
            return response
        if not wants_json(request):
            return response
        google = is_perspective(request)
        if _in_shape(response, google):
            return response
        message = _default_message(response.status_code)
        if response.status_code == 405 and response.has_header("Allow"):
            message = f"method not allowed; use {response['Allow']}"
        rewritten = json_error(request, response.status_code, message)
        for header in KEPT_HEADERS:
            if response.has_header(header):
                rewritten[header] = response[header]
        for cookie in response.cookies.values():
            rewritten.cookies[cookie.key] = cookie
        return rewritten


def bad_request(request, exception=None):
    if wants_json(request):
        message = str(exception) if isinstance(exception, ValueError) else "bad request"
        return json_error(request, 400, message)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if wants_json(request):
        return json_error(request, 403, str(exception or "") or "permission denied")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if wants_json(request):
        return json_error(request, 404, "not found")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if wants_json(request):
        return json_error(request, 500, "internal server error; the error was logged")
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    if wants_json(request):
        return json_error(request, 403, f"CSRF check failed: {reason}", "csrfmiddlewaretoken")
    if request.GET.get("embed") == "1":
        # A form from an embed page older than the embed's own form token: say so inside
        # the frame instead of Django's page, which the frame may not show.
        from django.utils.translation import gettext as _

        from civility.web.comments.views import frame_message

        return frame_message(
            request,
            title=_("Your comment was not sent"),
            message=_("This comment form is out of date. Reload the page and try again."),
            status=403,
        )
    return django_csrf_failure(request, reason)
