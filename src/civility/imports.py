"""Reading a newsroom's past comments and decisions for `civility import` (docs/learning.md,
"Importing history"): JSON Lines in Civility's own shape, Coral's comments as its GraphQL API
returns them (one per line), and Disqus's XML export.

No Django here. A reader turns a file into `Row`s, one per comment with its decision, and
`Skipped` items naming the line and why nothing is imported from it (a malformed line, or a
Coral comment that was never decided). The web side (civility.web.comments.importing) applies
the service's text rules to each row and stores it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from html.parser import HTMLParser
from typing import BinaryIO
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

APPROVE, REJECT = "approve", "reject"
# The limits of the article fields, as the articles API applies them (web/api/schemas.py).
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
MAX_SLUG, MAX_TITLE, MAX_BODY, MAX_URL, MAX_LANGUAGE = 200, 300, 200_000, 500, 8
HTTP_URL = re.compile(r"^https?://\S+$")
LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,2}$")
MAX_DECIDER = 150


@dataclass(frozen=True)
class ArticleRef:
    """The article a comment was posted under, as the file describes it."""

    slug: str
    title: str
    body: str = ""
    url: str = ""
    language: str = ""  # blank: the article model's default


@dataclass(frozen=True)
class Row:
    """One past comment and the decision taken on it. Timestamps are aware, in UTC."""

    line: int
    article: ArticleRef
    author: str
    text: str
    created_at: datetime
    decision: str  # APPROVE or REJECT
    reasons: tuple[str, ...]
    decided_by: str = ""  # the person who decided, as the file names them; blank: unknown
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Skipped:
    """A line that yields nothing to import. `bad`: the line is in error (reported as a bad
    row); otherwise it is valid but holds no decision (a Coral comment still pending)."""

    line: int
    reason: str
    bad: bool = True


class _Bad(ValueError):
    """A row's problem, raised while reading its fields."""


@dataclass(frozen=True)
class Context:
    reason_codes: Collection[str]
    default_tz: tzinfo  # for timestamps without an offset
    now: datetime


Reader = Callable[[BinaryIO, Context], Iterator["Row | Skipped"]]


