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
import hashlib
import json
import tempfile
import time
import tomllib
from pathlib import Path
from statistics import NormalDist

import numpy as np

from ..assessment import CATEGORIES
from ..cascade import (
    HEADS,
    LIFT_TARGETS,
    STACKER_FILE,
    fast_features,
    full_features,
    language_features,
    lift_to_overall,
    logit,
    thin_head,
)
from ..encoder import SHIPPED_ENCODER, EncoderScorer, sigmoid
from ..language import hinted_language as _language
from ..policy import PolicyError, Trust
from ..scoring import CategoryScorer
from ..text import normalize
from . import datasets, threat_set
from .datasets import UNKNOWN
from .train import MISS_LANGUAGES, relax_approve_bands

STACK_LANGUAGES = ("en", "ar", "fa", "tr")
ENCODER_LANGUAGES = ("ckb", "kmr", "other")
MIN_POSITIVES = 40
REJECT_PRECISION = 0.97
GATE_REJECT_PRECISION = 0.99
BANDS_MAX_MISS = 0.012
GATE_EXTRA_MISS = 0.003
TARGET_MAX_MISS = 0.015
# Categories too thinly labelled to fit bands on the dev split (vulgarity: none, promotion: 50).
# Vulgarity keeps its hand-set band; promotion keeps the fast tier's bands, chosen by `civility
# train` on out-of-fold scores (docs/policy.md), and its fast-tier score.
HAND_BANDS = {"vulgarity": (0.30, 0.90), "promotion": (0.02, 0.58)}
# Threat is never approved on a real signal: its approve band (and the gate's) sits below every
# threat of the tuning half that the other bands would approve, with a margin, and never above
# THREAT_APPROVE_CAP. It rejects on its own only where that is >= 99% precise against the
# threat set's hard negatives and the rest.
THREAT_APPROVE_CAP = 0.20
THREAT_MARGIN = 0.8
# The lowest of a few dozen tuning threats says little about the next few hundred: the band
# also stays under the score that a logit-normal fitted to those threats puts this share of
# threats below. The share is set by the target (no threat approved among ~400), not fitted.
THREAT_TAIL_SHARE = 0.0025
THREAT_REJECT_PRECISION = 0.99
# The threat bands tried, widest first, where a language's misses call for a narrower one.
THREAT_NARROWING = (1.0, *np.round(np.arange(0.19, 0.0, -0.01), 2), 0.005, 0.002, 0.001)
FAST_ONLY_HEADS = ("vulgarity", "promotion")
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


def stack(fast, enc, heads_index, languages, labels, tuning):
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
        fast_scores[head] = fast[head].copy()
        if head in FAST_ONLY_HEADS:
            full_scores[head] = fast[head].copy()
            stacker[head] = None
            continue
        full_scores[head] = thin_head(fast[head], e)
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


def decide(scores, approve, reject, languages):
    """'approve' / 'reject' / 'review' per comment, as Policy.decide does without relevance:
    `approve` is {language: {category: band}}; a language without bands is never approved."""
    n = len(scores["overall"])
    rejected = np.zeros(n, bool)
    for c in CATEGORIES:
        rejected |= scores[c] >= reject[c]
    approved = under_bands(scores, approve, languages)
    return np.where(rejected, "reject", np.where(approved, "approve", "review"))


def under_bands(scores, bands_by_language, languages, skip: str | None = None) -> np.ndarray:
    """The comments under their language's band in every category (but `skip`); a language
    without bands has none."""
    under = np.zeros(len(languages), bool)
    for lang, bands in bands_by_language.items():
        mine = languages == lang
        for c in CATEGORIES:
            if c != skip:
                mine &= scores[c] < bands[c]
        under |= mine
    return under


def miss_rates(decision, y_any, languages, mask):
    out = {}
    for lang in MISS_LANGUAGES:
        violating = mask & (languages == lang) & (y_any == 1)
        if violating.any():
            out[lang] = float((decision[violating] == "approve").mean())
    return out


