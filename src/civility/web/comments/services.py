"""The one place comments are created and decided. Views, the API, the moderation app and
the demo all go through these functions, so the rules live in one spot.

How web-moderation uses it:
- list the queue with `Comment.objects.with_status()` (annotates `current_status`,
  `decided_at`, `decided_automatically`); `select_related("article", "assessment")`.
- decide with `record_decision(comment, "approve"|"reject", reasons=[codes], actor=request.user,
  note="")`; it checks the actor's `comments.moderate_comment` permission, appends a Decision
  and invalidates the article's cached comment list. Pages and the API pass `seen=` (the
  latest decision id the moderator saw, None if pending) and `change=True` to reverse one; a
  decision made since raises `DecisionConflict` and records nothing.
  It raises `DecisionError` (a ValueError with `.field`) on bad input: show its message.
- show `author_history(comment)` -> (approved, rejected) on each card; the decision trail is
  `comment.decisions.all()` (oldest first; `.automatic`, `.actor_label`).
- valid reason codes are `REASON_CODES` (guideline categories + "off_topic" + "other", and
  "author_request": a withdrawal, a rejection citing it alone; see `is_withdrawal`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from civility.web import events, ratelimit
from civility.web.articles.models import Article
from civility.web.commenters import notifications
from civility.web.commenters import sanctions as commenter_sanctions
from civility.web.commenters.models import Authorship
from civility.web.text import MAX_ID, clean_name, storable_problem, visible_text_problem

from . import cache as article_cache
from . import queueing
from .models import (
    ACTION_STATUS,
    APPEAL_OVERTURNED,
    APPROVE,
    APPROVED,
    AUTHOR_REQUEST,
    PENDING,
    REASON_CODES,
    REJECT,
    REJECTED,
    Assessment,
    Comment,
    Decision,
)
from .standing import with_standing

log = logging.getLogger(__name__)

MAX_COMMENT_CHARS = int(getattr(settings, "CIVILITY_MAX_COMMENT_CHARS", 2000))
MAX_AUTHOR_CHARS = 80


class CommentError(ValueError):
    """A comment cannot be accepted; `.field` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class CommenterRefused(CommentError):
    """The commenter (or the verified e-mail given) is suspended or banned; `.sanction` says
    which and until when."""

    def __init__(self, sanction):
        if sanction.until is not None:
            message = f"this commenter is suspended until {sanction.until.isoformat()}"
        else:
            message = "this commenter is banned from commenting"
        super().__init__("commenter", message)
        self.sanction = sanction


class VerificationRequired(CommentError):
    """The site takes comments from verified commenters only (CIVILITY_COMMENTERS=verified)
    and this post comes from none."""

    def __init__(self):
        super().__init__(
            "commenter",
            "this site takes comments from verified commenters only: post with sso_token (the "
            "publisher's sign-on) or from a browser verified through the e-mail sign-in link",
        )


