"""Webhooks without a broker, as deployed: two `civility serve` processes and no Redis, 150
comments posted over HTTP while the webhook's receiver is down. Each delivery fails and is
retried; the web workers' thread counts (read from /proc) must stay within the pool's size.

Before the pool, every undelivered webhook kept a sleeping thread until its last retry: the
same 150 posts took two web workers from 2 threads to 338 and 266."""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from scale_out import Cluster, free_port  # noqa: E402

pytestmark = pytest.mark.slow

POSTS = 150
POOL = 3  # CIVILITY_WEBHOOK_THREADS
ATTEMPTS = 3


def worker_pids(master: int) -> list[int]:
    """gunicorn's workers under one `civility serve` master."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def threads_of(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return 0


class Sampler:
    """The most threads each process had, sampled every 20 ms."""

    def __init__(self, pids: list[int]):
        self.most = {pid: threads_of(pid) for pid in pids}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            for pid in self.most:
                self.most[pid] = max(self.most[pid], threads_of(pid))
            time.sleep(0.02)

    def close(self):
        self.stop.set()
        self.thread.join()


def test_150_posts_to_a_dead_receiver_without_a_broker_keep_each_worker_bounded():
    database = os.environ.get("DATABASE_URL", "")
    cluster = Cluster(
        database if database.startswith("postgres") else "sqlite",
        "",  # no Redis: no broker, webhooks go out from the web processes
        servers=2,
        workers=0,
        scripted_engine_ms=1,
        extra_env={
            "CIVILITY_WEBHOOK_THREADS": str(POOL),
            "CIVILITY_WEBHOOK_RETRY_BASE": "1",
            "CIVILITY_WEBHOOK_MAX_ATTEMPTS": str(ATTEMPTS),
            "CIVILITY_WEBHOOK_TIMEOUT": "2",
            "CIVILITY_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        },
    )
    dead = free_port()  # nothing listens there
    try:
        cluster.prepare()
        events = "comment.created,comment.approved,comment.rejected,comment.needs_review"
        cluster.civility("webhook", "add", f"http://127.0.0.1:{dead}/hook", "--events", events)
        cluster.launch()
        workers = [pid for _, server in cluster.servers for pid in worker_pids(server.pid)]
        assert len(workers) == 2
        for port, _ in cluster.servers:  # each worker's request thread exists now
            assert urllib.request.urlopen(f"http://127.0.0.1:{port}/guidelines/").status == 200
        baseline = {pid: threads_of(pid) for pid in workers}
        sampler = Sampler(workers)
        try:
            acknowledged = cluster.post_comments(POSTS, concurrency=8)
            assert len(acknowledged) == POSTS, cluster.post_failures
            deadline = time.monotonic() + 120
            while cluster.query("SELECT COUNT(*) FROM webhooks_delivery WHERE status = 'pending'")[
                0
            ][0]:
                assert time.monotonic() < deadline, "deliveries still pending after 120 s"
                time.sleep(0.5)
        finally:
            sampler.close()
        summary = cluster.query(
            "SELECT status, attempts, COUNT(*) FROM webhooks_delivery GROUP BY status, attempts"
        )
    finally:
        cluster.stop()

    # Every post's deliveries (created, and its decision where there was one) had all their
    # attempts and were given up: the pool did the work, retries included.
    assert [(status, attempts) for status, attempts, _ in summary] == [("failed", ATTEMPTS)]
    assert summary[0][2] >= POSTS + 3
    for pid in workers:
        # The pool's threads, started by the first delivery, and nothing more.
        assert sampler.most[pid] <= baseline[pid] + POOL, (pid, baseline[pid], sampler.most[pid])