def widen_approve(scores, labels, languages, mask, reject, fitted, max_miss):
    """Approve bands for each language with labelled violations, widened greedily while that
    language's approved violations stay <= max_miss (train.relax_approve_bands on the tuning
    half's combined scores): {language: {category: band}}."""
    bands = {
        c: {"approve_below": 0.01, "reject_above": reject[c]} if c in fitted else None
        for c in CATEGORIES
    }
    approve = {}
    for lang in MISS_LANGUAGES:
        mine = mask & (languages == lang)
        relaxed, _ = relax_approve_bands(
            bands,
            {c: scores[c][mine] for c in CATEGORIES},
            {h: labels[h][mine] for h in HEADS},
            languages[mine],
            max_miss,
        )
        approve[lang] = {
            c: relaxed[c]["approve_below"] if relaxed[c] else HAND_BANDS.get(c, (0.30, 0.99))[0]
            for c in CATEGORIES
        }
    return approve


def gate_settles(fast_scores, gate, languages):
    n = len(languages)
    gate_reject = np.zeros(n, bool)
    for c, t in gate["reject_above"].items():
        gate_reject |= fast_scores[c] >= t
    gate_approve = under_bands(fast_scores, gate["approve_below"], languages)
    modelled = ~np.isin(languages, ENCODER_LANGUAGES)
    return modelled & (gate_reject | gate_approve)


def cascade_decisions(full_scores, fast_scores, gate, approve, reject, languages):
    """Effective scores and decisions when gated comments skip the encoder."""
    settled = gate_settles(fast_scores, gate, languages)
    effective = {h: np.where(settled, fast_scores[h], full_scores[h]) for h in HEADS}
    return effective, decide(effective, approve, reject, languages), settled


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


def cached_tier_scores(rows, encoder: EncoderScorer, cache: Path, log=print):
    """tier_scores, kept in `cache` (an .npz) for these tiers' versions and these rows, so the
    bands and gate can be refitted without scoring 15k comments again."""
    texts = hashlib.sha1("\n".join(r.text for r in rows).encode(), usedforsecurity=False)
    key = f"{CategoryScorer.load().version}:{encoder.version}:{len(rows)}:{texts.hexdigest()}"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as saved:
            if str(saved["key"]) == key:
                fast = {h: saved[f"fast_{h}"] for h in HEADS}
                return fast, saved["enc"], list(saved["languages"])
    fast, enc, languages = tier_scores(rows, encoder, log)
    np.savez(
        cache,
        key=key,
        enc=enc,
        languages=np.array(languages),
        **{f"fast_{h}": v for h, v in fast.items()},
    )
    return fast, enc, languages


def olid_macro_f1(score, y_any, sources, tuning, held_out) -> dict:
    """OffensEval-2019 subtask A style: macro-F1 of OFF vs NOT on OLID's dev rows, at the
    threshold that maximises it on the tuning half, reported on the held-out half."""
    from sklearn.metrics import f1_score

    olid = sources == "olid"
    tune, test = olid & tuning, olid & held_out
    best = max(GRID, key=lambda t: f1_score(y_any[tune], score[tune] >= t, average="macro"))
    return {
        "threshold": float(best),
        "held_out_macro_f1": round(
            float(f1_score(y_any[test], score[test] >= best, average="macro")), 4
        ),
        "held_out_rows": int(test.sum()),
    }