class DecisionError(ValueError):
    """A decision cannot be recorded; `.field` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def hash_ip(ip: str | None) -> str:
    if not ip:
        return ""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()[:32]


def verified_only() -> bool:
    """The site takes comments from verified commenters only (CIVILITY_COMMENTERS)."""
    return getattr(settings, "CIVILITY_COMMENTERS", "open") == "verified"


def _posting_limits() -> tuple[ratelimit.Limit, ratelimit.Limit]:
    per_ip = getattr(settings, "CIVILITY_POST_LIMIT_PER_IP", (10, 60))
    per_author = getattr(settings, "CIVILITY_POST_LIMIT_PER_AUTHOR", (5, 60))
    return ratelimit.Limit(*per_ip), ratelimit.Limit(*per_author)


def validate_comment(
    article: Article, author: str, email: str, text: str, parent
) -> tuple[str, str, str]:
    """Cleaned (author, email, text) or CommentError naming the field."""
    if not article.comments_open:
        raise CommentError("article", "comments are closed on this article")
    author = clean_author(author)
    email = (email or "").strip() if isinstance(email, str | None) else None
    if email is None:
        raise CommentError("email", "the e-mail must be text")
    if email:
        problem = storable_problem(email)
        if problem:
            raise CommentError("email", f"the e-mail {problem}")
        try:
            validate_email(email)
        except ValidationError:
            raise CommentError("email", "the e-mail address is not valid") from None
    text = clean_text(text)
    if parent is not None and parent.article_id != article.pk:
        raise CommentError("parent", "the comment replied to belongs to another article")
    return author, email, text


def clean_author(author) -> str:
    """The display name as stored, or CommentError("author", …)."""
    if not isinstance(author, str | None):
        raise CommentError("author", "the name must be text")
    author = clean_name(author or "")  # bidi controls could reorder what surrounds the name
    if not author:
        raise CommentError("author", "a name is required")
    problem = visible_text_problem(author, "name", allow_lines=False)
    if problem:
        raise CommentError("author", problem)
    if len(author) > MAX_AUTHOR_CHARS:
        raise CommentError("author", f"the name is longer than {MAX_AUTHOR_CHARS} characters")
    return author


def clean_text(text) -> str:
    """The comment text as stored (trimmed), or CommentError("text", …)."""
    if not isinstance(text, str) or not text.strip():
        raise CommentError("text", "the comment is empty")
    problem = visible_text_problem(text, "comment")
    if problem:
        raise CommentError("text", problem)
    if len(text) > MAX_COMMENT_CHARS:
        raise CommentError(
            "text", f"the comment is {len(text)} characters; the limit is {MAX_COMMENT_CHARS}"
        )
    return text.strip()


def submit_comment(
    article: Article,
    author: str,
    email: str | None,
    text: str,
    parent: Comment | None = None,
    ip: str | None = None,
    lang: str | None = None,
    commenter=None,
    notify_in: str | None = None,
    origin: str = "",
) -> Comment:
    """Validate, rate-limit, store, assess; decide automatically when the policy is sure.
    `commenter`: the verified Commenter posting (a signed-in browser), linked to the comment.
    `notify_in`: the commenter asked for e-mail about the outcome and replies, in this page
    language, with links to `origin` (commenters/notifications.py); it needs an address.

    Raises CommentError (bad input; CommenterRefused for a suspended or banned commenter or
    verified e-mail) or ratelimit.RateLimited. An engine failure leaves the comment stored and
    pending for a moderator, never lost."""
    author, email, text = validate_comment(article, author, email, text, parent)
    sanction = commenter_sanctions.in_force_for(commenter, email)
    if sanction is not None:
        raise CommenterRefused(sanction)
    notify_address = ""
    if notify_in is not None:
        notify_address = email or (commenter.email if commenter is not None else "") or ""
        if not notify_address:
            raise CommentError("notify", "e-mail notifications need an e-mail address")
    ip_hash = hash_ip(ip)
    per_ip, per_author = _posting_limits()
    author_key = hashlib.sha256(author.casefold().encode()).hexdigest()[:32]
    hits = [("post-ip", ip_hash, per_ip)] if ip_hash else []
    ratelimit.check_all([*hits, ("post-author", author_key, per_author)])  # one round trip
    # After the limits, so refused attempts count against them too (each may send a mail).
    if commenter is None and verified_only():
        raise VerificationRequired()

    comment = Comment(
        article=article,
        parent=parent,
        author_name=author,
        author_email=email,
        body=text,
        ip_hash=ip_hash,
    )
    if queueing.in_workers():
        # No engine here: the comment waits for a worker, its row and message go with it.
        if (
            connection.vendor == "postgresql"
            and commenter is None
            and notify_in is None
            and not events.listened(events.CREATED)
        ):
            queueing.insert_and_queue(comment, lang or "")  # one statement, one round trip
        else:
            with transaction.atomic():
                comment.save()
                _link(comment, commenter)
                _opt_in(comment, notify_in, origin, notify_address)
                queueing.queue_comments([comment], {comment.pk: lang or ""}, fresh=True, soon=True)
                events.comment_created(comment)
        comment.__dict__["current_status"] = PENDING
        comment.__dict__["being_assessed_now"] = True
        return comment

    # In the request (no broker): the engine runs first (a few ms, in memory) so the comment,
    # its assessment and any automatic decision are stored in one transaction: one commit per
    # comment. If the engine fails, the comment is stored alone and waits for a moderator; it
    # is never lost.
    try:
        moderator = engine_moderator()
        result = moderator.assess(text, article=article.engine_article(), lang=lang)
    except Exception as exc:
        with transaction.atomic():
            comment.save()
            _link(comment, commenter)
            _opt_in(comment, notify_in, origin, notify_address)
            events.comment_created(comment)
        log.error(
            "engine failed on comment %s (%s: %s); left pending for a moderator",
            comment.pk,
            type(exc).__name__,
            exc,
        )
        return comment

    comment.language = result.language
    with transaction.atomic():
        comment.save()
        _link(comment, commenter)
        _opt_in(comment, notify_in, origin, notify_address)
        events.comment_created(comment)
        record_assessments(
            [(comment, result)], moderator, fresh=True, commenters={comment.pk: commenter}
        )
    return comment


def _link(comment: Comment, commenter) -> None:
    """Record who posted it (a row of its own: the comment is not written again)."""
    if commenter is not None:
        Authorship.objects.create(comment=comment, commenter=commenter)


def _opt_in(comment: Comment, language: str | None, origin: str, address: str) -> None:
    """The commenter's request for e-mail about this comment, before any decision on it (an
    automatic one may come in the same transaction)."""
    if language is None:
        notifications.no_opt_in(comment)
    else:
        notifications.opt_in(comment, language, origin, address)


def record_assessments(
    pairs: list, moderator, fresh: bool = False, commenters: dict | None = None
) -> None:
    """Store the engine's results for these comments, inside the caller's transaction: each
    one's Assessment (replacing one made under another model version), and the automatic
    decision where the policy is sure and nobody has decided yet. `fresh`: the comments were
    saved in this transaction (nothing to look up). A comment of a verified commenter is
    decided under their standing (policy [trust]: trusted, watched; comments/standing.py);
    `commenters` ({comment id: Commenter or None}) when the caller knows who posted.

    Events and the public-list invalidation follow the commit."""
    if not pairs:
        return
    pairs = with_standing(pairs, moderator, commenters)
    ids = [comment.pk for comment, _ in pairs]
    existing: dict[int, int] = {}
    decided: set[int] = set()
    if not fresh:
        # Lock the comments, as record_decision does, so a moderator's decision and this one
        # are made one after the other and "nobody decided yet" stays true until commit.
        if connection.vendor == "sqlite":  # a write takes SQLite's one lock; reads then see all
            Comment.objects.filter(pk__in=ids).update(ip_hash=F("ip_hash"))
        else:  # in id order, so two transactions never wait on each other's rows in a cycle
            list(Comment.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
        existing = dict(
            Assessment.objects.filter(comment_id__in=ids).values_list("comment_id", "pk")
        )
        decided = set(
            Decision.objects.filter(comment_id__in=ids).values_list("comment_id", flat=True)
        )
    policy_version = getattr(getattr(moderator, "policy", None), "version", "")
    created, decisions, languages = [], [], {}
    for comment, result in pairs:
        fields = _assessment_fields(result)
        if comment.pk in existing:
            Assessment.objects.filter(pk=existing[comment.pk]).update(**fields)
        else:
            created.append(Assessment(comment=comment, **fields))
        if not fresh and comment.language != result.language:
            languages.setdefault(result.language, []).append(comment.pk)
            comment.language = result.language
        if comment.pk in decided:
            continue  # a moderator (or an earlier assessment) decided: evidence only
        if result.decision in (APPROVE, REJECT):
            codes = [c for c in result.reason_codes if c in REASON_CODES]
            decisions.append(
                Decision(
                    comment=comment,
                    action=result.decision,
                    reasons=(codes or ["other"]) if result.decision == REJECT else [],
                    actor_policy_version=f"policy-{policy_version or result.model_version}",
                )
            )
            # Known without a query: the decision just made is the latest one.
            comment.__dict__["current_status"] = ACTION_STATUS[result.decision]
        comment.__dict__["being_assessed_now"] = False
    Assessment.objects.bulk_create(created)
    events.assessed(pairs)  # the learning app keeps a shadow version's view, if one runs
    for language, comment_ids in languages.items():
        Comment.objects.filter(pk__in=comment_ids).update(language=language)
    Decision.objects.bulk_create(decisions)
    approved_articles = {d.comment.article_id for d in decisions if d.action == APPROVE}
    if approved_articles:
        # After commit: holding the article row's lock for the whole transaction would queue
        # every concurrent post on the same article behind it.
        transaction.on_commit(lambda: [_comments_changed(a) for a in sorted(approved_articles)])
    decided_now = {d.comment_id for d in decisions}
    events.decided(decisions)
    events.needs_review([c for c, _ in pairs if c.pk not in decided and c.pk not in decided_now])


def _assessment_fields(result) -> dict:
    return {
        "model_version": result.model_version,
        "categories": dict(result.categories),
        "abuse_kinds": dict(result.abuse_kinds),
        "spans": [span.to_dict() for span in result.spans],
        "relevance": result.relevance,
        "score": float(result.score),
        "suggested_decision": result.decision,
        "reasons": list(result.reasons),
        "reason_codes": list(result.reason_codes),
        "language": result.language,
    }


def engine_moderator():
    """The process's shared engine (tests replace this with a fake)."""
    from civility.web.engine import get_moderator

    return get_moderator()


