"""No livelock with a short lease: slow comments are posted to a `civility serve` with one
`civility worker` whose lease (CIVILITY_ASSESS_LEASE) is far shorter than a batch of them takes,
then ordinary comments are posted after them. Before the lease was renewed, batches of slow
text outlived a 20 s lease, were claimed again and again, and nothing posted later was
assessed. Now every comment must end assessed (exactly once) or in the "could not be assessed"
state, and the later ones must be assessed too.

  .venv/bin/python bench/lease_livelock.py [--slow 128] [--later 32] [--lease 20] \\
      [--batch 64] [--comment-budget 5] [--scripted-engine-ms 500] \\
      [--database-url postgres://postgres@127.0.0.1:5432/postgres]

The slow texts are 2,000 characters of mathematical alphanumerics (U+1D400-U+1D6A3, words of
2-9 letters): the shipped engine reads each in 14-16 encoder windows, about 0.5 s here, so a
batch of 64 takes 30 s or more. The later texts are ordinary sentences. The engine is the
shipped one unless --scripted-engine-ms is given (a scripted engine that sleeps that long per
comment). Prints the outcome of every comment, how long draining took, the later comments'
latency and what the worker logged about leases; exits 1 on a lost, duplicated or stuck
comment."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import free_port  # noqa: E402
from scale_out import ARTICLES, Cluster, http_post  # noqa: E402

MATH_LETTERS = [chr(c) for c in range(0x1D400, 0x1D6A4) if chr(c).isprintable()]


def slow_text(rng: random.Random, length: int = 2000) -> str:
    words = []
    while sum(len(w) + 1 for w in words) < length:
        words.append("".join(rng.choice(MATH_LETTERS) for _ in range(rng.randint(2, 9))))
    return " ".join(words)[:length]


def later_text(n: int) -> str:
    return f"A considered remark number {n} about the talks and what they mean for the region."


async def post_all(port: int, texts: list[str], concurrency: int = 8) -> dict[int, str]:
    """POST each text through the JSON API, `concurrency` at a time; {id: text} acknowledged."""
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int, text: str) -> tuple[int, bytes]:
        body = json.dumps({"author": f"Reader {n}", "text": text}).encode()
        async with gate:
            return await http_post(port, f"/api/v1/articles/{ARTICLES[n % 3]}/comments", body)

    answers = await asyncio.gather(*(one(n, text) for n, text in enumerate(texts)))
    refused = Counter(status for status, _ in answers if status != 201)
    if refused:
        print(f"posting failures by status: {dict(refused)}")
    return {
        json.loads(answer)["id"]: text
        for (status, answer), text in zip(answers, texts, strict=True)
        if status == 201
    }


def outcomes(cluster: Cluster, ids: list[int]) -> dict[str, list[int]]:
    assessed = dict(
        cluster.query("SELECT comment_id, COUNT(*) FROM comments_assessment GROUP BY comment_id")
    )
    failed = {
        row[0]: row[1:]
        for row in cluster.query("SELECT comment_id, attempts FROM comments_assessmentfailure")
    }
    waiting = {
        row[0] for row in cluster.query("SELECT comment_id FROM comments_awaitingassessment")
    }
    result: dict[str, list[int]] = {"assessed": [], "could not be assessed": [], "waiting": []}
    result["assessed more than once"] = [i for i in ids if assessed.get(i, 0) > 1]
    for i in ids:
        if i in waiting:
            result["waiting"].append(i)
        elif assessed.get(i):
            result["assessed"].append(i)
        elif i in failed:
            result["could not be assessed"].append(i)
        else:
            result.setdefault("lost", []).append(i)
    return result


def own_redis():
    """A redis-server of this run's own on a spare port (nothing shared is flushed)."""
    import redis

    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", tempfile.gettempdir()],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, socket_connect_timeout=0.2).ping():
                return process, f"redis://127.0.0.1:{port}/0"
        except redis.RedisError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("redis-server did not start")


def wait_until_settled(cluster: Cluster, ids: list[int], timeout: float) -> tuple[float, int]:
    """Seconds until no comment waits (NaN: timed out) and the most attempts seen meanwhile."""
    started, most = time.monotonic(), 0
    while time.monotonic() - started < timeout:
        seen = cluster.query("SELECT MAX(attempts) FROM comments_awaitingassessment")[0][0]
        most = max(most, seen or 0)
        if not outcomes(cluster, ids)["waiting"]:
            return time.monotonic() - started, most
        time.sleep(0.5)
    return float("nan"), most


