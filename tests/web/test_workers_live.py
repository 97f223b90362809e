"""The scale-out property with real processes, small: two `civility serve` and two
`civility worker` processes on one database and this run's Redis, 300 comments posted across
both servers, one worker killed with SIGKILL while it holds a batch. Every acknowledged comment
must then be assessed exactly once, with exactly one automatic decision where the policy
decides, and nothing left waiting. A webhook receiver that is down while the decisions happen
gets every delivery, signed, once it comes back. bench/scale_out.py runs the same harness with
10,000 comments (docs/workers.md has its figures).

The database is the one the suite runs on: PostgreSQL under `make test-postgres` (a fresh
database of its own on that server), otherwise a SQLite file."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from civility.web.webhooks.delivery import verify

from .conftest import fresh_redis

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from load import free_port  # noqa: E402
from scale_out import Cluster  # noqa: E402

pytestmark = pytest.mark.slow

COMMENTS = 300


class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it gets; started late on purpose."""

    def __init__(self, port: int):
        self.port = port
        self.received: list[tuple[dict, bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def run(redis_url):
    """The whole scenario, once; the tests below check what it left."""

    fresh_redis(redis_url)
    database = os.environ.get("DATABASE_URL", "")
    cluster = Cluster(
        database if database.startswith("postgres") else "sqlite",
        redis_url,
        servers=2,
        workers=2,
        worker_concurrency=2,
        scripted_engine_ms=25,
        extra_env={
            "CIVILITY_ASSESS_BATCH": "16",
            "CIVILITY_ASSESS_LEASE": "3",
            "CIVILITY_SWEEP_AFTER": "2",
            "CIVILITY_WEBHOOK_RETRY_BASE": "1",
            "CIVILITY_WEBHOOK_TIMEOUT": "2",
            "CIVILITY_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        },
    )
    port = free_port()  # nothing listens there until the receiver starts, late
    receiver = None
    try:
        cluster.prepare()
        added = cluster.civility(
            "webhook",
            "add",
            f"http://127.0.0.1:{port}/hooks/civility",
            "--events",
            "comment.rejected",
        )
        secret = added.split()[-1]
        cluster.launch()
        killed = cluster.kill_when_busy(0, after=COMMENTS // 5)
        acknowledged = cluster.post_comments(COMMENTS, concurrency=8)
        cluster.wait_until_assessed(len(acknowledged), timeout=120)
        killed["thread"].join(timeout=5)
        failed_first = _wait_for(
            lambda: cluster.query(
                "SELECT COUNT(*) FROM webhooks_delivery WHERE attempts >= 1 AND status = 'pending'"
            )[0][0],
            timeout=30,
        )
        receiver = Receiver(port)
        receiver.start()
        rejected = [i for i, text in acknowledged.items() if "idiot" in text]
        _wait_for(
            lambda: (
                cluster.query("SELECT COUNT(*) FROM webhooks_delivery WHERE status = 'delivered'")[
                    0
                ][0]
                >= len(rejected)
            ),
            timeout=90,
        )
        # Everything the tests read, then the processes go: a worker left running would
        # take the next test's messages from this run's Redis.
        result = {
            "acknowledged": acknowledged,
            "post_failures": cluster.post_failures,
            "problems": cluster.problems(acknowledged),
            "killed": killed,
            "killed_returncode": cluster.workers[0].returncode,
            "rejected": rejected,
            "secret": secret,
            "received": list(receiver.received),
            "failed_first": failed_first,
            "survivor_log": cluster.worker_log(1),
            "suggested": dict(
                cluster.query(
                    "SELECT suggested_decision, COUNT(*) FROM comments_assessment GROUP BY 1"
                )
            ),
            "attempts": cluster.query(
                "SELECT MAX(attempts), MIN(attempts) FROM webhooks_delivery "
                "WHERE status = 'delivered'"
            )[0],
        }
    finally:
        if receiver is not None:
            receiver.stop()
        cluster.stop()
    return result


def _wait_for(condition, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError("the condition did not hold in time")


def test_every_acknowledged_comment_is_assessed_exactly_once_despite_kill_9(run):
    assert len(run["acknowledged"]) == COMMENTS, run["post_failures"]
    assert run["killed"].get("held"), "worker 0 was not killed while holding a batch"
    assert run["killed"]["assessed"] < COMMENTS  # mid-run
    assert run["killed_returncode"] == -9
    assert run["problems"] == []
    decisions = run["suggested"]
    texts = run["acknowledged"].values()
    rejected = sum("idiot" in t for t in texts)
    review = sum("hmm" in t for t in texts)
    assert decisions == {
        "approve": COMMENTS - rejected - review,
        "reject": rejected,
        "review": review,
    }
    assert min(decisions.values()) >= COMMENTS // 4  # the scripted engine's three verdicts


def test_the_surviving_worker_reported_no_failure(run):
    log = run["survivor_log"]
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
    assert "civility.assess" in log  # it did assessment work


def test_a_receiver_that_was_down_gets_every_delivery_signed_after_it_comes_back(run):
    assert run["failed_first"] >= 1  # deliveries failed while the receiver was down
    by_comment = {}
    for headers, body in run["received"]:
        assert headers["X-Civility-Event"] == "comment.rejected"
        assert verify(
            run["secret"],
            body,
            headers["X-Civility-Timestamp"],
            headers["X-Civility-Delivery"],
            headers["X-Civility-Signature"],
        )
        payload = json.loads(body)
        by_comment[payload["comment"]["id"]] = payload
    assert sorted(by_comment) == sorted(run["rejected"])
    for comment_id, payload in by_comment.items():
        assert payload["comment"]["text"] == run["acknowledged"][comment_id]
        assert payload["decision"]["automatic"] is True
        assert payload["decision"]["reasons"] == ["personal_attack"]
    attempts = run["attempts"]
    assert attempts[0] >= 2  # retried, with backoff, until the receiver answered


def test_serve_with_worker_runs_both_and_stops_both(redis_url, tmp_path):
    """One machine with Redis: `civility serve --with-worker` assesses what it is posted."""
    import asyncio
    import signal

    from scale_out import http_post

    fresh_redis(redis_url)
    cluster = Cluster(
        "sqlite",
        redis_url,
        servers=0,
        workers=0,
        scripted_engine_ms=1,
        extra_env={"CIVILITY_SWEEP_AFTER": "2"},
    )
    try:
        cluster.prepare()
        port = free_port()
        serve = cluster._spawn(
            "serve",
            [
                sys.executable,
                "-m",
                "civility.cli",
                "serve",
                "--with-worker",
                "--port",
                str(port),
                "--workers",
                "1",
                "--quiet",
            ],
        )
        cluster.servers.append((port, serve))  # stopped with the cluster if this fails
        from load import wait_until_up

        wait_until_up(port, serve)
        body = json.dumps({"author": "Ann", "text": "You idiot."}).encode()
        status, answer = asyncio.run(http_post(port, "/api/v1/articles/talks/comments", body))
        assert status == 201 and json.loads(answer)["being_assessed"] is True
        comment_id = json.loads(answer)["id"]
        log_file = cluster.data_dir / "serve.log"
        try:
            _wait_for(
                lambda: cluster.query(
                    f"SELECT COUNT(*) FROM comments_decision WHERE comment_id = {comment_id}"
                )[0][0],
                timeout=30,
            )
        except TimeoutError:
            pytest.fail(f"not assessed in 30 s; the server's log:\n{log_file.read_text()[-4000:]}")
        log = log_file.read_text()
        worker_pid = int(log.split("Worker started (pid ")[1].split(")")[0])
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=40)
        time.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.kill(worker_pid, 0)  # the worker stopped with the server
    finally:
        cluster.stop()


def test_kill_9_of_the_broker_loses_nothing(tmp_path):
    """A Redis of this test's own (nothing on disk) is killed with SIGKILL while a worker is
    assessing, and started again empty: the queued messages are gone, the worker reconnects,
    and the sweeper's new messages reach every comment."""
    import shutil
    import signal
    import subprocess

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (make test fails on this skip)")
    port = free_port()

    def start_redis():
        process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for(lambda: _redis_up(port), timeout=10)
        return process

    redis_process = start_redis()
    cluster = Cluster(
        "sqlite",
        f"redis://127.0.0.1:{port}/0",
        servers=1,
        workers=1,
        worker_concurrency=2,
        scripted_engine_ms=40,
        extra_env={
            "CIVILITY_ASSESS_BATCH": "8",
            "CIVILITY_ASSESS_LEASE": "3",
            "CIVILITY_SWEEP_AFTER": "2",
            "CIVILITY_ENQUEUE_LINGER": "0",
        },
    )
    try:
        cluster.start()
        acknowledged = cluster.post_comments(120, concurrency=4)
        assert len(acknowledged) == 120
        _wait_for(lambda: cluster.assessed() >= 10, timeout=30)
        os.killpg(redis_process.pid, signal.SIGKILL)
        redis_process.wait()
        at_kill = cluster.assessed()
        time.sleep(1.5)
        redis_process = start_redis()  # empty: every queued message is lost
        cluster.wait_until_assessed(len(acknowledged), timeout=90)
        assert at_kill < len(acknowledged)  # the broker died mid-run
        assert cluster.problems(acknowledged) == []
    finally:
        cluster.stop()
        os.killpg(redis_process.pid, signal.SIGKILL)


def _redis_up(port: int) -> bool:
    import redis

    try:
        return redis.Redis(port=port, socket_connect_timeout=0.2).ping()
    except redis.RedisError:
        return False
