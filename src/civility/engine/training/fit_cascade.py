"""Fit the cascade's stackers, its gate and the policy bands on dev data neither tier trained on.

    python -m civility.engine.training.fit_cascade --data ../shared/data \
        [--encoder src/civility/models/encoder] [--policy-out src/civility/policy/default.toml]

The dev split (hash of the text, 10%, never used by either tier's training) is cut in two
halves. Everything is fitted on the tuning half and reported on the held-out half:
1. per category, logistic stackers (`full`: both tiers; `fast`: the fast tier alone), with
   out-of-fold predictions on the tuning half (5 folds) for everything chosen after them;
2. policy bands on the combined scores: `reject_above` the lowest threshold whose automatic
   rejections are ≥ 97% precise (any guideline broken), then the approve bands widened greedily
   while approved violations stay ≤ 1.2% in each of en, ar, fa, tr (a margin under 1.5%);
3. the gate on the fast-only scores: reject when a category is ≥ 99% precise on its own,
   approve when every category is below a fraction of its approve band small enough that the
   gate adds ≤ 0.3 points of approved violations in any language.
Writes DIR/stacker.json, DIR/cascade_metrics.json and the policy TOML.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ..assessment import CATEGORIES
from ..cascade import HEADS, STACKER_FILE, fast_features, full_features, language_features
from ..encoder import SHIPPED_ENCODER, EncoderScorer, sigmoid
from ..moderator import _language
from ..scoring import CategoryScorer
from ..text import normalize
from . import datasets
from .datasets import UNKNOWN
from .train import relax_approve_bands

STACK_LANGUAGES = ("en", "ar", "fa", "tr")
ENCODER_LANGUAGES = ("ckb", "kmr", "other")
MIN_POSITIVES = 40
REJECT_PRECISION = 0.97
GATE_REJECT_PRECISION = 0.99
BANDS_MAX_MISS = 0.012
GATE_EXTRA_MISS = 0.003
TARGET_MAX_MISS = 0.015
MISS_LANGUAGES = ("en", "ar", "fa", "tr")
# Categories too thinly labelled to fit (threat: ~100 examples, vulgarity: none): bands set
# by hand, as before. Threat alone never rejects; it sends a comment to a human.
HAND_BANDS = {"threat": (0.20, 0.99), "vulgarity": (0.30, 0.90)}
GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)


def half_of(row) -> str:
    return "tuning" if datasets.hash_split(row.text, 2, salt="bands") == "dev" else "held_out"


def tier_scores(rows, encoder: EncoderScorer, log=print):
    """Fast-tier scores (the shipped fast tier, as the Moderator runs it) and encoder logits."""
    scorer = CategoryScorer.load()
    languages = [_language(r.text, r.language) for r in rows]
    fast = {h: np.zeros(len(rows)) for h in HEADS}
    for start in range(0, len(rows), 512):
        chunk = rows[start : start + 512]
        results = scorer.score_many(
            [normalize(r.text) for r in chunk], languages[start : start + 512]
        )
        for j, result in enumerate(results):
            for c in CATEGORIES:
                fast[c][start + j] = result.categories[c]
            fast["overall"][start + j] = result.overall
    started = time.perf_counter()
    enc = encoder.logits([r.text for r in rows])
    log(f"encoder: {len(rows)} comments in {time.perf_counter() - started:.0f} s")
    return fast, enc, languages


def fit_logistic(X: np.ndarray, y: np.ndarray, folds: int = 5):
    """(out-of-fold probabilities, final model as {'weights', 'bias'})."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(C=1.0, max_iter=1000)
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    oof = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    model.fit(X, y)
    return oof, {
        "weights": model.coef_[0].round(6).tolist(),
        "bias": round(float(model.intercept_[0]), 6),
    }


def apply(params: dict, X: np.ndarray) -> np.ndarray:
    return sigmoid(X @ np.asarray(params["weights"]) + params["bias"])


