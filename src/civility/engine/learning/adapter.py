"""The newsroom's heads: logistic regressions fitted on the newsroom's decisions, read on top of
the shipped tiers, and the per-language bands they were judged with.

Each refitted head sees the fast tier's hashed n-grams (words the newsroom's readers use, in any
language), a general multilingual sentence embedding (meaning, across languages), the shipped model's own
logits for the head and for "overall" (so with little evidence it stays close to the shipped
model) and the language. The adapter changes scores only in the languages it was judged better
in (`languages`), and the policy only where a language earned its own bands (`opened`, plus the
bands of every adapted language).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..assessment import CATEGORIES
from ..cascade import HEADS, lift_to_overall, logit
from ..encoder import sigmoid
from ..policy import Policy
from .features import NGRAM_WIDTH, Features

ADAPTER_META = "adapter.json"
ADAPTER_WEIGHTS = "adapter.npz"
# The shipped policy's threat bands send a likely threat to a human rather than reject it
# (veiled threats, news about violence); a language's learnt bands never lower that.
REVIEW_FIRST = ("threat",)
# The n-gram block is scaled down beside the embedding, so the regression leans on meaning
# more than on words (chosen on the learning bench's select slices: news comments ranked at
# 0.754 ROC-AUC with 0.3, 0.747 with 1.0, 0.748 with the embedding alone; docs/learning.md).
NGRAM_SCALE = 0.3


class AdapterUnavailable(RuntimeError):
    """The adapter cannot run on this engine (learnt on another shipped model, or the comments
    come without sentence embeddings)."""


@dataclass
class Head:
    """Two stages. The newsroom's own evidence: a logistic regression on n-grams and the
    embedding (`z`). Then a small stacker on the shipped model's logits, `z` and the language,
    fitted on out-of-fold `z`, so a head trusts the newsroom's evidence only as far as it ranks
    better than the shipped model on decisions it was not fitted on."""

    ngram_index: np.ndarray  # int32 columns of the n-gram block with a weight
    ngram_weight: np.ndarray  # float32
    embedding_weight: np.ndarray  # (384,)
    bias: float
    stack_weight: np.ndarray  # logit(shipped head), logit(shipped overall), z, languages
    stack_bias: float

    @cached_property
    def _ngram_column(self) -> np.ndarray:
        """The n-gram weights as one dense column, built once rather than on every batch."""
        column = np.zeros(NGRAM_WIDTH, np.float32)
        column[self.ngram_index] = self.ngram_weight * NGRAM_SCALE
        return column

    def evidence(self, features: Features) -> np.ndarray:
        ngrams = np.asarray(features.ngrams @ self._ngram_column).ravel()
        return ngrams + unit_embeddings(features) @ self.embedding_weight + self.bias

    def decision(self, features: Features, head: str, language_columns) -> np.ndarray:
        z = self.evidence(features)
        return (
            stack_inputs(features, head, z, language_columns) @ self.stack_weight + self.stack_bias
        )


def unit_embeddings(features: Features) -> np.ndarray:
    if features.embeddings is None:
        raise AdapterUnavailable("the newsroom heads need the sentence embeddings")
    emb = np.asarray(features.embeddings, np.float64)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9)


def evidence_inputs(features: Features) -> sp.csr_matrix:
    """The evidence regression's inputs: scaled n-grams beside the unit embedding."""
    return sp.hstack(
        [features.ngrams * NGRAM_SCALE, sp.csr_matrix(unit_embeddings(features))], format="csr"
    )


def stack_inputs(features: Features, head: str, z: np.ndarray, language_columns) -> np.ndarray:
    """The stacker's inputs: the shipped logits for the head and overall, the evidence, languages."""
    base = features.base
    langs = np.array([[float(lang == c) for c in language_columns] for lang in features.languages])
    return np.column_stack(
        [
            logit(base[:, HEADS.index(head)]),
            logit(base[:, HEADS.index("overall")]),
            z,
            langs.reshape(len(features), len(language_columns)),
        ]
    )


