"""The status URL's answer for programs (`Accept: application/json`), e.g. a CMS polling the
`status_url` the API returned: `being_assessed` until the workers' assessment lands, then the
outcome and, for a rejection, the guideline codes; `appeal` is null, or the appeal's id,
`status` (pending, upheld or overturned), when it was filed and when decided."""

from django.http import JsonResponse
from django.utils.cache import patch_vary_headers

from .models import REJECTED, Appeal


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
            "appeal": appeal_facts(comment),
        }
    )
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    patch_vary_headers(response, ["Accept"])
    return response


def appeal_facts(comment) -> dict | None:
    appeal = Appeal.objects.filter(comment=comment).select_related("outcome").first()
    if appeal is None:
        return None
    outcome = getattr(appeal, "outcome", None)
    return {
        "id": appeal.pk,
        "status": outcome.outcome if outcome else "pending",
        "created": appeal.created.isoformat(),
        "decided": outcome.created.isoformat() if outcome else None,
    }