def read(
    fmt: str,
    stream: BinaryIO,
    *,
    reason_codes: Collection[str],
    default_tz: tzinfo = UTC,
    now: datetime | None = None,
) -> Iterator[Row | Skipped]:
    """Rows and skipped lines of `stream` (opened in binary) in file order. `fmt` is a key of
    FORMATS; `reason_codes` are the codes a decision may cite."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    context = Context(frozenset(reason_codes), default_tz, now or datetime.now(UTC))
    return FORMATS[fmt](stream, context)


def import_key(slug: str, author: str, created_at: datetime, text: str) -> str:
    """The checksum that makes importing a file twice add nothing: sha256 over the article
    slug, the author, the posting time (UTC) and the text."""
    payload = json.dumps([slug, author, created_at.astimezone(UTC).isoformat(), text])
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


# -- JSON Lines ---------------------------------------------------------------------------------


# The longest line a JSON Lines file may have: the largest row (a 200,000-character article
# body, every character escaped as \uXXXX) fits about three times over. A longer line is
# reported and skipped without being held in memory.
MAX_LINE_BYTES = 4 * 1024 * 1024


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) for each line; None for a line longer than MAX_LINE_BYTES, which
    is read past in pieces of that size."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
            yield number, raw
            continue
        while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield number, None


def _json_lines(stream: BinaryIO) -> Iterator[tuple[int, dict | Skipped]]:
    """(line number, JSON object or Skipped) for each non-blank line."""
    for number, raw in _lines(stream):
        if raw is None:
            reason = f"the line is longer than {MAX_LINE_BYTES:,} bytes; skipped"
            yield number, Skipped(number, reason)
            continue
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield number, Skipped(number, f"not valid UTF-8 (byte {exc.start + 1} of the line)")
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, Skipped(number, f"not valid JSON ({exc.msg}, column {exc.colno})")
            continue
        except RecursionError:
            yield number, Skipped(number, "not valid JSON (nested too deeply)")
            continue
        if not isinstance(record, dict):
            yield number, Skipped(number, f"expected a JSON object, got {_json_type(record)}")
            continue
        yield number, record


def read_jsonl(stream: BinaryIO, context: Context) -> Iterator[Row | Skipped]:
    """Civility's own shape, one comment a line:
    {"article": {"slug", "title", "body"?, "url"?, "language"?}, "author", "text",
     "created_at", "decision": "approve"|"reject", "reasons": [codes], "decided_by"?,
     "decided_at"?}"""
    for number, record in _json_lines(stream):
        if isinstance(record, Skipped):
            yield record
            continue
        try:
            yield _jsonl_row(number, record, context)
        except _Bad as exc:
            yield Skipped(number, str(exc))


def _jsonl_row(number: int, record: dict, context: Context) -> Row:
    article = record.get("article")
    if not isinstance(article, dict):
        raise _Bad(f"'article' must be an object, got {_json_type(article)}")
    slug = _string(article, "slug", "article slug")
    if not SLUG.match(slug) or len(slug) > MAX_SLUG:
        raise _Bad(f"article slug {_show(slug)} must be 1-{MAX_SLUG} letters, digits, '-' or '_'")
    title = _string(article, "title", "article title")
    if len(title) > MAX_TITLE:
        raise _Bad(f"the article title is longer than {MAX_TITLE} characters")
    body = _string(article, "body", "article body", required=False)
    if len(body) > MAX_BODY:
        raise _Bad(f"the article body is longer than {MAX_BODY} characters")
    url = _string(article, "url", "article url", required=False)
    if url and (not HTTP_URL.match(url) or len(url) > MAX_URL):
        raise _Bad(f"article url {_show(url)} must be an http(s) URL of at most {MAX_URL} chars")
    language = _string(article, "language", "article language", required=False)
    if language and (not LANGUAGE_CODE.match(language) or len(language) > MAX_LANGUAGE):
        raise _Bad(f"article language {_show(language)} is not a language code such as en or ar")

    decision = record.get("decision")
    if decision not in (APPROVE, REJECT):
        raise _Bad(f"decision must be 'approve' or 'reject', not {_show(decision)}")
    reasons = record.get("reasons", [])
    if reasons is None:
        reasons = []
    if not isinstance(reasons, list):
        raise _Bad(f"'reasons' must be a list of reason codes, got {_json_type(reasons)}")
    unknown = [r for r in reasons if not isinstance(r, str) or r not in context.reason_codes]
    if unknown:
        raise _Bad(
            f"unknown reason code(s) {unknown!r}; known: {', '.join(sorted(context.reason_codes))}"
        )
    created_at = _timestamp(record.get("created_at"), "created_at", context, required=True)
    decided_at = _timestamp(record.get("decided_at"), "decided_at", context)
    return _row(
        number,
        ArticleRef(slug, title, body, url, language),
        author=_string(record, "author", "author"),
        text=_string(record, "text", "text"),
        created_at=created_at,
        decision=decision,
        reasons=reasons,
        decided_by=_string(record, "decided_by", "decided_by", required=False),
        decided_at=decided_at,
    )


def _row(number, article, *, author, text, created_at, decision, reasons, decided_by, decided_at):
    """A Row with the checks every format shares: the decision comes after the comment, and
    a rejection names at least one reason (`other` when the source gave none)."""
    if decided_at is not None and decided_at < created_at:
        raise _Bad("decided_at is earlier than created_at")
    if len(decided_by) > MAX_DECIDER:
        raise _Bad(f"decided_by is longer than {MAX_DECIDER} characters")
    reasons = tuple(dict.fromkeys(reasons))  # without repeats, in order
    if decision == REJECT and not reasons:
        reasons = ("other",)
    return Row(
        line=number,
        article=article,
        author=author,
        text=text,
        created_at=created_at,
        decision=decision,
        reasons=reasons,
        decided_by=decided_by.strip(),
        decided_at=decided_at,
    )


def _string(record: dict, key: str, label: str, required: bool = True) -> str:
    value = record.get(key)
    if value is None:
        if required:
            raise _Bad(f"missing {label}")
        return ""
    if not isinstance(value, str):
        raise _Bad(f"{label} must be a string, got {_json_type(value)}")
    if required and not value.strip():
        raise _Bad(f"{label} is empty")
    return value


def _timestamp(value, label: str, context: Context, required: bool = False) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text; without an offset, `context.default_tz`."""
    if value is None or value == "":
        if required:
            raise _Bad(f"missing {label}")
        return None
    if not isinstance(value, str):
        raise _Bad(f"{label} must be an ISO 8601 date and time, got {_json_type(value)}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Bad(f"{label} {_show(value)} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=context.default_tz)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise _Bad(f"{label} {_show(value)} is out of range") from None
    if moment > context.now:
        raise _Bad(f"{label} {_show(value)} is in the future")
    return moment


def _json_type(value) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _show(value, limit: int = 60) -> str:
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit] + "…"
    return repr(value)


