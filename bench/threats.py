"""Threats and their hard negatives: the held-out part of our threat set (training/threats).

    .venv/bin/python bench/threats.py [--encoder DIR] [--policy FILE] [--split heldout|dev]

For each language: threats approved automatically (the target is 0), threats rejected and sent
to review; hard negatives (news and debate about violence, quoted or condemned threats,
history, figures of speech, sport) rejected automatically (target <= 2%) and approved; the
threat score's ROC-AUC (threats against hard negatives; target >= 0.95); and the threats
approved, listed. The held-out rows were never trained on nor used to fit bands or gates.
`--encoder`/`--policy` score a candidate tier (a `civility train --tier encoder --out DIR`).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict

os.environ.setdefault("OMP_NUM_THREADS", "2")

import candidate  # noqa: E402


def auc(positive: list[float], negative: list[float]) -> float | None:
    if not positive or not negative:
        return None
    from sklearn.metrics import roc_auc_score

    return roc_auc_score([1] * len(positive) + [0] * len(negative), positive + negative)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    candidate.add_arguments(parser)
    parser.add_argument("--split", choices=("heldout", "dev"), default="heldout")
    parser.add_argument("--show", type=int, default=10, help="approved threats to list")
    args = parser.parse_args()
    from civility.engine.training import threat_set

    rows = [r for r in threat_set.load() if r.split == args.split]
    moderator = candidate.moderator_for(args)
    print(f"engine: {moderator.model_version}")
    results = moderator.assess_many([(r.text, None, None) for r in rows])
    table: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    approved_threats = []
    for row, result in zip(rows, results, strict=True):
        is_threat = row.labels["threat"] == 1
        for key in (row.language, "all"):
            t = table[key]
            t["threat" if is_threat else "negative"].append(result.decision)
            t["threat_scores" if is_threat else "negative_scores"].append(
                result.categories["threat"]
            )
        if is_threat and result.decision == "approve":
            approved_threats.append((row, result))
    print(f"\n{args.split} part of the threat set ({len(rows)} rows), no article given:")
    order = sorted(table, key=lambda k: (k == "all", k))
    for lang in order:
        t = table[lang]
        threats, negatives = t["threat"], t["negative"]
        score_auc = auc(t["threat_scores"], t["negative_scores"])
        decided = sum(d != "review" for d in threats + negatives) / len(threats + negatives)
        print(
            f"  {lang:>4}: threats {len(threats):3} approved {threats.count('approve'):2} "
            f"rejected {threats.count('reject'):3} review {threats.count('review'):3} | "
            f"hard negatives {len(negatives):3} rejected {negatives.count('reject'):2} "
            f"({negatives.count('reject') / max(1, len(negatives)):.1%}) "
            f"approved {negatives.count('approve'):3} "
            f"({negatives.count('approve') / max(1, len(negatives)):.1%}) | "
            f"threat AUC {score_auc:.3f} | automatic {decided:.1%}"
        )
    for row, result in approved_threats[: args.show]:
        print(
            f"  approved threat ({row.language}, {row.extra['kind']}): threat "
            f"{result.categories['threat']:.3f} :: {row.text[:90]}"
        )


if __name__ == "__main__":
    main()
