"""The cascade: the fast tier scores every comment; the encoder reads the ones it cannot settle.

For each category a small logistic stacker, fitted out of fold on dev data the two tiers never
trained on (engine/training/fit_cascade.py), turns the tiers' outputs into one calibrated
probability:
- `full`: fast-tier logit, encoder logit for the category and the encoder's "overall" logit,
  plus the comment's language;
- `fast`: the fast tier alone, calibrated the same way, for comments the encoder skips.
A category with too few dev labels to fit takes the mean of the two tiers' logits (threat: the
encoder learnt from the ~100 labelled threats, boosted), or the fast tier's score alone where the
encoder has nothing to add (`fast_only_heads`: vulgarity, which has no labels and comes from the
lexicon; promotion, which the fast tier's rules and n-grams rank at 0.999 AUC). Then, as the
fast tier does for languages with thin category labels, the likeliest offence category is
raised to the "overall" probability in the languages the stacker file names (`lift_languages`):
a comment that very likely breaks a guideline is not approved because no single category is
sure which one (Turkish data, for one, says only offensive or not). Threat is never a target
of the lift (`lift_targets`): its own head and bands speak for it.

The gate: a comment skips the encoder only when its fast-only scores are already settled: one at
or above its `reject_above` gate (fitted at ≥ 99% precision), or all below their `approve_below`
gates (fitted to let through at most a small share of violations per language). Languages the
fast tier has no labels for (Kurdish, anything unrecognised) always reach the encoder. The
policy then decides from whichever scores the comment has, exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .assessment import CATEGORIES
from .encoder import SHIPPED_ENCODER, EncoderScorer, sigmoid

STACKER_FILE = "stacker.json"
HEADS: tuple[str, ...] = (*CATEGORIES, "overall")
OFFENCES: tuple[str, ...] = ("profanity", "vulgarity", "threat", "personal_attack", "abuse")
# What the lift may raise. Threat is a head of its own (our threat set, the public threat
# labels): a generic "offensive" probability is no threat, and lifted onto threat it had sent
# Turkish news comments about violence to review and forced a narrow Turkish threat band.
LIFT_TARGETS: tuple[str, ...] = ("profanity", "vulgarity", "personal_attack", "abuse")


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def language_features(languages: Sequence[str], known: Sequence[str]) -> np.ndarray:
    return np.array([[float(lang == k) for k in known] for lang in languages]).reshape(
        len(languages), len(known)
    )


def full_features(fast: np.ndarray, enc: np.ndarray, enc_overall: np.ndarray, lang: np.ndarray):
    """Stacker inputs with both tiers: (n, 3 + languages)."""
    return np.column_stack([logit(fast), enc, enc_overall, lang])


def fast_features(fast: np.ndarray, fast_overall: np.ndarray, lang: np.ndarray):
    """Stacker inputs from the fast tier alone: (n, 2 + languages)."""
    return np.column_stack([logit(fast), logit(fast_overall), lang])


def thin_head(fast: np.ndarray, enc_logit: np.ndarray) -> np.ndarray:
    """A category too thinly labelled to fit a stacker: the mean of the two tiers' logits."""
    return sigmoid((logit(fast) + enc_logit) / 2)


def lift_to_overall(
    scores: dict[str, np.ndarray], where=None, targets: Sequence[str] = OFFENCES
) -> dict[str, np.ndarray]:
    """Raise each comment's likeliest offence category among `targets` to its overall
    probability (in place), for the comments `where` is true (all by default), unless the
    comment is likely spam (promotion >= 0.5 and its likeliest category): spam explains its
    own "overall"."""
    stacked = np.column_stack([scores[c] for c in targets])
    top = stacked.argmax(axis=1)
    lift = np.ones(len(top), bool) if where is None else np.asarray(where, bool)
    spam = (scores["promotion"] >= 0.5) & (scores["promotion"] >= stacked.max(axis=1))
    lift = lift & ~spam
    for j, c in enumerate(targets):
        raised = np.maximum(scores[c], scores["overall"])
        scores[c] = np.where((top == j) & lift, raised, scores[c])
    return scores


@dataclass
class Linear:
    weights: np.ndarray
    bias: float

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return sigmoid(features @ self.weights + self.bias)

    @classmethod
    def from_json(cls, raw: dict) -> Linear:
        return cls(np.asarray(raw["weights"], np.float64), float(raw["bias"]))


