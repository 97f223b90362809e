"""Webhooks' subscriber to the comment lifecycle's event stream (civility.web.events,
subscribed in apps.py): called inside the transaction that makes the change, it stores the
deliveries in it; they are sent after it commits (none if it rolls back). The events are
listed in civility.web.events."""

from __future__ import annotations

import json
import threading
import time

from django.db import transaction

from civility.web import events as lifecycle

from .models import Delivery, Webhook

# Which webhooks want which events, per process, for a few seconds: a post must not pay a
# query for webhooks that usually do not exist. A new or changed webhook is seen by every
# process within SUBSCRIBERS_TTL seconds (at once in the process that saved it).
SUBSCRIBERS_TTL = 5.0
_subscribers: tuple[float, list[tuple[int, frozenset]]] = (float("-inf"), [])
_lock = threading.Lock()


def forget_subscribers() -> None:
    global _subscribers
    with _lock:
        # Stale whatever the clock says (time.monotonic() starts near 0 when a machine boots).
        _subscribers = (float("-inf"), [])


def subscribers(event: str) -> list[int]:
    global _subscribers
    loaded, hooks = _subscribers
    if time.monotonic() - loaded > SUBSCRIBERS_TTL:
        hooks = [
            (pk, frozenset(events))
            for pk, events in Webhook.objects.filter(active=True).values_list("pk", "events")
        ]
        with _lock:
            _subscribers = (time.monotonic(), hooks)
    return [pk for pk, events in hooks if event in events]


def wants(event: str) -> bool:
    return event in lifecycle.EVENTS and bool(subscribers(event))


def forget_changed(sender, **kwargs) -> None:
    """A webhook saved or deleted: this process sees the change at once, the others within
    SUBSCRIBERS_TTL seconds (a post_save / post_delete receiver, connected in apps.py)."""
    forget_subscribers()


def handle(event: str, items) -> None:
    _emit(event, items)


def _emit(event: str, items) -> None:
    if not items:
        return
    hooks = subscribers(event)
    if not hooks:
        return
    deliveries = [
        Delivery(
            webhook_id=hook,
            event=event,
            comment_id=comment.pk,
            payload=_body(event, comment, decision),
        )
        for comment, decision in items
        for hook in hooks
    ]
    Delivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in deliveries]

    def send():
        from .delivery import dispatch

        dispatch(ids)

    transaction.on_commit(send)


def _body(event: str, comment, decision) -> str:
    """The JSON body. The comment's text is the reader's, so hostile: it only ever travels
    inside this JSON string, never in a header or a URL."""
    status = (
        {"approve": "approved", "reject": "rejected"}[decision.action] if decision else "pending"
    )
    payload = {
        "event": event,
        "comment": {
            "id": comment.pk,
            "article": comment.article.slug,
            "parent": comment.parent_id,
            "author": comment.author_name,
            "text": comment.body,
            "language": comment.language,
            "created": comment.created.isoformat(),
            "status": status,
        },
        "decision": None
        if decision is None
        else {
            "action": decision.action,
            "reasons": list(decision.reasons),
            "automatic": decision.actor_id is None,
            "by": decision.actor_policy_version if decision.actor_id is None else "moderator",
            "created": decision.created.isoformat(),
        },
    }
    return json.dumps(payload, ensure_ascii=False)
