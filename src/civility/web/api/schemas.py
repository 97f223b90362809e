"""Request and response shapes of the JSON API (they also make the OpenAPI schema)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict, StrictBool, field_validator

from civility.engine.moderator import MAX_TEXT_CHARS
from civility.web.comments.appeals import MAX_APPEAL_CHARS, MAX_REASON_CHARS
from civility.web.comments.models import REASON_CODES
from civility.web.comments.services import MAX_AUTHOR_CHARS, MAX_COMMENT_CHARS
from civility.web.text import MAX_ID, storable_problem, visible_text_problem


def storable_text(value: str) -> str:
    """Text a database can store: PostgreSQL refuses NUL, and no encoding takes lone surrogates."""
    problem = storable_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def visible_title(value: str) -> str:
    problem = visible_text_problem(value, "title", allow_lines=False)
    if problem:
        raise ValueError(problem)
    return value


class ArticleIn(Schema):
    slug: str = Field(..., min_length=1, max_length=200, pattern=r"^[-a-zA-Z0-9_]+$")
    title: str = Field(..., min_length=1, max_length=300)
    body: str = Field("", max_length=200_000)
    language: str = Field("en", max_length=8)
    # http(s) only: the URL becomes a link on the article page.
    url: str = Field("", max_length=500, pattern=r"^(https?://\S+)?$")
    comments_open: StrictBool = True  # true or false; 0 and "no" are not booleans

    _storable = field_validator("body", "language", "url")(storable_text)
    _visible = field_validator("title")(visible_title)


class ArticleOut(Schema):
    slug: str
    title: str
    language: str
    url: str
    comments_open: bool
    created: bool = Field(..., description="true when this call created the article")


class PublicComment(Schema):
    id: int
    parent: int | None
    author: str
    text: str
    language: str
    created: str


class CommentList(Schema):
    article: str
    count: int
    comments: list[PublicComment]


# A language code such as en, ckb or pt-BR (the hint the engine reads; never stored as sent).
LANGUAGE_CODE = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,2}$"
VISIBLE = "must have a visible letter, digit or emoji; NUL and other control characters are refused"


class CommentIn(Schema):
    author: str = Field(..., min_length=1, max_length=MAX_AUTHOR_CHARS, description=VISIBLE)
    email: str | None = Field(None, max_length=254)
    text: str = Field(..., min_length=1, max_length=MAX_COMMENT_CHARS, description=VISIBLE)
    parent: int | None = Field(
        None, ge=1, le=MAX_ID, description="id of an approved comment of this article"
    )
    lang: str | None = Field(
        None, pattern=LANGUAGE_CODE, description="optional language hint, e.g. 'ckb'"
    )
    sso_token: str | None = Field(
        None,
        max_length=4096,
        description="the publisher's single sign-on token (JWT HS256, used once): the comment "
        "is linked to that commenter",
    )
    notify: bool = Field(
        False,
        description="e-mail the commenter when the comment is approved or rejected and when an "
        "approved reply answers it, in the language `lang` names (else the article's), each "
        "mail with an unsubscribe link; needs `email` or an `sso_token` with an e-mail",
    )


class CommentCreated(Schema):
    id: int
    status: str = Field(..., description="pending | approved | rejected")
    being_assessed: bool = Field(
        False,
        description="true while the workers assess it (status pending); GET status_url with "
        "Accept: application/json to follow it",
    )
    status_url: str


class ArticleText(BaseModel):
    # A plain pydantic model: ninja's Schema would also build one from a JSON array.
    model_config = ConfigDict(extra="ignore")

    title: str = ""
    body: str = ""


class AssessIn(Schema):
    text: str = Field(..., max_length=MAX_TEXT_CHARS)
    article: ArticleText | None = None
    lang: str | None = Field(None, pattern=LANGUAGE_CODE)


Action = Literal["approve", "reject"]
ReasonCode = Literal[REASON_CODES]


SEEN_FIRST = (
    "the latest decision you saw on this comment (the queue's `decision_id`): null or left out "
    "when you saw it pending. If anyone decided since, nothing is recorded: 409"
)
SEEN_CHANGE = (
    "the id of the decision you are changing (the queue's `decision_id`); if anyone decided "
    "since, nothing is recorded: 409"
)


class DecisionIn(Schema):
    action: Action
    reasons: list[ReasonCode] = Field(
        default_factory=list, max_length=len(REASON_CODES), description="required to reject"
    )
    note: str = Field("", max_length=2000)
    seen_decision: int | None = Field(None, ge=1, le=MAX_ID, description=SEEN_FIRST)


class ChangeIn(Schema):
    action: Action
    reasons: list[ReasonCode] = Field(
        default_factory=list, max_length=len(REASON_CODES), description="required to reject"
    )
    note: str = Field("", max_length=2000)
    seen_decision: int = Field(..., ge=1, le=MAX_ID, description=SEEN_CHANGE)


class DecisionOut(Schema):
    id: int
    status: str
    decision_id: int
    action: str
    reasons: list[str]
    actor: str
    created: str


class DecisionFacts(Schema):
    """One decision of a comment's trail, as a conflict reports it."""

    decision_id: int
    action: Action
    status: Literal["approved", "rejected"] = Field(..., description="the status it gave")
    reasons: list[str]
    actor: str = Field(..., description="the moderator's user name, or policy <version>")
    automatic: bool = Field(..., description="made by the policy, not a person")
    created: str


