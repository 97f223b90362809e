"""Load-test /v1alpha1/comments:analyze under gunicorn on 127.0.0.1 and print req/s and latency.

    python bench/perspective_load.py [--requests 2000] [--concurrency 4] [--workers 2]
                                     [--engine real|fake]

It builds a throw-away SQLite database and API key in a temporary folder, starts gunicorn
(the production server), warms every worker up, sends a bounded number of requests from
client threads, and stops the server. `--engine fake` swaps in a constant scorer so the figure
shows what the HTTP, key, rate-limit and protocol layers cost on their own. Figures go to
stdout; nothing is written into the project."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
# A mix of what a newsroom sees: civil and uncivil, English, Arabic and Turkish, short and long.
COMMENTS = [
    "Thank you for this careful reporting on the new school budget.",
    "This is the worst article I have read all year, you clueless hack.",
    "The council should publish the full contract before the vote, not after it.",
    "شكرا على هذا التقرير، لكن الأرقام تحتاج إلى مصدر واضح",
    "Belediyenin bu kararı mahallemizdeki herkesi etkileyecek, daha çok tartışılmalı.",
    "Visit my site for cheap watches and easy money!!! Call now",
    "I disagree with the columnist. " * 12,
]


def make_fake_app():
    """gunicorn factory for `--engine fake`: the real site with a constant scorer behind it."""
    import importlib
    from dataclasses import dataclass, field

    from civility.web.wsgi import application

    # Only after Django is set up by the import above.
    views = importlib.import_module("civility.web.perspective.views")

    @dataclass
    class Constant:
        decision: str = "approve"
        score: float = 0.1
        categories: dict = field(
            default_factory=lambda: dict.fromkeys(
                ("profanity", "vulgarity", "threat", "personal_attack", "abuse", "promotion"), 0.1
            )
        )
        language: str = "en"
        relevance: float | None = None
        spans: list = field(default_factory=list)
        reason_codes: list = field(default_factory=list)

    class ConstantModerator:
        def assess(self, text, article=None, lang=None):
            return Constant()

    views._moderator = ConstantModerator
    return application


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def civility(env, *args) -> str:
    command = [PYTHON, "-m", "civility.cli", *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def post(port: int, path: str, body: bytes) -> tuple[int, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def wait_until_listening(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not start listening in time")


def run(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="civility-bench-") as data_dir:
        env = {
            **os.environ,
            "CIVILITY_DATA_DIR": data_dir,
            "DJANGO_SETTINGS_MODULE": "civility.web.settings",
            "CIVILITY_PRODUCTION": "0",  # plain HTTP on 127.0.0.1: no HTTPS redirect
        }
        civility(env, "migrate", "--no-input")
        key = civility(env, "apikey", "add", "bench", "--qps", "1000000").split()[-1]
        port = free_port()
        app = (
            "perspective_load:make_fake_app()"
            if args.engine == "fake"
            else "civility.web.wsgi:application"
        )
        server = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                app,
                "--pythonpath",
                str(HERE),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        try:
            wait_until_listening(port, server)
            path = f"/v1alpha1/comments:analyze?key={key}"
            bodies = [
                json.dumps(
                    {
                        "comment": {"text": text},
                        "requestedAttributes": {"TOXICITY": {}, "INSULT": {}},
                        "doNotStore": True,
                    }
                ).encode()
                for text in COMMENTS
            ]
            # Every worker loads the engine on its first request; keep that out of the figures.
            for body in bodies * args.workers * 2:
                status, _ = post(port, path, body)
                if status != 200:
                    raise SystemExit(f"warm-up request answered {status}")
            latencies, statuses, lock = [], [], threading.Lock()
            counter = iter(range(args.requests))

            def client():
                for i in counter:
                    status, seconds = post(port, path, bodies[i % len(bodies)])
                    with lock:
                        latencies.append(seconds)
                        statuses.append(status)

            threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    return {
        "engine": args.engine,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "requests": len(latencies),
        "errors": sum(status != 200 for status in statuses),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "cpus": os.cpu_count(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", choices=["real", "fake"], default="real")
    args = parser.parse_args(argv)
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
