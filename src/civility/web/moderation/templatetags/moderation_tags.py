"""Template helpers for the moderator pages."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils import formats
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..highlight import highlight_spans

register = template.Library()


@register.simple_tag
def highlighted_body(comment) -> SafeString:
    """The comment's text, escaped, with the engine's spans (if any) marked."""
    # A comment the engine failed on has no Assessment; Django's missing-relation error is an
    # AttributeError, so getattr's default covers it.
    assessment = getattr(comment, "assessment", None)
    spans = assessment.spans if assessment is not None else []
    return highlight_spans(comment.body, spans)


@register.filter
def percent(value) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "–"


@register.filter
def score_level(value) -> str:
    """A CSS class for a probability, so high scores stand out on a card."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "low"
    return "high" if value >= 0.5 else "mid" if value >= 0.2 else "low"


@register.filter
def duration(value: timedelta | None) -> str:
    if value is None:
        return "–"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return _("%(n)s s") % {"n": seconds}
    if seconds < 3600:
        return _("%(n)s min") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)s h") % {"n": formats.number_format(seconds / 3600, 1)}
    return _("%(n)s d") % {"n": formats.number_format(seconds / 86400, 1)}


SUGGESTION_LABELS = {
    "approve": gettext_lazy("approve"),
    "reject": gettext_lazy("reject"),
    "review": gettext_lazy("human review"),
}
# Reason codes of the engine that are no guideline (the guidelines have REASON_LABELS).
ENGINE_REASON_LABELS = {
    "unsupported_language": gettext_lazy("Language the engine does not model: needs a human"),
    # The commenter's standing (policy [trust]) changed the engine's verdict.
    "trusted": gettext_lazy("Trusted commenter: approve bands widened"),
    "watched": gettext_lazy("Commenter rejected recently: never approved automatically"),
}


@register.filter
def suggestion_label(decision: str) -> str:
    """The engine's suggested decision in the moderator's language."""
    return str(SUGGESTION_LABELS.get(decision, decision))


@register.filter
def engine_reasons(assessment) -> list[str]:
    """The engine's reasons in the moderator's language, from its reason codes; the engine's
    own (English) words only for a code we have no name for."""
    from ..forms import REASON_LABELS

    codes = list(getattr(assessment, "reason_codes", None) or [])
    if not codes:
        return list(getattr(assessment, "reasons", None) or [])
    english = list(getattr(assessment, "reasons", None) or [])
    labels = []
    for index, code in enumerate(codes):
        label = REASON_LABELS.get(code) or ENGINE_REASON_LABELS.get(code)
        if label is None:
            label = english[index] if index < len(english) else code
        labels.append(str(label))
    return labels


@register.filter
def meter_step(value) -> int:
    """0..20: the meter's width in 5 % steps, as a class (the CSP allows no inline styles)."""
    try:
        return round(min(max(float(value), 0.0), 1.0) * 20)
    except (TypeError, ValueError):
        return 0


@register.filter
def reason_labels(codes) -> str:
    """Reason codes as the guideline names moderators know, comma-separated."""
    from ..forms import REASON_LABELS

    return ", ".join(str(REASON_LABELS.get(code, code)) for code in codes or [])


@register.simple_tag
def pending_appeals() -> int:
    """How many appeals wait for a moderator (the navigation's count)."""
    from civility.web.comments.models import Appeal

    return Appeal.objects.filter(outcome__isnull=True).count()


@register.filter
def status_label(status: str) -> str:
    from ..views import STATUS_LABELS

    return str(STATUS_LABELS.get(status, status))
