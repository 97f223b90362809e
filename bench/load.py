"""Bounded load test of the newsroom site on 127.0.0.1 under gunicorn.

Sets up a throw-away database (SQLite in a temp dir, or the PostgreSQL given by
--database-url), an article with --comments approved comments, starts `civility serve`, then
drives three scenarios with --concurrency clients, each for --requests requests:
  article  GET /articles/<slug>/                 (HTML page with the cached comment thread)
  api      GET /api/v1/articles/<slug>/comments  (cached JSON)
  post     POST /api/v1/articles/<slug>/comments (validate, store, engine, decision)
and prints req/s, p50 and p99 per scenario. The client runs on the same machine as the
server, so both share its cores: figures are a floor, not a ceiling. Posted and queued comments
are the realistic news mix unless `--texts template` (bench/texts.py: three short template
sentences, a lower bound on the engine's cost); the text set is printed with the figures.

With --redis-url the site runs as deployed with workers (docs/workers.md): a post stores the
comment and queues it, --assess-workers `civility worker` processes assess it; the run then
also reports how long the workers took to catch up (worker throughput). --drain N instead
measures the workers alone: N comments are stored and queued before any worker starts, and the
time to assess them all is printed. --only post skips the read scenarios.

  .venv/bin/python bench/load.py [--database-url postgres://postgres@127.0.0.1:5432/civility_bench]
  .venv/bin/python bench/load.py --redis-url redis://127.0.0.1:6379/9 --assess-workers 1 --only post
  .venv/bin/python bench/load.py --redis-url redis://127.0.0.1:6379/9 --assess-workers 2 --drain 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from texts import DEFAULT_DATA, TEXT_SETS, TextSet

SLUG = "bench-article"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_postgres_database(url: str) -> tuple[str, object]:
    """A new, empty database on the server of `url` and a function that drops it: reusing one
    would let every run's posted comments pile up on the bench article's page."""
    import psycopg

    server = urlsplit(url)
    name = f"civility_bench_{os.getpid()}"
    admin_url = urlunsplit(server._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return urlunsplit(server._replace(path=f"/{name}")), drop


def prepare_database(env: dict, comments: int) -> None:
    """Migrate and create the article with `comments` approved comments (in a child process,
    so this script never imports Django with the wrong settings)."""
    civility = str(Path(sys.executable).with_name("civility"))
    subprocess.run([civility, "migrate", "-v0"], env=env, check=True)
    script = f"""
import django; django.setup()
from civility.web.articles.models import Article
from civility.web.comments.models import Comment, Decision
article, _ = Article.objects.get_or_create(slug={SLUG!r}, defaults={{"title": "Bench article",
    "body": "Security talks between Iraq and the United States continued in Baghdad."}})
existing = Comment.objects.filter(article=article).count()
for i in range(existing, {comments}):
    parent = None if i % 5 == 0 or i == 0 else Comment.objects.filter(article=article).last()
    c = Comment.objects.create(article=article, parent=parent, author_name=f"Reader {{i}}",
        body=f"Comment number {{i}} on the talks.\\nA second line with <b>markup</b> to escape.")
    Decision.objects.create(comment=c, action="approve", actor_policy_version="bench")