def stack(fast, enc, heads_index, languages, labels, tuning, held_out):
    """Fitted stackers and the combined / fast-only scores of both halves ({head: (n,)})."""
    lang = language_features(languages, STACK_LANGUAGES)
    enc_overall = enc[:, heads_index["overall"]]
    stacker, full_scores, fast_scores = {}, {}, {}
    for head in HEADS:
        e = enc[:, heads_index[head]]
        X_full = full_features(fast[head], e, enc_overall, lang)
        X_fast = fast_features(fast[head], fast["overall"], lang)
        y = labels[head]
        usable = tuning & (y != UNKNOWN)
        full_scores[head] = np.maximum(fast[head], sigmoid(e))
        fast_scores[head] = fast[head].copy()
        if (y[usable] == 1).sum() < MIN_POSITIVES or (y[usable] == 0).sum() < MIN_POSITIVES:
            stacker[head] = None
            continue
        idx = np.flatnonzero(usable)
        oof_full, params_full = fit_logistic(X_full[idx], y[idx])
        oof_fast, params_fast = fit_logistic(X_fast[idx], y[idx])
        # Tuning rows the head has no label for, and the held-out half, get the final model.
        full_scores[head] = apply(params_full, X_full)
        fast_scores[head] = apply(params_fast, X_fast)
        full_scores[head][idx] = oof_full
        fast_scores[head][idx] = oof_fast
        stacker[head] = {"full": params_full, "fast": params_fast, "positives": int(len(idx))}
    return stacker, full_scores, fast_scores


def reject_threshold(score, y_any, precision, minimum=10, floor=0.0):
    known = y_any != UNKNOWN
    s, y = score[known], y_any[known]
    for t in GRID:
        if t < floor:
            continue
        flagged = s >= t
        if flagged.sum() >= minimum and (y[flagged] == 1).mean() >= precision:
            return float(t)
    return None


def decide(scores, approve, reject):
    """'approve' / 'reject' / 'review' per comment under bands (as Policy.decide, without
    the language and relevance rules, which the caller applies)."""
    n = len(scores["overall"])
    rejected = np.zeros(n, bool)
    approved = np.ones(n, bool)
    for c in CATEGORIES:
        rejected |= scores[c] >= reject[c]
        approved &= scores[c] < approve[c]
    return np.where(rejected, "reject", np.where(approved, "approve", "review"))


def miss_rates(decision, y_any, languages, mask):
    out = {}
    for lang in MISS_LANGUAGES:
        violating = mask & (languages == lang) & (y_any == 1)
        if violating.any():
            out[lang] = float((decision[violating] == "approve").mean())
    return out


def widen_approve(scores, labels, languages, mask, reject, fitted, max_miss):
    """Approve bands widened greedily under a per-language limit on approved violations
    (train.relax_approve_bands, on the combined scores of the tuning half)."""
    bands = {
        c: {"approve_below": 0.01, "reject_above": reject[c]} if c in fitted else None
        for c in CATEGORIES
    }
    relaxed, _ = relax_approve_bands(
        bands,
        {c: scores[c][mask] for c in CATEGORIES},
        {h: labels[h][mask] for h in HEADS},
        languages[mask],
        max_miss,
    )
    return {
        c: relaxed[c]["approve_below"] if relaxed[c] else HAND_BANDS.get(c, (0.30, 0.99))[0]
        for c in CATEGORIES
    }


def cascade_decisions(full_scores, fast_scores, gate, approve, reject, languages):
    """Effective scores and decisions when gated comments skip the encoder."""
    n = len(languages)
    gate_reject = np.zeros(n, bool)
    for c, t in gate["reject_above"].items():
        gate_reject |= fast_scores[c] >= t
    gate_approve = np.ones(n, bool)
    for c in CATEGORIES:
        gate_approve &= fast_scores[c] < gate["approve_below"][c]
    modelled = ~np.isin(languages, ENCODER_LANGUAGES)
    settled = modelled & (gate_reject | gate_approve)
    effective = {h: np.where(settled, fast_scores[h], full_scores[h]) for h in HEADS}
    decision = decide(effective, approve, reject)
    decision = np.where(modelled, decision, np.where(decision == "approve", "review", decision))
    return effective, decision, settled


