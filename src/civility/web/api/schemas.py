"""Request and response shapes of the JSON API (they also make the OpenAPI schema)."""

from __future__ import annotations

from ninja import Field, Schema
from pydantic import field_validator


def storable_text(value: str) -> str:
    """Text a database can store: PostgreSQL refuses NUL, and no encoding takes lone surrogates."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains invalid Unicode (a lone surrogate)") from None
    return value


class ArticleIn(Schema):
    slug: str = Field(..., min_length=1, max_length=200, pattern=r"^[-a-zA-Z0-9_]+$")
    title: str = Field(..., min_length=1, max_length=300)
    body: str = Field("", max_length=200_000)
    language: str = Field("en", max_length=8)
    # http(s) only: the URL becomes a link on the article page.
    url: str = Field("", max_length=500, pattern=r"^(https?://\S+)?$")
    comments_open: bool = True

    _storable = field_validator("title", "body", "language", "url")(storable_text)


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


class CommentIn(Schema):
    author: str = Field(..., max_length=200)
    email: str | None = Field(None, max_length=254)
    text: str
    parent: int | None = None
    lang: str | None = Field(None, max_length=16, description="optional language hint, e.g. 'ckb'")


class CommentCreated(Schema):
    id: int
    status: str = Field(..., description="pending | approved | rejected")
    status_url: str


class ArticleText(Schema):
    title: str = ""
    body: str = ""


class AssessIn(Schema):
    text: str
    article: ArticleText | None = None
    lang: str | None = None


class DecisionIn(Schema):
    action: str = Field(..., description="approve | reject")
    reasons: list[str] = Field(default_factory=list, description="reason codes; required to reject")
    note: str = ""


class DecisionOut(Schema):
    id: int
    status: str
    decision_id: int
    action: str
    reasons: list[str]
    actor: str
    created: str


class Error(Schema):
    error: str
    field: str | None = None