class Conflict(Schema):
    """409: the comment was decided after the state the request was made on."""

    error: str
    field: str | None = Field(None, description="seen_decision")
    current: DecisionFacts = Field(..., description="the comment's decision now")
    decided_since: list[DecisionFacts] = Field(
        ..., description="every decision after the one you saw, oldest first"
    )


class BulkItem(Schema):
    comment: int = Field(..., ge=1, le=MAX_ID, description="the comment's id")
    action: Action
    reasons: list[ReasonCode] = Field(
        default_factory=list, max_length=len(REASON_CODES), description="required to reject"
    )
    note: str = Field("", max_length=2000)
    seen_decision: int | None = Field(
        None, ge=1, le=MAX_ID, description="as in a single decision (required to change)"
    )
    change: StrictBool = Field(False, description="reverse the decision `seen_decision`")


class BulkIn(Schema):
    decisions: list[BulkItem] = Field(..., min_length=1, max_length=200)


class BulkResult(Schema):
    comment: int
    outcome: Literal["applied", "conflict", "error"]
    decision: DecisionOut | None = Field(None, description="when applied")
    error: str | None = Field(None, description="when not applied: why")
    field: str | None = None
    current: DecisionFacts | None = Field(None, description="on a conflict")
    decided_since: list[DecisionFacts] | None = Field(None, description="on a conflict")


class BulkOut(Schema):
    applied: int
    conflicts: int
    errors: int
    results: list[BulkResult] = Field(..., description="one per item, in the order sent")


class Error(Schema):
    error: str
    field: str | None = None


class LanguagePeriod(Schema):
    """What happened to one language's comments posted in one period (docs/web.md)."""

    start: date
    end: date = Field(..., description="the period's last day, included")
    posted: int = Field(..., description="comments posted in the period")
    decided: int = Field(..., description="... with at least one decision")
    automatic: int = Field(..., description="... whose first decision had no human actor")
    automatic_share: float | None = Field(..., description="automatic / decided")
    human_decided: int = Field(..., description="comments with a moderator's decision")
    compared: int = Field(..., description="... for which the engine suggested approve or reject")
    agreed: int = Field(..., description="... whose latest moderator decision was the suggestion")
    agreement: float | None = Field(..., description="agreed / compared")
    sent_to_review: int = Field(..., description="human-decided, engine suggested review")
    without_suggestion: int = Field(..., description="human-decided, no assessment")
    reversed: int = Field(
        ..., description="automatic first decisions a moderator later decided otherwise"
    )
    reversal_share: float | None = Field(..., description="reversed / automatic")
    model_versions: list[str] = Field(..., description="of the assessments of these comments")


class LanguageSeries(Schema):
    language: str = Field(..., description='the engine\'s code: en, ar, …, "other"; "" unknown')
    name: str
    periods: list[LanguagePeriod]
    total: LanguagePeriod = Field(..., description="the whole range")


class LanguageStats(Schema):
    period: Literal["day", "week"]
    start: date = Field(..., description="first day of the first period")
    end: date = Field(..., description="today: the last period may be partial")
    languages: list[LanguageSeries]


