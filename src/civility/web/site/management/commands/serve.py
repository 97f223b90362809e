"""`civility serve [--host H] [--port P] [--workers N] [--with-worker]`: the site under gunicorn.

Static files are collected first and served by whitenoise. Workers are gunicorn's asyncio
(ASGI) workers: each reads request bodies on its event loop, bounded in size and time
(`civility.web.asgi`), before Django runs, so clients that send slowly cannot tie up the
workers (docs/web.md has the measurements against sync and gthread workers)."""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def default_workers() -> int:
    return max(2, min(4, (os.cpu_count() or 1) * 2))


WORKER_CLASSES = ("asgi", "sync", "gthread")


def run_gunicorn(
    host: str,
    port: int,
    workers: int,
    threads: int = 1,
    quiet: bool = False,
    worker_class: str = "asgi",
) -> None:
    from gunicorn.app.base import BaseApplication

    from civility.web.serving import exit_worker

    if worker_class == "asgi":
        from civility.web.asgi import build_application

        application = build_application(threads)
    else:  # kept for comparison (bench/slow_clients.py); one slow client holds a sync worker
        from civility.web.wsgi import application

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", worker_class)
            if worker_class != "asgi":  # the ASGI front has its own thread pool (`threads`)
                self.cfg.set("threads", threads)
            self.cfg.set("preload_app", True)  # the engine loads once, before forking
            self.cfg.set("accesslog", None if quiet else "-")
            # API keys (`?key=`, X-Goog-Api-Key) never reach the access log.
            self.cfg.set("logger_class", "civility.web.serving.RedactingLogger")
            # Workers leave without the C-level exit handlers inherited from the master
            # (civility.web.serving): no abort, no 30 s wait for a hung worker on SIGTERM.
            self.cfg.set("worker_exit", exit_worker)
            self.cfg.set("timeout", 60)
            self.cfg.set("keepalive", 5)
            # gunicorn's control socket is one path per user: two servers would fight over it.
            self.cfg.set("control_socket_disable", True)
            if worker_class == "asgi":  # open event streams end when a worker is told to stop
                from civility.web.asgi import follow_worker

                self.cfg.set("post_worker_init", follow_worker)

        def load(self):
            return application

    Server().run()


def warm_engine() -> str:
    """Load the engine before forking so workers share it; say so if it cannot load."""
    try:
        from civility.web.comments.services import engine_moderator

        return f"engine {engine_moderator().model_version} loaded"
    except Exception as exc:  # the site still runs: comments wait for a human
        return f"engine not available ({exc}); every comment will wait for a moderator"


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Command(BaseCommand):
    help = "Run the site with gunicorn (a production server), serving static files itself."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument(
            "--threads", type=int, default=1, help="threads running Django in each worker"
        )
        parser.add_argument(
            "--worker-class",
            choices=WORKER_CLASSES,
            default="asgi",
            help="asgi (default): slow clients wait on the event loop, not in a worker; "
            "sync/gthread are kept for comparison only",
        )
        parser.add_argument("--quiet", action="store_true", help="no access log")
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="also run one `civility worker` (assessment and webhooks) beside the server, "
            "stopped with it: a single machine with Redis",
        )

    def handle(self, *args, **options):
        if settings.SECRET_KEY == settings.DEMO_SECRET_KEY and options["host"] not in LOOPBACK:
            # The demo key is public: with it, sessions can be forged and IP hashes reversed.
            raise CommandError(
                f"refusing to serve on {options['host']} with the public demo SECRET_KEY; "
                "set the SECRET_KEY environment variable (or serve on 127.0.0.1)"
            )
        worker = None
        if options["with_worker"]:
            from civility.web.workers import broker_configured

            if not broker_configured():
                raise CommandError(
                    "--with-worker needs REDIS_URL (the broker); without it comments are "
                    "assessed in the request and no worker is needed"
                )
            worker = start_worker()
            self.stdout.write(f"Worker started (pid {worker.pid})")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(warm_engine())
        self.stdout.write(f"Serving on http://{options['host']}:{options['port']}/ (Ctrl-C stops)")
        self.stdout.flush()
        try:
            run_gunicorn(
                options["host"],
                options["port"],
                options["workers"],
                options["threads"],
                options["quiet"],
                options["worker_class"],
            )
        finally:
            if worker is not None:
                stop_worker(worker)


def start_worker() -> subprocess.Popen:
    """`civility worker` as a child process (its own process group, stopped with the server)."""
    return subprocess.Popen(
        [sys.executable, "-m", "civility.cli", "worker", "--loglevel=WARNING"],
        start_new_session=True,
    )


def stop_worker(worker: subprocess.Popen) -> None:
    """Warm shutdown: the worker finishes its current batch (unfinished ones are claimed again
    by another worker after their lease, so nothing is lost even if it is cut short)."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
