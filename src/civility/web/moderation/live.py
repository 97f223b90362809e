"""The live queue: what changed since a moderator's page last looked, and who is reading what.

An open queue follows the comments table, the assessments and the decision trail by id, the
way a client follows an event stream from its last event id: `Cursor` is the position in
each, and `changes(cursor)` names the comments with a new row since (posted, assessed or
decided) and the cursor to ask from next. The page then asks `cards/` for those comments
under its own filters: a card that no longer matches (decided, for the pending queue) leaves.

Ids are given at insert time and a transaction may commit after one with a higher id (on
PostgreSQL), so the cursor remembers the ids it skipped below its high mark ("holes") and
asks for them again until they appear or fall HOLE_WINDOW ids behind (a rolled-back insert
leaves a hole for ever).

`Stream` is one open Server-Sent Events connection: `civility serve`'s ASGI front
(civility.web.asgi) keeps it open and calls `poll()` every second in a thread; under any other
server the view answers one batch and the browser reconnects after `retry` (a short poll).

Claims are soft: "Layla is reading this", shown to the other moderators, one per moderator,
renewed by the page while she stays on the card and gone CLAIM_SECONDS after that."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import close_old_connections
from django.db.models import Max, Q
from django.utils import timezone

from civility.web.comments.models import Assessment, Comment, Decision
from civility.web.text import MAX_ID

from .models import Claim

CLAIM_SECONDS = 120
HOLE_WINDOW = 1000  # ids behind the high mark a hole is still waited for
MAX_HOLES = 50
BATCH = 500  # rows per table per poll; the rest come with the next one
POLL_SECONDS = 1.0  # how often an open stream looks (and the browser's reconnect delay)
STREAM_SECONDS = 300  # a stream then ends and the browser reconnects (signing in again)
KEEPALIVE_SECONDS = 15

TABLES = (Comment, Assessment, Decision)


@dataclass(frozen=True)
class Position:
    """How far one table has been read: every id up to `high` but the `holes`."""

    high: int
    holes: tuple[int, ...] = ()

    def __str__(self) -> str:
        return f"{self.high}:{','.join(map(str, self.holes))}" if self.holes else str(self.high)

    def after(self, ids: list[int]) -> Position:
        """The position once `ids` (all above `high` or in `holes`) have been read."""
        seen = set(ids)
        high = max([self.high, *ids])
        floor = high - HOLE_WINDOW
        skipped = range(max(self.high + 1, floor + 1), high)
        holes = [h for h in self.holes if h not in seen and h > floor]
        holes += [i for i in skipped if i not in seen]
        return Position(high, tuple(holes[-MAX_HOLES:]))

    def unread(self) -> Q:
        return Q(pk__gt=self.high) | Q(pk__in=self.holes) if self.holes else Q(pk__gt=self.high)


@dataclass(frozen=True)
class Cursor:
    comments: Position
    assessments: Position
    decisions: Position

    def __str__(self) -> str:
        return "_".join(str(p) for p in (self.comments, self.assessments, self.decisions))


_POSITION = rf"\d{{1,19}}(?::\d{{1,19}}(?:,\d{{1,19}}){{0,{MAX_HOLES - 1}}})?"
_CURSOR = re.compile(rf"({_POSITION})_({_POSITION})_({_POSITION})")


def parse(text: str | None) -> Cursor | None:
    """The cursor a page sent back (Last-Event-ID or ?since=), or None if it is not one."""
    match = _CURSOR.fullmatch(text or "")
    if match is None:
        return None
    positions = []
    for part in match.groups():
        high, _, holes = part.partition(":")
        numbers = [int(high), *(int(h) for h in holes.split(",") if h)]
        if max(numbers) > MAX_ID:
            return None
        positions.append(Position(numbers[0], tuple(numbers[1:])))
    return Cursor(*positions)


def head() -> Cursor:
    """Now: the highest id of each table (what a page rendered now has seen)."""
    highs = [model.objects.aggregate(m=Max("pk"))["m"] or 0 for model in TABLES]
    return Cursor(*(Position(h) for h in highs))


def changes(cursor: Cursor) -> tuple[list[int], Cursor]:
    """(ids of the comments posted, assessed or decided since `cursor`, the next cursor)."""
    positions, changed = [], set()
    for model, position, column in (
        (Comment, cursor.comments, "pk"),
        (Assessment, cursor.assessments, "comment_id"),
        (Decision, cursor.decisions, "comment_id"),
    ):
        unread = model.objects.filter(position.unread()).order_by("pk")
        rows = list(unread.values_list("pk", column)[:BATCH])
        changed.update(comment for _, comment in rows)
        positions.append(position.after([pk for pk, _ in rows]))
    return sorted(changed), Cursor(*positions)


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def claim(user, comment_id: int) -> None:
    """`user` is reading this comment (and no longer any other) for CLAIM_SECONDS."""
    expires = timezone.now() + timedelta(seconds=CLAIM_SECONDS)
    Claim.objects.update_or_create(
        user=user, defaults={"comment_id": comment_id, "expires": expires}
    )


def release(user, comment_id: int | None = None) -> None:
    """`user` stopped reading (that comment, or any)."""
    claims = Claim.objects.filter(user=user)
    if comment_id is not None:
        claims = claims.filter(comment_id=comment_id)
    claims.delete()


def claims_by_others(user_id: int) -> dict[str, list[str]]:
    """{comment id: names of the other moderators reading it}, claims not yet expired."""
    readers: dict[str, list[str]] = {}
    active = (
        Claim.objects.filter(expires__gt=timezone.now())
        .exclude(user_id=user_id)
        .select_related("user")
        .order_by("comment_id", "user_id")
    )
    for item in active:
        readers.setdefault(str(item.comment_id), []).append(display_name(item.user))
    return readers


def event(name: str, data: dict, event_id: str | None = None) -> str:
    """One Server-Sent Event. The data is JSON on one line (names are the moderators' own,
    and JSON escapes any line break they might hold)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def first_batch(cursor: Cursor, user_id: int) -> tuple[str, Cursor, dict]:
    """What a stream (or a short poll) starts with: the changes since `cursor`, always with
    the current claims and the cursor to continue from. (text, next cursor, claims)"""
    changed, cursor = changes(cursor)
    claims = claims_by_others(user_id)
    text = event("queue", {"comments": changed}, str(cursor)) + event("claims", {"claims": claims})
    return text, cursor, claims


class Stream:
    """One open event stream, continued by the ASGI front (civility.web.asgi) after the view
    answered its first batch: `poll()` runs in a thread every `interval` seconds."""

    interval = POLL_SECONDS
    max_seconds = STREAM_SECONDS
    keepalive_seconds = KEEPALIVE_SECONDS

    def __init__(self, user_id: int, cursor: Cursor, claims: dict):
        self.user_id = user_id
        self.cursor = cursor
        self.claims = claims

    def poll(self) -> bytes:
        """The events since the last poll, b"" when nothing changed."""
        close_old_connections()  # this thread has no request cycle to recycle its connection
        changed, self.cursor = changes(self.cursor)
        claims = claims_by_others(self.user_id)
        text = ""
        if changed:
            text += event("queue", {"comments": changed}, str(self.cursor))
        if claims != self.claims:
            self.claims = claims
            text += event("claims", {"claims": claims})
        return text.encode()

    def close(self) -> None:
        close_old_connections()