class SanctionIn(Schema):
    action: Literal["suspend", "ban", "lift"]
    reason: str = Field(..., min_length=1, max_length=1000)
    days: int | None = Field(None, ge=1, le=3650, description="required to suspend")

    _reason = field_validator("reason")(storable_text)


class SanctionOut(Schema):
    id: int
    commenter: int
    action: Literal["suspend", "ban", "lift"]
    reason: str
    until: str | None = Field(None, description="end of a suspension (ISO 8601)")
    actor: str
    created: str


class GuidelineCount(Schema):
    code: str
    count: int


class CommenterOut(Schema):
    id: int
    name: str
    first_seen: str
    verified: bool
    approved: int
    rejected: int
    rejected_by_guideline: list[GuidelineCount]
    sanction: SanctionOut | None = Field(None, description="the sanction in force, if any")
    sanctions: list[SanctionOut]


# A status link's secret: URL-safe base64 (secrets.token_urlsafe).
URL_SAFE_64 = r"^[A-Za-z0-9_-]{1,64}$"


class AppealIn(Schema):
    status_token: str = Field(
        ...,
        pattern=URL_SAFE_64,
        description="the secret of the comment's status_url (its last path segment): only "
        "the comment's author holds it",
    )
    text: str = Field(
        ..., min_length=1, max_length=MAX_APPEAL_CHARS, description="why it should be published"
    )
    lang: str | None = Field(
        None,
        pattern=LANGUAGE_CODE,
        description="the language of the outcome mail (default: the article's)",
    )

    _text = field_validator("text")(storable_text)


class AppealFiled(Schema):
    id: int
    comment: int
    status: Literal["pending", "upheld", "overturned"]
    created: str


class RejectionOut(Schema):
    decision_id: int
    reasons: list[str]
    actor: str | None = Field(None, description="the moderator's user name; null if automatic")
    automatic: bool
    created: str


class AppealOutcomeOut(Schema):
    outcome: Literal["upheld", "overturned"]
    reason: str
    actor: str
    created: str
    decision_id: int | None = Field(None, description="the approval an overturn appended")


class AppealOut(Schema):
    id: int
    comment: int
    article: str
    comment_text: str
    comment_status: Literal["pending", "approved", "rejected"]
    status: Literal["pending", "upheld", "overturned"]
    text: str
    language: str
    created: str
    rejection: RejectionOut
    outcome: AppealOutcomeOut | None = None


class AppealList(Schema):
    count: int
    appeals: list[AppealOut]


class AppealDecisionIn(Schema):
    outcome: Literal["upheld", "overturned"]
    reason: str = Field(
        ..., min_length=1, max_length=MAX_REASON_CHARS, description="shown to the commenter"
    )

    _reason = field_validator("reason")(storable_text)


class AppealGuidelineFigures(Schema):
    guideline: str
    appeals: int
    pending: int
    upheld: int
    overturned: int
    overturn_rate: float | None = Field(None, description="overturned ÷ decided; null if none")


class AppealStatsOut(Schema):
    days: int
    total: AppealGuidelineFigures
    by_guideline: list[AppealGuidelineFigures]


def email_address(value: str) -> str:
    """An e-mail address as Django's validator takes it (what the commands accept too)."""
    from django.core.exceptions import ValidationError as DjangoValidationError
    from django.core.validators import validate_email

    value = storable_text(value).strip()
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("not an e-mail address") from None
    return value


class PrivacyIn(Schema):
    """The address is in the body, never the URL, so it stays out of access logs."""

    email: str = Field(..., min_length=3, max_length=254, description="the commenter's address")

    _email = field_validator("email")(email_address)


class EraseIn(PrivacyIn):
    withdraw: StrictBool = Field(
        False,
        description="also withdraw the comments (rejected with reason author_request; the "
        "token's user must also be a moderator)",
    )


class EraseOut(Schema):
    commenters: int = Field(..., description="commenters whose address and sign-on were erased")
    comments: int = Field(..., description="comments whose address, IP hash and name were erased")
    withdrawn: int | None = Field(None, description="comments withdrawn (with withdraw)")


class WithdrawOut(Schema):
    withdrawn: int = Field(..., description="comments rejected with reason author_request")
