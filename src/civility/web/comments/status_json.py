"""The status URL's answer for programs (`Accept: application/json`), e.g. a CMS polling the
`status_url` the API returned: `being_assessed` until the workers' assessment lands, then the
outcome and, for a rejection, the guideline codes."""

from django.http import JsonResponse
from django.utils.cache import patch_vary_headers

from .models import REJECTED


def wants_status_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def status_json(request, comment) -> JsonResponse:
    status = comment.status
    reasons = (comment.latest_decision.reasons or ["other"]) if status == REJECTED else []
    response = JsonResponse(
        {
            "id": comment.pk,
            "status": status,
            "being_assessed": comment.being_assessed,
            "reasons": [str(code) for code in reasons],
        }
    )
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    patch_vary_headers(response, ["Accept"])
    return response