def figures(decision, y_any, languages, sources, mask, settled=None):
    decided = mask & (decision != "review")
    rejected = mask & (decision == "reject")
    known = mask & (y_any != UNKNOWN)
    clean_c3 = mask & (sources == "c3") & (y_any == 0)
    out = {
        "comments": int(mask.sum()),
        "automation": round(float(decided.sum() / max(1, mask.sum())), 4),
        "auto_decision_accuracy": round(
            float(
                ((decision == "approve") & (y_any == 0) | (decision == "reject") & (y_any == 1))[
                    decided & known
                ].mean()
            ),
            4,
        ),
        "reject_precision": round(float((y_any[rejected & known] == 1).mean()), 4)
        if (rejected & known).any()
        else None,
        "approved_violations": {
            k: round(v, 4) for k, v in miss_rates(decision, y_any, languages, mask).items()
        },
        "clean_approved": round(float((decision[mask & (y_any == 0)] == "approve").mean()), 4),
        "clean_c3_approved": round(float((decision[clean_c3] == "approve").mean()), 4),
    }
    if settled is not None:
        out["encoder_share"] = round(float(1 - settled[mask].mean()), 4)
    return out


def auc_table(scores, labels, languages, mask):
    from sklearn.metrics import roc_auc_score

    table = {}
    for head in HEADS:
        y = labels[head]
        known = mask & (y != UNKNOWN)
        if known.any() and 0 < (y[known] == 1).sum() < known.sum():
            table[head] = round(float(roc_auc_score(y[known], scores[head][known])), 4)
    for lang in MISS_LANGUAGES:
        y = labels["overall"]
        known = mask & (y != UNKNOWN) & (languages == lang)
        if known.any() and 0 < (y[known] == 1).sum() < known.sum():
            table[f"overall_{lang}"] = round(
                float(roc_auc_score(y[known], scores["overall"][known])), 4
            )
    return table


def fit(data: Path, encoder_dir: Path, policy_out: Path | None, log=print) -> dict:
    rows = [r for r in datasets.load(data) if r.split == "dev"]
    encoder = EncoderScorer(encoder_dir, threads=2)
    fast, enc, languages = tier_scores(rows, encoder, log)
    languages = np.array(languages)
    heads_index = {h: i for i, h in enumerate(encoder.heads)}
    labels = {h: np.array([r.labels[h] for r in rows]) for h in HEADS}
    y_any = labels["overall"]
    sources = np.array([r.source for r in rows])
    tuning = np.array([half_of(r) == "tuning" for r in rows])
    held_out = ~tuning
    stacker, full_scores, fast_scores = stack(
        fast, enc, heads_index, languages, labels, tuning, held_out
    )
    # Bands on the combined scores, as if every comment reached the encoder.
    reject = {}
    for c in CATEGORIES:
        if c in HAND_BANDS or stacker.get(c) is None:
            reject[c] = HAND_BANDS.get(c, (0.30, 0.99))[1]
            continue
        masked = np.where(tuning, y_any, UNKNOWN)
        reject[c] = reject_threshold(full_scores[c], masked, REJECT_PRECISION) or 0.99
    fitted = [c for c in CATEGORIES if c not in HAND_BANDS and stacker.get(c) is not None]
    approve = widen_approve(full_scores, labels, languages, tuning, reject, fitted, BANDS_MAX_MISS)
    # The gate on the fast-only scores.
    gate_reject = {}
    for c in CATEGORIES:
        if stacker.get(c) is None:
            continue
        masked = np.where(tuning, y_any, UNKNOWN)
        t = reject_threshold(
            fast_scores[c], masked, GATE_REJECT_PRECISION, minimum=20, floor=reject[c]
        )
        if t is not None:
            gate_reject[c] = t
    chosen_fraction = 0.0
    for fraction in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        gate = {
            "reject_above": gate_reject,
            "approve_below": {c: round(approve[c] * fraction, 4) for c in CATEGORIES},
        }
        _, decision, _ = cascade_decisions(
            full_scores, fast_scores, gate, approve, reject, languages
        )
        _, plain, _ = cascade_decisions(
            full_scores,
            fast_scores,
            {"reject_above": {}, "approve_below": dict.fromkeys(CATEGORIES, 0.0)},
            approve,
            reject,
            languages,
        )
        added = {
            k: v - miss_rates(plain, y_any, languages, tuning).get(k, 0.0)
            for k, v in miss_rates(decision, y_any, languages, tuning).items()
        }
        if (
            max(added.values()) > GATE_EXTRA_MISS
            or max(miss_rates(decision, y_any, languages, tuning).values()) > TARGET_MAX_MISS
        ):
            break
        chosen_fraction = fraction
    gate = {
        "reject_above": gate_reject,
        "approve_below": {c: round(approve[c] * chosen_fraction, 4) for c in CATEGORIES},
    }
    effective, decision, settled = cascade_decisions(
        full_scores, fast_scores, gate, approve, reject, languages
    )
    report = {
        "dev_rows": len(rows),
        "gate_approve_fraction": chosen_fraction,
        "bands": {c: {"approve_below": approve[c], "reject_above": reject[c]} for c in CATEGORIES},
        "gate": gate,
        "tuning_half": figures(decision, y_any, languages, sources, tuning, settled),
        "held_out_half": figures(decision, y_any, languages, sources, held_out, settled),
        "held_out_auc_cascade": auc_table(effective, labels, languages, held_out),
        "held_out_auc_encoder_path": auc_table(
            {h: np.where(held_out, full_scores[h], 0) for h in HEADS}, labels, languages, held_out
        ),
        "held_out_auc_fast_tier": auc_table(fast, labels, languages, held_out),
    }
    stacker_json = {
        "version": time.strftime("%Y.%m.%d"),
        "languages": list(STACK_LANGUAGES),
        "encoder_languages": list(ENCODER_LANGUAGES),
        "heads": stacker,
        "gate": gate,
    }
    (encoder_dir / STACKER_FILE).write_text(json.dumps(stacker_json, indent=2), "utf-8")
    (encoder_dir / "cascade_metrics.json").write_text(json.dumps(report, indent=2), "utf-8")
    if policy_out:
        policy_out.write_text(policy_toml(approve, reject, report, encoder.version), "utf-8")
    log(json.dumps(report, indent=2))
    return report


