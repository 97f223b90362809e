"""`Moderator`: the engine's one front door. Normalise → language → scores → spans → relevance → verdict."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .assessment import Assessment, Span
from .cascade import Cascade
from .language import hinted_language as _language
from .language import preload
from .policy import Policy
from .relevance import RelevanceScorer
from .scoring import CategoryScorer, preload_rules
from .semantic import SemanticScorer
from .text import NormalizedText, normalize

logger = logging.getLogger(__name__)

# Languages the fast tier has no labelled data for. Without the encoder tier, the semantic tier
# (multilingual embeddings) is their only learned signal; see docs/semantic-tier.md.
SEMANTIC_LANGUAGES = frozenset({"ckb", "kmr", "other"})

# Longest comment the engine reads. Web forms cap far lower; this bounds CLI/API abuse.
MAX_TEXT_CHARS = 20_000


class InputError(ValueError):
    """The caller handed the engine something it cannot assess; the message says what."""


@dataclass(frozen=True)
class Article:
    title: str = ""
    body: str = ""

    @classmethod
    def coerce(cls, value: Article | dict | None) -> Article | None:
        if value is None or isinstance(value, Article):
            return value
        if not isinstance(value, dict):
            raise InputError("article must be an object with 'title' and 'body'")
        title, body = value.get("title", ""), value.get("body", "")
        if not isinstance(title, str) or not isinstance(body, str):
            raise InputError("article.title and article.body must be strings")
        return cls(title=title, body=body)


@dataclass
class Reading:
    """What the shipped tiers made of a batch, before any newsroom adapter and the policy."""

    checked: list[tuple[str, Article | None, str | None]]
    norms: list[NormalizedText]
    languages: list[str]
    results: list  # CategoryResult, one per comment
    embeddings: np.ndarray | None = None  # general sentence embeddings, when asked for

    def features(self, featurizer):
        """The newsroom heads' inputs (engine/learning/features.py); `featurizer`: the fast
        tier's."""
        from .learning.features import Features, base_scores, ngram_matrix

        return Features(
            np.array(self.languages, dtype=object),
            base_scores(self.results),
            ngram_matrix(featurizer, [n.text for n in self.norms]),
            self.embeddings,
        )