# -- Coral ------------------------------------------------------------------------------------

CORAL_DECISIONS = {"APPROVED": APPROVE, "ACCEPTED": APPROVE, "REJECTED": REJECT}
CORAL_UNDECIDED = {"NONE", "PREMOD", "SYSTEM_WITHHELD"}
# Flag reasons (COMMENT_FLAG_REASON) that say what a rejected comment was; any other flag
# (offensive, toxic, banned or suspect word, new commenter, …) names no guideline of ours.
CORAL_FLAG_REASONS = {
    "COMMENT_REPORTED_SPAM": "promotion",
    "COMMENT_DETECTED_SPAM": "promotion",
    "COMMENT_DETECTED_LINKS": "promotion",
}


def read_coral(stream: BinaryIO, context: Context) -> Iterator[Row | Skipped]:
    """One Coral `Comment` object a line, as Coral's GraphQL API returns it (docs/learning.md
    lists the fields read). APPROVED (ACCEPTED before Coral 5) approves and REJECTED rejects;
    NONE, PREMOD and SYSTEM_WITHHELD were never decided and are skipped."""
    for number, record in _json_lines(stream):
        if isinstance(record, Skipped):
            yield record
            continue
        status = record.get("status")
        if status in CORAL_UNDECIDED:
            yield Skipped(number, f"Coral status {status}: no moderation decision", bad=False)
            continue
        try:
            if status not in CORAL_DECISIONS:
                raise _Bad(f"unknown Coral status {_show(status)}")
            yield _coral_row(number, record, CORAL_DECISIONS[status], context)
        except _Bad as exc:
            yield Skipped(number, str(exc))


def _coral_row(number: int, record: dict, decision: str, context: Context) -> Row:
    story = record.get("story")
    if not isinstance(story, dict):
        raise _Bad("missing story")
    story_id = _string(story, "id", "story id")
    url = story.get("url") if isinstance(story.get("url"), str) else ""
    metadata = story.get("metadata") if isinstance(story.get("metadata"), dict) else {}
    title = metadata.get("title") if isinstance(metadata.get("title"), str) else ""
    article = _derived_article(story_id, url, title, fallback="coral-" + _digest(story_id))

    body = record.get("body")
    if body is None:
        raise _Bad("the comment has no body (deleted in Coral)")
    if not isinstance(body, str):
        raise _Bad(f"body must be a string, got {_json_type(body)}")
    author = record.get("author")
    if not isinstance(author, dict) or not isinstance(author.get("username"), str):
        raise _Bad("the comment has no author username (the Coral user may have been deleted)")
    created_at = _timestamp(record.get("createdAt"), "createdAt", context, required=True)

    # The moderation action that set the final status: the latest one with that outcome.
    decided_by, decided_at = "", None
    for action in _connection_nodes(record.get("statusHistory")):
        if CORAL_DECISIONS.get(action.get("status")) != decision:
            continue
        moderator = action.get("moderator")
        # No moderator: Coral's own system decided (a banned word, say); not a person.
        decided_by = (moderator.get("username") or "") if isinstance(moderator, dict) else ""
        if not isinstance(decided_by, str):
            decided_by = ""
        decided_at = _timestamp(action.get("createdAt"), "statusHistory createdAt", context)

    reasons: list[str] = []
    if decision == REJECT:
        flags = [flag.get("reason") for flag in _connection_nodes(record.get("flags"))]
        counts = record.get("actionCounts")
        if not flags and isinstance(counts, dict) and isinstance(counts.get("flag"), dict):
            by_reason = counts["flag"].get("reasons")
            if isinstance(by_reason, dict):
                flags = [r for r, n in by_reason.items() if isinstance(n, int) and n > 0]
        reasons = sorted({CORAL_FLAG_REASONS[f] for f in flags if f in CORAL_FLAG_REASONS})
    return _row(
        number,
        article,
        author=author["username"],
        text=html_to_text(body),
        created_at=created_at,
        decision=decision,
        reasons=reasons,
        decided_by=decided_by,
        decided_at=decided_at,
    )


def _connection_nodes(connection) -> list[dict]:
    """The objects of a GraphQL connection, given as `nodes` or as `edges[].node`."""
    if not isinstance(connection, dict):
        return []
    nodes = connection.get("nodes")
    if not isinstance(nodes, list):
        edges = connection.get("edges")
        nodes = (
            [e.get("node") for e in edges if isinstance(e, dict)] if isinstance(edges, list) else []
        )
    return [n for n in nodes if isinstance(n, dict)]


# -- Disqus -----------------------------------------------------------------------------------

