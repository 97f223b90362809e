"""`civility perspective_feedback --export FILE.jsonl`: suggestscore feedback as labelled examples."""

import json

from django.core.management.base import BaseCommand, CommandError

from civility.web.perspective.models import FeedbackExample


class Command(BaseCommand):
    help = "Export the feedback received through /v1alpha1/comments:suggestscore as JSONL."

    def add_arguments(self, parser):
        parser.add_argument("--export", required=True, metavar="FILE", help="JSONL file to write")

    def handle(self, *args, export, **options):
        rows = FeedbackExample.objects.select_related("api_key").iterator()
        try:
            with open(export, "w", encoding="utf-8") as out:
                count = 0
                for example in rows:
                    out.write(json.dumps(example.to_export(), ensure_ascii=False) + "\n")
                    count += 1
        except OSError as exc:
            raise CommandError(f"cannot write {export}: {exc.strerror}") from exc
        self.stdout.write(f"wrote {count} examples to {export}")
