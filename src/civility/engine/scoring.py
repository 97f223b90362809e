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
from .detectors import lexicon, promotion
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
# Batches up to this size are scored with dense gathers instead of scipy sparse products.
SMALL_BATCH = 8


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


def preload_rules() -> None:
    """Compile every lexicon and promotion phrase now: a one-time cost per process (about a
    second) that would otherwise fall on the first comments in each language."""
    lexicon.preload()
    promotion.preload()


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
        # Span attribution reads only the SPAN_HEADS columns: copies keep its gathers small.
        span_columns = [self._heads[head] for head in SPAN_HEADS]
        self._span_w_words = np.ascontiguousarray(self._w_words[:, span_columns])
        self._span_w_chars = np.ascontiguousarray(self._w_chars[:, span_columns])
        self._span_slope = stack.platt_slope[span_columns]
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

    def probabilities(
        self,
        norms: list[NormalizedText],
        signals: list[Signals],
        batch: model.TokenBatch | None = None,
    ) -> np.ndarray:
        """Calibrated head probabilities, (len(norms), n_heads)."""
        texts = [n.text for n in norms]
        extras = extras_matrix(signals, self.featurizer.extra_names)
        if len(norms) <= SMALL_BATCH:
            z = self._decision_small(texts, extras, batch)
        else:
            words, chars, extras_block = self.featurizer.blocks(texts, extras, batch)
            z = (
                words @ self._w_words
                + chars @ self._w_chars
                + extras_block @ self._w_extras
                + self.stack.bias
            )
        return model.sigmoid(self.stack.platt_slope * z + self.stack.platt_intercept)

    def _decision_small(
        self,
        texts: list[str],
        extras: np.ndarray,
        batch: model.TokenBatch | None,
    ) -> np.ndarray:
        """The decision values of a few comments without building sparse matrices: for one
        comment scipy's set-up costs several times the product. Each block is summed row by
        row in column order, as the sparse product does, so the values are the same."""
        if batch is None:
            batch = model.TokenBatch(self.featurizer.token_lists(texts))
        blocks = (
            (self._w_words, batch.word_columns, batch.word_indptr),
            (self._w_chars, batch.char_columns, batch.char_indptr),
        )
        clipped = np.minimum(np.asarray(extras, dtype=np.float32), model.EXTRA_CLIP)
        out = np.empty((len(texts), len(self.stack.heads)), dtype=np.float32)
        for row in range(len(texts)):
            parts = []
            for weights, columns, indptr in blocks:
                cols = columns[indptr[row] : indptr[row + 1]]
                scale = np.float32(1.0) / np.float32(np.sqrt(max(len(cols), 1)))
                parts.append(np.add.reduce(weights[cols] * scale, axis=0))
            nonzero = np.flatnonzero(clipped[row])
            extra = np.add.reduce(self._w_extras[nonzero] * clipped[row, nonzero, None], axis=0)
            out[row] = parts[0] + parts[1] + extra + self.stack.bias
        return out

    def score_many(self, norms: list[NormalizedText], languages: list[str]) -> list[CategoryResult]:
        if not norms:
            return []
        signals = [comment_signals(n, lang) for n, lang in zip(norms, languages, strict=True)]
        batch = model.TokenBatch(self.featurizer.token_lists([n.text for n in norms]))
        probs = self.probabilities(norms, signals, batch)
        combined = [
            self.combine_scores(lang, signal, row)
            for lang, signal, row in zip(languages, signals, probs, strict=True)
        ]
        spans = self.batch_spans(norms, [c[0] for c in combined], signals, batch)
        return [
            CategoryResult(categories, abuse_kinds, overall, comment_spans)
            for (categories, abuse_kinds, overall), comment_spans in zip(
                combined, spans, strict=True
            )
        ]

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

    def batch_spans(
        self,
        norms: list[NormalizedText],
        categories: list[dict[str, float]],
        signals: list[Signals],
        batch: model.TokenBatch,
    ) -> list[list[Span]]:
        """Spans of every comment: lexicon hits, promotion evidence and the tokens that push a
        gated category's decision past span_threshold. Token contributions are computed for
        the whole batch at once, from the tokens the featurizer already hashed (`batch`)."""
        out = [self.rule_spans(c, s) for c, s in zip(categories, signals, strict=True)]
        gates = np.array(
            [[c[head] >= self.span_gate for head in SPAN_HEADS] for c in categories], dtype=bool
        ).reshape(len(categories), len(SPAN_HEADS))
        chosen = [i for i in np.flatnonzero(gates.any(axis=1)) if batch.token_lists[i]]
        if not chosen:
            return out
        if len(chosen) < len(norms):
            batch = model.TokenBatch([batch.token_lists[i] for i in chosen])
        contrib = self._token_contributions(batch)
        # A token counts for a category only where that category passed the gate.
        strong = (contrib >= self.span_threshold) & gates[chosen][batch.text_of_token]
        for k in np.unique(batch.text_of_token[strong.any(axis=1)]):
            i = chosen[k]
            text = norms[i].text
            positions = [m.span() for m in model.TOKEN_RE.finditer(text)]
            rows = strong[batch.starts[k] : batch.starts[k + 1]]
            for column, category in enumerate(SPAN_HEADS):
                for token in np.flatnonzero(rows[:, column]):
                    start, end = positions[token]
                    out[i].append(Span(*norms[i].to_original(start, end), category))
        return out

    def rule_spans(self, categories: dict[str, float], signal: Signals) -> list[Span]:
        spans = [Span(h.start, h.end, h.category) for h in signal.hits if h.category in categories]
        if categories["promotion"] >= self.span_gate and signal.promotion.score > 0:
            spans.extend(Span(s, e, "promotion") for s, e in signal.promotion.spans)
        return spans

    def _token_contributions(self, batch: model.TokenBatch) -> np.ndarray:
        """Each token's share of each SPAN_HEADS decision value, in Platt-scaled units:
        its char n-grams and unigram in full, each bigram it is part of by half, under its
        text's block scales. (tokens, len(SPAN_HEADS)) float32."""
        token_starts = batch.token_char_starts
        char_sums = np.add.reduceat(
            self._span_w_chars[batch.char_columns], token_starts[:-1], axis=0
        )
        texts = batch.text_of_token
        text_chars = np.maximum(token_starts[batch.starts[1:]] - token_starts[batch.starts[:-1]], 1)
        text_words = np.maximum(2 * batch.counts - 1, 1)
        # Python-float scales applied to float32 arrays act as float32: cast the same way.
        char_scale = (1.0 / np.sqrt(text_chars)).astype(np.float32)
        word_scale = 1.0 / np.sqrt(text_words)
        contrib = char_sums * char_scale[texts, None]
        unigrams = (batch.word_hashes % np.uint64(model.WORD_BUCKETS)).astype(np.int64)
        contrib += self._span_w_words[unigrams] * word_scale.astype(np.float32)[texts, None]
        pairs = np.flatnonzero(batch.has_next)
        if len(pairs):
            bigrams = batch.bigram_columns[pairs].astype(np.int64)
            half_scale = (word_scale / 2).astype(np.float32)[texts[pairs], None]
            halves = self._span_w_words[bigrams] * half_scale
            contrib[pairs] += halves
            contrib[pairs + 1] += halves
        return contrib * self._span_slope