class Adapter:
    def __init__(self, meta: dict, heads: dict[str, Head]):
        self.meta = meta
        self.heads = heads
        self.version: str = meta["version"]
        self.base_version: str = meta["base_version"]
        self.languages = frozenset(meta["languages"])
        self.opened = frozenset(meta["opened"])
        self.language_columns: tuple[str, ...] = tuple(meta["language_columns"])
        # {language: threshold}: the language's uniform approve and reject bands.
        self.approve_below: dict[str, float] = meta["approve_below"]
        self.reject_above: dict[str, float] = meta["reject_above"]

    # -- scores ---------------------------------------------------------------------------------

    def scores(self, features: Features) -> dict[str, np.ndarray]:
        """Every head for every row, as if each row's language were adapted: {head: (n,)}.

        Heads the newsroom gave too few labels for keep the shipped score. Where the newsroom's
        "overall" head was fitted, it is the master score: it learnt from every decision what
        breaks this newsroom's guidelines, so no category is more likely than it (threat
        excepted: a likely threat still goes to a person), and the likeliest category is
        raised to it, as the shipped tiers do."""
        out = {}
        for j, head in enumerate(HEADS):
            fitted = self.heads.get(head)
            if fitted is None:
                out[head] = features.base[:, j].astype(np.float64)
            else:
                out[head] = sigmoid(fitted.decision(features, head, self.language_columns))
        if "overall" in self.heads:
            for c in CATEGORIES:
                if c not in REVIEW_FIRST:
                    out[c] = np.minimum(out[c], out["overall"])
        lift_to_overall(out)
        out["overall"] = np.maximum(out["overall"], top_category(out))
        return out

    def apply(self, features: Features, results) -> None:
        """Put the learnt scores on the CategoryResults of adapted languages. In an opened
        language they replace the categories and overall (its learnt bands decide). In a
        language adapted but not opened, only `overall` takes the learnt score, which orders
        the moderators' queue; the categories, and so any automatic decision, stay the shipped
        model's until the language has earned its bands."""
        rows = [i for i, lang in enumerate(features.languages) if lang in self.languages]
        if not rows:
            return
        adapted = self.scores(features.take(rows))
        for k, i in enumerate(rows):
            if features.languages[i] in self.opened:
                results[i].categories = {c: round(float(adapted[c][k]), 6) for c in CATEGORIES}
                results[i].overall = round(float(adapted["overall"][k]), 6)
            else:
                shipped = max(results[i].categories.values())
                results[i].overall = round(max(float(adapted["overall"][k]), shipped), 6)

    # -- policy ---------------------------------------------------------------------------------

    def policy_over(self, policy: Policy) -> Policy:
        """The newsroom's policy with the bands this adapter was judged with: each adapted
        language gets its own approve and reject bands; opened languages become modelled
        (decided automatically); adapted languages that are not opened keep the policy's bands
        on the shipped scores (never approved; rejected only on a clear violation)."""
        approve = {k: dict(v) for k, v in policy.approve_by_language.items()}
        reject = {k: dict(v) for k, v in policy.reject_by_language.items()}
        modelled = set(policy.modelled_languages)
        for language in self.languages:
            if language not in self.opened:
                modelled.discard(language)
                continue
            modelled.add(language)
            low, high = self.approve_below[language], self.reject_above[language]
            approve[language] = dict.fromkeys(CATEGORIES, low)
            reject[language] = {
                c: max(high, policy.bands[c].reject_above) if c in REVIEW_FIRST else high
                for c in CATEGORIES
            }
        return replace(
            policy,
            version=f"{policy.version}+{self.version}",
            modelled_languages=frozenset(modelled),
            approve_by_language=approve,
            reject_by_language=reject,
        )

    # -- files ----------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for head, fitted in self.heads.items():
            arrays[f"{head}.ngram_index"] = fitted.ngram_index.astype(np.int32)
            arrays[f"{head}.ngram_weight"] = fitted.ngram_weight.astype(np.float16)
            arrays[f"{head}.embedding_weight"] = fitted.embedding_weight.astype(np.float32)
            arrays[f"{head}.stack_weight"] = fitted.stack_weight.astype(np.float64)
            arrays[f"{head}.bias"] = np.array([fitted.bias, fitted.stack_bias], np.float64)
        np.savez_compressed(folder / ADAPTER_WEIGHTS, **arrays)
        meta = {**self.meta, "heads": sorted(self.heads)}
        (folder / ADAPTER_META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> Adapter:
        folder = Path(folder)
        meta = json.loads((folder / ADAPTER_META).read_text("utf-8"))
        heads = {}
        with np.load(folder / ADAPTER_WEIGHTS) as arrays:
            for head in meta["heads"]:
                heads[head] = Head(
                    arrays[f"{head}.ngram_index"],
                    arrays[f"{head}.ngram_weight"].astype(np.float32),
                    arrays[f"{head}.embedding_weight"].astype(np.float64),
                    float(arrays[f"{head}.bias"][0]),
                    arrays[f"{head}.stack_weight"].astype(np.float64),
                    float(arrays[f"{head}.bias"][1]),
                )
        return cls(meta, heads)


def top_category(scores: dict[str, np.ndarray]) -> np.ndarray:
    """Each comment's likeliest category: what the policy's bands compare."""
    return np.column_stack([scores[c] for c in CATEGORIES]).max(axis=1)


def decide_arrays(scores: dict[str, np.ndarray], languages, policy: Policy) -> np.ndarray:
    """Policy.decide for many comments without relevance: "approve" / "reject" / "review"."""
    n = len(languages)
    out = np.full(n, "review", dtype=object)
    for i, lang in enumerate(languages):
        categories = {c: float(scores[c][i]) for c in CATEGORIES}
        out[i] = policy.decide(categories, {}, None, lang).decision
    return out
