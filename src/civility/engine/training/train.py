"""`civility train --data ../shared/data --out DIR`: reproducibly train the fast tier.

Recipe (docs/model-card.md): every trainable set → normalise → lexicon/promotion signals →
hashed n-grams → one SGD logistic-regression head per target on the rows whose label is known
(train split only) → Platt scaling fitted on 3-fold out-of-fold decision values → lexicon trust,
span threshold and suggested policy bands from out-of-fold / dev data → artifacts + metrics JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold

from .. import model
from ..assessment import ABUSE_KINDS, CATEGORIES
from ..language import SUPPORTED_LANGUAGES
from ..scoring import KIND_HEADS, MODEL_CATEGORIES, CategoryScorer
from ..text import normalize
from . import datasets, threat_set
from .datasets import UNKNOWN, Row
from .prepared import Prepared, is_span_tuning_row, prepare, span_f1_of

SEED = 20261127
FOLDS = 3
HEADS: tuple[str, ...] = (*MODEL_CATEGORIES, "overall", *KIND_HEADS)
# Languages whose category labels are thin, so the overall head lifts the likeliest category.
# Not Kurdish or "other": the overall head never saw them, so only the lexicon speaks there.
OVERALL_FLOOR_LANGUAGES = ("ar", "fa", "tr")
# Trust in a lexicon hit where no labels exist to measure it (vulgarity): never auto-reject alone.
DEFAULT_LEXICON_TRUST = 0.6
REJECT_PRECISION = 0.95
# Band of a category without labels (vulgarity): the shipped default, kept as is.
UNLABELLED_APPROVE_BELOW = 0.30
APPROVE_MAX_MISS = 0.02


def head_labels(rows: list[Row], head: str) -> np.ndarray:
    """Labels of one head (1/0/UNKNOWN). Category heads skip (language, category) pairs with no
    positive example, so e.g. Turkish "NOT" rows do not teach the heads that Turkish is clean."""
    if head.startswith("kind_"):
        kind = head.removeprefix("kind_")
        return np.array([r.kinds.get(kind, UNKNOWN) if r.kinds else UNKNOWN for r in rows])
    y = np.array([r.labels[head] for r in rows])
    if head != "overall":
        languages = np.array([r.language for r in rows])
        for language in set(languages):
            in_language = languages == language
            if not (y[in_language] == 1).any():
                y[in_language] = UNKNOWN
    return y


def new_classifier() -> SGDClassifier:
    return SGDClassifier(
        loss="log_loss", alpha=2e-6, max_iter=8, tol=None, random_state=SEED, average=True
    )


def fit_head(
    X, y: np.ndarray, calibrate: bool
) -> tuple[np.ndarray, float, float, float, np.ndarray]:
    """Weights, bias, Platt slope/intercept and the out-of-fold decision values of known rows."""
    known = np.flatnonzero(y != UNKNOWN)
    Xk, yk = X[known], y[known]
    oof = np.zeros(len(known))
    if calibrate:
        for fit_idx, held_idx in StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(
            Xk, yk
        ):
            clf = new_classifier().fit(Xk[fit_idx], yk[fit_idx])
            oof[held_idx] = clf.decision_function(Xk[held_idx])
        platt = LogisticRegression(C=1e4).fit(oof.reshape(-1, 1), yk)
        slope, intercept = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    else:
        slope, intercept = 1.0, 0.0
    clf = new_classifier().fit(Xk, yk)
    full_oof = np.full(len(y), np.nan)
    full_oof[known] = oof
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0]), slope, intercept, full_oof


def lexicon_trust(prepared: Prepared) -> dict[str, float]:
    """Per category: share of training rows with a strong lexicon hit that break a guideline.

    Measured against the `overall` label, which nearly every row has: category labels are
    known mostly on clean rows, so a per-category share would understate the lexicon's precision.
    """
    y = np.array([r.labels["overall"] for r in prepared.rows])
    known = y != UNKNOWN

    def precision(feature: str, fallback: float) -> float:
        strong = known & np.array([s.extras.get(feature, 0.0) >= 0.7 for s in prepared.signals])
        return round(float((y[strong] == 1).mean()), 3) if strong.sum() >= 30 else fallback

    trust = {c: precision(f"lex_{c}_max", DEFAULT_LEXICON_TRUST) for c in CATEGORIES}
    # The same measure for the promotion rules' own score (links, handles, pitches).
    trust["promotion_rule"] = precision("promotion_rule_score", DEFAULT_LEXICON_TRUST)
    return trust


def choose_band(scores: np.ndarray, y_category: np.ndarray, y_overall: np.ndarray) -> dict | None:
    """Policy band of one category from out-of-fold scores.

    reject_above: the lowest threshold at which >= 95% of the comments it would reject break
    a guideline (judged on the `overall` label: a rejection is right if the comment breaks any
    rule, even when another category named it). approve_below: the highest threshold at which
    at most 2% of this category's labelled violations would be approved.
    """
    positives = scores[y_category == 1]
    if len(positives) < 20:
        return None
    known = y_overall != UNKNOWN
    s_known, y_known = scores[known], y_overall[known]
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)

    def precise(t: float) -> bool:
        flagged = s_known >= t
        return flagged.sum() >= 10 and (y_known[flagged] == 1).mean() >= REJECT_PRECISION

    # No threshold precise enough: the top of the grid, which no current score reaches.
    reject = next((float(t) for t in grid if precise(t)), float(grid[-1]))
    approve = max(
        (float(t) for t in grid if (positives < t).mean() <= APPROVE_MAX_MISS), default=0.01
    )
    approve = min(approve, reject)
    flagged = s_known >= reject
    labelled = y_category != UNKNOWN
    category_flagged = scores[labelled] >= reject
    return {
        "approve_below": approve,
        "reject_above": reject,
        "reject_precision_any_guideline": round(float((y_known[flagged] == 1).mean()), 4)
        if flagged.any()
        else None,
        "reject_precision_this_category": round(
            float((y_category[labelled][category_flagged] == 1).mean()), 4
        )
        if category_flagged.any()
        else None,
        "rejected_share_of_positives": round(float((positives >= reject).mean()), 4),
        "approve_miss_rate": round(float((positives < approve).mean()), 4),
        "positives": int(len(positives)),
    }


# Steps the approve bands may take while they are widened (finer where scores crowd).
APPROVE_GRID = (
    0.01,
    0.02,
    0.03,
    0.04,
    0.05,
    0.06,
    0.07,
    0.08,
    0.09,
    0.10,
    0.12,
    0.14,
    0.16,
    0.18,
    0.20,
    0.23,
    0.26,
    0.30,
    0.35,
    0.40,
    0.45,
    0.50,
    0.55,
    0.60,
)
# Languages with labelled violations; each must keep its own miss rate under the limit.
MISS_LANGUAGES = ("en", "ar", "fa", "tr")
# The bands are widened on one half of the dev split with a margin under the 2% target, so
# that the other half (and unseen comments) stay under it: measured, the held-out half's miss
# runs a few tenths of a point above the tuning half's.
TUNING_MAX_MISS = 0.015
# A category with fewer labelled violations than this in the tuning half (threat) cannot
# vouch for a wide band; its approve band stays at most THIN_APPROVE_CAP.
THIN_POSITIVES = 50
THIN_APPROVE_CAP = 0.20


def approved_mask(
    approve: dict[str, float], reject: dict[str, float], scores: dict[str, np.ndarray]
) -> np.ndarray:
    """Which comments the policy approves: nothing rejects them and all are below their band."""
    n = len(next(iter(scores.values())))
    mask = np.ones(n, dtype=bool)
    for c in CATEGORIES:
        mask &= scores[c] < approve.get(c, UNLABELLED_APPROVE_BELOW)
        mask &= scores[c] < reject.get(c, 1.01)
    return mask


def approval_figures(
    approved: np.ndarray, labels: dict[str, np.ndarray], languages: np.ndarray
) -> dict[str, float]:
    """Approved share of violations per labelled language and overall, and of clean comments."""
    y = labels["overall"]
    figures = {
        f"miss_{lang}": round(float(approved[(languages == lang) & (y == 1)].mean()), 4)
        for lang in MISS_LANGUAGES
        if ((languages == lang) & (y == 1)).any()
    }
    figures["miss_all"] = round(float(approved[y == 1].mean()), 4)
    figures["clean_approved"] = round(float(approved[y == 0].mean()), 4)
    return figures


def relax_approve_bands(
    bands: dict,
    scores: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    languages: np.ndarray,
    max_miss: float = APPROVE_MAX_MISS,
) -> tuple[dict, dict[str, float]]:
    """Widen the approve bands, one step at a time, while approvals miss <= max_miss of
    violations.

    "Violations" are comments that break at least one guideline (the `overall` label), as a
    rejection decision sees them, and the limit holds in every labelled language on its own,
    so a language with noisier scores (tr) cannot borrow from an easy one (en). Each step
    widens the category band that approves the most clean comments per violation it lets
    through (greedy coordinate ascent). Comments an automatic rejection takes are not approvals.
    """
    modelled = [c for c in CATEGORIES if bands.get(c)]
    reject = {c: bands[c]["reject_above"] for c in modelled}
    y = labels["overall"]
    violating = [(languages == lang) & (y == 1) for lang in MISS_LANGUAGES]
    violating = [mask for mask in violating if mask.any()]
    cap = {
        c: THIN_APPROVE_CAP if (labels[c] == 1).sum() < THIN_POSITIVES else reject[c]
        for c in modelled
    }

    chosen = {c: APPROVE_GRID[0] for c in modelled}
    while True:
        current = approved_mask(chosen, reject, scores)
        best = None
        for c in modelled:
            wider = [t for t in APPROVE_GRID if chosen[c] < t <= cap[c]]
            if not wider:
                continue
            trial = approved_mask({**chosen, c: wider[0]}, reject, scores)
            if max(float(trial[v].mean()) for v in violating) > max_miss:
                continue
            gained = int((trial & (y == 0)).sum() - (current & (y == 0)).sum())
            let_through = int((trial & (y == 1)).sum() - (current & (y == 1)).sum())
            value = gained / (let_through + 1)
            if best is None or value > best[0]:
                best = (value, c, wider[0])
        if best is None:
            break
        chosen[best[1]] = best[2]
    final = approved_mask(chosen, reject, scores)
    relaxed = {}
    for c, band in bands.items():
        if band is None:
            relaxed[c] = None
            continue
        relaxed[c] = {
            **{k: v for k, v in band.items() if k != "approve_miss_rate"},  # out-of-fold figure
            "approve_below": chosen[c],
            # The share of this category's violations the whole policy would approve.
            "approved_share_of_violations": round(float(final[labels[c] == 1].mean()), 4),
        }
    return relaxed, approval_figures(final, labels, languages)


def is_band_tuning_row(row: Row) -> bool:
    """The half of the dev split the approve bands are tuned on; the other half reports."""
    return row.split == "dev" and datasets.hash_split(row.text, 2, salt="bands") == "dev"


def dev_scores(scorer: CategoryScorer, rows: list[Row]) -> dict[str, np.ndarray]:
    """The shipped scorer's category scores for rows it never trained on."""
    results = scorer.score_many([normalize(r.text) for r in rows], [r.language for r in rows])
    return {c: np.array([result.categories[c] for result in results]) for c in CATEGORIES}


