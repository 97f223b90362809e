"""The public, approved comments of an article, computed once per change and cached.

Keys carry the article's `comments_version`, which every decision that changes the public
list bumps in the database; so a process with a stale local cache simply misses and rebuilds."""

from __future__ import annotations

from django.core.cache import cache

TIMEOUT = 24 * 3600


def _key(kind: str, article_id: int, version: int) -> str:
    return f"civility:comments:{kind}:{article_id}:{version}"


def approved_comments(article) -> list[dict]:
    """Approved comments, oldest first, each a dict with public fields only (no e-mail)."""
    key = _key("list", article.pk, article.comments_version)
    data = cache.get(key)
    if data is None:
        from .models import Comment

        rows = (
            Comment.objects.approved()
            .filter(article_id=article.pk)
            .order_by("created", "id")
            .values("id", "parent_id", "author_name", "body", "language", "created")
        )
        data = [
            {
                "id": row["id"],
                "parent": row["parent_id"],
                "author": row["author_name"],
                "text": row["body"],
                "language": row["language"],
                "created": row["created"].isoformat(),
            }
            for row in rows
        ]
        cache.set(key, data, TIMEOUT)
    return data


def threaded(comments: list[dict]) -> list[dict]:
    """Top-level comments with `replies` nested; replies to hidden comments go top-level."""
    by_id = {c["id"]: {**c, "replies": []} for c in comments}
    roots = []
    for item in by_id.values():
        parent = by_id.get(item["parent"])
        (parent["replies"] if parent else roots).append(item)
    return roots


def cached_fragment(kind: str, article, build) -> str:
    """A rendered piece of HTML for the article's comments, rebuilt after each change."""
    key = _key(kind, article.pk, article.comments_version)
    html = cache.get(key)
    if html is None:
        html = build()
        cache.set(key, html, TIMEOUT)
    return html
