"""Turn calibrated category scores into approve / reject / review, under a newsroom's TOML policy."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class Standing:
    """What the newsroom knows of a verified commenter as they post: the web layer counts it
    from its own records and hands it in; the engine never learns who they are. An unverified
    poster has no standing (None): neither trust nor watch applies."""

    # Their comments approved so far (by a moderator or automatically).
    approved: int = 0
    # Days since their latest rejection still standing; None: never rejected (or every
    # rejection reversed).
    days_since_rejection: float | None = None


# Never widened for a trusted commenter: a threat always needs its own clear pass.
NEVER_WIDENED = frozenset({"threat"})


@dataclass(frozen=True)
class Trust:
    """The [trust] table. A verified commenter with at least `min_approved` approved comments
    and no rejection in the last `quiet_days` days is *trusted*: their language's approve band
    is widened by `factor` (never for threat, never in a language that is not modelled, never
    past the reject band). One rejected in the last `watch_days` days is *watched*: never
    approved automatically (a clear violation is still rejected). `factor = 1` turns trust off,
    `watch_days = 0` turns watch off."""

    min_approved: int = 10
    quiet_days: float = 90.0
    factor: float = 1.5
    watch_days: float = 14.0

    @classmethod
    def off(cls) -> Trust:
        return cls(factor=1.0, watch_days=0.0)

    def trusted(self, standing: Standing | None) -> bool:
        if standing is None or self.factor <= 1.0 or standing.approved < self.min_approved:
            return False
        since = standing.days_since_rejection
        return since is None or since > self.quiet_days

    def watched(self, standing: Standing | None) -> bool:
        if standing is None or standing.days_since_rejection is None:
            return False
        return standing.days_since_rejection <= self.watch_days

    def to_toml(self) -> str:
        """The [trust] table as the policy file writes it (engine/training/fit_cascade.py)."""
        return "\n".join(
            [
                "[trust]",
                "# A verified commenter with min_approved approved comments and no rejection in",
                "# quiet_days days gets their language's approve bands widened by factor (never",
                "# threat, never a language outside languages.modelled, never past the reject band).",
                "# One rejected in the last watch_days days always goes to review (clear",
                "# violations are still rejected). factor = 1 turns trust off, watch_days = 0 watch.",
                f"min_approved = {self.min_approved}",
                f"quiet_days = {_number(self.quiet_days)}",
                f"factor = {_number(self.factor)}",
                f"watch_days = {_number(self.watch_days)}",
                "",
            ]
        )

    @classmethod
    def from_table(cls, raw, base: Trust) -> Trust:
        if not isinstance(raw, dict):
            raise PolicyError("trust must be a table ([trust])")
        known = {"min_approved", "quiet_days", "factor", "watch_days"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise PolicyError(
                f"trust.{unknown[0]}: unknown key (known: {', '.join(sorted(known))})"
            )
        min_approved = raw.get("min_approved", base.min_approved)
        if isinstance(min_approved, bool) or not isinstance(min_approved, int) or min_approved < 1:
            raise PolicyError(
                f"trust.min_approved must be a whole number of at least 1, got {min_approved!r}"
            )
        days = {}
        for key in ("quiet_days", "watch_days"):
            value = raw.get(key, getattr(base, key))
            if not _finite(value) or not 0 <= value <= 3650:
                raise PolicyError(f"trust.{key} must be a number of days, 0 to 3650, got {value!r}")
            days[key] = float(value)
        factor = raw.get("factor", base.factor)
        if not _finite(factor) or not 1.0 <= factor <= 10.0:
            raise PolicyError(f"trust.factor must be a number from 1 to 10, got {factor!r}")
        return cls(min_approved, days["quiet_days"], float(factor), days["watch_days"])


def _finite(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


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
    # Trusted and watched commenters ([trust]).
    trust: Trust = field(default_factory=Trust)

    def approve_below(self, category: str, language: str) -> float:
        by_language = self.approve_by_language.get(language, {})
        return by_language.get(category, self.bands[category].approve_below)

    def trusted_approve_below(self, category: str, language: str) -> float:
        """The approve band for a trusted commenter: widened by the trust factor, except for
        threat and in a language that is not modelled, and never past the reject band."""
        band = self.approve_below(category, language)
        if category in NEVER_WIDENED or language not in self.modelled_languages:
            return band
        return min(band * self.trust.factor, self.reject_above(category, language))

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
        for key in ("bands", "relevance", "languages", "trust"):
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
            trust=Trust.from_table(data.get("trust", {}), base.trust if base else Trust()),
        )

    def decide(
        self,
        categories: dict[str, float],
        abuse_kinds: dict[str, float],
        relevance: float | None,
        language: str,
        standing: Standing | None = None,
    ) -> Verdict:
        """`standing`: the verified commenter's (None for an unverified poster). A trusted
        commenter's comment that only its widened bands let through is approved with the
        reason code "trusted"; a watched commenter's comment that would be approved goes to
        review with "watched". Neither changes a rejection."""
        violations = [c for c in CATEGORIES if categories[c] >= self.reject_above(c, language)]
        if violations:
            return Verdict("reject", [self._reason(c, abuse_kinds) for c in violations], violations)
        doubtful = self._doubtful(categories, relevance, language, self.approve_below)
        verdict = Verdict("approve", [], [])
        if doubtful:
            widened = self.trust.trusted(standing) and not self._doubtful(
                categories, relevance, language, self.trusted_approve_below
            )
            if not widened:
                return Verdict("review", [self._reason(c, abuse_kinds) for c in doubtful], doubtful)
            verdict = Verdict("approve", [self._standing_reason("trusted")], ["trusted"])
        if self.trust.watched(standing):
            return Verdict("review", [self._standing_reason("watched")], ["watched"])
        return verdict

    def with_standing(self, assessment, standing: Standing | None):
        """The engine's assessment decided again for this commenter's standing (a copy with
        its decision and reasons replaced), or the assessment itself when standing changes
        nothing."""
        if not (self.trust.trusted(standing) or self.trust.watched(standing)):
            return assessment
        verdict = self.decide(
            assessment.categories,
            assessment.abuse_kinds,
            assessment.relevance,
            assessment.language,
            standing,
        )
        return replace(
            assessment,
            decision=verdict.decision,
            reasons=verdict.reasons,
            reason_codes=verdict.reason_codes,
        )

    def _doubtful(self, categories, relevance, language, approve_below) -> list[str]:
        doubtful = [c for c in CATEGORIES if categories[c] >= approve_below(c, language)]
        if relevance is not None and relevance < self.relevance_review_below:
            doubtful.append("off_topic")
        # A language without a model the newsroom trusts is never approved automatically; a
        # clear violation (a lexicon hit, say) is still rejected above.
        if language not in self.modelled_languages:
            doubtful.append("unsupported_language")
        return doubtful

    def _standing_reason(self, code: str) -> str:
        trust = self.trust
        if code == "trusted":
            return (
                f"{REASON_TEXT['trusted']} ({trust.min_approved}+ approved, no rejection in "
                f"{_number(trust.quiet_days)} days): approve bands widened x{_number(trust.factor)}"
            )
        return f"{REASON_TEXT['watched']} (rejected in the last {_number(trust.watch_days)} days)"

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