def policy_toml(approve, reject, report, encoder_version) -> str:
    held = report["held_out_half"]
    lines = [
        "# Civility's default moderation policy. A newsroom overrides it with its own TOML file",
        "# (`civility score --policy FILE`, or CIVILITY_POLICY for the web service); keys left out",
        "# keep these defaults.",
        "#",
        "# For every guideline category: a calibrated probability below `approve_below` counts as",
        "# a clear pass, at or above `reject_above` as a clear violation, and anything between goes",
        "# to a human moderator. Chosen by engine/training/fit_cascade.py for the cascade",
        f"# (fast tier + encoder {encoder_version}) on one half of the dev split: automatic",
        f"# rejections >= {REJECT_PRECISION:.0%} precise, approved violations <= {BANDS_MAX_MISS:.1%} per",
        "# language (en, ar, fa, tr). On the other half: automation "
        f"{held['automation']:.1%}, rejection precision {held['reject_precision']},",
        f"# approved violations {held['approved_violations']}. See docs/policy.md.",
        "# Threat and vulgarity have too few labels to fit: hand-set bands; threat alone never",
        "# rejects (it sends the comment to a human).",
        f'version = "cascade-{time.strftime("%Y.%m.%d")}"',
        "",
    ]
    for c in CATEGORIES:
        lines += [
            f"[bands.{c}]",
            f"approve_below = {approve[c]:.2f}",
            f"reject_above = {reject[c]:.2f}",
            "",
        ]
    lines += [
        "[relevance]",
        "# With an article given, comments less relevant than this go to review (never rejected",
        "# for relevance alone).",
        "review_below = 0.05",
        "",
        "[languages]",
        "# Languages with trained models. Anything else is never approved automatically.",
        'modelled = ["en", "ar", "fa", "tr"]',
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--encoder", type=Path, default=SHIPPED_ENCODER)
    parser.add_argument("--policy-out", type=Path, default=None)
    args = parser.parse_args(argv)
    fit(args.data, args.encoder, args.policy_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