def run(args) -> int:
    rng = random.Random(args.seed)
    redis_server, redis_url = own_redis()
    cluster = Cluster(
        args.database_url or "sqlite",
        redis_url,
        servers=1,
        workers=1,
        worker_concurrency=args.concurrency,
        scripted_engine_ms=args.scripted_engine_ms,
        extra_env={
            "CIVILITY_ASSESS_LEASE": str(args.lease),
            "CIVILITY_SWEEP_AFTER": str(args.lease),
            "CIVILITY_ENQUEUE_LINGER": "0.2",  # full batches
            "CIVILITY_ASSESS_BATCH": str(args.batch),
            "CIVILITY_ASSESS_COMMENT_BUDGET": str(args.comment_budget),
        },
    )
    try:
        cluster.start()
        port = cluster.servers[0][0]
        engine = (
            f"scripted, {args.scripted_engine_ms:g} ms a comment"
            if args.scripted_engine_ms is not None
            else "the shipped engine"
        )
        print(
            f"lease {args.lease:g} s, time budget {args.comment_budget:g} s a comment, 1 worker x "
            f"{args.concurrency} threads, batches of {args.batch}, "
            f"{engine}; database {cluster.database_url.split(':')[0]}",
            flush=True,
        )
        started = time.monotonic()
        slow = asyncio.run(post_all(port, [slow_text(rng) for _ in range(args.slow)]))
        later = asyncio.run(post_all(port, [later_text(n) for n in range(args.later)]))
        print(
            f"posted {len(slow)} slow and then {len(later)} ordinary comments in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )
        ids = sorted([*slow, *later])
        drained, most_attempts = wait_until_settled(cluster, ids, args.timeout)
        total = time.monotonic() - started
        result = outcomes(cluster, ids)
        latency = [
            seconds
            for (seconds,) in cluster.query(
                "SELECT "
                + (
                    "EXTRACT(EPOCH FROM a.created - c.created)"
                    if cluster.database_url.startswith("postgres")
                    else "(julianday(a.created) - julianday(c.created)) * 86400"
                )
                + " FROM comments_assessment a JOIN comments_comment c ON c.id = a.comment_id "
                f"WHERE c.id IN ({', '.join(str(i) for i in later) or '0'})"
            )
        ]
        log = cluster.worker_log(0)
    finally:
        cluster.stop()
        redis_server.kill()
        redis_server.wait()
    slow_ids, later_ids = set(slow), set(later)
    for name, members in result.items():
        print(
            f"  {name}: {len(members)} ({len(slow_ids.intersection(members))} slow, "
            f"{len(later_ids.intersection(members))} ordinary)"
        )
    print(
        f"every comment settled {drained:.1f} s after the last post, "
        f"{total:.1f} s after the first ({len(ids) / total:.2f} comments/s)"
    )
    if latency:
        latency = [float(x) for x in latency]
        print(
            f"ordinary comments posted after the slow ones: assessed "
            f"{statistics.median(latency):.1f} s (median), {max(latency):.1f} s (max) after posting"
        )
    batches = [
        float(x) for x in re.findall(r"civility\.assess\[[^\]]+\] succeeded in ([\d.]+)s", log)
    ]
    print(
        f"batches: {len(batches)} tasks, the longest {max(batches, default=0):.1f} s "
        f"({max(batches, default=0) / args.lease:.1f} leases); most claims of one comment: "
        f"{most_attempts}"
    )
    print(
        "worker log: "
        f"{log.count('overran its time budget')} batch(es) past their time budget, "
        f"{log.count('could not be assessed after')} give-up message(s)"
    )
    stuck = result["waiting"] or result.get("lost") or result["assessed more than once"]
    print(
        "no livelock: every comment ended assessed or could not be assessed"
        if not stuck
        else "LIVELOCK or loss: see above"
    )
    return 1 if stuck else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slow", type=int, default=128, help="slow comments posted first")
    parser.add_argument("--later", type=int, default=32, help="ordinary comments posted after")
    parser.add_argument("--lease", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=2, help="threads of the worker")
    parser.add_argument("--batch", type=int, default=64, help="CIVILITY_ASSESS_BATCH")
    parser.add_argument(
        "--comment-budget",
        type=float,
        default=5,
        help="CIVILITY_ASSESS_COMMENT_BUDGET: tiny values make slow batches overrun, so the "
        "run shows comments ending as 'could not be assessed'",
    )
    parser.add_argument("--database-url", default="", help="PostgreSQL URL; empty: SQLite")
    parser.add_argument("--scripted-engine-ms", type=float, default=None)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--timeout", type=float, default=900)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
