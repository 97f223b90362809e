"""Scale-out proof: several `civility serve` processes and several `civility worker`s on one
database and one Redis; comments posted across the servers; one worker killed with SIGKILL
while it holds a batch; then every acknowledged comment must be assessed exactly once, with
exactly one automatic decision where the policy decides, and nothing left waiting.

  .venv/bin/python bench/scale_out.py --comments 10000 \\
      --database-url postgres://postgres@127.0.0.1:5432/postgres --redis-url redis://127.0.0.1:6379/9

The engine is the shipped one unless --scripted-engine-ms is given (a scripted engine that
sleeps that long per comment). What is posted is the realistic news mix unless `--texts
template` (bench/texts.py); the texts are printed first. tests/web/test_workers_live.py runs
the same harness with a few hundred template comments in the test suite. Prints the counts and
the time each phase took."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import free_port, fresh_postgres_database, wait_until_up  # noqa: E402
from texts import DEFAULT_DATA, TEXT_SETS, TextSet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CIVILITY = str(Path(sys.executable).with_name("civility"))
ARTICLES = ("talks", "budget", "derby")


class Cluster:
    """A throw-away database, servers and workers; `stop()` ends every process it started."""

    def __init__(
        self,
        database_url: str,
        redis_url: str,
        servers: int = 2,
        workers: int = 2,
        worker_concurrency: int = 2,
        scripted_engine_ms: float | None = None,
        extra_env: dict | None = None,
        texts: TextSet | None = None,
    ):
        # What post_comments posts: the template sentences unless given (the tests' scripted
        # engine decides them by their words; the bench's command line defaults to news).
        self.texts = texts or TextSet("template")
        self.data_dir = Path(tempfile.mkdtemp(prefix="civility-cluster-"))
        self.drop_database = None
        if database_url.startswith("postgres"):
            database_url, self.drop_database = fresh_postgres_database(database_url)
        else:
            database_url = f"sqlite:///{self.data_dir / 'cluster.sqlite3'}"
        self.database_url = database_url
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))},
            "DJANGO_SETTINGS_MODULE": "civility.web.settings",
            "CIVILITY_PRODUCTION": "0",
            "CIVILITY_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CIVILITY_POST_LIMIT_PER_IP": "100000000/60",
            "CIVILITY_POST_LIMIT_PER_AUTHOR": "100000000/60",
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        if scripted_engine_ms is not None:
            self.env["CIVILITY_ENGINE"] = "scripted_engine:build"
            self.env["SCRIPTED_ENGINE_MS"] = str(scripted_engine_ms)
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(ROOT / "tests" / "web"), self.env.get("PYTHONPATH", "")]
            )
        self.server_count, self.worker_count = servers, workers
        self.worker_concurrency = worker_concurrency
        self.servers: list[tuple[int, subprocess.Popen]] = []
        self.workers: list[subprocess.Popen] = []
        self.logs: list = []

    # -- processes -----------------------------------------------------------------------

    def civility(self, *args: str) -> str:
        done = subprocess.run(
            [CIVILITY, *args], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def start(self) -> None:
        self.prepare()
        self.launch()

    def prepare(self) -> None:
        """Migrate the fresh database and create the articles."""
        self.civility("migrate", "-v0")
        script = (
            "import django; django.setup()\n"
            "from civility.web.articles.models import Article\n"
            f"for slug in {ARTICLES!r}:\n"
            "    Article.objects.get_or_create(slug=slug, defaults={'title': slug.title(),"
            " 'body': 'Security talks between Iraq and the United States continued.'})\n"
        )
        subprocess.run([sys.executable, "-c", script], env=self.env, check=True)

    def launch(self) -> None:
        """Start the workers and the servers; return once every server answers."""
        for number in range(self.worker_count):
            self.workers.append(self._spawn(f"worker-{number}", self._worker_command(number)))
        for number in range(self.server_count):
            port = free_port()
            command = [CIVILITY, "serve", "--quiet", "--port", str(port), "--workers", "1"]
            self.servers.append((port, self._spawn(f"server-{number}", command)))
        for port, process in self.servers:
            wait_until_up(port, process)

    def _worker_command(self, number: int) -> list[str]:
        return [
            CIVILITY,
            "worker",
            f"--concurrency={self.worker_concurrency}",
            f"--name=w{number}@%h",
        ]

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.data_dir / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        return subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def worker_log(self, number: int) -> str:
        return (self.data_dir / f"worker-{number}.log").read_text(errors="replace")

    def kill_worker(self, number: int) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, nothing flushed."""
        os.killpg(self.workers[number].pid, signal.SIGKILL)
        self.workers[number].wait()

    def kill_when_busy(self, number: int, after: int) -> dict:
        """In a thread: SIGKILL worker `number` as soon as `after` comments are assessed and it
        holds a claimed batch. The dict gets "assessed" (at the kill) and "held" (its claimed
        comments then)."""
        import threading

        killed: dict = {}

        def watch():
            pid = self.workers[number].pid
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and self.workers[number].poll() is None:
                held = self.claims_of(pid)
                if held and self.assessed() >= after:
                    self.kill_worker(number)
                    killed.update(assessed=self.assessed(), held=held)
                    return
                time.sleep(0.02)

        killed["thread"] = threading.Thread(target=watch, daemon=True)
        killed["thread"].start()
        return killed

    def stop(self) -> None:
        for process in [p for _, p in self.servers] + self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [p for _, p in self.servers] + self.workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self.logs:
            log.close()
        if self.drop_database is not None:
            self.drop_database()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- posting ---------------------------------------------------------------------------

    def post_comments(self, count: int, concurrency: int = 16) -> dict[int, str]:
        """Post `count` comments round-robin across servers and articles; {id: text} of every
        comment the servers acknowledged (201)."""
        return asyncio.run(self._post_all(count, concurrency))

    async def _post_all(self, count: int, concurrency: int) -> dict[int, str]:
        acknowledged: dict[int, str] = {}
        numbers = iter(range(count))
        failures: dict[int, int] = {}

        async def client():
            for n in numbers:
                port = self.servers[n % len(self.servers)][0]
                slug = ARTICLES[n % len(ARTICLES)]
                text = self.texts(n // len(ARTICLES), number=n)
                body = json.dumps({"author": f"Reader {n}", "text": text}).encode()
                status, answer = await http_post(port, f"/api/v1/articles/{slug}/comments", body)
                if status == 201:
                    acknowledged[json.loads(answer)["id"]] = text
                else:
                    failures[status] = failures.get(status, 0) + 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
        self.post_failures = failures
        return acknowledged

    # -- reading the database --------------------------------------------------------------

    def query(self, sql: str) -> list[tuple]:
        if self.database_url.startswith("postgres"):
            import psycopg

            with psycopg.connect(self.database_url) as connection:
                return connection.execute(sql).fetchall()
        path = self.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path, timeout=30) as connection:
            return connection.execute(sql).fetchall()

    def assessed(self) -> int:
        return self.query("SELECT COUNT(*) FROM comments_assessment")[0][0]

    def claims_of(self, pid: int) -> int:
        now = time.time()
        sql = (
            "SELECT COUNT(*) FROM comments_awaitingassessment "
            f"WHERE claim LIKE '{int(pid)}-%' AND claimed_until > {now}"
        )
        return self.query(sql)[0][0]

    def wait_until_assessed(self, count: int, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if (
                self.assessed() >= count
                and not self.query("SELECT COUNT(*) FROM comments_awaitingassessment")[0][0]
            ):
                return time.monotonic() - started
            time.sleep(0.25)
        raise TimeoutError(f"{self.assessed()} of {count} assessed after {timeout:g} s")

    def problems(self, acknowledged: dict[int, str]) -> list[str]:
        """Every way the run broke exactly-once; empty when it held."""
        problems = []
        assessed = dict(
            self.query("SELECT comment_id, COUNT(*) FROM comments_assessment GROUP BY comment_id")
        )
        lost = [i for i in acknowledged if i not in assessed]
        if lost:
            problems.append(f"{len(lost)} acknowledged comment(s) never assessed: {lost[:5]}")
        twice = {i: n for i, n in assessed.items() if n != 1}
        if twice:
            problems.append(f"{len(twice)} comment(s) assessed more than once")
        automatic = dict(
            self.query(
                "SELECT comment_id, COUNT(*) FROM comments_decision "
                "WHERE actor_id IS NULL GROUP BY comment_id"
            )
        )
        suggested = dict(
            self.query("SELECT comment_id, suggested_decision FROM comments_assessment")
        )
        for comment_id in acknowledged:
            expected = 1 if suggested.get(comment_id) in ("approve", "reject") else 0
            if automatic.get(comment_id, 0) != expected:
                problems.append(
                    f"comment {comment_id}: {automatic.get(comment_id, 0)} automatic "
                    f"decision(s), expected {expected}"
                )
                break
        duplicates = sum(1 for n in automatic.values() if n > 1)
        if duplicates:
            problems.append(f"{duplicates} comment(s) with more than one automatic decision")
        waiting = self.query("SELECT COUNT(*) FROM comments_awaitingassessment")[0][0]
        if waiting:
            problems.append(f"{waiting} comment(s) still waiting")
        return problems


async def http_post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    """One POST on a fresh connection: (status, body); (0, b"") if the connection failed."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return 0, b""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, answer = data.partition(b"\r\n\r\n")
    parts = head.split(b"\r\n", 1)[0].split()
    return (int(parts[1]) if len(parts) > 1 else 0), answer


def run(args) -> int:
    cluster = Cluster(
        args.database_url,
        args.redis_url,
        servers=args.servers,
        workers=args.workers,
        worker_concurrency=args.concurrency,
        scripted_engine_ms=args.scripted_engine_ms,
        extra_env={"CIVILITY_ASSESS_LEASE": str(args.lease), "CIVILITY_SWEEP_AFTER": "10"},
        texts=TextSet(args.texts, args.data),
    )
    print(f"texts: {cluster.texts.label}", flush=True)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    try:
        started = time.monotonic()
        cluster.start()
        print(f"started {args.servers} servers and {args.workers} workers", flush=True)
        killed = cluster.kill_when_busy(0, after=args.comments // 10)
        post_started = time.monotonic()
        acknowledged = cluster.post_comments(args.comments, args.post_concurrency)
        post_seconds = time.monotonic() - post_started
        print(
            f"posted {len(acknowledged)} of {args.comments} acknowledged in {post_seconds:.1f} s "
            f"({len(acknowledged) / post_seconds:.0f}/s); failures {cluster.post_failures}",
            flush=True,
        )
        drain = cluster.wait_until_assessed(len(acknowledged), args.timeout)
        killed["thread"].join(timeout=1)
        total = time.monotonic() - post_started
        print(
            f"worker 0 killed with SIGKILL when {killed.get('assessed')} were assessed, "
            f"holding a batch of {killed.get('held')}"
        )
        print(f"all assessed {drain:.1f} s after posting ended; {total:.1f} s from the first post")
        problems = cluster.problems(acknowledged)
        counts = cluster.query(
            "SELECT (SELECT COUNT(*) FROM comments_comment), "
            "(SELECT COUNT(*) FROM comments_assessment), "
            "(SELECT COUNT(*) FROM comments_decision WHERE actor_id IS NULL)"
        )[0]
        print(
            f"comments {counts[0]}, assessments {counts[1]}, automatic decisions {counts[2]}; "
            f"lost {len([p for p in problems if 'never' in p])}, problems: {problems or 'none'}"
        )
        print(f"whole run {time.monotonic() - started:.1f} s")
        return 1 if problems or "held" not in killed else 0
    finally:
        cluster.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="threads per worker")
    parser.add_argument("--post-concurrency", type=int, default=16)
    parser.add_argument("--lease", type=float, default=10)
    parser.add_argument("--scripted-engine-ms", type=float, default=None)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--texts", choices=TEXT_SETS, default="news", help="what is posted (bench/texts.py)"
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the shared data sets (news)")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
