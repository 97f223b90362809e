"""Posting, Civility with workers against Isso 0.14, in one run with the same load client.

Isso runs from a bench-only virtual environment (never the project's):

  python3 -m venv /tmp/isso-venv && /tmp/isso-venv/bin/pip install isso==0.14.0 gunicorn
  .venv/bin/python bench/isso_compare.py --isso-venv /tmp/isso-venv \\
      --database-url postgres://postgres@127.0.0.1:5432/postgres --redis-url redis://127.0.0.1:6379/9

Isso: SQLite, moderation on, its rate-limit guard off (the client is one IP), gunicorn -w 4
--preload, POST /new?uri=/bench. Civility: bench/load.py's post scenario with --redis-url
(assessment in workers, one `civility worker`), on SQLite and on PostgreSQL. Each side gets
--post-requests posts from --concurrency clients; the table gives req/s, p99 and the ratio. Both
get the same texts: the realistic news mix unless `--texts template` (bench/texts.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import free_port, measured, scenario, wait_until_up  # noqa: E402
from texts import DEFAULT_DATA, TEXT_SETS, TextSet  # noqa: E402

ISSO_CONFIG = """[general]
dbpath = {db}
host = http://127.0.0.1:{port}/
[moderation]
enabled = true
[guard]
enabled = false
[server]
listen = http://127.0.0.1:{port}/
"""


def isso_posting(venv: Path, requests: int, concurrency: int, texts: TextSet) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="isso-bench-"))
    port = free_port()
    config = folder / "isso.cfg"
    config.write_text(ISSO_CONFIG.format(db=folder / "comments.db", port=port))
    server = subprocess.Popen(
        [
            str(venv / "bin" / "gunicorn"),
            "-w",
            "4",
            "--preload",
            "-b",
            f"127.0.0.1:{port}",
            "isso.run",
        ],
        env={**os.environ, "ISSO_SETTINGS": str(config)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(port, server)

        def post(n):
            body = {"author": f"Bench {n}", "title": "Bench", "text": texts(n)}
            return "POST", "/new?uri=%2Fbench", json.dumps(body).encode()

        asyncio.run(scenario("127.0.0.1", port, concurrency, 100, post))  # warm up
        return measured(
            server.pid,
            lambda: asyncio.run(scenario("127.0.0.1", port, concurrency, requests, post)),
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def civility_posting(args, database_url: str) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).with_name("load.py")),
        "--json",
        "--only",
        "post",
        "--redis-url",
        args.redis_url,
        "--assess-workers",
        "1",
        "--post-requests",
        str(args.post_requests),
        "--concurrency",
        str(args.concurrency),
        "--workers",
        str(args.workers),
        "--texts",
        args.texts,
        "--data",
        args.data,
    ]
    if database_url:
        command += ["--database-url", database_url]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["results"]["post"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--isso-venv", type=Path, required=True)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--post-requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="civility serve workers")
    parser.add_argument("--texts", choices=TEXT_SETS, default="news", help="bench/texts.py")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the shared data sets (news)")
    args = parser.parse_args(argv)
    texts = TextSet(args.texts, args.data)
    print(f"texts: {texts.label}")

    started = time.time()
    rows = {
        "isso 0.14 (sqlite, gunicorn -w 4 --preload)": isso_posting(
            args.isso_venv, args.post_requests, args.concurrency, texts
        ),
        "civility + worker (sqlite)": civility_posting(args, ""),
        "civility + worker (postgresql)": civility_posting(args, args.database_url),
    }
    isso = rows["isso 0.14 (sqlite, gunicorn -w 4 --preload)"]["req_per_s"]
    print(f"{'server':<46}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x isso':>8}  statuses")
    for name, r in rows.items():
        print(
            f"{name:<46}{r['req_per_s']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}"
            f"{r['req_per_s'] / isso:>8.2f}  {r['statuses']}"
        )
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()}; {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
