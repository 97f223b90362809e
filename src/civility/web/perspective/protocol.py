"""Perspective's request and answer shapes, mapped onto Civility's categories.

Pure functions: a parsed JSON body in, a validated request or a `ProtocolError` out; an
`Assessment` in, Perspective's `attributeScores` out. The views only add HTTP around them."""

from __future__ import annotations

from dataclasses import dataclass

from civility.web.text import storable_problem

# Perspective limits a comment to 20 KB of UTF-8.
MAX_COMMENT_BYTES = 20 * 1024
# clientToken and communityId as stored with suggestscore feedback (their column length).
MAX_TOKEN_CHARS = 200

# Languages the engine models, as the engine names them (civility.engine.language).
ENGINE_LANGUAGES = ("en", "ar", "fa", "tr", "ckb", "kmr")
# Codes clients may send for them (ISO 639-1/3 and BCP-47 forms); region subtags are dropped.
LANGUAGE_ALIASES = {"ku": "kmr", "kmr": "kmr", "ckb": "ckb", "sdh": "ckb", "ku-arab": "ckb"}

# attribute → how its summary score is read off an Assessment; see docs/migrating-from-perspective.md
CATEGORY_OF_ATTRIBUTE = {
    "IDENTITY_ATTACK": "abuse",
    "INSULT": "personal_attack",
    "PROFANITY": "profanity",
    "THREAT": "threat",
    "SEXUALLY_EXPLICIT": "vulgarity",
    "SPAM": "promotion",
}
# Threats and abuse of a group: what Perspective calls severe. Profanity and insults alone are not.
SEVERE_CATEGORIES = ("threat", "abuse")
SUPPORTED_ATTRIBUTES = ("TOXICITY", "SEVERE_TOXICITY", *CATEGORY_OF_ATTRIBUTE, "OFF_TOPIC")
# Perspective attributes we cannot score honestly: our personal_attack model does not know
# whether the target is the article's author or another commenter.
UNSUPPORTED_ATTRIBUTES = {
    "ATTACK_ON_AUTHOR": "it needs to know who is attacked; use INSULT",
    "ATTACK_ON_COMMENTER": "it needs to know who is attacked; use INSULT",
}
# Perspective's "experimental" names of the same production attributes.
EXPERIMENTAL_SUFFIX = "_EXPERIMENTAL"

ANALYZE_FIELDS = {
    "comment",
    "context",
    "requestedAttributes",
    "languages",
    "doNotStore",
    "clientToken",
    "sessionId",
    "communityId",
    "spanAnnotations",
    "dropUnsupportedAttributes",
}
SUGGEST_FIELDS = {
    "comment",
    "context",
    "attributeScores",
    "languages",
    "clientToken",
    "sessionId",
    "communityId",
}


class ProtocolError(Exception):
    """A request Perspective would refuse; `status` is Google's canonical error code name."""

    def __init__(self, message: str, code: int = 400, status: str = "INVALID_ARGUMENT"):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def to_body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


@dataclass
class AttributeRequest:
    name: str  # as the client spelled it; echoed back
    base: str  # the attribute we score (name without _EXPERIMENTAL)
    threshold: float | None = None


@dataclass
class AnalyzeRequest:
    text: str
    attributes: list[AttributeRequest]
    languages: list[str]  # as requested (may be empty)
    language_hint: str | None  # the engine's name for the first requested language
    article: dict | None
    span_annotations: bool = False
    do_not_store: bool = False
    client_token: str | None = None


@dataclass
class SuggestRequest:
    text: str
    scores: dict[str, float]
    languages: list[str]
    language_hint: str | None
    context_text: str = ""
    community_id: str = ""
    client_token: str | None = None


def engine_language(code: str) -> str | None:
    """The engine's name for a client's language code, or None if we do not model it."""
    if not isinstance(code, str):
        return None
    lowered = code.strip().lower().replace("_", "-")
    if lowered in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[lowered]
    primary = lowered.split("-", 1)[0]
    if primary in ENGINE_LANGUAGES:
        return primary
    return LANGUAGE_ALIASES.get(primary)