"""
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


async def one_request(host: str, port: int, method: str, path: str, body: bytes | None) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"\r\n" + (body or b""))
    await writer.drain()
    data = await reader.read()
    writer.close()
    status_line = data.split(b"\r\n", 1)[0].split()
    return int(status_line[1]) if len(status_line) > 1 else 0


async def scenario(host, port, concurrency, total, make_request) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total))

    async def client():
        for number in counter:
            method, path, body = make_request(number)
            started = time.perf_counter()
            try:
                status = await one_request(host, port, method, path, body)
            except OSError:
                status = 0
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": total,
        "seconds": round(elapsed, 2),
        "req_per_s": round(total / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "statuses": statuses,
    }


def server_cpu_seconds(pgid: int) -> float:
    """User+system CPU seconds used so far by every process of the server's process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[2] is the process group id
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def measured(pgid: int, run) -> dict:
    """Run a scenario and add the server's CPU use: requests per server CPU-second is far less
    sensitive than req/s to other jobs competing for this machine's cores."""
    before, client_before = server_cpu_seconds(pgid), time.process_time()
    result = run()
    cpu = server_cpu_seconds(pgid) - before
    # The load generator shares the cores: what it burns is not available to the server.
    result["client_cpu_s"] = round(time.process_time() - client_before, 2)
    result["server_cpu_s"] = round(cpu, 2)
    result["req_per_server_cpu_s"] = round(result["requests"] / cpu, 1) if cpu > 0 else None
    return result


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start in time")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary folder")
    parser.add_argument("--comments", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000, help="per read scenario")
    parser.add_argument("--post-requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    # Sync workers (1 thread) measured faster than 2 x 4 gthread on 2 cores: see the docs.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--worker-class", default="asgi", help="asgi (what serve runs), sync or gthread"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    parser.add_argument("--redis-url", default="", help="assessment in workers on this Redis")
    parser.add_argument("--assess-workers", type=int, default=1, help="with --redis-url")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--drain", type=int, default=0, help="measure the workers on a backlog")
    parser.add_argument("--only", choices=("all", "post"), default="all")
    parser.add_argument(
        "--texts", choices=TEXT_SETS, default="news", help="what is posted (bench/texts.py)"
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the shared data sets (news)")
    args = parser.parse_args(argv)
    args.text_set = TextSet(args.texts, args.data)

    data_dir = Path(tempfile.mkdtemp(prefix="civility-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "civility.web.settings",
        "CIVILITY_PRODUCTION": "0",  # plain HTTP on 127.0.0.1: no HTTPS redirect
        "CIVILITY_DATA_DIR": str(data_dir),
        # The bench is one client IP posting far faster than any reader may.
        "CIVILITY_POST_LIMIT_PER_IP": "100000000/60",
        "CIVILITY_POST_LIMIT_PER_AUTHOR": "100000000/60",
        "LOG_LEVEL": "CRITICAL",
    }
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        env["REDIS_URL"] = args.redis_url
    else:
        env.pop("REDIS_URL", None)
    drop_database = None
    if args.database_url:
        env["DATABASE_URL"], drop_database = fresh_postgres_database(args.database_url)
    else:
        env.pop("DATABASE_URL", None)
    try:
        return run_bench(args, env, data_dir)
    finally:
        if drop_database is not None:
            drop_database()
        shutil.rmtree(data_dir, ignore_errors=True)


def start_workers(env: dict, count: int, concurrency: int) -> list[subprocess.Popen]:
    civility = str(Path(sys.executable).with_name("civility"))
    return [
        subprocess.Popen(
            [civility, "worker", f"--concurrency={concurrency}", "--loglevel=WARNING"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def stop_processes(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def count_rows(env: dict, table: str) -> int:
    script = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        f"    c.execute('SELECT COUNT(*) FROM {table}'); print(c.fetchone()[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def wait_for_drain(env: dict, timeout: float = 3600) -> float:
    """Seconds until no comment waits for assessment."""
    started = time.perf_counter()
    while count_rows(env, "comments_awaitingassessment"):
        if time.perf_counter() - started > timeout:
            raise SystemExit("the workers did not catch up in time")
        time.sleep(0.5)
    return time.perf_counter() - started


def queue_backlog(env: dict, count: int, texts: TextSet) -> None:
    """Store `count` comments of the text set and queue them for the workers, as posts would
    have."""
    script = f"""
import json, sys
import django; django.setup()
from django.db import transaction
from civility.web.articles.models import Article
from civility.web.comments import assessing
from civility.web.comments.models import Comment
article = Article.objects.get(slug={SLUG!r})
pool, template = json.load(sys.stdin), {texts.name == "template"!r}
def text(i):
    body = pool[i % len(pool)]
    return body.format(n=i) if template else body
for start in range(0, {count}, 5000):
    with transaction.atomic():
        batch = Comment.objects.bulk_create([
            Comment(article=article, author_name=f"Backlog {{i}}", body=text(i))
            for i in range(start, min({count}, start + 5000))])
        assessing.queue_comments(batch, fresh=True)
"""
    subprocess.run(
        [sys.executable, "-c", script], env=env, input=json.dumps(texts.pool), text=True, check=True
    )


def run_drain(args, env: dict) -> int:
    prepare_database(env, 0)
    started = time.perf_counter()
    queue_backlog(env, args.drain, args.text_set)
    print(f"texts: {args.text_set.label}")
    print(f"stored and queued {args.drain} comments in {time.perf_counter() - started:.1f} s")
    workers = start_workers(env, args.assess_workers, args.worker_concurrency)
    try:
        seconds = wait_for_drain(env)
    finally:
        stop_processes(workers)
    assessed = count_rows(env, "comments_assessment")
    print(
        f"{args.assess_workers} worker(s) x {args.worker_concurrency} threads drained "
        f"{assessed} comments in {seconds:.1f} s (engine load included): "
        f"{assessed / seconds:.0f} comments/s; load average after {os.getloadavg()}"
    )
    return 0


def run_bench(args, env: dict, data_dir: Path) -> int:
    if args.drain:
        return run_drain(args, env)
    prepare_database(env, args.comments)
    workers = (
        start_workers(env, args.assess_workers, args.worker_concurrency) if args.redis_url else []
    )

    port = free_port()
    civility = str(Path(sys.executable).with_name("civility"))
    server = subprocess.Popen(
        [
            civility,
            "serve",
            "--quiet",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--worker-class",
            args.worker_class,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    results = {}
    try:
        wait_until_up(port, server)
        host = "127.0.0.1"
        page = f"/articles/{SLUG}/"
        api = f"/api/v1/articles/{SLUG}/comments"
        # Warm every worker's caches before measuring.
        asyncio.run(
            scenario(
                host, port, args.concurrency, 200, lambda n: ("GET", page if n % 2 else api, None)
            )
        )

        def post(n):
            body = {"author": f"Bench {n}", "text": args.text_set(n)}
            return "POST", api, json.dumps(body).encode()

        c, n = args.concurrency, args.requests

        def read(path):
            return lambda: asyncio.run(scenario(host, port, c, n, lambda i: ("GET", path, None)))

        if args.only == "all":
            results["article"] = measured(server.pid, read(page))
            results["api"] = measured(server.pid, read(api))
        posting = lambda: asyncio.run(scenario(host, port, c, args.post_requests, post))  # noqa: E731
        results["post"] = measured(server.pid, posting)
        if workers:
            # From the end of posting until the workers have assessed everything posted.
            results["post"]["workers_caught_up_s"] = round(wait_for_drain(env), 1)
    finally:
        stop_processes(workers)
        os.killpg(server.pid, signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    engine_line = next(
        (line for line in output.splitlines() if line.startswith("engine")), "engine: unknown"
    )
    database = "postgresql" if args.database_url.startswith("postgres") else "sqlite"
    summary = {
        "database": database,
        "assessment": f"{args.assess_workers} worker(s)" if args.redis_url else "in the request",
        "engine": engine_line,
        "workers": args.workers,
        "threads": args.threads,
        "concurrency": args.concurrency,
        "comments_on_page": args.comments,
        "texts": args.text_set.label,
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "results": results,
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    print(
        f"{database}, {args.workers} workers x {args.threads} threads, {args.concurrency} clients, "
        f"assessment {summary['assessment']}, {engine_line}"
    )
    print(f"posted texts: {args.text_set.label}")
    header = ("scenario", "requests", "req/s", "p50 ms", "p99 ms", "req/CPU-s", "client CPU-s")
    print(f"{header[0]:<10}" + "".join(f"{h:>13}" for h in header[1:]) + "  statuses")
    for name, r in results.items():
        cells = (
            r["requests"],
            r["req_per_s"],
            r["p50_ms"],
            r["p99_ms"],
            r["req_per_server_cpu_s"],
            r["client_cpu_s"],
        )
        print(f"{name:<10}" + "".join(f"{v!s:>13}" for v in cells) + f"  {r['statuses']}")
        if "workers_caught_up_s" in r:
            print(f"{'':<10}workers caught up {r['workers_caught_up_s']} s after posting ended")
    print(f"load average after: {summary['load_average_after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
