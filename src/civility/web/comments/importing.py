"""Storing a newsroom's past comments and decisions (`civility import`; the readers are in
civility.imports, the guide in docs/learning.md, "Importing history").

Imported comments are history: they keep their timestamps, carry a decision from the start
(so they never wait in the moderator queue), and are never assessed by the engine, queued for
the workers or announced by webhooks. Each comment has an `import_key` checksum, so running the
same file again adds nothing. Rows are checked with the service's text rules before anything
is written; a batch is written in one transaction, and if that still fails it is written again
row by row, so one bad row never costs its neighbours."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction

from civility.imports import MAX_DECIDER, Row, Skipped, import_key
from civility.web.articles.models import Article
from civility.web.text import clean_name, storable_problem, visible_text_problem

from . import services
from .models import APPROVE, Comment, Decision

log = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class ImportReport:
    imported: int = 0  # stored now (or, in a dry run, that would be)
    already: int = 0  # imported by an earlier run, or repeated in the file
    articles_created: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    undecided: list[tuple[int, str]] = field(default_factory=list)  # valid, but no decision
    dry_run: bool = False


@dataclass(frozen=True)
class _Ready:
    """A row that passed every check, in the form it is stored."""

    row: Row
    key: str
    author: str
    text: str
    decided_by: str


class _Invalid(ValueError):
    pass


def import_rows(
    items: Iterable[Row | Skipped],
    *,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    decided_by: str = "",
    progress: Callable[[], None] | None = None,
) -> ImportReport:
    """Store the rows a reader yields, `batch_size` to a transaction. `decided_by` names the
    person who decided rows whose source names nobody (the export says they were people);
    `progress` is called once per item read. A dry run checks everything and writes nothing."""
    report = ImportReport(dry_run=dry_run)
    # A dry run writes nothing, so what earlier batches would have added is remembered here.
    dry = _DryRun() if dry_run else None
    batch: list[_Ready] = []
    for item in items:
        if progress is not None:
            progress()
        if isinstance(item, Skipped):
            (report.bad if item.bad else report.undecided).append((item.line, item.reason))
            continue
        try:
            batch.append(_prepare(item, decided_by))
        except _Invalid as exc:
            report.bad.append((item.line, str(exc)))
        if len(batch) >= batch_size:
            _store(batch, report, dry)
            batch = []
    if batch:
        _store(batch, report, dry)
    report.bad.sort()
    return report


@dataclass
class _DryRun:
    keys: set[str] = field(default_factory=set)
    slugs: set[str] = field(default_factory=set)


def _prepare(row: Row, default_decider: str) -> _Ready:
    """The row as stored, or _Invalid: the rules every comment and article obeys."""
    try:
        author = services.clean_author(row.author)
        text = services.clean_text(row.text)
    except services.CommentError as exc:
        raise _Invalid(exc.message) from None
    article = row.article
    problem = (
        visible_text_problem(article.title.strip(), "article title", allow_lines=False)
        or _storable(article.body, "article body")
        or _storable(article.url, "article url")
        or _storable(article.language, "article language")
    )
    if problem:
        raise _Invalid(problem)
    decided_by = clean_name(row.decided_by or default_decider)
    if decided_by:
        problem = visible_text_problem(decided_by, "decided_by", allow_lines=False)
        if problem:
            raise _Invalid(problem)
        if len(decided_by) > MAX_DECIDER:
            raise _Invalid(f"decided_by is longer than {MAX_DECIDER} characters")
    key = import_key(article.slug, author, row.created_at, text)
    return _Ready(row=row, key=key, author=author, text=text, decided_by=decided_by)


def _storable(value: str, what: str) -> str | None:
    problem = storable_problem(value)
    return f"the {what} {problem}" if problem else None


def _store(batch: list[_Ready], report: ImportReport, dry: _DryRun | None) -> None:
    existing = set(
        Comment.objects.filter(import_key__in=[r.key for r in batch]).values_list(
            "import_key", flat=True
        )
    )
    if dry is not None:
        existing |= dry.keys
    fresh: list[_Ready] = []
    for ready in batch:
        if ready.key in existing:
            report.already += 1  # stored by an earlier run, or repeated in the file
            continue
        existing.add(ready.key)
        fresh.append(ready)
    if not fresh:
        return
    if dry is not None:
        slugs = {r.row.article.slug for r in fresh} - dry.slugs
        known = set(Article.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        dry.slugs |= slugs
        dry.keys.update(r.key for r in fresh)
        report.articles_created += len(slugs - known)
        report.imported += len(fresh)
        return
    try:
        with transaction.atomic():
            articles_created = _write(fresh)
    except DatabaseError as exc:
        # Checked rows should not fail; if some do (another import running at the same time,
        # a database limit), write them one at a time so only the failing rows are lost.
        log.warning("import batch failed (%s); writing its rows one by one", exc)
        for ready in fresh:
            _store_one(ready, report)
    else:
        report.imported += len(fresh)
        report.articles_created += articles_created


def _store_one(ready: _Ready, report: ImportReport) -> None:
    try:
        with transaction.atomic():
            if Comment.objects.filter(import_key=ready.key).exists():
                report.already += 1
                return
            articles_created = _write([ready])
    except DatabaseError as exc:
        report.bad.append((ready.row.line, f"could not be stored: {exc}"))
    else:
        report.imported += 1
        report.articles_created += articles_created


def _write(rows: list[_Ready]) -> int:
    """Articles (missing ones created, existing ones left as they are), comments and their
    decisions, inside the caller's transaction. Returns the number of articles created."""
    wanted = {}
    for ready in rows:
        wanted.setdefault(ready.row.article.slug, ready.row.article)
    articles = {a.slug: a for a in Article.objects.filter(slug__in=wanted)}
    missing = [
        Article(
            slug=ref.slug,
            title=ref.title.strip(),
            body=ref.body,
            url=ref.url,
            **({"language": ref.language} if ref.language else {}),
        )
        for slug, ref in wanted.items()
        if slug not in articles
    ]
    if missing:
        # Another process may create one of them meanwhile: theirs is kept.
        Article.objects.bulk_create(missing, ignore_conflicts=True)
        articles = {a.slug: a for a in Article.objects.filter(slug__in=wanted)}

    comments = [
        Comment(
            article=articles[ready.row.article.slug],
            author_name=ready.author,
            body=ready.text,
            created=ready.row.created_at,
            import_key=ready.key,
        )
        for ready in rows
    ]
    Comment.objects.bulk_create(comments)
    if not connection.features.can_return_rows_from_bulk_insert:
        ids = dict(
            Comment.objects.filter(import_key__in=[c.import_key for c in comments]).values_list(
                "import_key", "pk"
            )
        )
        for comment in comments:
            comment.pk = ids[comment.import_key]
    Decision.objects.bulk_create(
        Decision(
            comment=comment,
            action=ready.row.decision,
            reasons=list(ready.row.reasons),
            imported=True,
            decided_by=ready.decided_by,
            created=ready.row.decided_at or ready.row.created_at,
        )
        for comment, ready in zip(comments, rows, strict=True)
    )
    # Approved history is public: the articles' cached comment lists must be rebuilt.
    approved = {
        c.article_id for c, r in zip(comments, rows, strict=True) if r.row.decision == APPROVE
    }
    if approved:
        transaction.on_commit(lambda: [services._comments_changed(a) for a in sorted(approved)])
    return len(missing)
