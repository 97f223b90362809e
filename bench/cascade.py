"""The cascade as a newsroom runs it: decisions on newsroom_dev, the issue's sentences, speed.

    .venv/bin/python bench/cascade.py --data ../shared/data [--engine cascade|fast] [--n 3000]
        [--encoder DIR --policy FILE]

- newsroom_dev (300 comments in six languages under two articles, our own CC0 set): per
  language, the share decided automatically, wrong automatic approvals (violations approved)
  and wrong automatic rejections;
- the civil sentences and the veiled threat that the encoder-tier issue names;
- throughput on a realistic mix of news comments (C3 and Civil Comments dev rows with a share
  of ar/fa/tr dev rows), one thread, CPU time; the share that reached the encoder; single-comment
  p50/p99 latency; the resident memory and the encoder artifact's size. `--texts template`
  measures bench/texts.py's three template sentences instead (a lower bound on the cost).
Prints figures; asserts nothing. `--engine fast` runs the fast tier alone for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from threadpoolctl import threadpool_limits  # noqa: E402

import candidate  # noqa: E402

CIVIL = [
    "Thank you for this balanced report on the strategic dialogue.",
    "The Iraq security talks in Baghdad matter for the region.",
    "The parliament voted in January. Like it or not, the elected representatives asked "
    "foreign troops to leave. Respect the vote.",
]
VEILED_THREAT = (
    "The reporter who wrote this lives in Ainkawa, right? Would be a shame if someone paid "
    "him a visit."
)
MIX = {"c3": 0.45, "toxic_spans": 0.25, "osact": 0.10, "pars_off": 0.10, "offenseval_tr": 0.10}


def newsroom(data: Path, moderator) -> dict:
    folder = data / "newsroom_dev"
    articles = {}
    for path in (folder / "articles").glob("*.json"):
        article = json.loads(path.read_text("utf-8"))
        articles[article["slug"]] = {"title": article["title"], "body": article["body"]}
    rows = [
        json.loads(line)
        for line in (folder / "comments.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    results = moderator.assess_many([(r["text"], articles[r["article"]], None) for r in rows])
    table: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for row, result in zip(rows, results, strict=True):
        for key in (row["lang"], "all"):
            t = table[key]
            t["n"] += 1
            t[result.decision] += 1
            t["violations"] += row["expected"] == "reject"
            t["acceptable"] += row["expected"] == "approve"
            t["wrong_approve"] += result.decision == "approve" and row["expected"] == "reject"
            t["wrong_reject"] += result.decision == "reject" and row["expected"] == "approve"
            t["right_approve"] += result.decision == "approve" and row["expected"] == "approve"
            t["right_reject"] += result.decision == "reject" and row["expected"] == "reject"
    return {k: dict(v) for k, v in table.items()}


def mix_texts(data: Path, n: int) -> list[str]:
    from civility.engine.training import datasets

    rows = [r for r in datasets.load(data, set(MIX)) if r.split == "dev"]
    by_source = defaultdict(list)
    for r in rows:
        by_source[r.source].append(r.text)
    texts = []
    for source, share in MIX.items():
        pool = by_source[source]
        texts += [pool[i % len(pool)] for i in range(int(n * share))]
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--engine", choices=("cascade", "fast"), default="cascade")
    candidate.add_arguments(parser)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument(
        "--texts",
        choices=("news", "template"),
        default="news",
        help="the throughput texts: the news mix, or bench/texts.py's template sentences (a "
        "lower bound on the engine's cost)",
    )
    args = parser.parse_args()
    with threadpool_limits(1):
        started = time.perf_counter()
        moderator = candidate.moderator_for(args, encoder=args.engine == "cascade")
        load_s = time.perf_counter() - started
        print(f"engine: {moderator.model_version} (loaded in {load_s:.1f} s)")

        print("\nnewsroom_dev (decisions with the article given, language detected):")
        table = newsroom(args.data, moderator)
        for lang, t in sorted(table.items(), key=lambda kv: kv[0] != "all"):
            auto = (t.get("approve", 0) + t.get("reject", 0)) / t["n"]
            print(
                f"  {lang:>4}: n {t['n']:3}  automatic {auto:6.1%}  approved {t.get('approve', 0):3} "
                f"(of {t['acceptable']} acceptable: {t['right_approve']} right, "
                f"{t['wrong_approve']} violations)  rejected {t.get('reject', 0):3} "
                f"({t['wrong_reject']} acceptable)  review {t.get('review', 0):3}"
            )

        print("\nthe issue's sentences:")
        for text in [*CIVIL, VEILED_THREAT]:
            result = moderator.assess(text)
            print(f"  {result.decision:7} {result.score:.2f} {result.reasons} :: {text[:70]}")

        if args.texts == "news":
            texts = mix_texts(args.data, args.n)
            label = f"realistic mix ({len(texts)} dev comments: " + ", ".join(
                f"{k} {v:.0%}" for k, v in MIX.items()
            )
        else:
            from texts import TextSet

            texts = [TextSet("template")(i) for i in range(args.n)]
            label = f"template sentences ({len(texts)}: bench/texts.py, a lower bound"
        moderator.assess_many([(t, None, None) for t in texts[:100]])  # warm
        encoder_calls = 0
        if moderator.cascade is not None:
            original = moderator.cascade.encoder.logits

            def counting(batch):
                nonlocal encoder_calls
                encoder_calls += len(batch)
                return original(batch)

            moderator.cascade.encoder.logits = counting
        cpu, wall = time.process_time(), time.perf_counter()
        for start in range(0, len(texts), 256):
            moderator.assess_many([(t, None, None) for t in texts[start : start + 256]])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        reached = encoder_calls / len(texts)
        print(
            f"\nthroughput, {label}), batches of 256, 1 thread: {len(texts) / cpu:,.0f} "
            f"comments/s per core (CPU time, {1000 * cpu / len(texts):.1f} ms a comment), "
            f"{len(texts) / wall:,.0f}/s wall; reached the encoder: {reached:.1%}"
        )
        latencies = []
        for text in texts[: args.singles]:
            t0 = time.perf_counter()
            moderator.assess(text)
            latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    print(
        f"single comment ({args.texts}): p50 {statistics.median(latencies):.1f} ms, p99 "
        f"{p99:.1f} ms (n={len(latencies)}, wall)"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {rss:.0f} MB")
    if moderator.cascade is not None:
        from civility.engine.encoder import SHIPPED_ENCODER

        size = sum(p.stat().st_size for p in SHIPPED_ENCODER.iterdir()) / 1e6
        print(f"encoder artifact: {size:.1f} MB ({SHIPPED_ENCODER})")


if __name__ == "__main__":
    main()
