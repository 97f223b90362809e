"""`civility reassess [--status pending] [--since DATE] [--dry-run]`: assess stored comments
again after a model or policy upgrade. With a broker the comments are queued for the workers
in batches; without one they are assessed here. Comments already assessed by the engine's
current model version are skipped; an automatic decision is only made for comments nobody has
decided yet (a reassessment never overrules a decision, it refreshes the evidence)."""

import sys
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from civility.web.comments import assessing
from civility.web.comments.models import STATUSES, Comment

CHUNK = 500


def parse_since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since: {value!r} is not a date (YYYY-MM-DD) or a date and time")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


class Command(BaseCommand):
    help = "Assess stored comments again (after a model or policy upgrade), in batches."

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=(*STATUSES, "all"), default="pending")
        parser.add_argument("--since", help="only comments posted on or after this date")
        parser.add_argument(
            "--dry-run", action="store_true", help="count the comments, change nothing"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        comments = Comment.objects.all()
        if options["status"] != "all":
            comments = comments.with_status().filter(current_status=options["status"])
        if options["since"]:
            comments = comments.filter(created__gte=parse_since(options["since"]))
        ids = list(comments.order_by("pk").values_list("pk", flat=True))
        scope = (
            f"{len(ids)} {'' if options['status'] == 'all' else options['status'] + ' '}comment(s)"
        )
        if options["dry_run"]:
            self.stdout.write(f"Dry run: {scope} would be reassessed.")
            return
        progress = tqdm(
            total=len(ids),
            unit=" comments",
            desc="reassessing",
            file=sys.stderr,
            disable=options["no_progress"],
        )
        done = 0
        with progress:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                if assessing.in_workers():
                    with transaction.atomic():
                        batch = list(Comment.objects.filter(pk__in=chunk).only("pk", "article_id"))
                        done += assessing.queue_comments(batch)
                else:
                    done += assessing.reassess_here(chunk)
                progress.update(len(chunk))
        if assessing.in_workers():
            self.stdout.write(f"Queued {done} of {scope} for the workers.")
        else:
            self.stdout.write(f"Reassessed {done} of {scope} (the others were up to date).")
