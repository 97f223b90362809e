"""E-mail to commenters (the outcome of their comment, replies to it) and the outbox that every
Civility mail of this kind goes through (docs/web.md, "Notifications by e-mail").

How to use it (from any app at or above this one; the comments app and moderation do):

    from civility.web.commenters import notifications

    # When a comment is posted with the "e-mail me" box ticked, in its transaction:
    notifications.opt_in(comment, language="tr", origin="https://comments.example.org")

    # In the transaction of a change (an event subscriber, a service): one mail of `kind`
    # about `comment`, to its commenter, in the language of the page it was posted from.
    notifications.notify(comment, "approved")
    notifications.notify(comment, "appeal_upheld", extra={"appeal": 12},
                         opted_in_only=False, key=f"appeal_upheld:{comment.pk}")

    # A mail to an address that is not a commenter's (the moderators' digest):
    notifications.send_to("desk@example.org", "digest", "en", extra={...}, key="digest:…")

A kind is three templates on the template path, rendered in the mail's language:

    mail/<kind>.subject.txt   the subject (one line; line breaks are dropped)
    mail/<kind>.txt           the plain-text part (not escaped: it is plain text)
    mail/<kind>.html          the HTML part (escaped; <html lang dir> set for right-to-left)

with this context: `language`, `bidi`, `extra` (what the caller passed, JSON), `site` (the
site's origin: CIVILITY_SITE_URL, else the one recorded at opt-in, else `extra["origin"]`,
which a caller mailing a comment that did not opt in passes); for a commenter's mail also `comment` (the Comment), `article`, `name` (the
commenter's name as posted), `posted` (the date, in the language's digits), `comment_url`
(the comment under the article), `status_url` (its private status page), `reasons` (the
guidelines named by `extra["reasons"]`: dicts with `code`, `title`, `text`) and
`unsubscribe_url`. Add a kind by adding its templates (an unknown kind raises ValueError).

Nothing is sent inside the transaction. `notify` stores an OutgoingMail row in it (none when
the comment did not opt in, or a mail with the same `key` exists: one approval mail per
comment), and after the commit the row is sent by a Celery worker when a broker is
configured (task `civility.send_mail`), or else in this process. A failed send (the mail
server down) leaves the row pending and is retried with exponential backoff: by the worker, or
without a broker by the next mail this process sends once the backoff has passed, and by
`civility notifications send`. The decision that caused it is never affected.

The address is read when the mail is sent: the comment's e-mail or its verified commenter's.
No address (none given, or erased) or an unsubscribed one: the mail is skipped. Every
commenter mail carries a signed unsubscribe link (GET shows a confirmation, POST
unsubscribes) and List-Unsubscribe / List-Unsubscribe-Post headers for one-click unsubscribe.

The comment's text is never put in a mail: a typed address is not proof of ownership, and a
mail must not carry a stranger's words to it. Names are the reader's input: escaped in the
HTML part, and never in a header."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.http import urlencode

from civility.web import events as lifecycle
from civility.web import ratelimit
from civility.web.guidelines import GUIDELINES
from civility.web.i18n import local_digits, supported

from .identity import address_key
from .models import Authorship, NoticeRequest, OutgoingMail, Unsubscribed

log = logging.getLogger(__name__)

SEND_TASK = "civility.send_mail"  # the Celery task of tasks.py
UNSUBSCRIBE_SALT = "civility.commenters.unsubscribe"
APPROVED, REJECTED, REPLY = "approved", "rejected", "reply"
# A decision citing one of these is announced by a mail of its own: an overturned appeal's
# approval (comments.models.APPEAL_OVERTURNED) gets the appeal's outcome mail, not a second
# "published" one.
# A withdrawal at the author's request (comments.models.AUTHOR_REQUEST) answers their own
# request, which the newsroom answers itself: no "rejected, this guideline" mail.
ANNOUNCED_ELSEWHERE = frozenset({"appeal_overturned", "author_request"})
MAX_BACKOFF = 6 * 3600.0


# -- opting in ------------------------------------------------------------------------------


class OptInError(ValueError):
    """The opt-in cannot be recorded: no address to write to."""


# Set on a comment instance while it is posted: the page language it opted in with, or None.
# A decision in the posting transaction (an automatic one) then needs no query to know.
CHOICE = "_notification_choice"


def no_opt_in(comment) -> None:
    """The comment being posted did not ask for notifications (the posting path says so, so
    its automatic decision costs no query)."""
    comment.__dict__[CHOICE] = None


def opt_in(comment, language: str, origin: str = "", email: str = "") -> bool:
    """Record, in the posting transaction, that `comment`'s author wants its outcome and
    replies by e-mail, in `language`, with links to `origin` (scheme://host). `email`: the
    address the mails will go to (the typed one or the verified commenter's), for the limit of
    CIVILITY_NOTIFY_OPT_INS opt-ins per address (over it, nothing is recorded and False is
    returned; the comment stands). Raises OptInError when there is no address."""
    if not email:
        raise OptInError("notifications need an e-mail address")
    try:
        ratelimit.check("notify-opt-in", address_key(email), ratelimit.Limit(*_opt_in_limit()))
    except ratelimit.RateLimited:
        log.info("notification opt-in not recorded: too many for this address")
        no_opt_in(comment)
        return False
    notice = NoticeRequest.objects.create(
        comment_id=comment.pk,
        language=supported(language) or settings.LANGUAGE_CODE,
        origin=(origin or "")[:200],
    )
    comment.__dict__[CHOICE] = notice.language
    return True


def _opt_in_limit() -> tuple[int, int]:
    return tuple(getattr(settings, "CIVILITY_NOTIFY_OPT_INS", (20, 3600)))


# -- queueing a mail ------------------------------------------------------------------------


def check_kind(kind: str) -> None:
    """ValueError unless the three templates of `kind` exist."""
    if not isinstance(kind, str) or not kind.replace("_", "").isalnum():
        raise ValueError(f"not a mail kind: {kind!r}")
    for name in _templates(kind):
        try:
            get_template(name)
        except TemplateDoesNotExist:
            raise ValueError(f"mail kind {kind!r} has no template {name}") from None


def _templates(kind: str) -> tuple[str, str, str]:
    return f"mail/{kind}.subject.txt", f"mail/{kind}.txt", f"mail/{kind}.html"


def notify(
    comment,
    kind: str,
    *,
    extra: dict | None = None,
    opted_in_only: bool = True,
    key: str | None = None,
    language: str | None = None,
) -> OutgoingMail | None:
    """Queue one mail of `kind` about `comment` to its commenter, in the caller's transaction
    (sent after the commit). `opted_in_only`: only if the comment asked for notifications
    (False for a mail the commenter asked for otherwise, such as an appeal's outcome).
    `key`: at most one mail per key (default `<kind>:<comment id>`). `language`: default the
    page language the comment was posted in (else the article's). The row, or None when
    nothing was queued."""
    check_kind(kind)
    notice = NoticeRequest.objects.filter(comment_id=comment.pk).first()
    if notice is None and opted_in_only:
        return None
    if language is None:
        language = notice.language if notice else _article_language(comment)
    return _queue(
        kind,
        comment_id=comment.pk,
        language=language,
        extra=extra,
        key=key or f"{kind}:{comment.pk}",
    )


def send_to(address: str, kind: str, language: str, *, extra=None, key=None) -> OutgoingMail | None:
    """Queue a mail of `kind` to `address` (not a commenter's: the moderators' digest), in
    the caller's transaction. None when a mail with this `key` exists."""
    check_kind(kind)
    return _queue(kind, to=address, language=language, extra=extra, key=key)


def _queue(kind, *, comment_id=None, to="", language="", extra=None, key=None):
    try:
        with transaction.atomic():
            mail = OutgoingMail.objects.create(
                kind=kind,
                comment_id=comment_id,
                to=to,
                language=supported(language) or settings.LANGUAGE_CODE,
                extra=dict(extra or {}),
                dedupe_key=key,
            )
    except IntegrityError:  # this mail was queued before (the same key)
        return None
    transaction.on_commit(lambda: dispatch([mail.pk]))
    return mail


def _article_language(comment) -> str:
    return supported(getattr(comment.article, "language", "")) or settings.LANGUAGE_CODE


# -- the lifecycle's events (subscribed in apps.py) -----------------------------------------


def wants(event: str) -> bool:
    return event in (lifecycle.APPROVED, lifecycle.REJECTED)


def handle(event: str, items) -> None:
    """A decision approved or rejected these comments: the outcome to those that opted in,
    and, for an approved reply, a reply notice to the comment it answers."""
    approved = event == lifecycle.APPROVED
    known = {c.pk: c.__dict__[CHOICE] for c, _decision in items if CHOICE in c.__dict__}
    ids = {comment.pk for comment, _decision in items} - set(known)
    if approved:
        ids |= {comment.parent_id for comment, _decision in items if comment.parent_id}
    notices = {pk: language for pk, language in known.items() if language is not None}
    if ids:  # a fresh post's own choice is known; the rest (and replied-to comments) looked up
        notices.update(
            NoticeRequest.objects.filter(comment_id__in=ids).values_list("comment_id", "language")
        )
    if not notices:
        return
    for comment, decision in items:
        if ANNOUNCED_ELSEWHERE.intersection(getattr(decision, "reasons", None) or []):
            continue
        if comment.pk in notices:
            kind = APPROVED if approved else REJECTED
            extra = {} if approved else {"reasons": list(getattr(decision, "reasons", []) or [])}
            _queue(
                kind,
                comment_id=comment.pk,
                language=notices[comment.pk],
                extra=extra,
                key=f"{kind}:{comment.pk}",
            )
        if approved and comment.parent_id in notices:
            _queue(
                REPLY,
                comment_id=comment.parent_id,
                language=notices[comment.parent_id],
                extra={"reply": comment.pk},
                key=f"{REPLY}:{comment.pk}",
            )


# -- unsubscribing --------------------------------------------------------------------------


class UnsubscribeError(Exception):
    """The unsubscribe link cannot be used; `.reason` is expired or invalid."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def unsubscribe_token(email: str) -> str:
    """A signed (SECRET_KEY, salted) token naming the address by its keyed hash, so the link
    carries no address."""
    return signing.dumps({"a": address_key(email)}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: object) -> str:
    """The address key the token names; UnsubscribeError (expired / invalid) otherwise."""
    if not isinstance(token, str) or not token or len(token) > 500:
        raise UnsubscribeError("invalid")
    try:
        payload = signing.loads(
            token, salt=UNSUBSCRIBE_SALT, max_age=settings.CIVILITY_UNSUBSCRIBE_MAX_AGE
        )
    except signing.SignatureExpired:
        raise UnsubscribeError("expired") from None
    except signing.BadSignature:
        raise UnsubscribeError("invalid") from None
    key = payload.get("a") if isinstance(payload, dict) else None
    if not isinstance(key, str) or len(key) != 32:
        raise UnsubscribeError("invalid")
    return key


def unsubscribe(token: object) -> None:
    """Spend nothing, just record: the address of this token gets no further mail."""
    key = read_unsubscribe_token(token)
    Unsubscribed.objects.get_or_create(key=key)


def is_unsubscribed(email: str) -> bool:
    return Unsubscribed.objects.filter(key=address_key(email)).exists()


def held_about(comment_ids) -> dict[int, dict]:
    """What the notifications hold about these comments, for a personal-data export: per
    comment that asked for mails, its language and the mails queued (kind, status, when sent)."""
    ids = list(comment_ids)
    held = {
        pk: {"language": language, "mails": []}
        for pk, language in NoticeRequest.objects.filter(comment_id__in=ids).values_list(
            "comment_id", "language"
        )
    }
    for mail in OutgoingMail.objects.filter(comment_id__in=ids).order_by("id"):
        entry = held.setdefault(mail.comment_id, {"language": mail.language, "mails": []})
        entry["mails"].append(
            {
                "kind": mail.kind,
                "status": mail.status,
                "sent": mail.sent.isoformat() if mail.sent else None,
            }
        )
    return held


# -- building a mail ------------------------------------------------------------------------


class _Skip(Exception):
    """Nothing to send (no address, unsubscribed, the comment gone): the row is skipped."""


def _origin(notice: NoticeRequest | None) -> str:
    site = getattr(settings, "CIVILITY_SITE_URL", "") or (notice.origin if notice else "")
    return site.rstrip("/")


def _commenter_of(comment_id: int):
    link = Authorship.objects.filter(comment_id=comment_id).select_related("commenter").first()
    return link.commenter if link is not None else None


def address_of(comment) -> str:
    """Where a commenter's mail about `comment` goes: the e-mail given with it, else its
    verified commenter's (none once erased)."""
    if comment.author_email:
        return comment.author_email
    commenter = _commenter_of(comment.pk)
    if commenter is not None and commenter.erased is None and commenter.email:
        return commenter.email
    return ""


def _comment_model():
    from django.apps import apps

    return apps.get_model("comments", "Comment")  # by name: this app never imports comments


def _guidelines(codes) -> list[dict]:
    known = {code: (title, text) for code, title, text in GUIDELINES}
    chosen = [c for c in codes if c in known] or (["other"] if codes else [])
    return [{"code": c, "title": known[c][0], "text": known[c][1]} for c in chosen]


def _commenter_context(mail: OutgoingMail) -> tuple[str, dict]:
    comment = _comment_model().objects.select_related("article").filter(pk=mail.comment_id).first()
    if comment is None:
        raise _Skip("the comment is gone")
    address = address_of(comment)
    if not address:
        raise _Skip("no address")
    if is_unsubscribed(address):
        raise _Skip("unsubscribed")
    notice = NoticeRequest.objects.filter(comment_id=comment.pk).first()
    origin = _origin(notice) or str(mail.extra.get("origin") or "").rstrip("/")
    lang = urlencode({"lang": mail.language})
    article_url = f"{origin}{comment.article.get_absolute_url()}?{lang}"
    context = {
        "site": origin,
        "comment": comment,
        "article": comment.article,
        "name": _shown_name(comment),
        "posted": local_digits(
            formats.date_format(timezone.localtime(comment.created), "DATE_FORMAT"),
            mail.language,
        ),
        "comment_url": f"{article_url}#comment-{comment.pk}",
        "status_url": f"{origin}{comment.get_status_url()}?{lang}",
        "reasons": _guidelines(mail.extra.get("reasons") or []),
        "unsubscribe_url": (
            f"{origin}{reverse('commenters:unsubscribe')}?"
            + urlencode({"token": unsubscribe_token(address), "lang": mail.language})
        ),
    }
    if mail.kind == REPLY:
        reply = _comment_model().objects.filter(pk=mail.extra.get("reply")).first()
        if reply is None:
            raise _Skip("the reply is gone")
        if address_of(reply).casefold() == address.casefold():
            raise _Skip("a reply to oneself")
        context["reply_name"] = _shown_name(reply)
        context["reply_url"] = f"{article_url}#comment-{reply.pk}"
    return address, context


def _shown_name(comment) -> str:
    commenter = _commenter_of(comment.pk)
    if commenter is not None and commenter.erased is not None:
        return commenter.shown_name
    return comment.author_name


def build(mail: OutgoingMail) -> EmailMultiAlternatives:
    """The message for this row, in its language; _Skip when there is nothing to send."""
    language = supported(mail.language) or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "language": language,
            "bidi": translation.get_language_bidi(),
            "extra": mail.extra,
            "site": _origin(None),
        }
        headers = {"Auto-Submitted": "auto-generated"}
        if mail.comment_id is not None:
            address, more = _commenter_context(mail)
            context.update(more)
            headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        else:
            address = mail.to
            if not address:
                raise _Skip("no address")
        subject_name, text_name, html_name = _templates(mail.kind)
        subject = " ".join(render_to_string(subject_name, context).split())
        text = render_to_string(text_name, context)
        html = render_to_string(html_name, context)
    message = EmailMultiAlternatives(subject, text, None, [address], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


# -- sending --------------------------------------------------------------------------------


def backoff(attempts: int) -> float:
    """Seconds before attempt number attempts + 1: base, 2 x base, … (at most 6 hours)."""
    return min(MAX_BACKOFF, settings.CIVILITY_MAIL_RETRY_BASE * 2 ** max(0, attempts - 1))


def attempt(mail_id: int) -> float | None:
    """One attempt at a pending, due mail: the seconds until the next attempt when sending
    failed and may be retried, else None (sent, skipped, given up, or not ours now)."""
    now = timezone.now()
    lease = float(getattr(settings, "EMAIL_TIMEOUT", None) or 10) * 2 + 5
    # Take the row for the length of one attempt: a duplicate message does not send it twice.
    taken = OutgoingMail.objects.filter(
        pk=mail_id, status=OutgoingMail.PENDING, next_attempt__lte=now + timedelta(seconds=1)
    ).update(next_attempt=now + timedelta(seconds=lease))
    if not taken:
        return None
    mail = OutgoingMail.objects.get(pk=mail_id)
    try:
        message = build(mail)
    except _Skip as why:
        _finish(mail, OutgoingMail.SKIPPED, str(why))
        return None
    try:
        message.send()
    except Exception as exc:  # the mail server: down, refusing, timing out
        mail.attempts += 1
        error = f"{type(exc).__name__}: {exc}"[:500]
        if mail.attempts >= settings.CIVILITY_MAIL_MAX_ATTEMPTS:
            log.error("mail %s given up after %s attempts (%s)", mail.pk, mail.attempts, error)
            _finish(mail, OutgoingMail.FAILED, error)
            return None
        delay = backoff(mail.attempts)
        log.warning("mail %s not sent (%s); next attempt in %.0f s", mail.pk, error, delay)
        mail.last_error = error
        mail.next_attempt = timezone.now() + timedelta(seconds=delay)
        mail.save(update_fields=["attempts", "last_error", "next_attempt"])
        return delay
    mail.attempts += 1
    mail.sent = timezone.now()
    _finish(mail, OutgoingMail.SENT, "")
    return None


def _finish(mail: OutgoingMail, status: str, error: str) -> None:
    mail.status, mail.last_error = status, error[:500]
    mail.save(update_fields=["status", "attempts", "last_error", "sent"])


# Without a broker: after a failure this process leaves the mail server alone until the
# backoff has passed, so a mail server that is down costs a moderator's request one attempt,
# not one per mail.
_local = threading.Lock()
_server_down_until = 0.0


def dispatch(mail_ids: list[int]) -> None:
    """Send these mails (after the commit that stored them): by name to a worker when a broker
    is configured, else here, followed by up to ten due retries."""
    from civility.web.workers import send_each

    if not send_each(SEND_TASK, mail_ids, "mail"):
        send_here(mail_ids, retries=10)


def send_here(mail_ids: list[int], retries: int = 0) -> int:
    """Attempt these mails in this process, then up to `retries` others that are due; the
    number done (sent or skipped). Stops at the first failure (the rest stay pending) and, for this process,
    leaves the mail server alone until that failure's backoff has passed."""
    global _server_down_until
    if time.monotonic() < _server_down_until:
        log.info("mail server failed recently: %s mail(s) wait for a retry", len(mail_ids))
        return 0
    ids = list(mail_ids)
    if retries:
        ids += [pk for pk in due(retries + len(ids)) if pk not in ids][:retries]
    done = 0
    for mail_id in ids:
        delay = attempt(mail_id)
        if delay is not None:
            with _local:
                _server_down_until = time.monotonic() + delay
            break
        done += 1
    return done


def due(limit: int = 1000, overdue: float = 0.0) -> list[int]:
    """Pending mails whose next attempt is due (`overdue` seconds past it), oldest first."""
    before = timezone.now() - timedelta(seconds=overdue)
    return list(
        OutgoingMail.objects.filter(status=OutgoingMail.PENDING, next_attempt__lte=before)
        .order_by("next_attempt", "id")
        .values_list("pk", flat=True)[:limit]
    )


def sweep() -> int:
    """The workers' sweeper: pending mails long past their next attempt (their message was
    lost with a worker or the broker) sent again; the number."""
    ids = due(1000, overdue=settings.CIVILITY_SWEEP_AFTER)
    if ids:
        transaction.on_commit(lambda: dispatch(ids))
    return len(ids)


def send_pending() -> tuple[int, int]:
    """Every due pending mail, here and now (`civility notifications send`, a cron job on a
    site without workers): (done: sent or skipped, still pending)."""
    global _server_down_until
    _server_down_until = 0.0
    done = 0
    for mail_id in due():
        if attempt(mail_id) is None:
            done += 1
    return done, OutgoingMail.objects.filter(status=OutgoingMail.PENDING).count()


def reset() -> None:
    """Forget that the mail server failed (tests)."""
    global _server_down_until
    _server_down_until = 0.0