def choose_bands_and_gate(full_scores, fast_scores, stacker, labels, languages, tuning) -> dict:
    """Reject bands, per-language approve bands and the gate, all on the tuning half."""
    y_any = labels["overall"]
    masked = np.where(tuning, y_any, UNKNOWN)
    threats = tuning & (labels["threat"] == 1)
    reject = {}
    for c in CATEGORIES:
        if c in HAND_BANDS or stacker.get(c) is None:
            reject[c] = HAND_BANDS.get(c, (0.30, 0.99))[1]
        elif c == "threat":
            reject[c] = reject_threshold(full_scores[c], masked, THREAT_REJECT_PRECISION) or 0.99
        else:
            reject[c] = reject_threshold(full_scores[c], masked, REJECT_PRECISION) or 0.99
    fitted = [
        c
        for c in CATEGORIES
        if c not in HAND_BANDS and c != "threat" and stacker.get(c) is not None
    ]
    # Bands on the combined scores, as if every comment reached the encoder.
    approve = widen_approve(full_scores, labels, languages, tuning, reject, fitted, BANDS_MAX_MISS)
    # Only the threats that every other band would let through bound the threat band: one
    # that personal attack or overall already holds for review cannot be approved, however
    # faint its threat score (one such outlier had closed the band to 0.0003 and automation
    # with it). The gate's threat band is bounded the same way on the fast-only scores.
    # Both the lowest such threat (with a margin) and the fitted tail bound it.
    open_elsewhere = full_scores["threat"][
        threats & under_bands(full_scores, approve, languages, skip="threat")
    ]
    threat_band = below_every(open_elsewhere, tail_band(open_elsewhere, THREAT_APPROVE_CAP))
    gate_open = fast_scores["threat"][
        threats & under_bands(fast_scores, approve, languages, skip="threat")
    ]
    gate_threat = below_every(gate_open, tail_band(gate_open, threat_band))
    for lang, bands in approve.items():
        bands["threat"] = threat_band_within_miss(
            full_scores, approve, reject, languages, y_any, tuning, lang, threat_band
        )
    gate_reject = {}
    for c in fitted:
        t = reject_threshold(
            fast_scores[c], masked, GATE_REJECT_PRECISION, minimum=20, floor=reject[c]
        )
        if t is not None:
            gate_reject[c] = t
    closed = {"reject_above": {}, "approve_below": {}}
    _, plain, _ = cascade_decisions(full_scores, fast_scores, closed, approve, reject, languages)
    plain_miss = miss_rates(plain, y_any, languages, tuning)

    def gate_at(fraction: float) -> dict:
        return {
            "reject_above": gate_reject,
            "approve_below": {
                lang: {
                    c: round(min(t * fraction, gate_threat) if c == "threat" else t * fraction, 4)
                    for c, t in bands.items()
                }
                for lang, bands in approve.items()
            },
        }

    fraction = 0.0
    for trial in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        _, decision, _ = cascade_decisions(
            full_scores, fast_scores, gate_at(trial), approve, reject, languages
        )
        miss = miss_rates(decision, y_any, languages, tuning)
        added = max(v - plain_miss.get(k, 0.0) for k, v in miss.items())
        if added > GATE_EXTRA_MISS or max(miss.values()) > TARGET_MAX_MISS:
            break
        if (decision[threats] == "approve").any():
            break
        fraction = trial
    gate = gate_at(fraction)
    effective, decision, settled = cascade_decisions(
        full_scores, fast_scores, gate, approve, reject, languages
    )
    return {
        "approve": approve,
        "reject": reject,
        "threat_band": threat_band,
        "gate_threat": gate_threat,
        "gate": gate,
        "fraction": fraction,
        "effective": effective,
        "decision": decision,
        "settled": settled,
    }


def threat_band_within_miss(scores, approve, reject, languages, y_any, tuning, lang, band):
    """`lang`'s threat band: `band`, or narrower where that language's approved violations
    would exceed BANDS_MAX_MISS. Where a language's data says only "offensive or not" (tr),
    the lift to overall can put a comment's whole signal on its threat score: the other bands
    were widened without threat, so this closes the gap they cannot see."""
    mine = tuning & (languages == lang)
    if not (y_any[mine] == 1).any():
        return band
    for step in THREAT_NARROWING:
        trial = min(band, step)
        one = {lang: {**approve[lang], "threat": trial}}
        decision = decide({c: v[mine] for c, v in scores.items()}, one, reject, languages[mine])
        if (decision[y_any[mine] == 1] == "approve").mean() <= BANDS_MAX_MISS:
            return trial
    return 0.0


def below_every(scores: np.ndarray, cap: float) -> float:
    """The highest grid step under THREAT_MARGIN of the lowest of `scores`, at most `cap`: an
    approve band that none of these threats falls below."""
    if not len(scores):
        return cap
    floor = float(scores.min()) * THREAT_MARGIN
    # Steps of 0.0001 (the policy file keeps four decimals); none fits: approve no comment.
    return min(cap, float(np.floor(floor * 10_000) / 10_000))


def tail_band(scores: np.ndarray, cap: float, share: float = THREAT_TAIL_SHARE) -> float:
    """The score under which a normal fitted to these threats' logits puts `share` of them, at
    most `cap` (four decimals, rounded down). Fewer than 10 threats: `cap` (nothing to fit)."""
    if len(scores) < 10:
        return cap
    # cascade.logit clips at 1e-4; a threat scored lower already closes the band in
    # below_every, so the clip never decides it.
    z = logit(scores)
    tail = float(sigmoid(z.mean() + NormalDist().inv_cdf(share) * z.std(ddof=1)))
    return min(cap, float(np.floor(tail * 10_000) / 10_000))


