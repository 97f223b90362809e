"""`civility evaluate --data ../shared/data [--models DIR] [--policy FILE] [--json FILE]`.

Scores the dev splits (never used for fitting) and prints per-category ROC-AUC / PR-AUC / F1,
the decision confusion matrix, the shared-task style figures (OLID, OffensEval-TR, HatEval,
toxic spans) and the false-rejection checks (bias_madlibs NOT_BAD, constructive C3 comments).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from ..assessment import CATEGORIES, DECISIONS
from ..policy import Policy
from ..scoring import CategoryScorer
from . import datasets
from .datasets import UNKNOWN
from .prepared import is_span_tuning_row, prepare, span_f1_of


def _macro_f1(y_true, y_pred) -> float:
    return round(float(f1_score(y_true, y_pred, average="macro")), 4)


def _binary_metrics(y: np.ndarray, scores: np.ndarray) -> dict:
    if len(set(y)) < 2:
        return {"rows": int(len(y)), "positives": int(y.sum())}
    return {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "roc_auc": round(float(roc_auc_score(y, scores)), 4),
        "pr_auc": round(float(average_precision_score(y, scores)), 4),
        "f1_at_0.5": round(float(f1_score(y, scores >= 0.5)), 4),
    }


def evaluate(data: Path, models: Path | None, policy: Policy) -> dict:
    scorer = CategoryScorer.load(models)
    wanted = set(datasets.TRAINABLE) | {"bias_madlibs", "ucc"}
    rows = [r for r in datasets.load(data, wanted) if r.split == "dev"]
    prepared = prepare(rows, scorer.featurizer)
    probs = scorer.probabilities(prepared.norms, prepared.signals)
    combined = [
        scorer.combine_scores(r.language, s, p)
        for r, s, p in zip(rows, prepared.signals, probs, strict=True)
    ]
    decisions = np.array(
        [
            policy.decide(c, k, None, r.language).decision
            for r, (c, k, _) in zip(rows, combined, strict=True)
        ]
    )
    source = np.array([r.source for r in rows])
    language = np.array([r.language for r in rows])
    trainable = np.isin(source, sorted(datasets.TRAINABLE))
    overall = np.array([o for _, _, o in combined])
    report: dict = {
        "model_version": scorer.version,
        "policy_version": policy.version,
        "dev_rows": int(trainable.sum()),
    }

    per_category = {}
    for category in (*CATEGORIES, "overall"):
        y = np.array([r.labels[category] for r in rows])
        known = trainable & (y != UNKNOWN)
        scores = (
            overall if category == "overall" else np.array([c[category] for c, _, _ in combined])
        )
        per_category[category] = _binary_metrics(y[known], scores[known])
    report["per_category"] = per_category

    y_overall = np.array([r.labels["overall"] for r in rows])
    report["overall_by_language"] = {
        lang: _binary_metrics(y_overall[m], overall[m])
        for lang in sorted(set(language[trainable]))
        if (m := trainable & (language == lang) & (y_overall != UNKNOWN)).any()
    }
    known = trainable & (y_overall != UNKNOWN)
    report["decision_confusion"] = {
        truth: {d: int(((decisions == d) & known & (y_overall == value)).sum()) for d in DECISIONS}
        for truth, value in (("violation", 1), ("no_violation", 0))
    }

    def task(name: str, mask: np.ndarray, truth: np.ndarray, scores: np.ndarray) -> None:
        if mask.any():
            report[name] = _macro_f1(truth[mask], scores[mask] >= 0.5)

    subtask = np.array([r.extra.get("subtask_a") == "OFF" for r in rows])
    task("olid_macro_f1", source == "olid", subtask, overall)
    task("offenseval_tr_macro_f1", source == "offenseval_tr", subtask, overall)
    abuse = np.array([c["abuse"] for c, _, _ in combined])
    hateval_truth = np.array([bool(r.extra.get("hs")) for r in rows])
    task("hateval_macro_f1", source == "hateval", hateval_truth, abuse)

    spans_idx = [i for i, r in enumerate(rows) if r.source == "toxic_spans"]
    report["toxic_spans_f1"] = round(span_f1_of(scorer, prepared, probs, spans_idx), 4)
    untuned = [i for i in spans_idx if not is_span_tuning_row(rows[i])]
    report["toxic_spans_f1_untuned_half"] = round(span_f1_of(scorer, prepared, probs, untuned), 4)

    madlibs_ok = (source == "bias_madlibs") & np.array([not r.extra.get("bad", True) for r in rows])
    report["bias_madlibs_not_bad_rejected"] = round(
        float((decisions[madlibs_ok] == "reject").mean()), 4
    )
    madlibs_bad = (source == "bias_madlibs") & ~madlibs_ok
    report["bias_madlibs_bad_caught"] = round(
        float((decisions[madlibs_bad] != "approve").mean()), 4
    )
    constructive = (source == "c3") & np.array([bool(r.extra.get("constructive")) for r in rows])
    report["c3_constructive_rejected"] = round(
        float((decisions[constructive] == "reject").mean()), 4
    )
    report["c3_constructive_rows"] = int(constructive.sum())
    ucc = source == "ucc"
    y_ucc = np.array([r.labels["personal_attack"] for r in rows])[ucc]
    pa = np.array([c["personal_attack"] for c, _, _ in combined])[ucc]
    report["ucc_personal_attack_eval_only"] = _binary_metrics(y_ucc, pa)
    return report


def format_report(report: dict) -> str:
    lines = [
        f"model {report['model_version']}, policy {report['policy_version']}, {report['dev_rows']} dev rows"
    ]
    lines.append(f"{'category':<16}{'rows':>7}{'pos':>7}{'ROC-AUC':>9}{'PR-AUC':>9}{'F1@.5':>8}")
    for name, m in report["per_category"].items():
        lines.append(
            f"{name:<16}{m['rows']:>7}{m['positives']:>7}"
            f"{m.get('roc_auc', float('nan')):>9.3f}{m.get('pr_auc', float('nan')):>9.3f}{m.get('f1_at_0.5', float('nan')):>8.3f}"
        )
    lines.append(
        "overall by language: "
        + ", ".join(
            f"{k} AUC {v.get('roc_auc', float('nan')):.3f} (n={v['rows']})"
            for k, v in report["overall_by_language"].items()
        )
    )
    lines.append("decisions (rows: truth; columns: approve / reject / review):")
    for truth, counts in report["decision_confusion"].items():
        lines.append(f"  {truth:<13} " + "  ".join(f"{d} {counts[d]:>6}" for d in DECISIONS))
    for key in (
        "olid_macro_f1",
        "offenseval_tr_macro_f1",
        "hateval_macro_f1",
        "toxic_spans_f1",
        "toxic_spans_f1_untuned_half",
        "bias_madlibs_not_bad_rejected",
        "bias_madlibs_bad_caught",
        "c3_constructive_rejected",
    ):
        if key in report:
            lines.append(f"{key}: {report[key]}")
    ucc = report["ucc_personal_attack_eval_only"]
    lines.append(
        f"ucc hostile/antagonize vs personal_attack (eval only): ROC-AUC {ucc.get('roc_auc')}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="civility evaluate", description=__doc__)
    parser.add_argument("--data", required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--models", help="artifact folder (default: the shipped models)")
    parser.add_argument("--policy", help="policy TOML (default: the shipped policy)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "MANIFEST.md").exists():
        print(
            f"civility evaluate: {data} does not look like the shared data folder", file=sys.stderr
        )
        return 2
    report = evaluate(data, Path(args.models) if args.models else None, Policy.load(args.policy))
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    return 0