DISQUS_INTERNALS = "http://disqus.com/disqus-internals"


def read_disqus(stream: BinaryIO, context: Context) -> Iterator[Row | Skipped]:
    """Disqus's XML export: <thread dsq:id> elements (the articles) before the <post>s that
    refer to them. A post neither deleted nor spam was approved; isSpam rejects it as
    promotion, isDeleted as other. The export names no moderator."""
    threads: dict[str, ArticleRef] = {}
    for number, element in _top_level_elements(stream):
        if isinstance(element, Skipped):
            yield element
            continue
        name = _local(element.tag)
        if name == "thread":
            thread_id = _dsq_id(element)
            if thread_id:
                threads[thread_id] = _derived_article(
                    _child_text(element, "id"),
                    _child_text(element, "link"),
                    _child_text(element, "title"),
                    fallback="disqus-" + _safe_id(thread_id),
                )
        elif name == "post":
            try:
                yield _disqus_row(number, element, threads, context)
            except _Bad as exc:
                yield Skipped(number, str(exc))


def _disqus_row(number: int, post: Element, threads: dict, context: Context) -> Row:
    thread = _child(post, "thread")
    thread_id = _dsq_id(thread) if thread is not None else ""
    if not thread_id:
        raise _Bad("the post names no thread")
    if thread_id not in threads:
        raise _Bad(f"the post's thread {_show(thread_id)} is not declared before it")
    author = _child(post, "author")
    name = ""
    if author is not None:
        name = _child_text(author, "name") or _child_text(author, "username")
    if not name.strip():
        raise _Bad("missing author name")
    spam = _flag(post, "isSpam")
    deleted = _flag(post, "isDeleted")
    decision = REJECT if spam or deleted else APPROVE
    reasons = ["promotion"] if spam else ["other"] if deleted else []
    created_at = _timestamp(_child_text(post, "createdAt"), "createdAt", context, required=True)
    return _row(
        number,
        threads[thread_id],
        author=name,
        text=html_to_text(_child_text(post, "message")),
        created_at=created_at,
        decision=decision,
        reasons=reasons,
        decided_by="",
        decided_at=None,
    )


def _flag(element: Element, name: str) -> bool:
    value = _child_text(element, name).strip().lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise _Bad(f"{name} must be true or false, not {_show(value)}")


# What one item (a <thread> or <post>) of a Disqus export may hold: a real post has about 15
# elements and a few kilobytes of text. An item past these is a bad row, skipped while it is
# read, so memory stays bounded whatever the file holds. Nesting deeper than MAX_XML_DEPTH,
# or one tag (with its attributes), comment or declaration longer than MAX_XML_TOKEN bytes,
# ends the read: expat holds every open element, and a whole tag, until it is complete.
MAX_XML_DEPTH = 32
MAX_ITEM_ELEMENTS = 500
MAX_ITEM_CHARS = 1_000_000
MAX_XML_TOKEN = 4 * 1024 * 1024
XML_CHUNK = 1 << 16