def threat_figures(decision, scores, labels, sources, mask) -> dict:
    """On the threat set's rows in `mask`: threats approved and hard negatives rejected."""
    from sklearn.metrics import roc_auc_score

    ours = mask & (sources == threat_set.SOURCE)
    threats, negatives = ours & (labels["threat"] == 1), ours & (labels["threat"] == 0)
    out = {
        "threats": int(threats.sum()),
        "threats_approved": int((decision[threats] == "approve").sum()),
        "threats_rejected": int((decision[threats] == "reject").sum()),
        "hard_negatives": int(negatives.sum()),
        "hard_negatives_rejected": int((decision[negatives] == "reject").sum()),
        "hard_negatives_approved": int((decision[negatives] == "approve").sum()),
    }
    if threats.any() and negatives.any():
        y = labels["threat"][threats | negatives]
        out["threat_auc"] = round(float(roc_auc_score(y, scores[threats | negatives])), 4)
    return out


def fit(
    data: Path,
    encoder_dir: Path,
    policy_out: Path | None,
    cache: Path | None = None,
    log=print,
    threats: Path | None = None,
) -> dict:
    # Read first, so a malformed policy file stops the fit before hours of scoring.
    trust = carried_trust(policy_out) if policy_out else Trust()
    # The dev split and the threat set's dev rows (never its held-out part).
    rows = [r for r in datasets.load(data) if r.split == "dev"]
    rows += [r for r in threat_set.load(threats) if r.split == "dev"]
    encoder = EncoderScorer(encoder_dir, threads=2)
    cache = cache or Path(tempfile.gettempdir()) / f"civility-cascade-{encoder.version}.npz"
    fast, enc, languages = cached_tier_scores(rows, encoder, cache, log)
    languages = np.array(languages)
    heads_index = {h: i for i, h in enumerate(encoder.heads)}
    labels = {h: np.array([r.labels[h] for r in rows]) for h in HEADS}
    y_any = labels["overall"]
    sources = np.array([r.source for r in rows])
    tuning = np.array([half_of(r) == "tuning" for r in rows])
    held_out = ~tuning
    # Figures comparable with earlier versions are reported on the public rows alone.
    public = sources != threat_set.SOURCE
    stacker, full_scores, fast_scores = stack(fast, enc, heads_index, languages, labels, tuning)
    # The lift to "overall" is chosen on the tuning half: in every labelled language, or only
    # where category labels are thin (as the fast tier does).
    candidates = {}
    for lift in (("ar", "fa", "tr"), ("en", "ar", "fa", "tr")):
        where = np.isin(languages, lift)
        full_l = lift_to_overall({h: v.copy() for h, v in full_scores.items()}, where, LIFT_TARGETS)
        fast_l = lift_to_overall({h: v.copy() for h, v in fast_scores.items()}, where, LIFT_TARGETS)
        chosen = choose_bands_and_gate(full_l, fast_l, stacker, labels, languages, tuning)
        automation = figures(chosen["decision"], y_any, languages, sources, tuning & public)[
            "automation"
        ]
        log(f"lift in {lift}: tuning-half automation {automation:.1%}")
        candidates[lift] = (automation, chosen, full_l)
    lift = max(candidates, key=lambda k: candidates[k][0])
    _, chosen, full_lifted = candidates[lift]
    approve, reject, gate = chosen["approve"], chosen["reject"], chosen["gate"]
    effective, decision, settled = chosen["effective"], chosen["decision"], chosen["settled"]
    report = {
        "dev_rows": len(rows),
        "lift_languages": list(lift),
        "gate_approve_fraction": chosen["fraction"],
        "reject_above": reject,
        "approve_below": approve,
        "gate": gate,
        "threat_band": chosen["threat_band"],
        "gate_threat": chosen["gate_threat"],
        "tuning_half": figures(decision, y_any, languages, sources, tuning & public, settled),
        "held_out_half": figures(decision, y_any, languages, sources, held_out & public, settled),
        "held_out_auc_cascade": auc_table(effective, labels, languages, held_out & public),
        "held_out_auc_encoder_path": auc_table(full_lifted, labels, languages, held_out & public),
        "held_out_auc_fast_tier": auc_table(fast, labels, languages, held_out & public),
        "threat_set_tuning_half": threat_figures(
            decision, effective["threat"], labels, sources, tuning
        ),
        "threat_set_held_out_half": threat_figures(
            decision, effective["threat"], labels, sources, held_out
        ),
        "olid_cascade": olid_macro_f1(effective["overall"], y_any, sources, tuning, held_out),
        "olid_fast_tier": olid_macro_f1(fast["overall"], y_any, sources, tuning, held_out),
    }
    stacker_json = {
        "version": time.strftime("%Y.%m.%d"),
        "languages": list(STACK_LANGUAGES),
        "encoder_languages": list(ENCODER_LANGUAGES),
        "lift_languages": list(lift),
        "lift_targets": list(LIFT_TARGETS),
        "fast_only_heads": list(FAST_ONLY_HEADS),
        "heads": stacker,
        "gate": gate,
    }
    (encoder_dir / STACKER_FILE).write_text(json.dumps(stacker_json, indent=2), "utf-8")
    (encoder_dir / "cascade_metrics.json").write_text(json.dumps(report, indent=2), "utf-8")
    if policy_out:
        policy_out.write_text(policy_toml(approve, reject, report, encoder.version, trust), "utf-8")
    log(json.dumps(report, indent=2))
    return report


