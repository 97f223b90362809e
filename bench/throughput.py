"""Fast-tier speed: comments/s batched on one core, single-comment p50/p99 latency, load time.

    .venv/bin/python bench/throughput.py [--data ../shared/data] [--n 5000]

Texts come from the shared data (OLID + C3 + OffensEval-TR + OSACT: short tweets and longer
news comments, several languages) or, without --data, from built-in sentences. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

BUILTIN = [
    "Thanks for the thorough reporting on the budget; the figures were clear.",
    "You are a complete idiot and everyone knows it.",
    "Check out my channel and subscribe!!! http://example.com/promo",
    "sen tam bir aptalsın",
    "این مقاله خیلی خوب بود",
    "هذا مقال رائع شكرا",
    "The minister should resign after this scandal, the report leaves no doubt about it.",
]


def sample_texts(data: str | None, n: int) -> list[str]:
    if not data:
        return [BUILTIN[i % len(BUILTIN)] + f" ({i})" for i in range(n)]
    from civility.engine.training import datasets

    rows = datasets.load(Path(data), {"olid", "c3", "offenseval_tr", "osact"})
    rows = [r for r in rows if r.split == "dev"] or rows
    return [rows[i % len(rows)].text for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--singles", type=int, default=1000)
    args = parser.parse_args()
    texts = sample_texts(args.data, args.n)

    with threadpool_limits(1):
        started = time.perf_counter()
        from civility.engine.scoring import CategoryScorer

        scorer = CategoryScorer.load()
        load_s = time.perf_counter() - started
        from civility.engine import Moderator
        from civility.engine.language import detect_language, preload
        from civility.engine.policy import Policy
        from civility.engine.scoring import preload_rules
        from civility.engine.text import normalize

        # One-time per process, as Moderator.default() does at start-up: language-ID models,
        # every lexicon and promotion phrase compiled.
        started = time.perf_counter()
        preload()
        preload_rules()
        preload_s = time.perf_counter() - started
        moderator = Moderator(scorer, Policy.default())
        moderator.assess_many([(t, None, None) for t in texts[:200]])  # warm caches

        cpu = time.process_time()
        wall = time.perf_counter()
        moderator.assess_many([(t, None, None) for t in texts])
        batch_cpu = time.process_time() - cpu
        batch_wall = time.perf_counter() - wall

        # Second pass: every word already hashed (a long-running server's steady state).
        cpu = time.process_time()
        moderator.assess_many([(t, None, None) for t in texts])
        repeat_cpu = time.process_time() - cpu

        norms = [normalize(t) for t in texts]
        languages = [detect_language(t) for t in texts]
        cpu = time.process_time()
        scorer.score_many(norms, languages)
        scorer_cpu = time.process_time() - cpu

        latencies = []
        for text in texts[: args.singles]:
            t0 = time.perf_counter()
            moderator.assess(text)
            latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    print(f"texts: {len(texts)} ({'shared data dev rows' if args.data else 'built-in sentences'})")
    print(f"model load: {load_s:.2f} s  (version {scorer.version})")
    print(f"one-time preload (language ID, lexicon and promotion phrases): {preload_s:.2f} s")
    print(
        f"Moderator.assess_many, 1 thread: {len(texts) / batch_cpu:,.0f} comments/s per core (CPU time), "
        f"{len(texts) / batch_wall:,.0f}/s wall"
    )
    print(
        f"Moderator.assess_many again, same texts (warm caches): "
        f"{len(texts) / repeat_cpu:,.0f} comments/s per core (CPU time)"
    )
    print(
        f"CategoryScorer.score_many alone: {len(texts) / scorer_cpu:,.0f} comments/s per core (CPU time)"
    )
    print(
        f"single comment Moderator.assess: p50 {statistics.median(latencies):.2f} ms, p99 {p99:.2f} ms "
        f"(n={len(latencies)}, wall)"
    )


if __name__ == "__main__":
    main()