def choose_approve_bands(scorer: CategoryScorer, bands: dict, data: Path) -> tuple[dict, dict]:
    """Approve bands from the final model's scores on one half of the dev split (the model
    that ships, on comments it never saw: out-of-fold scores of the fold models run lower and
    gave bands that approved half as many clean news comments), checked on the other half."""
    dev = [r for r in datasets.load(data) if r.split == "dev"]
    halves = {
        "tuning": [r for r in dev if is_band_tuning_row(r)],
        "held_out": [r for r in dev if not is_band_tuning_row(r)],
    }
    scores, labels, languages = {}, {}, {}
    for name, rows in halves.items():
        scores[name] = dev_scores(scorer, rows)
        labels[name] = {c: np.array([r.labels[c] for r in rows]) for c in (*CATEGORIES, "overall")}
        languages[name] = np.array([r.language for r in rows])
    relaxed, tuning = relax_approve_bands(
        bands, scores["tuning"], labels["tuning"], languages["tuning"], TUNING_MAX_MISS
    )
    approve = {c: b["approve_below"] for c, b in relaxed.items() if b}
    reject = {c: b["reject_above"] for c, b in relaxed.items() if b}
    held_out = approval_figures(
        approved_mask(approve, reject, scores["held_out"]),
        labels["held_out"],
        languages["held_out"],
    )
    return relaxed, {"tuning_half": tuning, "held_out_half": held_out}