def carried_trust(policy_out: Path) -> Trust:
    """The [trust] table of the policy file a fit replaces (the defaults where it has none or
    does not exist yet): trust and watch are the newsroom's settings, not fitted, so a refit
    keeps them."""
    if not policy_out.exists():
        return Trust()
    try:
        data = tomllib.loads(policy_out.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{policy_out} is not valid TOML: {exc}") from exc
    return Trust.from_table(data.get("trust", {}), Trust())


def policy_toml(approve, reject, report, encoder_version, trust: Trust | None = None) -> str:
    """The default policy file: global reject bands, per-language approve bands; the global
    approve band is the strictest language's (it applies to a modelled language without bands
    of its own); then the [trust] table (`trust`, else the defaults)."""
    held = report["held_out_half"]
    lines = [
        "# Civility's default moderation policy. A newsroom overrides it with its own TOML file",
        "# (`civility score --policy FILE`, or CIVILITY_POLICY for the web service); keys left out",
        "# keep these defaults.",
        "#",
        "# For every guideline category: a calibrated probability below `approve_below` counts as",
        "# a clear pass, at or above `reject_above` as a clear violation, and anything between goes",
        "# to a human moderator. [languages.approve_below.<code>] gives a language its own approve",
        "# bands. Chosen by engine/training/fit_cascade.py for the cascade (fast tier + encoder",
        f"# {encoder_version}) on one half of the dev split: automatic rejections >= "
        f"{REJECT_PRECISION:.0%} precise,",
        f"# approved violations <= {BANDS_MAX_MISS:.1%} in each of en, ar, fa, tr. On the other half:",
        f"# automation {held['automation']:.1%}, rejection precision {held['reject_precision']},",
        f"# approved violations {held['approved_violations']}. See docs/policy.md.",
        f"# Threat: approve_below (at most {report.get('threat_band')}) lies under every threat of the",
        "# tuning half (ours, training/threats, and the public sets') that no other band holds",
        "# back, so no real threat signal is approved automatically; a language whose misses",
        "# need it gets a narrower one. Vulgarity and promotion have too few dev labels to fit:",
        "# vulgarity keeps a hand-set band, promotion the fast tier's (its score is the fast tier's).",
        f'version = "cascade-{time.strftime("%Y.%m.%d")}"',
        "",
    ]
    for c in CATEGORIES:
        strictest = min(bands[c] for bands in approve.values())
        lines += [
            f"[bands.{c}]",
            f"approve_below = {round(strictest, 4)}",
            f"reject_above = {round(reject[c], 4)}",
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
    for lang, bands in approve.items():
        lines.append(f"[languages.approve_below.{lang}]")
        lines += [f"{c} = {round(bands[c], 4)}" for c in CATEGORIES]
        lines.append("")
    lines.append((trust or Trust()).to_toml())
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
