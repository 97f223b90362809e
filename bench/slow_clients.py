"""Slow clients against `civility serve`: how long does a normal page take while N clients
hold connections open mid-body?

Each stalled client declares `Content-Length: 1000` on a POST, sends 10 bytes and then
nothing. With them open, the script times GET /articles/<slug>/ (and /guidelines/) a few times,
for each worker class asked for:

  asgi     what `civility serve` runs: bodies are read on the event loop before Django runs
  sync     gunicorn's sync workers (what `serve` ran before): one stalled client per worker
  gthread  gunicorn's threaded workers (--threads per worker)

  .venv/bin/python bench/slow_clients.py [--stalled 100] [--classes asgi,sync,gthread]

Prints one line per worker class: stalled clients, page latencies (s), and how many requests
failed or ran past --page-timeout. SQLite in a temp dir; nothing else is touched."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SLUG = "slow-clients"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(env: dict) -> None:
    civility = str(Path(sys.executable).with_name("civility"))
    subprocess.run([civility, "migrate", "-v0"], env=env, check=True)
    script = f"""
import django; django.setup()
from civility.web.articles.models import Article
Article.objects.get_or_create(slug={SLUG!r}, defaults={{"title": "Slow clients", "body": "Talks."}})
"""
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


def start_server(env: dict, port: int, worker_class: str, workers: int, threads: int):
    civility = str(Path(sys.executable).with_name("civility"))
    command = [civility, "serve", "--port", str(port), "--workers", str(workers), "--quiet"]
    # gunicorn turns sync workers into gthread ones when threads > 1: pass threads only there.
    threads = threads if worker_class == "gthread" else 1
    command += ["--worker-class", worker_class, "--threads", str(threads)]
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the {worker_class} server exited during start-up")
        try:
            status, _ = timed_get(port, "/guidelines/", 5)
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("the server did not start in time")


def stall(port: int, count: int) -> list[socket.socket]:
    """Open `count` connections that promise a 1000-byte body and send 10 bytes of it."""
    sockets = []
    head = (
        f"POST /api/v1/articles/{SLUG}/comments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(head + b'{"author":')
        sockets.append(sock)
    time.sleep(2)  # let the server pick them all up
    return sockets


def timed_get(port: int, path: str, timeout: float) -> tuple[int, float]:
    """(status, seconds) of one GET on a fresh connection; status 0 when it timed out."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            return 0, time.monotonic() - started
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, time.monotonic() - started


def measure(port: int, stalled: int, tries: int, page_timeout: float) -> dict:
    held = stall(port, stalled)
    try:
        latencies, failed = [], 0
        for i in range(tries):
            path = f"/articles/{SLUG}/" if i % 2 == 0 else "/guidelines/"
            try:
                status, seconds = timed_get(port, path, page_timeout)
            except OSError:
                status, seconds = 0, page_timeout
            latencies.append(seconds)
            failed += status != 200
        return {"latencies": latencies, "failed": failed}
    finally:
        for sock in held:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stalled", type=int, default=100)
    parser.add_argument("--classes", default="asgi,sync,gthread")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="gthread threads per worker")
    parser.add_argument("--tries", type=int, default=6)
    parser.add_argument("--page-timeout", type=float, default=10.0)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="civility-slow-")
    env = {**os.environ, "CIVILITY_DATA_DIR": data_dir, "LOG_LEVEL": "ERROR"}
    env["DJANGO_SETTINGS_MODULE"] = "civility.web.settings"
    env["CIVILITY_PRODUCTION"] = "0"  # plain HTTP on 127.0.0.1: no HTTPS redirect
    env.pop("DATABASE_URL", None)
    try:
        prepare(env)
        for worker_class in args.classes.split(","):
            port = free_port()
            server = start_server(env, port, worker_class, args.workers, args.threads)
            try:
                result = measure(port, args.stalled, args.tries, args.page_timeout)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            shape = f"{args.workers} workers" + (
                f" x {args.threads} threads" if worker_class == "gthread" else ""
            )
            seconds = " ".join(f"{s:.3f}" for s in result["latencies"])
            print(
                f"{worker_class:8} ({shape}): {args.stalled} stalled clients; page latency s: "
                f"{seconds}; failed or over {args.page_timeout:g} s: {result['failed']}"
                f"/{args.tries}",
                flush=True,
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
