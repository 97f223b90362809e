"""`civility notifications digest` (the moderators' digest, if due) and
`civility notifications send` (every due mail now, e.g. from cron on a site without workers).
docs/web.md, "Notifications by e-mail"."""

from django.core.management.base import BaseCommand

from civility.web.commenters import notifications
from civility.web.moderation.digest import send_digest


class Command(BaseCommand):
    help = "E-mail: `digest` queues the moderators' digest if due; `send` sends due mails now."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        digest = sub.add_parser("digest", help="queue the moderators' digest if it is due")
        digest.add_argument(
            "--age",
            type=float,
            default=None,
            help="minutes the oldest pending comment must have waited "
            "(default CIVILITY_DIGEST_AGE_MINUTES)",
        )
        sub.add_parser("send", help="send every due mail (retries included) from this process")

    def handle(self, *args, **options):
        if options["action"] == "digest":
            queued = send_digest(age_minutes=options["age"])
            self.stdout.write(f"Digest: {queued} mail(s) queued.")
        # Both end by sending what is due here (a site without workers has no one else to).
        sent, pending = notifications.send_pending()
        self.stdout.write(f"Mails: {sent} done, {pending} pending.")
