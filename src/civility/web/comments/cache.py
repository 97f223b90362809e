"""The public, approved comments of an article, computed once per change and cached.

Keys carry the article's `comments_version`, which every decision that changes the public
list bumps in the database; so a process with a stale local cache simply misses and rebuilds."""

from __future__ import annotations

import copy
import time

from django.conf import settings
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


# This process's copy of fragments already fetched from the shared cache: a hot read then
# skips unpickling (or a Redis round trip). Keys carry the comments version, so an entry is
# never stale, only unused; the memo is simply emptied when it grows.
_local_fragments: dict[str, object] = {}
LOCAL_FRAGMENTS_MAX = 256


def _remember(key: str, value):
    if len(_local_fragments) >= LOCAL_FRAGMENTS_MAX:
        _local_fragments.clear()
    _local_fragments[key] = value
    return value


def peek_fragment(kind: str, article):
    """The cached value for the article's current comments version, or None (nothing built)."""
    key = _key(kind, article.pk, article.comments_version)
    value = _local_fragments.get(key)
    if value is None:
        value = cache.get(key)
        if value is not None:
            _remember(key, value)
    return value


def cached_fragment(kind: str, article, build):
    """Something built from the article's comments (HTML, JSON), rebuilt after each change."""
    value = peek_fragment(kind, article)
    if value is None:
        value = build()
        cache.set(_key(kind, article.pk, article.comments_version), value, TIMEOUT)
        _remember(_key(kind, article.pk, article.comments_version), value)
    return value


# Articles by slug, memoised per process for a moment: the hot pages then need no query at
# all. A decision or an article save clears this process's entry at once; other server
# processes see the change within MEMO_SECONDS.
MEMO_SECONDS = 1.0
_article_memo: dict[str, tuple[float, object]] = {}


def get_article(slug: str):
    """The Article with this slug, or None."""
    from civility.web.articles.models import Article

    now = time.monotonic()
    seconds = getattr(settings, "CIVILITY_ARTICLE_MEMO_SECONDS", MEMO_SECONDS)
    hit = _article_memo.get(slug)
    if hit is not None and now - hit[0] < seconds:
        return hit[1]
    article = Article.objects.filter(slug=slug).first()
    if article is not None:
        if len(_article_memo) > 1000:
            _article_memo.clear()
        _article_memo[slug] = (now, article)
    return article


def forget_article(article_id: int | None = None) -> None:
    """Drop memoised articles (one by id, or all; all also empties the fragment memo)."""
    if article_id is None:
        _local_fragments.clear()
    for slug, (_, article) in list(_article_memo.items()):
        if article_id is None or article.pk == article_id:
            _article_memo.pop(slug, None)


def comments_version_changed(article_id: int, version: int) -> None:
    """This process just moved the article's comments version to `version`: update its
    memoised copy instead of dropping it. A copy, so requests holding the old object are
    unaffected; never backwards, since concurrent bumps may report out of order."""
    for slug, (seen, article) in list(_article_memo.items()):
        if article.pk == article_id and article.comments_version < version:
            updated = copy.copy(article)
            updated.comments_version = version
            _article_memo[slug] = (seen, updated)