class Cascade:
    def __init__(self, encoder: EncoderScorer, stacker: dict):
        self.encoder = encoder
        self.stacker = stacker
        self.version = f"{encoder.version}+stack-{stacker['version']}"
        self.languages: tuple[str, ...] = tuple(stacker["languages"])
        self.encoder_languages = frozenset(stacker["encoder_languages"])
        self.full = {h: Linear.from_json(v["full"]) for h, v in stacker["heads"].items() if v}
        self.fast = {h: Linear.from_json(v["fast"]) for h, v in stacker["heads"].items() if v}
        self.lift_languages = frozenset(stacker["lift_languages"])
        # Stackers fitted before LIFT_TARGETS lifted onto every offence, threat included.
        self.lift_targets = tuple(stacker.get("lift_targets", OFFENCES))
        self.fast_only_heads = frozenset(stacker.get("fast_only_heads", ()))
        self.gate_reject = {c: float(t) for c, t in stacker["gate"]["reject_above"].items()}
        # Per language: {category: threshold}; a language not listed is never settled by it.
        self.gate_approve = stacker["gate"]["approve_below"]
        self.head_index = {h: i for i, h in enumerate(encoder.heads)}

    @classmethod
    def load(cls, folder: str | Path | None = None) -> Cascade:
        folder = Path(folder) if folder else SHIPPED_ENCODER
        path = folder / STACKER_FILE
        if not path.exists():
            raise FileNotFoundError(f"cascade stacker not found: {path}")
        return cls(EncoderScorer(folder), json.loads(path.read_text("utf-8")))

    # -- the two calibrations -------------------------------------------------------------------

    def fast_only(self, fast: dict[str, np.ndarray], languages: Sequence[str]):
        """Calibrated scores from the fast tier alone: {head: (n,)}."""
        lang = language_features(languages, self.languages)
        out = {}
        for head in HEADS:
            if head in self.fast:
                out[head] = self.fast[head](fast_features(fast[head], fast["overall"], lang))
            else:
                out[head] = np.asarray(fast[head], np.float64)
        lift = [lang in self.lift_languages for lang in languages]
        return lift_to_overall(out, lift, self.lift_targets)

    def combined(self, fast: dict[str, np.ndarray], enc_logits: np.ndarray, languages):
        """Calibrated scores from both tiers: {head: (n,)}."""
        lang = language_features(languages, self.languages)
        enc_overall = enc_logits[:, self.head_index["overall"]]
        out = {}
        for head in HEADS:
            enc = enc_logits[:, self.head_index[head]]
            if head in self.full:
                out[head] = self.full[head](full_features(fast[head], enc, enc_overall, lang))
            elif head in self.fast_only_heads:
                out[head] = np.asarray(fast[head], np.float64)
            else:
                out[head] = thin_head(np.asarray(fast[head], np.float64), enc)
        lift = [lang in self.lift_languages for lang in languages]
        return lift_to_overall(out, lift, self.lift_targets)

    def settled(self, scores: dict[str, np.ndarray], languages: Sequence[str]) -> np.ndarray:
        """Which comments the fast-only scores settle (no encoder needed)."""
        n = len(languages)
        reject = np.zeros(n, bool)
        for c, t in self.gate_reject.items():
            reject |= scores[c] >= t
        approve = np.zeros(n, bool)
        for i, lang in enumerate(languages):
            bands = self.gate_approve.get(lang)
            if bands:
                approve[i] = all(scores[c][i] < bands.get(c, 0.0) for c in CATEGORIES)
        modelled = np.array([lang not in self.encoder_languages for lang in languages])
        return modelled & (reject | approve)

    def refine(self, texts: Sequence[str], languages: Sequence[str], results) -> int:
        """Replace each CategoryResult's categories and overall with calibrated cascade scores,
        in place. Returns how many comments the encoder read."""
        if not results:
            return 0
        fast = {h: np.array([r.categories[h] for r in results]) for h in CATEGORIES}
        fast["overall"] = np.array([r.overall for r in results])
        scores = self.fast_only(fast, languages)
        wordless = np.array([not any(ch.isalpha() for ch in t) for t in texts])
        needs = np.flatnonzero(~self.settled(scores, languages) & ~wordless)
        if len(needs):
            sub_fast = {h: v[needs] for h, v in fast.items()}
            sub_languages = [languages[i] for i in needs]
            enc = self.encoder.logits([texts[i] for i in needs])
            both = self.combined(sub_fast, enc, sub_languages)
            for head in HEADS:
                scores[head] = scores[head].copy()
                scores[head][needs] = both[head]
        for i, result in enumerate(results):
            result.categories = {c: round(float(scores[c][i]), 6) for c in CATEGORIES}
            result.overall = round(max(float(scores["overall"][i]), *result.categories.values()), 6)
        return len(needs)
