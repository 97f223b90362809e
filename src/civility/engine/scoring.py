"""Calibrated per-category scores, abuse kinds and spans for a batch of normalised comments.

How the signals combine (docs/model-card.md explains the reasoning and the numbers):
  1. The linear heads (model.py) see n-grams *and* the lexicon/promotion features, and are
     Platt-calibrated on out-of-fold predictions, so 0.9 means about 90% on our dev data.
  2. Lexicon floor: a lexicon hit lifts its category to at least weight × trust, where trust is
     the precision of lexicon hits measured in training (a fixed prior for categories without
     labels). This is what carries Kurdish and thinly labelled categories (threat, vulgarity).
  3. Where a language has only "offensive" labels (tr, and partly ar/fa), the overall head is
     the better signal: the most likely offence category is lifted to the overall probability,
     so a clearly offensive Turkish comment is not approved for lack of a category label.
  4. `overall` is at least the largest category probability (breaking one breaks "any").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import model
from .assessment import ABUSE_KINDS, CATEGORIES, Span
from .detectors.lexicon import LexiconHit, find_hits, lexicon_features
from .detectors.promotion import PromotionSignals, promotion_signals
from .text import NormalizedText

SHIPPED_MODELS = Path(__file__).resolve().parent.parent / "models"
MODEL_CATEGORIES: tuple[str, ...] = ("profanity", "threat", "personal_attack", "abuse", "promotion")
OFFENCE_CATEGORIES: tuple[str, ...] = (
    "profanity",
    "vulgarity",
    "threat",
    "personal_attack",
    "abuse",
)
KIND_HEADS: tuple[str, ...] = tuple(f"kind_{kind}" for kind in ABUSE_KINDS)
SPAN_HEADS: tuple[str, ...] = ("profanity", "threat", "personal_attack", "abuse")


@dataclass
class CategoryResult:
    categories: dict[str, float]
    abuse_kinds: dict[str, float]
    overall: float
    spans: list[Span]


@dataclass
class Signals:
    """Rule-based evidence for one comment, computed once and used as features and floors."""

    hits: list[LexiconHit]
    promotion: PromotionSignals
    extras: dict[str, float]


def comment_signals(norm: NormalizedText, language: str) -> Signals:
    hits = find_hits(norm, language)
    promotion = promotion_signals(norm)
    extras = {
        **lexicon_features(hits),
        **promotion.features,
        "promotion_rule_score": promotion.score,
    }
    for column in model.LANGUAGE_COLUMNS:
        extras[f"lang_{column}"] = 1.0 if language == column else 0.0
    if language not in model.LANGUAGE_COLUMNS:
        extras["lang_other"] = 1.0
    return Signals(hits, promotion, extras)


def extras_matrix(signals: list[Signals], names: tuple[str, ...]) -> np.ndarray:
    """Dense extras in the artifact's column order; names the code no longer produces are 0."""
    if not signals:
        return np.zeros((0, len(names)), dtype=np.float32)
    return np.array(
        [[s.extras.get(name, 0.0) for name in names] for s in signals], dtype=np.float32
    )