class DecisionConflict(Exception):
    """Someone decided the comment after the state the moderator saw: nothing was recorded.
    `latest` is the comment's current decision, `since` every decision after the one seen."""

    def __init__(self, comment: Comment, seen: int | None, since: list[Decision]):
        super().__init__(f"comment {comment.pk} was decided after decision {seen}")
        self.comment = comment
        self.seen = seen
        self.since = since
        self.latest = since[-1]


# record_decision's `seen` when the caller does not say what it saw (internal callers, tests):
# the decision is appended whatever came before it.
UNCHECKED = object()


def record_decision(
    comment: Comment,
    action: str,
    reasons=None,
    actor=None,
    note: str = "",
    *,
    seen=UNCHECKED,
    change: bool = False,
    overturning_appeal: bool = False,
) -> Decision:
    """Append a moderator's decision. Raises DecisionError (bad input or no permission).

    A moderator's page or API client says which state it decided on: `seen` is the id of the
    comment's latest decision it saw, None when it saw the comment pending. If the comment has
    been decided since, nothing is recorded and DecisionConflict says by whom. A first decision
    (`change` False) needs a pending comment; reversing one is `change=True` with the id of the
    decision being changed. `overturning_appeal`: the approval an overturned appeal appends
    (appeals.decide_appeal), the one decision that may cite APPEAL_OVERTURNED."""
    if action not in ACTION_STATUS:
        raise DecisionError("action", "action must be 'approve' or 'reject'")
    reasons = list(reasons or [])
    codes = (*REASON_CODES, APPEAL_OVERTURNED) if overturning_appeal else REASON_CODES
    unknown = [r for r in reasons if not isinstance(r, str) or r not in codes]
    if unknown:
        raise DecisionError(
            "reasons", f"unknown reason code(s): {unknown}; known: {', '.join(REASON_CODES)}"
        )
    if action == REJECT and not reasons:
        raise DecisionError("reasons", "a rejection needs at least one reason code")
    if AUTHOR_REQUEST in reasons and (action != REJECT or reasons != [AUTHOR_REQUEST]):
        raise DecisionError(
            "reasons",
            f"{AUTHOR_REQUEST} withdraws a comment at its author's request: "
            "a rejection citing it alone",
        )
    if not isinstance(note, str) or len(note) > 2000:
        raise DecisionError("note", "the note must be text of at most 2000 characters")
    problem = storable_problem(note)
    if problem:
        raise DecisionError("note", f"the note {problem}")
    if actor is None or not actor.is_authenticated:
        raise DecisionError("actor", "a decision needs a signed-in moderator")
    if not actor.has_perm("comments.moderate_comment"):
        raise DecisionError("actor", "this user may not moderate comments")
    if seen is not UNCHECKED:
        _check_seen_shape(seen, change)
    with transaction.atomic():
        # Take the comment's row lock first (a write: on SQLite it takes the write lock too),
        # so decisions on one comment are made one after another: ids then follow commit
        # order, and each `created` is read after the previous decision was stored.
        Comment.objects.filter(pk=comment.pk).update(ip_hash=F("ip_hash"))
        previous = (
            Decision.objects.filter(comment=comment)
            .order_by("-id")
            .values_list("action", "created", "id")
            .first()
        )
        if seen is not UNCHECKED:
            _check_seen(comment, seen, change, previous[2] if previous else None)
        was_approved = previous is not None and previous[0] == APPROVE
        created = timezone.now() if previous is None else max(timezone.now(), previous[1])
        decision = Decision.objects.create(
            comment=comment, action=action, reasons=reasons, actor=actor, note=note, created=created
        )
        events.decided([decision])
    comment.__dict__.pop("current_status", None)
    if was_approved or action == APPROVE:
        _comments_changed(comment.article_id)
    return decision


