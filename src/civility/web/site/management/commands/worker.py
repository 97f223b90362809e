"""`civility worker`: a Celery worker that assesses waiting comments in batches and delivers
webhooks (docs/workers.md). Needs REDIS_URL (the broker) and the site's DATABASE_URL; run as
many as the backlog needs, on as many machines."""

import os
import socket

from django.core.management.base import BaseCommand, CommandError

from civility.web.workers import LEARN_QUEUE, QUEUES, app, broker_configured


def worker_argv(
    concurrency: int, pool: str, loglevel: str, name: str | None = None, beat: bool = False
) -> list[str]:
    # --beat: this worker also runs the periodic schedule (CIVILITY_LEARN_EVERY_HOURS); run it
    # in one worker only, or the schedule fires once per worker.
    return [
        "worker",
        *(["--beat"] if beat else []),
        f"--loglevel={loglevel}",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--queues={','.join((*QUEUES, LEARN_QUEUE) if beat else QUEUES)}",
        f"--hostname={name or f'civility-{os.getpid()}@{socket.gethostname()}'}",
        # Workers need not talk to each other: the database and the broker coordinate them.
        "--without-gossip",
        "--without-mingle",
    ]


class Command(BaseCommand):
    help = "Run a Celery worker: assessment batches and webhook deliveries (needs REDIS_URL)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency",
            type=int,
            default=4,
            help="tasks at once (threads); the engine batches are CPU-bound, webhooks wait on I/O",
        )
        parser.add_argument("--pool", choices=("threads", "prefork", "solo"), default="threads")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument("--name", help="the worker's node name (default civility-PID@host)")
        parser.add_argument(
            "--beat",
            action="store_true",
            help="also run the periodic schedule (learning every CIVILITY_LEARN_EVERY_HOURS); "
            "in one worker only",
        )

    def handle(self, *args, **options):
        if not broker_configured():
            raise CommandError(
                "civility worker needs a broker: set REDIS_URL (e.g. redis://127.0.0.1:6379/0). "
                "Without it the site assesses comments in the request and needs no worker."
            )
        from civility.web.site.management.commands.serve import warm_engine

        self.stdout.write(warm_engine())
        self.stdout.flush()
        app.worker_main(
            worker_argv(
                options["concurrency"],
                options["pool"],
                options["loglevel"],
                options["name"],
                options["beat"],
            )
        )