def tune_spans(
    scorer: CategoryScorer, prepared: Prepared, probs: np.ndarray, idx: np.ndarray
) -> dict:
    best = {"f1": -1.0}
    for gate in (0.05, 0.1, 0.2, 0.35, 0.5):
        for threshold in (0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
            scorer.span_gate, scorer.span_threshold = gate, threshold
            f1 = span_f1_of(scorer, prepared, probs, idx)
            if f1 > best["f1"]:
                best = {"f1": round(f1, 4), "span_gate": gate, "span_threshold": threshold}
    return best


def train(data: Path, out: Path, log=print, threats_folder: Path | None = None) -> dict:
    started = time.time()
    threats = [r for r in threat_set.load(threats_folder) if r.split == "train"]
    rows = [r for r in datasets.load(data) if r.split == "train"] + threats
    log(f"{len(rows)} training rows ({len(threats)} from the threat set); featurising …")
    prepared = prepare(rows)
    log(f"features ready ({time.time() - started:.0f}s); fitting {len(HEADS)} heads …")
    n_features = prepared.X.shape[1]
    weights = np.zeros((n_features, len(HEADS)), np.float32)
    bias, slope, intercept = (np.zeros(len(HEADS), np.float32) for _ in range(3))
    oof = np.full((len(rows), len(HEADS)), np.nan)
    positives = {}
    head_languages = {}
    for j, head in enumerate(HEADS):
        y = head_labels(rows, head)
        positives[head] = int((y == 1).sum())
        head_languages[head] = sorted(
            {r.language for r, label in zip(rows, y, strict=True) if label == 1}
        )
        weights[:, j], bias[j], slope[j], intercept[j], oof[:, j] = fit_head(
            prepared.X, y, calibrate=not head.startswith("kind_")
        )
        log(
            f"  {head}: {positives[head]} positives of {int((y != UNKNOWN).sum())} ({time.time() - started:.0f}s)"
        )
    stack = model.LinearStack(HEADS, weights, bias, slope, intercept)
    digest = hashlib.sha256(weights.tobytes()).hexdigest()[:8]
    meta = {
        "version": f"fast-{time.strftime('%Y.%m.%d')}-{digest}",
        "extra_names": list(prepared.extra_names),
        "lexicon_trust": lexicon_trust(prepared),
        "overall_floor_languages": list(OVERALL_FLOOR_LANGUAGES),
        "head_languages": head_languages,
        "span_gate": 0.5,
        "span_threshold": 0.3,
        "trained_on": sorted({*datasets.TRAINABLE, *({threat_set.SOURCE} if threats else ())}),
        "seed": SEED,
    }
    scorer = CategoryScorer(stack, meta)
    # Out-of-fold probabilities stand in for unseen comments; unknown-label rows get the final
    # model's (never used for bands, which only read labelled rows).
    in_sample = scorer.probabilities(prepared.norms, prepared.signals)
    calibrated_oof = model.sigmoid(slope * np.nan_to_num(oof) + intercept)
    probs = np.where(np.isnan(oof), in_sample, calibrated_oof)
    # Span threshold: tuned on one half of the toxic-spans dev split (SemEval metric); evaluate
    # reports the other half separately.
    span_rows = [r for r in datasets.load(data, {"toxic_spans"}) if is_span_tuning_row(r)]
    span_prepared = prepare(span_rows, scorer.featurizer)
    span_probs = scorer.probabilities(span_prepared.norms, span_prepared.signals)
    tuned = tune_spans(scorer, span_prepared, span_probs, range(len(span_rows)))
    meta.update(span_gate=tuned["span_gate"], span_threshold=tuned["span_threshold"])
    meta["span_tuning_f1"] = tuned["f1"]
    meta["span_tuning_note"] = (
        "tuned on the half of the toxic_spans dev split picked by is_span_tuning_row"
    )
    scorer = CategoryScorer(stack, meta)
    combined = [
        scorer.combine_scores(r.language, s, p)
        for r, s, p in zip(rows, prepared.signals, probs, strict=True)
    ]
    bands = {}
    y_overall = np.array([r.labels["overall"] for r in rows])
    for category in CATEGORIES:
        y = np.array([r.labels[category] for r in rows])
        scores = np.array([c[0][category] for c in combined])
        bands[category] = choose_band(scores, y, y_overall)
    bands, approval_summary = choose_approve_bands(scorer, bands, data)
    model.save(out, stack, meta)
    metrics = {
        "version": meta["version"],
        "training_rows": len(rows),
        "positives": positives,
        "lexicon_trust": meta["lexicon_trust"],
        "span_tuning": {k: meta[k] for k in ("span_gate", "span_threshold", "span_tuning_f1")},
        "suggested_bands_oof": bands,
        "approvals_oof": approval_summary,
        "seconds": round(time.time() - started, 1),
        "languages": list(SUPPORTED_LANGUAGES),
        "abuse_kinds": list(ABUSE_KINDS),
    }
    (out / "train_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", "utf-8")
    log(f"artifacts in {out} ({time.time() - started:.0f}s)")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="civility train", description=__doc__)
    parser.add_argument("--data", required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--out", required=True, help="folder for the artifacts and metrics JSON")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "MANIFEST.md").exists():
        print(f"civility train: {data} does not look like the shared data folder", file=sys.stderr)
        return 2
    metrics = train(data, Path(args.out), log=lambda m: print(m, file=sys.stderr))
    bands_file = Path(args.out) / "suggested_bands.toml"
    bands_file.write_text(bands_toml(metrics), "utf-8")
    print(f"policy bands for {metrics['version']}: {bands_file} (copy into policy/default.toml)")
    return 0


def bands_toml(metrics: dict) -> str:
    """The [bands.*] tables of a policy file, from the bands chosen on out-of-fold scores."""
    lines = [f"# Bands chosen by `civility train` for model {metrics['version']}."]
    for category, band in metrics["suggested_bands_oof"].items():
        if band is None:
            continue
        lines += [
            "",
            f"[bands.{category}]",
            f"approve_below = {band['approve_below']:.2f}",
            f"reject_above = {band['reject_above']:.2f}",
        ]
    return "\n".join(lines) + "\n"