def is_withdrawal(reasons) -> bool:
    """The decision's reasons withdraw the comment at its author's request (no guideline)."""
    return list(reasons or []) == [AUTHOR_REQUEST]


def decision_facts(decision: Decision) -> dict:
    """One decision as plain data (a conflict's report, the live queue)."""
    return {
        "decision_id": decision.pk,
        "action": decision.action,
        "status": ACTION_STATUS[decision.action],
        "reasons": list(decision.reasons),
        "actor": decision.actor_label,
        "automatic": decision.automatic,
        "created": decision.created.isoformat(),
    }


def _check_seen_shape(seen, change: bool) -> None:
    if seen is not None and (
        isinstance(seen, bool) or not isinstance(seen, int) or not 1 <= seen <= MAX_ID
    ):
        raise DecisionError("seen_decision", "seen_decision must be a decision id or null")
    if change and seen is None:
        raise DecisionError(
            "seen_decision", "changing a decision needs the id of the decision being changed"
        )


def _check_seen(comment: Comment, seen: int | None, change: bool, latest: int | None) -> None:
    """Under the comment's lock: DecisionConflict if it was decided after `seen`, DecisionError
    if `seen` is not one of its decisions or a first decision would reverse one."""
    if seen is not None and not Decision.objects.filter(comment=comment, pk=seen).exists():
        raise DecisionError("seen_decision", f"decision {seen} is not one of this comment's")
    if latest != seen:
        since = Decision.objects.filter(comment=comment).select_related("actor")
        if seen is not None:
            since = since.filter(pk__gt=seen)
        raise DecisionConflict(comment, seen, list(since.order_by("id")))
    if latest is not None and not change:
        raise DecisionError(
            "seen_decision",
            f"the comment is already decided (decision {latest}); "
            "reversing it is an explicit change of decision",
        )


