"""The result type of the engine: what one comment was judged to be, and why.

`Assessment.to_dict()` is the output contract shared by `civility score`, `/api/v1/assess`
and the Perspective adapter; change it only together with docs/engine.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORIES: tuple[str, ...] = (
    "profanity",
    "vulgarity",
    "threat",
    "personal_attack",
    "abuse",
    "promotion",
)
ABUSE_KINDS: tuple[str, ...] = (
    "sexism",
    "racism",
    "homophobia",
    "xenophobia",
    "religious",
    "ethnic",
)
DECISIONS: tuple[str, ...] = ("approve", "reject", "review")

# Plain-words names of the guidelines, used as `reasons`.
REASON_TEXT: dict[str, str] = {
    "profanity": "Profanity",
    "vulgarity": "Vulgarity or sexual content",
    "threat": "Threat of violence",
    "personal_attack": "Personal attack",
    "abuse": "Abuse of a group",
    "promotion": "Commercial or personal promotion",
    "off_topic": "Not relevant to the article",
    "unsupported_language": "Language the engine does not model: needs a human",
    # The commenter's standing (policy [trust]), not the text.
    "trusted": "Trusted commenter",
    "watched": "Commenter rejected recently: needs a human",
}
ABUSE_KIND_TEXT: dict[str, str] = {
    "sexism": "sexism",
    "racism": "racism",
    "homophobia": "homophobia",
    "xenophobia": "xenophobia",
    "religious": "religious hatred",
    "ethnic": "ethnic hatred",
}


@dataclass(frozen=True)
class Span:
    """A stretch of the reader's original text that drives a category."""

    start: int
    end: int
    category: str

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "category": self.category}


@dataclass
class Assessment:
    decision: str
    score: float
    categories: dict[str, float]
    abuse_kinds: dict[str, float]
    relevance: float | None
    spans: list[Span]
    language: str
    reasons: list[str]
    model_version: str
    # Which category drove each reason; handy for reason codes in the web layer.
    reason_codes: list[str] = field(default_factory=list)
    # A candidate model version's assessment of the same comment, while it is in shadow:
    # recorded beside this one, never used to decide, not part of to_dict().
    shadow: Assessment | None = None

    def to_dict(self) -> dict:
        return {
            "decision": self.decision,
            "score": round(float(self.score), 4),
            "categories": {k: round(float(v), 4) for k, v in self.categories.items()},
            "abuse_kinds": {k: round(float(v), 4) for k, v in self.abuse_kinds.items()},
            "relevance": None if self.relevance is None else round(float(self.relevance), 4),
            "spans": [s.to_dict() for s in self.spans],
            "language": self.language,
            "reasons": list(self.reasons),
            "model_version": self.model_version,
        }
