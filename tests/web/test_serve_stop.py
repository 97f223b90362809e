"""`civility serve` as deployed, with the shipped engine loaded in the master before it forks its
workers: the access log carries no API key, and SIGTERM stops the server within 5 s with every
worker exiting cleanly.

Before: a worker that had the engine aborted on SIGTERM with "terminate called after throwing
an instance of 'std::system_error'" (SIGABRT), or hung until gunicorn killed it at the end of
its 30 s graceful timeout, so every restart took 30 s (civility.web.serving explains why)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from load import fresh_postgres_database  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.real_engine]

CIVILITY = str(Path(sys.executable).with_name("civility"))
QUERY_KEY = "cvl_QuerySecret0123456789"
HEADER_KEY = "cvl_HeaderSecret9876543210"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`civility serve --workers 2` with the shipped engine, on the suite's kind of database;
    the test module's last test stops it."""
    data_dir = tmp_path_factory.mktemp("serve-stop")
    database = os.environ.get("DATABASE_URL", "")
    drop = None
    if database.startswith("postgres"):
        database, drop = fresh_postgres_database(database)
    else:
        database = f"sqlite:///{data_dir / 'site.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CIVILITY_ENGINE")}
    env.update(
        DJANGO_SETTINGS_MODULE="civility.web.settings",
        DATABASE_URL=database,
        CIVILITY_DATA_DIR=str(data_dir),
        CIVILITY_PRODUCTION="0",  # plain HTTP on 127.0.0.1
    )
    subprocess.run([CIVILITY, "migrate", "-v0"], env=env, check=True)
    script = (
        "import django; django.setup()\n"
        "from civility.web.articles.models import Article\n"
        "Article.objects.create(slug='talks', title='Talks', body='Security talks resumed.')\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    port = free_port()
    log_path = data_dir / "serve.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [CIVILITY, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log_path.read_text()
        try:
            if fetch(f"{base}/guidelines/")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "civility serve did not start"
        time.sleep(0.3)
    try:
        yield {"base": base, "process": process, "log": log_path}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        if drop is not None:
            drop()


def workers_of(master: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def test_api_keys_never_reach_the_access_log(server):
    base = server["base"]
    analyze = {"comment": {"text": "A calm remark."}, "requestedAttributes": {"TOXICITY": {}}}
    assert fetch(f"{base}/v1alpha1/comments:analyze?key={QUERY_KEY}&alt=json", analyze)[0] == 403
    headers = {"X-Goog-Api-Key": HEADER_KEY}
    assert fetch(f"{base}/v1alpha1/comments:analyze", analyze, headers)[0] == 403
    discovery = f"{base}/$discovery/rest?version=v1alpha1&key={QUERY_KEY}"
    assert fetch(discovery, headers={"Referer": f"{base}/?KEY={QUERY_KEY}"})[0] == 200
    log = ""
    for _ in range(50):  # the access log is written as each answer goes out
        log = server["log"].read_text()
        if log.count("$discovery/rest") == 1:
            break
        time.sleep(0.1)
    assert "key=[redacted]&alt=json" in log
    assert "$discovery/rest?version=v1alpha1&key=[redacted]" in log
    assert "/?KEY=[redacted]" in log  # the referer too
    assert QUERY_KEY not in log and HEADER_KEY not in log


def test_sigterm_stops_the_server_within_5_s_and_no_worker_aborts(server):
    base, process = server["base"], server["process"]
    # Both workers assess comments with the engine the master loaded before forking.
    for n in range(6):
        comment = {"author": f"Reader {n}", "text": f"A fair point, number {n}, about the talks."}
        status, answer = fetch(f"{base}/api/v1/articles/talks/comments", comment)
        assert status == 201, answer
    workers = workers_of(process.pid)
    assert len(workers) == 2

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    elapsed = time.monotonic() - started
    log = server["log"].read_text()
    tail = log[-3000:]
    print(f"civility serve stopped {elapsed:.2f} s after SIGTERM")

    assert code == 0, tail
    assert elapsed < 5, f"{elapsed:.1f} s to stop\n{tail}"
    assert "terminate called" not in log and "std::system_error" not in log, tail
    assert not re.search(r"Worker \(pid:\d+\) (was sent|exited with code)", log), tail
    for pid in workers:
        assert f"Worker exiting (pid: {pid})" in log
        assert not Path(f"/proc/{pid}").exists()
    assert "Shutting down: Master" in log