class _Stop(Exception):
    """Ends the read of an XML file at `line`, for `reason`."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


class _Items:
    """expat's handlers: each child of the root element is built while it is read and handed
    over (as an Element, or a Skipped if it broke a limit) when its end tag arrives. Nothing
    outside the current item is kept."""

    def __init__(self, parser):
        self.parser = parser
        self.depth = 0
        self.builder: TreeBuilder | None = None
        self.line = self.elements = self.chars = 0
        self.item = ""  # the current item's tag
        self.over = ""  # why the current item is skipped, once it broke a limit
        self.done: list[tuple[int, Element | Skipped]] = []
        self.seen = 0  # the byte index of the last event

    def start(self, name, attributes):
        self.seen = self.parser.CurrentByteIndex
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            line = self.parser.CurrentLineNumber
            raise _Stop(line, f"the XML nests more than {MAX_XML_DEPTH} elements deep")
        if self.depth == 2:
            self.builder, self.over, self.item = TreeBuilder(), "", name
            self.line, self.elements, self.chars = self.parser.CurrentLineNumber, 0, 0
        if self.builder is None:
            return
        self.elements += 1
        if self.elements > MAX_ITEM_ELEMENTS:
            self._skip(f"more than {MAX_ITEM_ELEMENTS} elements")
            return
        self.builder.start(_qualified(name), {_qualified(k): v for k, v in attributes.items()})

    def end(self, name):
        self.seen = self.parser.CurrentByteIndex
        if self.builder is not None:
            self.builder.end(_qualified(name))
        if self.depth == 2:
            if self.builder is not None:
                self.done.append((self.line, self.builder.close()))
            elif self.over:
                self.done.append((self.line, Skipped(self.line, self.over)))
            self.builder = None
        self.depth -= 1

    def data(self, text):
        self.seen = self.parser.CurrentByteIndex
        if self.builder is None:
            return
        self.chars += len(text)
        if self.chars > MAX_ITEM_CHARS:
            self._skip(f"more than {MAX_ITEM_CHARS:,} characters of text")
        else:
            self.builder.data(text)

    def _skip(self, what: str) -> None:
        self.builder = None  # what was built of it goes
        self.over = f"the <{_local(_qualified(self.item))}> holds {what}; skipped"

    def take(self) -> list[tuple[int, Element | Skipped]]:
        done, self.done = self.done, []
        return done


def _top_level_elements(stream: BinaryIO) -> Iterator[tuple[int, Element | Skipped]]:
    """(line number of the start tag, element or Skipped) for each child of the root element,
    read as the file streams in; a malformed document ends with a Skipped at the error's
    line. Memory stays bounded (see MAX_XML_DEPTH and the limits beside it)."""
    names: dict = {}  # expat interns element names here: emptied after every chunk
    parser = expat.ParserCreate(namespace_separator="}", intern=names)
    parser.buffer_text = True
    items = _Items(parser)
    parser.StartElementHandler = items.start
    parser.EndElementHandler = items.end
    parser.CharacterDataHandler = items.data
    fed = 0
    while True:
        chunk = stream.read(XML_CHUNK)
        fed += len(chunk)
        try:
            parser.Parse(chunk, not chunk)
            if fed - items.seen > MAX_XML_TOKEN:
                line = parser.CurrentLineNumber
                raise _Stop(
                    line, f"a tag, comment or declaration is longer than {MAX_XML_TOKEN:,} bytes"
                )
        except expat.ExpatError as exc:
            yield from items.take()
            message = f"the XML is malformed ({expat.ErrorString(exc.code)})"
            yield exc.lineno, Skipped(exc.lineno, f"{message}; nothing after it was read")
            return
        except _Stop as stop:
            yield from items.take()
            yield stop.line, Skipped(stop.line, f"{stop.reason}; nothing after it was read")
            return
        names.clear()
        yield from items.take()
        if not chunk:
            return


def _qualified(name: str) -> str:
    return "{" + name if "}" in name else name


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _child_text(element: Element, name: str) -> str:
    child = _child(element, name)
    return (child.text or "") if child is not None else ""


def _dsq_id(element: Element) -> str:
    return element.get("{" + DISQUS_INTERNALS + "}id") or element.get("dsq:id") or ""


# -- Shared -----------------------------------------------------------------------------------


def _derived_article(identifier: str, url: str, title: str, fallback: str) -> ArticleRef:
    """An article from another system's thread or story: the slug is its identifier when that
    is already slug-shaped, else the last segment of its URL's path (without an extension such
    as .html), else `fallback`. The title falls back to the URL, then the slug."""
    url = url.strip()
    slug = identifier.strip()
    if not (SLUG.match(slug) and len(slug) <= MAX_SLUG):
        segments = [s for s in unquote(urlsplit(url).path).split("/") if s] if url else []
        slug = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", segments[-1]) if segments else ""
        if not (SLUG.match(slug) and len(slug) <= MAX_SLUG):
            slug = fallback
    if not (HTTP_URL.match(url) and len(url) <= MAX_URL):
        url = ""
    title = " ".join(title.split()) or url or slug
    return ArticleRef(slug=slug, title=title[:MAX_TITLE], url=url)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _safe_id(value: str) -> str:
    return value if SLUG.match(value) and len(value) <= 64 else _digest(value)


class _TextFromHtml(HTMLParser):
    BLOCKS = frozenset(
        "address article blockquote dd div dl dt figcaption h1 h2 h3 h4 h5 h6 li ol p pre "
        "section table tr ul".split()
    )
    SILENT = frozenset(("script", "style"))

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.silent = 0

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag in self.SILENT:
            self.silent += 1

    def handle_startendtag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag in self.SILENT and self.silent:
            self.silent -= 1

    def handle_data(self, data):
        if not self.silent:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The text of a comment stored as HTML (Coral, Disqus): tags dropped, entities decoded,
    paragraphs and line breaks kept as blank lines and newlines."""
    parser = _TextFromHtml()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


FORMATS: dict[str, Reader] = {"jsonl": read_jsonl, "coral": read_coral, "disqus": read_disqus}
