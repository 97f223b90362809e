"""`civility import FILE [--format jsonl|coral|disqus] [--dry-run] [--decided-by NAME]`: load a
newsroom's past comments and their decisions, so learning starts from the newsroom's own
history (docs/learning.md, "Importing history"). Imported comments keep their timestamps, are
marked as imported in the decision trail, and are never assessed, queued or announced.

Safe to run again: comments already imported are counted and skipped. Bad rows are reported
with their line number and skipped. Exit status: 0 when something was imported or everything
was already there, 1 when only bad rows were found, 2 when the file cannot be read or the
format is unknown."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from civility import imports
from civility.web.comments import importing
from civility.web.comments.models import REASON_CODES


class Command(BaseCommand):
    help = "Load a newsroom's past comments and their decisions (docs/learning.md)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the export to load")
        parser.add_argument(
            "--format",
            choices=sorted(imports.FORMATS),
            default="jsonl",
            help="jsonl (Civility's shape), coral (Coral comments, one JSON object a line) or "
            "disqus (Disqus's XML export); default jsonl",
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row, store nothing")
        parser.add_argument(
            "--decided-by",
            default="",
            help="the person or team to record as decider where the file names nobody; "
            "those decisions then count as human ones for learning",
        )
        parser.add_argument(
            "--batch-size", type=int, default=importing.BATCH_SIZE, help="rows per transaction"
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1", returncode=2)
        path = options["file"]
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}", returncode=2) from None
        progress = tqdm(
            unit=" rows",
            desc="checking" if options["dry_run"] else "importing",
            file=sys.stderr,
            disable=options["quiet"],
        )
        try:
            with stream, progress:
                rows = imports.read(
                    options["format"],
                    stream,
                    reason_codes=REASON_CODES,
                    default_tz=timezone.get_current_timezone(),
                    now=timezone.now(),
                )
                report = importing.import_rows(
                    rows,
                    batch_size=options["batch_size"],
                    dry_run=options["dry_run"],
                    decided_by=options["decided_by"],
                    progress=progress.update,
                )
        except OSError as exc:
            raise CommandError(
                f"cannot read {path}: {exc.strerror}; rows before the failure were kept",
                returncode=2,
            ) from None

        for line, reason in report.undecided:
            self.stderr.write(f"line {line}: skipped, {reason}")
        for line, reason in report.bad:
            self.stderr.write(f"line {line}: {reason}")
        self.stdout.write(summary(report))
        if report.imported == 0 and report.bad:
            raise CommandError(
                f"nothing was imported: {len(report.bad)} bad row(s), listed above", returncode=1
            )


def summary(report: importing.ImportReport) -> str:
    verb = "Dry run: would import" if report.dry_run else "Imported"
    parts = [
        f"{verb} {report.imported} comment(s) ({report.articles_created} new article(s))",
        f"{report.already} already imported",
        f"{len(report.bad)} bad row(s)",
    ]
    if report.undecided:
        parts.append(f"{len(report.undecided)} without a decision")
    return "; ".join(parts) + "."
