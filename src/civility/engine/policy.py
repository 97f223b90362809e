"""Turn calibrated category scores into approve / reject / review, under a newsroom's TOML policy."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .assessment import ABUSE_KIND_TEXT, CATEGORIES, REASON_TEXT


class PolicyError(ValueError):
    """The policy file is malformed; the message names the key."""


@dataclass(frozen=True)
class Band:
    approve_below: float
    reject_above: float


@dataclass(frozen=True)
class Verdict:
    decision: str
    reasons: list[str]
    reason_codes: list[str]


@dataclass
class Policy:
    version: str
    bands: dict[str, Band]
    relevance_review_below: float = 0.05
    modelled_languages: frozenset[str] = field(default_factory=lambda: frozenset({"en"}))
    # Per-language approve bands ([languages.approve_below.<lang>]): where a language's scores
    # rank violations better, its bands can be wider without approving more of its violations.
    approve_by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    # Per-language reject bands ([languages.reject_above.<lang>]), e.g. learnt from the
    # newsroom's decisions in a language the shipped bands were never fitted for.
    reject_by_language: dict[str, dict[str, float]] = field(default_factory=dict)

    def approve_below(self, category: str, language: str) -> float:
        by_language = self.approve_by_language.get(language, {})
        return by_language.get(category, self.bands[category].approve_below)

    def reject_above(self, category: str, language: str) -> float:
        by_language = self.reject_by_language.get(language, {})
        return by_language.get(category, self.bands[category].reject_above)

    @classmethod
    def default(cls) -> Policy:
        text = resources.files("civility.policy").joinpath("default.toml").read_text("utf-8")
        return cls.from_toml(text)

    @classmethod
    def load(cls, path: str | Path | None) -> Policy:
        """The shipped default, overridden key by key by the newsroom's file if given."""
        policy = cls.default()
        if path is None:
            return policy
        try:
            override = Path(path).read_text("utf-8")
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from exc
        return cls.from_toml(override, base=policy)

    @classmethod
    def from_toml(cls, text: str, base: Policy | None = None) -> Policy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"policy is not valid TOML: {exc}") from exc
        bands = dict(base.bands) if base else {}
        for key in ("bands", "relevance", "languages"):
            if key in data and not isinstance(data[key], dict):
                raise PolicyError(f"{key} must be a table ([{key}])")
        for name, raw in (data.get("bands") or {}).items():
            if not isinstance(raw, dict):
                raise PolicyError(
                    f"bands.{name} must be a table with approve_below and reject_above"
                )
            if name not in CATEGORIES:
                raise PolicyError(
                    f"bands.{name}: unknown category (known: {', '.join(CATEGORIES)})"
                )
            previous = bands.get(name)
            low = _probability(
                raw, "approve_below", name, previous.approve_below if previous else None
            )
            high = _probability(
                raw, "reject_above", name, previous.reject_above if previous else None
            )
            if low > high:
                raise PolicyError(
                    f"bands.{name}: approve_below ({low}) is above reject_above ({high})"
                )
            bands[name] = Band(low, high)
        missing = [c for c in CATEGORIES if c not in bands]
        if missing:
            raise PolicyError(f"bands missing for: {', '.join(missing)}")
        relevance = data.get("relevance", {})
        languages = data.get("languages", {})
        review_below = _probability(
            relevance, "review_below", "relevance", base.relevance_review_below if base else 0.05
        )
        modelled = languages.get("modelled", base.modelled_languages if base else ["en"])
        if isinstance(modelled, str) or not all(isinstance(code, str) for code in modelled):
            raise PolicyError('languages.modelled must be a list of language codes, e.g. ["en"]')
        by_language = _language_tables(
            languages, "approve_below", base.approve_by_language if base else {}
        )
        reject_by_language = _language_tables(
            languages, "reject_above", base.reject_by_language if base else {}
        )
        for code, table in by_language.items():
            for name, value in table.items():
                own = reject_by_language.get(code, {}).get(name)
                ceiling = bands[name].reject_above if own is None else own
                where = (
                    f"bands.{name}.reject_above"
                    if own is None
                    else f"languages.reject_above.{code}.{name}"
                )
                if value > ceiling:
                    raise PolicyError(
                        f"languages.approve_below.{code}.{name} ({value}) is above "
                        f"{where} ({ceiling})"
                    )
        return cls(
            version=str(data.get("version", base.version if base else "custom")),
            bands=bands,
            relevance_review_below=review_below,
            modelled_languages=frozenset(modelled),
            approve_by_language=by_language,
            reject_by_language=reject_by_language,
        )

    def decide(
        self,
        categories: dict[str, float],
        abuse_kinds: dict[str, float],
        relevance: float | None,
        language: str,
    ) -> Verdict:
        violations = [c for c in CATEGORIES if categories[c] >= self.reject_above(c, language)]
        if violations:
            return Verdict("reject", [self._reason(c, abuse_kinds) for c in violations], violations)
        doubtful = [c for c in CATEGORIES if categories[c] >= self.approve_below(c, language)]
        if relevance is not None and relevance < self.relevance_review_below:
            doubtful.append("off_topic")
        # A language without a model the newsroom trusts is never approved automatically; a
        # clear violation (a lexicon hit, say) is still rejected above.
        if language not in self.modelled_languages:
            doubtful.append("unsupported_language")
        if doubtful:
            return Verdict("review", [self._reason(c, abuse_kinds) for c in doubtful], doubtful)
        return Verdict("approve", [], [])

    @staticmethod
    def _reason(code: str, abuse_kinds: dict[str, float]) -> str:
        text = REASON_TEXT[code]
        if code == "abuse" and abuse_kinds:
            kind, score = max(abuse_kinds.items(), key=lambda kv: kv[1])
            if score >= 0.5:
                text = f"{text} ({ABUSE_KIND_TEXT[kind]})"
        return text


def _language_tables(languages: dict, key: str, inherited: dict) -> dict:
    """[languages.<key>.<code>] tables over the base policy's (`inherited`):
    {code: {category: value}}."""
    out = {k: dict(v) for k, v in inherited.items()}
    raw = languages.get(key, {})
    if not isinstance(raw, dict):
        raise PolicyError(f"languages.{key} must be a table of [languages.{key}.<code>]")
    for code, table in raw.items():
        if not isinstance(table, dict):
            raise PolicyError(f"languages.{key}.{code} must be a table of category = number")
        for name in table:
            if name not in CATEGORIES:
                raise PolicyError(
                    f"languages.{key}.{code}.{name}: unknown category "
                    f"(known: {', '.join(CATEGORIES)})"
                )
            out.setdefault(code, {})[name] = _probability(
                table, name, f"languages.{key}.{code}", None
            )
    return out


def _probability(raw: dict, key: str, name: str, fallback: float | None) -> float:
    """`name` is the table's dotted path ("profanity" means bands.profanity)."""
    path = name if "." in name or name == "relevance" else f"bands.{name}"
    value = raw.get(key, fallback)
    if value is None:
        raise PolicyError(f"{path}.{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise PolicyError(f"{path}.{key} must be a number between 0 and 1, got {value!r}")
    return float(value)
