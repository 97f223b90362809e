"""Degraded mode with real processes: a `civility serve` and a `civility worker` on a Redis
server of this test's own (a spare port, nothing on disk). The Redis is killed with SIGKILL
mid-run; readers keep posting through the JSON API, the article page's form and the embed, and
keep reading the pages; then Redis is started again, empty. No answer may be a 5xx, no
acknowledged comment may be lost, and once Redis is back every comment must be assessed exactly
once, by the worker, with the sweeper sending the messages the outage cost. A second test
starts the server with REDIS_URL pointing where nothing ever listens.

The database is the suite's: PostgreSQL under `make test-postgres`, otherwise a SQLite file."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from load import free_port  # noqa: E402
from scale_out import ARTICLES, Cluster, http_post  # noqa: E402

pytestmark = pytest.mark.slow

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


class RedisProcess:
    """redis-server on a spare port, no persistence: a restart starts empty."""

    def __init__(self, folder: Path):
        if not shutil.which("redis-server"):
            pytest.fail("redis-server is not installed (make setup installs it)")
        self.port, self.folder, self.process = free_port(), folder, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while not self.up():
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.1)

    def up(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Reader:
    """A browser's requests to one server: pages, the form with its CSRF cookie, the embed."""

    def __init__(self, port: int):
        self.port = port
        self.statuses: list[tuple[str, int]] = []
        self.posted: list[str] = []  # texts acknowledged (201, or the redirect to the status)

    def request(self, method, path, body=None, headers=None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            answer = response.read().decode(errors="replace")
            headers = {k.lower(): v for k, v in response.getheaders()}
            status = response.status
        finally:
            connection.close()
        self.statuses.append((f"{method} {path.split('?')[0]}", status))
        return status, headers, answer

    def read_pages(self, slug: str) -> None:
        for path in (f"/articles/{slug}/", f"/embed/{slug}/", f"/api/v1/articles/{slug}/comments"):
            self.request("GET", path)

    def post_api(self, slug: str, text: str) -> None:
        body = json.dumps({"author": "Ann", "text": text})
        status, _, _ = self.request(
            "POST",
            f"/api/v1/articles/{slug}/comments",
            body,
            {"Content-Type": "application/json"},
        )
        if status == 201:
            self.posted.append(text)

    def post_form(self, slug: str, text: str) -> None:
        status, headers, page = self.request("GET", f"/articles/{slug}/")
        token = CSRF_FIELD.search(page).group(1)
        cookie = headers.get("set-cookie", "").split(";")[0]
        fields = {"csrfmiddlewaretoken": token, "author": "Ben", "text": text}
        self._post_fields(f"/articles/{slug}/comments/", fields, {"Cookie": cookie})

    def post_embed(self, slug: str, text: str) -> None:
        _, _, page = self.request("GET", f"/embed/{slug}/")
        fields = {"form_token": FORM_TOKEN.search(page).group(1), "author": "Cem", "text": text}
        origin = {"Origin": f"http://127.0.0.1:{self.port}"}
        self._post_fields(f"/embed/{slug}/comments/", fields, origin)

    def _post_fields(self, path: str, fields: dict, headers: dict) -> None:
        """A form post; acknowledged when it ends on the comment's status page."""
        headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        status, answer_headers, _ = self.request("POST", path, urlencode(fields), headers)
        if status == 302 and "/comments/status/" in answer_headers.get("location", ""):
            self.posted.append(fields["text"])

    def post_everywhere(self, label: str, count: int) -> None:
        for n in range(count):
            slug = ARTICLES[n % len(ARTICLES)]
            self.post_api(slug, f"{label}: a remark through the API, number {n}.")
            self.post_form(slug, f"{label}: a remark through the form, number {n}.")
            self.post_embed(slug, f"{label}: a remark through the embed, number {n}.")
            self.read_pages(slug)


def database_kind() -> str:
    database = os.environ.get("DATABASE_URL", "")
    return database if database.startswith("postgres") else "sqlite"


def acknowledged_ids(cluster: Cluster, texts: list[str]) -> dict[int, str]:
    """{comment id: text} for these texts; each must be stored exactly once."""
    stored = cluster.query("SELECT id, body FROM comments_comment")
    by_text: dict[str, list[int]] = {}
    for comment_id, body in stored:
        by_text.setdefault(body, []).append(comment_id)
    missing = [t for t in texts if t not in by_text]
    assert not missing, f"{len(missing)} acknowledged comment(s) lost: {missing[:3]}"
    twice = [t for t in texts if len(by_text[t]) != 1]
    assert not twice, f"stored more than once: {twice[:3]}"
    return {by_text[t][0]: t for t in texts}


def test_redis_killed_mid_run_and_restarted_loses_nothing_and_assesses_each_once(tmp_path):
    redis_server = RedisProcess(tmp_path)
    redis_server.start()
    cluster = Cluster(
        database_kind(),
        redis_server.url,
        servers=1,
        workers=1,
        worker_concurrency=2,
        scripted_engine_ms=5,
        extra_env={
            "CIVILITY_ASSESS_BATCH": "16",
            "CIVILITY_ASSESS_LEASE": "5",
            "CIVILITY_SWEEP_AFTER": "2",
            "CIVILITY_REDIS_RETRY_AFTER": "1",
        },
    )
    try:
        cluster.start()
        reader = Reader(cluster.servers[0][0])
        reader.post_everywhere("before", 5)
        cluster.wait_until_assessed(len(reader.posted), timeout=60)
        before = len(reader.posted)

        redis_server.kill()
        reader.post_everywhere("during", 8)
        during = len(reader.posted) - before
        # Nothing can be assessed while the broker is down: the comments wait.
        waiting = cluster.query("SELECT COUNT(*) FROM comments_awaitingassessment")[0][0]

        redis_server.start()  # empty: every message queued before the kill is gone
        reader.post_everywhere("after", 4)
        acknowledged = acknowledged_ids(cluster, reader.posted)
        cluster.wait_until_assessed(len(acknowledged), timeout=120)
        problems = cluster.problems(acknowledged)
        server_log = (cluster.data_dir / "server-0.log").read_text(errors="replace")
    finally:
        cluster.stop()
        redis_server.kill()

    failures = [(what, status) for what, status in reader.statuses if status >= 500]
    assert failures == [], failures
    refused = [(what, status) for what, status in reader.statuses if status >= 400]
    assert refused == [], refused
    assert during == 8 * 3  # every post during the outage acknowledged
    assert waiting >= during
    assert len(acknowledged) == (5 + 8 + 4) * 3
    assert problems == []  # each assessed exactly once, one automatic decision each
    assert "Internal Server Error" not in server_log and "Traceback" not in server_log
    # The outage is logged once a minute per process, not once a request.
    assert 1 <= server_log.count("degraded mode") <= 3, server_log[-3000:]


def test_a_server_whose_redis_never_answers_serves_and_stores(tmp_path):
    """REDIS_URL names a port where nothing listens, from the start: the server starts,
    serves every page and stores every post; the comments wait for a worker."""
    cluster = Cluster(
        database_kind(),
        f"redis://127.0.0.1:{free_port()}/0",
        servers=1,
        workers=0,
    )
    try:
        cluster.start()
        reader = Reader(cluster.servers[0][0])
        reader.post_everywhere("unreachable", 4)
        answers = asyncio.run(
            http_post(
                cluster.servers[0][0],
                f"/api/v1/articles/{ARTICLES[0]}/comments",
                json.dumps({"author": "Dan", "text": "One more."}).encode(),
            )
        )
        acknowledged = acknowledged_ids(cluster, reader.posted)
        waiting = cluster.query("SELECT COUNT(*) FROM comments_awaitingassessment")[0][0]
        server_log = (cluster.data_dir / "server-0.log").read_text(errors="replace")
    finally:
        cluster.stop()
    assert [s for s in reader.statuses if s[1] >= 400] == []
    assert answers[0] == 201
    assert len(acknowledged) == 4 * 3
    assert waiting == len(acknowledged) + 1
    assert "Internal Server Error" not in server_log and "Traceback" not in server_log