class CategoryScorer:
    def __init__(self, stack: model.LinearStack, meta: dict):
        self.stack = stack
        self.meta = meta
        self.version: str = meta["version"]
        self.featurizer = model.Featurizer(tuple(meta["extra_names"]))
        self._heads = {head: i for i, head in enumerate(stack.heads)}
        words_end = model.WORD_BUCKETS
        chars_end = words_end + model.CHAR_BUCKETS
        # Row blocks of the weight matrix matching Featurizer.blocks().
        self._w_words = np.ascontiguousarray(stack.weights[:words_end])
        self._w_chars = np.ascontiguousarray(stack.weights[words_end:chars_end])
        self._w_extras = np.ascontiguousarray(stack.weights[chars_end:])
        self.lexicon_trust: dict[str, float] = meta["lexicon_trust"]
        self.overall_floor_languages = frozenset(meta["overall_floor_languages"])
        self.head_languages = {h: frozenset(v) for h, v in meta["head_languages"].items()}
        self.span_gate: float = meta["span_gate"]
        self.span_threshold: float = meta["span_threshold"]

    @classmethod
    def load(cls, path: str | Path | None = None) -> CategoryScorer:
        stack, meta = model.load(Path(path) if path else SHIPPED_MODELS)
        return cls(stack, meta)

    # -- scoring -------------------------------------------------------------------------------

    def probabilities(self, norms: list[NormalizedText], signals: list[Signals]) -> np.ndarray:
        """Calibrated head probabilities, (len(norms), n_heads)."""
        words, chars, extras = self.featurizer.blocks(
            [n.text for n in norms], extras_matrix(signals, self.featurizer.extra_names)
        )
        z = (
            words @ self._w_words
            + chars @ self._w_chars
            + extras @ self._w_extras
            + self.stack.bias
        )
        return model.sigmoid(self.stack.platt_slope * z + self.stack.platt_intercept)

    def score_many(self, norms: list[NormalizedText], languages: list[str]) -> list[CategoryResult]:
        if not norms:
            return []
        signals = [comment_signals(n, lang) for n, lang in zip(norms, languages, strict=True)]
        probs = self.probabilities(norms, signals)
        results = []
        for norm, lang, signal, row in zip(norms, languages, signals, probs, strict=True):
            categories, abuse_kinds, overall = self.combine_scores(lang, signal, row)
            spans = self.spans(norm, categories, signal)
            results.append(CategoryResult(categories, abuse_kinds, overall, spans))
        return results

    def combine_scores(
        self, language: str, signal: Signals, row: np.ndarray
    ) -> tuple[dict[str, float], dict[str, float], float]:
        """Head probabilities + rule signals -> (categories, abuse_kinds, overall)."""
        head = self._heads
        categories = dict.fromkeys(CATEGORIES, 0.0)
        for category in MODEL_CATEGORIES:
            # A head says nothing useful about a language it never saw a positive example in.
            if language in self.head_languages[category]:
                categories[category] = float(row[head[category]])
        kinds_lexicon = dict.fromkeys(ABUSE_KINDS, 0.0)
        for hit in signal.hits:
            if hit.category not in categories:
                continue
            floor = hit.weight * self.lexicon_trust.get(hit.category, 0.5)
            categories[hit.category] = max(categories[hit.category], floor)
            if hit.abuse_kind in kinds_lexicon:
                kinds_lexicon[hit.abuse_kind] = max(kinds_lexicon[hit.abuse_kind], floor)
        rule = signal.promotion.score * self.lexicon_trust.get("promotion_rule", 1.0)
        categories["promotion"] = max(categories["promotion"], rule)
        trained = language in self.head_languages["overall"]
        overall_model = float(row[head["overall"]]) if trained else 0.0
        if language in self.overall_floor_languages:
            likeliest = max(OFFENCE_CATEGORIES, key=lambda c: categories[c])
            categories[likeliest] = max(categories[likeliest], overall_model)
        overall = max(overall_model, *categories.values())
        abuse_kinds = {
            kind: max(kinds_lexicon[kind], categories["abuse"] * float(row[head[f"kind_{kind}"]]))
            for kind in ABUSE_KINDS
        }
        return categories, abuse_kinds, overall

    # -- spans ---------------------------------------------------------------------------------

    def token_contributions(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Each token's share of every head's decision value, in Platt-scaled units."""
        tokens = self.featurizer.tokens(text)
        if not tokens:
            return [], np.zeros((0, len(self.stack.heads)), np.float32)
        word_scale, char_scale = self.featurizer.token_scale(text)
        feats = [t for _, _, t in tokens]
        # One gather for every token's char n-grams, summed per token with reduceat.
        lengths = np.array([len(t.char_ids) for t in feats])
        char_ids = np.concatenate([t.char_ids for t in feats]) - model.WORD_BUCKETS
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        contrib = np.add.reduceat(self._w_chars[char_ids], starts, axis=0) * char_scale
        contrib += self._w_words[[t.word_id for t in feats]] * word_scale
        if len(feats) > 1:
            bigrams = [
                self.featurizer.bigram_id(a, b) for a, b in zip(feats, feats[1:], strict=False)
            ]
            halves = self._w_words[bigrams] * (word_scale / 2)
            contrib[:-1] += halves
            contrib[1:] += halves
        return [(s, e) for s, e, _ in tokens], contrib * self.stack.platt_slope

    def spans(
        self, norm: NormalizedText, categories: dict[str, float], signal: Signals
    ) -> list[Span]:
        spans = [Span(h.start, h.end, h.category) for h in signal.hits if h.category in categories]
        if categories["promotion"] >= self.span_gate and signal.promotion.score > 0:
            spans.extend(Span(s, e, "promotion") for s, e in signal.promotion.spans)
        gated = [c for c in SPAN_HEADS if categories[c] >= self.span_gate]
        if gated:
            positions, contrib = self.token_contributions(norm.text)
            for category in gated:
                column = contrib[:, self._heads[category]] if len(positions) else []
                for (start, end), value in zip(positions, column, strict=True):
                    if value >= self.span_threshold:
                        spans.append(Span(*norm.to_original(start, end), category))
        return spans