def parse_analyze(data: object) -> AnalyzeRequest:
    body = _object(data, "request body")
    _reject_unknown_fields(body, ANALYZE_FIELDS)
    text = _comment_text(body)
    attributes = _requested_attributes(body.get("requestedAttributes"))
    languages, hint = _languages(body.get("languages"), [a.name for a in attributes])
    article = _context_article(body.get("context"))
    if article is None and any(a.base == "OFF_TOPIC" for a in attributes):
        raise ProtocolError(
            "Attribute OFF_TOPIC needs the article: send its text in context.entries[].text"
        )
    return AnalyzeRequest(
        text=text,
        attributes=attributes,
        languages=languages,
        language_hint=hint,
        article=article,
        span_annotations=_boolean(body, "spanAnnotations"),
        do_not_store=_boolean(body, "doNotStore"),
        client_token=_optional_string(body, "clientToken"),
    )


def parse_suggest(data: object) -> SuggestRequest:
    body = _object(data, "request body")
    _reject_unknown_fields(body, SUGGEST_FIELDS)
    text = _comment_text(body)
    raw_scores = body.get("attributeScores")
    if not isinstance(raw_scores, dict) or not raw_scores:
        raise ProtocolError("attributeScores must be a non-empty object")
    scores = {}
    for name, entry in raw_scores.items():
        base = _attribute_base(name)
        summary = entry.get("summaryScore") if isinstance(entry, dict) else None
        value = summary.get("value") if isinstance(summary, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ProtocolError(
                f"attributeScores.{name}.summaryScore.value must be a number between 0 and 1"
            )
        scores[base] = float(value)
    languages, hint = _languages(body.get("languages"), list(raw_scores))
    context = body.get("context")
    context_text = ""
    if context is not None:
        article = _context_article(context)
        context_text = article["body"] if article else ""
    return SuggestRequest(
        text=text,
        scores=scores,
        languages=languages,
        language_hint=hint,
        context_text=context_text,
        community_id=_optional_string(body, "communityId", MAX_TOKEN_CHARS) or "",
        client_token=_optional_string(body, "clientToken", MAX_TOKEN_CHARS),
    )


def attribute_scores(assessment, request: AnalyzeRequest) -> dict:
    """Perspective's `attributeScores` for the requested attributes, thresholds applied."""
    answer = {}
    for attribute in request.attributes:
        value = summary_value(assessment, attribute.base)
        if attribute.threshold is not None and value < attribute.threshold:
            continue  # Perspective leaves out attributes scoring under the client's threshold
        scored = {"summaryScore": _probability(value)}
        if request.span_annotations:
            scored["spanScores"] = [
                {"begin": begin, "end": end, "score": _probability(score)}
                for begin, end, score in span_values(assessment, attribute.base)
                if attribute.threshold is None or score >= attribute.threshold
            ]
        answer[attribute.name] = scored
    return answer


def summary_value(assessment, attribute: str) -> float:
    if attribute == "TOXICITY":
        return float(assessment.score)
    if attribute == "SEVERE_TOXICITY":
        # A lower bound on P(threat or group abuse): never driven by profanity or insults alone.
        return max(float(assessment.categories[c]) for c in SEVERE_CATEGORIES)
    if attribute == "OFF_TOPIC":
        return 1.0 - float(assessment.relevance)
    return float(assessment.categories[CATEGORY_OF_ATTRIBUTE[attribute]])


def span_values(assessment, attribute: str) -> list[tuple[int, int, float]]:
    """(begin, end, score) for the spans behind an attribute; a span scores as its category."""
    if attribute == "OFF_TOPIC":
        return []  # relevance is a property of the whole comment
    if attribute == "TOXICITY":
        wanted = None
    elif attribute == "SEVERE_TOXICITY":
        wanted = set(SEVERE_CATEGORIES)
    else:
        wanted = {CATEGORY_OF_ATTRIBUTE[attribute]}
    return [
        (span.start, span.end, float(assessment.categories[span.category]))
        for span in assessment.spans
        if wanted is None or span.category in wanted
    ]


def _probability(value: float) -> dict:
    return {"value": round(min(1.0, max(0.0, value)), 4), "type": "PROBABILITY"}


def _object(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise ProtocolError(f"Invalid JSON payload received. {what} must be a JSON object.")
    return value


def _reject_unknown_fields(body: dict, known: set[str]) -> None:
    # Perspective (a Google API) refuses unknown fields; doing the same catches typos early.
    for name in body:
        if name not in known:
            raise ProtocolError(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
            )


def _comment_text(body: dict) -> str:
    comment = body.get("comment")
    if not isinstance(comment, dict) or not isinstance(comment.get("text"), str):
        raise ProtocolError("comment.text is required and must be a string")
    kind = comment.get("type", "PLAIN_TEXT")
    if kind != "PLAIN_TEXT":
        raise ProtocolError(f"comment.type {kind!r} is not supported; only PLAIN_TEXT is")
    text = _storable(comment["text"], "comment.text")
    if not text.strip():
        raise ProtocolError("Comment text was empty.")
    if len(text.encode("utf-8")) > MAX_COMMENT_BYTES:
        raise ProtocolError(f"Comment text too long: the limit is {MAX_COMMENT_BYTES} bytes.")
    return text


def _storable(text: str, field: str, max_chars: int | None = None) -> str:
    """Text the engine can read and a database can store (no NUL, no lone surrogates)."""
    problem = storable_problem(text, max_chars)
    if problem:
        raise ProtocolError(f"{field} {problem}")
    return text


def _attribute_base(name: object) -> str:
    if not isinstance(name, str):
        raise ProtocolError("Attribute names must be strings")
    base = name.removesuffix(EXPERIMENTAL_SUFFIX)
    if base in UNSUPPORTED_ATTRIBUTES:
        raise ProtocolError(
            f"Attribute {name} is not supported by this server: {UNSUPPORTED_ATTRIBUTES[base]}."
        )
    if base not in SUPPORTED_ATTRIBUTES:
        raise ProtocolError(
            f"Unknown attribute: {name}. Supported: {', '.join(SUPPORTED_ATTRIBUTES)}."
        )
    return base


def _requested_attributes(raw: object) -> list[AttributeRequest]:
    if not isinstance(raw, dict) or not raw:
        raise ProtocolError("requestedAttributes must be a non-empty object")
    attributes = []
    for name, params in raw.items():
        base = _attribute_base(name)
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise ProtocolError(f"requestedAttributes.{name} must be an object")
        score_type = params.get("scoreType", "PROBABILITY")
        if score_type != "PROBABILITY":
            raise ProtocolError(
                f"requestedAttributes.{name}.scoreType {score_type!r} is not supported; use PROBABILITY"
            )
        threshold = params.get("scoreThreshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 <= threshold <= 1
        ):
            raise ProtocolError(
                f"requestedAttributes.{name}.scoreThreshold must be a number between 0 and 1"
            )
        attributes.append(
            AttributeRequest(name, base, None if threshold is None else float(threshold))
        )
    return attributes


def _languages(raw: object, attribute_names: list[str]) -> tuple[list[str], str | None]:
    if raw is None:
        return [], None
    if not isinstance(raw, list) or not all(isinstance(code, str) for code in raw):
        raise ProtocolError("languages must be a list of language codes")
    for code in raw:
        if engine_language(code) is None:
            raise ProtocolError(
                f"Attribute {attribute_names[0]} does not support request languages: {code}"
            )
    return list(raw), engine_language(raw[0]) if raw else None


def _context_article(raw: object) -> dict | None:
    if raw is None:
        return None
    context = _object(raw, "context")
    entries = context.get("entries", [])
    if not isinstance(entries, list):
        raise ProtocolError("context.entries must be a list")
    texts = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            raise ProtocolError("each context.entries[] needs a text string")
        texts.append(_storable(entry["text"], "context.entries[].text"))
    body = "\n\n".join(t for t in texts if t.strip())
    return {"title": "", "body": body} if body else None


def _boolean(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ProtocolError(f"{name} must be true or false")
    return value


def _optional_string(body: dict, name: str, max_chars: int | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"{name} must be a string")
    return _storable(value, name, max_chars)