def moderators_group():
    """The Moderators group with the moderate permission (recreated if someone removed it)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    group, _ = Group.objects.get_or_create(name="Moderators")
    content_type = ContentType.objects.get_for_model(Comment)
    permission, _ = Permission.objects.get_or_create(
        codename="moderate_comment",
        content_type=content_type,
        defaults={"name": "Can approve or reject comments"},
    )
    group.permissions.add(permission)
    return group


def author_history(comment: Comment) -> tuple[int, int]:
    """(approved, rejected) counts of the same author's other comments. The author is the
    verified commenter when the comment is linked to one; otherwise name and IP hash together
    (a typed e-mail proves nothing: anyone can type a regular's address)."""
    others = Comment.objects.exclude(pk=comment.pk)
    link = Authorship.objects.filter(comment_id=comment.pk).values_list("commenter_id", flat=True)
    commenter_id = link.first()
    if commenter_id is not None:
        others = others.filter(authorship__commenter_id=commenter_id)
    else:
        others = others.filter(author_name=comment.author_name, ip_hash=comment.ip_hash)
    counts = {APPROVED: 0, REJECTED: 0}
    for status in others.with_status().values_list("current_status", flat=True):
        if status in counts:
            counts[status] += 1
    return counts[APPROVED], counts[REJECTED]


def comments_changed(article_id: int) -> None:
    """The article's public comment list changed without a decision (an erased author)."""
    _comments_changed(article_id)


def _comments_changed(article_id: int) -> None:
    """Invalidate the cached public comment list of one article (in every process)."""
    if not connection.features.can_return_columns_from_insert:  # no UPDATE … RETURNING
        Article.objects.filter(pk=article_id).update(comments_version=F("comments_version") + 1)
        article_cache.forget_article(article_id)
        return
    # Learning the new version in the same statement lets this process keep its memoised
    # article (the next read, or post, needs no query to find it).
    table = connection.ops.quote_name(Article._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET comments_version = comments_version + 1 "  # noqa: S608 - our own table name
            "WHERE id = %s RETURNING comments_version",
            [article_id],
        )
        row = cursor.fetchone()
    if row is None:
        article_cache.forget_article(article_id)
    else:
        article_cache.comments_version_changed(article_id, row[0])