class Moderator:
    """Scores comments against the guidelines and proposes a decision under a policy."""

    def __init__(
        self,
        scorer: CategoryScorer,
        policy: Policy,
        relevance: RelevanceScorer | None = None,
        semantic: SemanticScorer | None = None,
        cascade: Cascade | None = None,
        adapter=None,
        shadow: Moderator | None = None,
    ):
        self.scorer = scorer
        self.base_policy = policy
        self.relevance = relevance or RelevanceScorer()
        self.semantic = semantic
        self.cascade = cascade
        # The newsroom's learnt heads (engine/learning/adapter.py), if a version is active.
        self.adapter = adapter
        self.policy = adapter.policy_over(policy) if adapter is not None else policy
        # A candidate version scoring beside this one (see assess_many); shares the tiers.
        self.shadow = shadow

    def with_adapter(self, adapter) -> Moderator:
        """This engine with a newsroom's learnt version on top (None: the shipped model).
        Shares the loaded tiers; raises AdapterUnavailable if the adapter cannot run here."""
        if adapter is not None:
            from .learning.adapter import AdapterUnavailable

            if adapter.base_version != self.base_version:
                raise AdapterUnavailable(
                    f"{adapter.version} was learnt on {adapter.base_version}, "
                    f"this engine is {self.base_version}"
                )
        return self._sharing_tiers(adapter=adapter, shadow=None)

    def with_shadow(self, shadow: Moderator | None) -> Moderator:
        """This engine, also assessing every comment with `shadow` (attached to each
        Assessment as `.shadow`) from the same reading of the text."""
        return self._sharing_tiers(adapter=self.adapter, shadow=shadow)

    def _sharing_tiers(self, adapter, shadow) -> Moderator:
        return Moderator(
            self.scorer,
            self.base_policy,
            relevance=self.relevance,
            semantic=self.semantic,
            cascade=self.cascade,
            adapter=adapter,
            shadow=shadow,
        )

    @classmethod
    def default(
        cls,
        policy_path: str | Path | None = None,
        semantic: bool | None = None,
        encoder: bool | None = None,
    ) -> Moderator:
        """The shipped models under the shipped policy (or a newsroom's override).

        `encoder`: the cascade with the fine-tuned encoder tier (on unless CIVILITY_ENCODER=0).
        `semantic`: without the encoder, the multilingual embedding heads for languages without
        a fast-tier model (on unless CIVILITY_SEMANTIC=0). Either is skipped with a warning if
        it cannot load, and the fast tier decides alone."""
        policy = Policy.load(policy_path)
        scorer = _shipped_scorer()
        preload()  # so the first comment a server sees does not pay for loading language ID
        preload_rules()  # likewise for compiling the lexicon and promotion phrases
        if encoder is None:
            encoder = os.environ.get("CIVILITY_ENCODER", "1") != "0"
        cascade = _shipped_cascade() if encoder else None
        if semantic is None:
            semantic = os.environ.get("CIVILITY_SEMANTIC", "1") != "0"
        semantic_tier = _shipped_semantic() if semantic and cascade is None else None
        return cls(scorer, policy, semantic=semantic_tier, cascade=cascade)

    @property
    def base_version(self) -> str:
        """The shipped tiers that scored: fast, then encoder+stacker or semantic."""
        second = ""
        if self.cascade is not None:
            second = f"+{self.cascade.version}"
        elif self.semantic is not None:
            second = f"+{self.semantic.version}"
        return f"{self.scorer.version}{second}"

    @property
    def model_version(self) -> str:
        """Names every tier that scored, then the policy (which names a learnt version)."""
        return f"{self.base_version}+policy-{self.policy.version}"

    def assess(
        self, text: str, article: Article | dict | None = None, lang: str | None = None
    ) -> Assessment:
        return self.assess_many([(text, article, lang)])[0]

    def assess_many(
        self, items: Iterable[tuple[str, Article | dict | None, str | None]]
    ) -> list[Assessment]:
        """Batch form of `assess`; far faster per comment because the models run vectorised."""
        if self.shadow is None:
            wanted = self.adapter.languages if self.adapter is not None else False
            return self.finish(self.read(items, embeddings=wanted))
        wanted = frozenset()
        for adapter in (self.adapter, self.shadow.adapter):
            wanted |= adapter.languages if adapter is not None else frozenset()
        reading = self.read(items, embeddings=wanted)
        assessments = self.finish(deepcopy(reading))
        for assessment, candidate in zip(assessments, self.shadow.finish(reading), strict=True):
            assessment.shadow = candidate
        return assessments

    def read(self, items, embeddings: bool | frozenset = False) -> Reading:
        """Validate, normalise, detect languages and score with the shipped tiers. With
        `embeddings` (True, or a set of languages) the general sentence embeddings that the
        newsroom's heads read are computed too, for every comment or those languages."""
        checked = [self.validate(text, article, lang) for text, article, lang in items]
        norms = [normalize(text) for text, _, _ in checked]
        languages = [_language(text, lang) for text, _, lang in checked]
        results = self.scorer.score_many(norms, languages)
        texts = [text for text, _, _ in checked]
        if self.cascade is not None and checked:
            self.cascade.refine(texts, languages, results)
        elif checked:
            self._add_semantic_evidence(checked, languages, results)
        vectors = None
        if embeddings and checked:
            from .learning.features import sentence_embeddings

            wanted = [embeddings is True or lang in embeddings for lang in languages]
            vectors = sentence_embeddings(texts, wanted)
        return Reading(checked, norms, languages, results, vectors)

    def finish(self, reading: Reading) -> list[Assessment]:
        """The newsroom's heads (if any), relevance and the policy's verdict per comment."""
        if not reading.checked:
            return []
        if self.adapter is not None:
            self.adapter.apply(reading.features(self.scorer.featurizer), reading.results)
        assessments = []
        for (_, article, _), norm, language, result in zip(
            reading.checked, reading.norms, reading.languages, reading.results, strict=True
        ):
            relevance = (
                self.relevance.score(norm, article, language=language)
                if article is not None
                else None
            )
            # A comment without words (emoji, digits) has no language the models read, so it
            # goes to a human like any unmodelled language: "🖕🖕" is as easy to post as "👍".
            verdict = self.policy.decide(result.categories, result.abuse_kinds, relevance, language)
            assessments.append(
                Assessment(
                    decision=verdict.decision,
                    score=result.overall,
                    categories=result.categories,
                    abuse_kinds=result.abuse_kinds,
                    relevance=relevance,
                    spans=_merge_spans(result.spans),
                    language=language,
                    reasons=verdict.reasons,
                    reason_codes=verdict.reason_codes,
                    model_version=self.model_version,
                )
            )
        return assessments

    def _add_semantic_evidence(self, checked, languages, results) -> None:
        """For languages the fast tier does not model, raise each category to the semantic
        tier's score, but never past the reject band: the embedding heads are measured as a
        ranking signal there (docs/semantic-tier.md), not precise enough to reject alone.
        These languages go to human review anyway; the scores order the queue and guide
        the moderator."""
        if self.semantic is None:
            return
        chosen = [
            i
            for i, language in enumerate(languages)
            if language in SEMANTIC_LANGUAGES and any(ch.isalpha() for ch in checked[i][0])
        ]
        if not chosen:
            return
        semantic_scores = self.semantic.score_many([checked[i][0] for i in chosen])
        for i, scores in zip(chosen, semantic_scores, strict=True):
            result = results[i]
            for category, value in scores.items():
                if category == "overall":
                    result.overall = max(result.overall, value)
                elif category in result.categories:
                    ceiling = self.policy.bands[category].reject_above - 0.01
                    result.categories[category] = max(
                        result.categories[category], min(value, ceiling)
                    )

    @staticmethod
    def validate(text, article=None, lang=None) -> tuple[str, Article | None, str | None]:
        """The inputs as the engine will read them; InputError naming the first problem."""
        if not isinstance(text, str):
            raise InputError("text must be a string")
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
        if lang is not None and not isinstance(lang, str):
            raise InputError("lang must be a language code such as 'en', or omitted")
        article = Article.coerce(article)
        _require_unicode(text, "text")
        if article is not None:
            _require_unicode(article.title, "article.title")
            _require_unicode(article.body, "article.body")
        return text, article, lang


def _require_unicode(value: str, field: str) -> None:
    """Lone surrogates cannot be stored, encoded or read by the language models."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{field} contains invalid Unicode (a lone surrogate)") from None


@lru_cache(maxsize=1)
def _shipped_scorer() -> CategoryScorer:
    return CategoryScorer.load()


@lru_cache(maxsize=1)
def _shipped_cascade() -> Cascade | None:
    try:
        return Cascade.load()
    except (ImportError, FileNotFoundError) as exc:
        logger.warning("encoder tier unavailable, fast tier only: %s", exc)
        return None


@lru_cache(maxsize=1)
def _shipped_semantic() -> SemanticScorer | None:
    try:
        return SemanticScorer.load()
    except (ImportError, FileNotFoundError) as exc:
        logger.warning("semantic tier unavailable, fast tier only: %s", exc)
        return None


def _merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Sorted, with overlapping spans of the same category joined."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.category, s.start, s.end)):
        last = merged[-1] if merged else None
        if last and last.category == span.category and span.start <= last.end:
            merged[-1] = Span(last.start, max(last.end, span.end), last.category)
        else:
            merged.append(span)
    return sorted(merged, key=lambda s: (s.start, s.end, s.category))
