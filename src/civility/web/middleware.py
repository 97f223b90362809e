"""Refuse oversized request bodies with a clear 413, before any view reads them."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.template.loader import render_to_string


def _wants_json(request) -> bool:
    return (
        request.path.startswith(("/api/", "/v1alpha1/", "/coral/"))
        or "application/json" in request.headers.get("Accept", "")
        or "application/json" in request.headers.get("Content-Type", "")
    )


def too_large_response(request) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"request body is larger than the limit of {limit} bytes"
    if request.path.startswith("/v1alpha1/"):
        # Perspective clients (Coral Talk among them) parse Google's error shape.
        body = {"error": {"code": 413, "message": message, "status": "INVALID_ARGUMENT"}}
        return HttpResponse(json.dumps(body), status=413, content_type="application/json")
    if _wants_json(request):
        body = {"error": message, "field": "body"}
        return HttpResponse(json.dumps(body), status=413, content_type="application/json")
    html = render_to_string("too_large.html", {"limit": limit}, request=request)
    return HttpResponse(html, status=413)


class BodySizeLimitMiddleware:
    """413 for a declared Content-Length over DATA_UPLOAD_MAX_MEMORY_SIZE, and for bodies
    that turn out too big while being read (Django raises RequestDataTooBig then)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return too_large_response(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request)
        return None
