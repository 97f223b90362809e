"""The comment lifecycle's event stream: the lifecycle code (comments/services.py) announces
each change here, and never calls what reacts to it. Webhooks subscribe (webhooks/apps.py);
e-mail notifications and the live queue subscribe the same way.

comment.created       a comment was stored (before any assessment)
comment.approved      a decision approved it (the policy's or a moderator's)
comment.rejected      a decision rejected it
comment.needs_review  its assessment landed and the policy left it to the moderators

An event carries `items`: (comment, decision or None) pairs, one per comment it is about.
These four are the public ones (a webhook may choose them). One more stays in the process:

comment.assessed      the engine's assessments were stored: (comment, engine Assessment)
                      pairs (the learning app keeps a shadow version's view of them)

Subscribers are called in the transaction that makes the change, so that what they store
(a webhook's delivery rows) commits or rolls back with it. Whatever leaves the process (an HTTP
request, a message, a mail) they do after the commit, with `transaction.on_commit`. A
subscriber that raises rolls the change back: the reader gets an error instead of a comment
that was stored but never announced.

This module is below every app (the layering contract in pyproject.toml): it imports none."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

CREATED = "comment.created"
APPROVED = "comment.approved"
REJECTED = "comment.rejected"
NEEDS_REVIEW = "comment.needs_review"
ASSESSED = "comment.assessed"
EVENTS = (CREATED, APPROVED, REJECTED, NEEDS_REVIEW)  # the public ones
ALL_EVENTS = (*EVENTS, ASSESSED)
_DECIDED = {"approve": APPROVED, "reject": REJECTED}


@dataclass(frozen=True)
class Subscriber:
    name: str
    handle: Callable[[str, list[tuple]], None]  # (event, items)
    # Whether it wants this event now (a cheap check, so a post that nobody listens to pays
    # nothing, and the lifecycle can take its one-statement path).
    wants: Callable[[str], bool]


_subscribers: dict[str, Subscriber] = {}
_lock = threading.Lock()


def subscribe(
    name: str,
    handle: Callable[[str, list[tuple]], None],
    wants: Callable[[str], bool] = lambda event: True,
) -> None:
    """Register (or replace) the subscriber called `name`; an app does it in its ready()."""
    with _lock:
        _subscribers[name] = Subscriber(name, handle, wants)


def unsubscribe(name: str) -> None:
    with _lock:
        _subscribers.pop(name, None)


def subscribers() -> list[Subscriber]:
    return list(_subscribers.values())


def listened(event: str) -> bool:
    """True when some subscriber wants this event now."""
    _check(event)
    return any(s.wants(event) for s in subscribers())


def emit(event: str, items: Iterable[tuple]) -> None:
    """Announce `event` for these (comment, decision or None) pairs, in the caller's
    transaction: each subscriber that wants it is called, in the order they subscribed."""
    _check(event)
    items = list(items)
    if not items:
        return
    for subscriber in subscribers():
        if subscriber.wants(event):
            subscriber.handle(event, items)


def comment_created(comment) -> None:
    emit(CREATED, [(comment, None)])


def assessed(pairs) -> None:
    """(comment, engine Assessment) pairs just stored."""
    emit(ASSESSED, pairs)


def needs_review(comments) -> None:
    emit(NEEDS_REVIEW, [(c, None) for c in comments])


def decided(decisions) -> None:
    """Approvals and rejections, automatic or by a moderator."""
    for action, event in _DECIDED.items():
        emit(event, [(d.comment, d) for d in decisions if d.action == action])


def _check(event: str) -> None:
    if event not in ALL_EVENTS:
        raise ValueError(f"unknown event {event!r}; the events are {', '.join(ALL_EVENTS)}")
