"""Trust and watch on a stream with repeat commenters: how much automation trust adds, and what
it costs in approved violations.

    .venv/bin/python bench/trust.py --data ../shared/data [--commenters 400] [--comments 6000]
        [--days 120] [--verified 1.0] [--seed 20261207] [--factors 1.25,1.5,2]
        [--variant 'watch_days=7,quiet_days=30' ...]

The stream is simulated (deterministic with --seed), from labelled dev rows only, read from
--data (nothing is copied into the project):
- texts: the news mix's labelled dev rows (bench/cascade.py MIX: C3 news comments and Civil
  Comments toxic spans for English, OSACT Arabic, Pars-OFF Persian, OffensEval Turkish) and
  newsroom_dev's Sorani and Kurmanji rows (languages the policy leaves to review). Rows without
  a label are left out. Each language has a pool of clean texts and one of violations; a
  comment draws from one of them, so texts repeat in a long stream;
- commenters: each writes in one language (en 55%, ar/fa/tr 12% each, ckb 5%, kmr 4%) and is
  a civil regular (75%: 2% of their comments break a guideline), an occasional offender (20%:
  20%) or a repeat abuser (5%: 70%). How much each posts is lognormal (regulars more);
  --verified is the share of commenters who are verified (only they have a standing);
- comments: spread uniformly over --days days, replayed in time order. The shipped engine
  (cascade) scores each distinct text once, without an article (no relevance) and without a
  language hint. The policy decides with the commenter's standing at that moment: approved
  comments so far and days since their latest rejection. What goes to review is decided at
  once by a moderator who follows the label (violation: reject, clean: approve).

The stream is replayed without trust and watch ([trust] factor 1, watch_days 0), then with the
shipped [trust] settings, watch alone, trust alone, each --factors value and each --variant.
docs/policy.md records the figures. Per language: the share decided
automatically, the share of violations approved automatically ("approved violations", as in
docs/policy.md), the comments trust approved and watch sent to review. Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

LANGUAGES = {"en": 0.55, "ar": 0.12, "fa": 0.12, "tr": 0.12, "ckb": 0.05, "kmr": 0.04}
# (share of commenters, share of their comments that break a guideline, lognormal mean of
# how many comments they post)
KINDS = {
    "regular": (0.75, 0.02, 2.6),
    "occasional": (0.20, 0.20, 2.0),
    "abuser": (0.05, 0.70, 2.0),
}
SOURCES = {"c3": "en", "toxic_spans": "en", "osact": "ar", "pars_off": "fa", "offenseval_tr": "tr"}


@dataclass
class Commenter:
    language: str
    kind: str
    verified: bool
    approved: int = 0
    last_rejection: float | None = None  # in days from the stream's start


def pools(data: Path) -> dict[str, dict[int, list[str]]]:
    """{language: {0: clean texts, 1: violations}} from labelled dev rows."""
    from civility.engine.training import datasets

    out: dict[str, dict[int, list[str]]] = defaultdict(lambda: {0: [], 1: []})
    for row in datasets.load(data, set(SOURCES)):
        label = row.labels.get("overall")
        if row.split == "dev" and label in (0, 1) and len(row.text) <= 2000:
            out[SOURCES[row.source]][label].append(row.text)
    for line in (data / "newsroom_dev" / "comments.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["lang"] in ("ckb", "kmr"):
                out[row["lang"]][int(row["expected"] == "reject")].append(row["text"])
    for language in LANGUAGES:
        for label in (0, 1):
            if not out[language][label]:
                raise SystemExit(f"no {'violating' if label else 'clean'} {language} rows")
            out[language][label].sort()
    return out


def simulate(texts, commenters: int, comments: int, days: float, verified: float, seed: int):
    """[(day, commenter index, language, text, violation)], in time order; the commenters."""
    rng = random.Random(seed)
    people: list[Commenter] = []
    weights = []
    for _ in range(commenters):
        language = rng.choices(list(LANGUAGES), weights=list(LANGUAGES.values()))[0]
        kind = rng.choices(list(KINDS), weights=[k[0] for k in KINDS.values()])[0]
        people.append(Commenter(language, kind, rng.random() < verified))
        weights.append(rng.lognormvariate(KINDS[kind][2], 1.0))
    stream = []
    cursor = {
        (lang, label): rng.randrange(len(texts[lang][label])) for lang in texts for label in (0, 1)
    }
    for who in rng.choices(range(commenters), weights=weights, k=comments):
        person = people[who]
        violation = int(rng.random() < KINDS[person.kind][1])
        pool = texts[person.language][violation]
        key = (person.language, violation)
        # Each pool is walked from a random start with a random stride, so a stream uses
        # its whole pool before repeating.
        cursor[key] = (cursor[key] + rng.randrange(1, 7)) % len(pool)
        stream.append((rng.uniform(0, days), who, person.language, pool[cursor[key]], violation))
    stream.sort(key=lambda item: item[0])
    return stream, people


def replay(stream, people, assessed, policy) -> dict:
    """Decide the stream in order under `policy`; per-language counts."""
    from civility.engine.policy import Standing

    people = [replace(p) for p in people]
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, who, language, text, violation in stream:
        person = people[who]
        standing = None
        if person.verified:
            since = None if person.last_rejection is None else day - person.last_rejection
            standing = Standing(approved=person.approved, days_since_rejection=since)
        result = assessed[text]
        verdict = policy.decide(
            result.categories, result.abuse_kinds, None, result.language, standing
        )
        outcome = verdict.decision
        if outcome == "review":
            outcome = "reject" if violation else "approve"
        if outcome == "approve":
            person.approved += 1
        else:
            person.last_rejection = day
        for key in (language, "all"):
            row = table[key]
            row["n"] += 1
            row["auto"] += verdict.decision != "review"
            row["violations"] += violation
            row["approved_violations"] += verdict.decision == "approve" and violation
            row["auto_approved"] += verdict.decision == "approve"
            row["trusted"] += "trusted" in verdict.reason_codes
            row["watched"] += "watched" in verdict.reason_codes
            row["watch_caught"] += "watched" in verdict.reason_codes and violation
    return table


def show(name: str, table: dict, base: dict | None = None) -> None:
    print(f"\n{name}")
    print(
        f"{'language':8} {'comments':>8} {'automation':>10} {'approved violations':>20} "
        f"{'of auto-approved':>16} {'trust approved':>14} {'watch reviewed (violations)':>28}"
    )
    for language in (*LANGUAGES, "all"):
        row = table[language]
        n, violations = row["n"], row["violations"]
        automation = row["auto"] / max(1, n)
        missed = row["approved_violations"] / max(1, violations)
        dirty = row["approved_violations"] / max(1, row["auto_approved"])
        change = ""
        if base is not None:
            change = f" ({(automation - base[language]['auto'] / max(1, n)) * 100:+.1f} pt)"
        print(
            f"{language:8} {n:8d} {automation:10.1%}{change:>10} "
            f"{missed:8.2%} ({row['approved_violations']}/{violations}) {dirty:9.2%} "
            f"{row['trusted']:14d} {row['watched']:14d} ({row['watch_caught']})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--commenters", type=int, default=400)
    parser.add_argument("--comments", type=int, default=6000)
    parser.add_argument("--days", type=float, default=120.0)
    parser.add_argument("--verified", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--factors", default="1.25,1.5,2", help="trust factors to try as well")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="other [trust] settings to try, e.g. 'watch_days=7,quiet_days=30' (repeatable)",
    )
    parser.add_argument("--policy", type=Path, default=None, help="a newsroom policy file")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from civility.engine.moderator import Moderator
    from civility.engine.policy import Trust

    texts = pools(args.data)
    stream, people = simulate(
        texts, args.commenters, args.comments, args.days, args.verified, args.seed
    )
    kinds = defaultdict(int)
    for person in people:
        kinds[person.kind] += 1
    distinct = sorted({text for _, _, _, text, _ in stream})
    print(
        f"stream: {len(stream)} comments by {len(people)} commenters "
        f"({', '.join(f'{k} {v}' for k, v in kinds.items())}; {args.verified:.0%} verified) "
        f"over {args.days:g} days, seed {args.seed}; {len(distinct)} distinct texts; "
        f"violations {sum(v for *_, v in stream)}"
    )
    moderator = Moderator.default(policy_path=args.policy)
    print(f"engine: {moderator.model_version}")
    started = time.perf_counter()
    with threadpool_limits(1):
        results = moderator.assess_many([(text, None, None) for text in distinct])
    print(f"scored in {time.perf_counter() - started:.0f} s")
    assessed = dict(zip(distinct, results, strict=True))
    policy = moderator.policy
    shipped = policy.trust

    def trusting(trust):
        return replace(policy, trust=trust)

    base = replay(stream, people, assessed, trusting(Trust.off()))
    show("without trust and watch", base)
    show(f"with the shipped [trust] ({shipped})", replay(stream, people, assessed, policy), base)
    show(
        "watch alone",
        replay(stream, people, assessed, trusting(replace(shipped, factor=1.0))),
        base,
    )
    show(
        "trust alone",
        replay(stream, people, assessed, trusting(replace(shipped, watch_days=0))),
        base,
    )
    variants = [f"factor={f}" for f in args.factors.split(",") if f and float(f) != shipped.factor]
    for variant in variants + args.variant:
        settings = {k: float(v) for k, v in (part.split("=") for part in variant.split(","))}
        if "min_approved" in settings:
            settings["min_approved"] = int(settings["min_approved"])
        trust = replace(shipped, **settings)
        show(f"{variant} ({trust})", replay(stream, people, assessed, trusting(trust)), base)


if __name__ == "__main__":
    main()
