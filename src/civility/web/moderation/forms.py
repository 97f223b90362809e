"""Forms of the moderator pages: the queue's filters and the approve/reject actions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from civility.web.articles.models import Article
from civility.web.comments.models import (
    APPROVE,
    AUTHOR_REQUEST,
    GUIDELINE_CATEGORIES,
    REASON_CODES,
    REJECT,
)
from civility.web.text import MAX_ID

# Mirrors civility.engine.language.SUPPORTED_LANGUAGES plus "other"; kept here so the queue
# page loads without importing the engine (the models stay in the worker that uses them).
QUEUE_LANGUAGES = ("en", "ar", "fa", "tr", "ckb", "kmr", "other")

REASON_LABELS = {
    "profanity": _("Profanity"),
    "vulgarity": _("Vulgarity or sexual content"),
    "threat": _("Threat of violence"),
    "personal_attack": _("Personal attack"),
    "abuse": _("Abuse of a group"),
    "promotion": _("Commercial or personal promotion"),
    "off_topic": _("Not relevant to the article"),
    "other": _("Other (say why in the note)"),
    # Not a choice: the reason of the approval an overturned appeal appends.
    "appeal_overturned": _("Appeal overturned"),
    # The card's own button, not a guideline to tick: a withdrawal cites it alone.
    AUTHOR_REQUEST: _("Withdrawn at the author's request"),
}
REASON_CHOICES = [(code, REASON_LABELS[code]) for code in REASON_CODES]
# What the reject form offers to tick: the guidelines, off topic and other.
CITED_CHOICES = [(code, label) for code, label in REASON_CHOICES if code != AUTHOR_REQUEST]

STATUS_PENDING, STATUS_APPROVED, STATUS_REJECTED = "pending", "approved", "rejected"
STATUS_AUTO, STATUS_ALL = "auto", "all"
STATUS_CHOICES = [
    (STATUS_PENDING, _("Pending")),
    (STATUS_APPROVED, _("Approved")),
    (STATUS_REJECTED, _("Rejected")),
    (STATUS_AUTO, _("Decided automatically")),
    (STATUS_ALL, _("All")),
]
ORDER_OLDEST, ORDER_RISK = "oldest", "risk"
ORDER_CHOICES = [(ORDER_OLDEST, _("Oldest first")), (ORDER_RISK, _("Highest risk first"))]
CATEGORY_CHOICES = [("", _("Any category"))] + [
    (code, REASON_LABELS[code]) for code in (*GUIDELINE_CATEGORIES, "off_topic")
]
LANGUAGE_CHOICES = [("", _("Any language"))] + [(code, code) for code in QUEUE_LANGUAGES]


class QueueFilterForm(forms.Form):
    """GET parameters of the queue. Invalid values fall back to the defaults."""

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label=_("Status"))
    article = forms.ModelChoiceField(
        queryset=Article.objects.order_by("title"),
        required=False,
        empty_label=_("Any article"),
        label=_("Article"),
    )
    category = forms.ChoiceField(choices=CATEGORY_CHOICES, required=False, label=_("Category"))
    language = forms.ChoiceField(choices=LANGUAGE_CHOICES, required=False, label=_("Language"))
    q = forms.CharField(required=False, max_length=200, label=_("Search text or author"))
    order = forms.ChoiceField(choices=ORDER_CHOICES, required=False, label=_("Order"))

    def values(self) -> dict:
        """The cleaned filters, with defaults for anything missing or invalid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or STATUS_PENDING,
            "article": data.get("article"),
            "category": data.get("category") or "",
            "language": data.get("language") or "",
            "q": (data.get("q") or "").strip(),
            "order": data.get("order") or ORDER_OLDEST,
        }


def _language_choices():
    from django.conf import settings

    return [("", _("As my browser asks"))] + [(code, name) for code, name in settings.LANGUAGES]


class PreferencesForm(forms.Form):
    """A moderator's own settings (ModeratorProfile)."""

    language = forms.ChoiceField(
        choices=_language_choices, required=False, label=_("Language of the moderator pages")
    )


class DecisionForm(forms.Form):
    """Approve or reject; a rejection must cite at least one guideline."""

    action = forms.ChoiceField(choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))])
    reasons = forms.MultipleChoiceField(choices=REASON_CHOICES, required=False)
    note = forms.CharField(required=False, max_length=1000, widget=forms.Textarea)
    # The latest decision the moderator saw on the card (empty: it was pending).
    seen = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == REJECT and not cleaned.get("reasons"):
            raise forms.ValidationError(_("Pick at least one reason to reject."))
        if cleaned.get("action") == REJECT and "other" in cleaned.get("reasons", []):
            if not cleaned.get("note", "").strip():
                raise forms.ValidationError(_("Say in the note why you chose 'Other'."))
        return cleaned


class BulkDecisionForm(DecisionForm):
    comment_ids = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer is a syntactically valid id; the view keeps only existing comments.
        ids = self.data.getlist("comment_ids") if hasattr(self.data, "getlist") else []
        self.fields["comment_ids"].choices = [(i, i) for i in ids if str(i).isdigit()]
