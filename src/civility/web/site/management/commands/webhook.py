"""`civility webhook add URL --events comment.approved,comment.rejected [--description D]`,
`webhook list`, `webhook remove ID`. The signing secret is printed once, last, when added."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from civility.web.webhooks.models import EVENTS, Webhook


class Command(BaseCommand):
    help = "Register webhooks for comment events (deliveries are signed and logged)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a URL for some events")
        add.add_argument("url")
        add.add_argument(
            "--events",
            required=True,
            help=f"comma-separated, any of: {', '.join(EVENTS)} (or 'all')",
        )
        add.add_argument("--description", default="")
        sub.add_parser("list", help="the webhooks and their delivery counts")
        remove = sub.add_parser("remove", help="delete a webhook and its delivery log")
        remove.add_argument("id", type=int)

    def handle(self, *args, **options):
        action = options["action"]
        if action == "add":
            return self._add(options)
        if action == "list":
            for hook in Webhook.objects.all():
                state = "active" if hook.active else "inactive"
                pending = hook.deliveries.filter(status="pending").count()
                self.stdout.write(
                    f"{hook.pk}  {hook.url}  {','.join(hook.events)}  {state}  "
                    f"{hook.deliveries.count()} deliveries ({pending} pending)"
                )
            return
        deleted, _ = Webhook.objects.filter(pk=options["id"]).delete()
        if not deleted:
            raise CommandError(f"no webhook with id {options['id']}")
        self.stdout.write(f"Removed webhook {options['id']}")

    def _add(self, options):
        names = [e.strip() for e in options["events"].split(",") if e.strip()]
        events = list(EVENTS) if names == ["all"] else names
        hook = Webhook(url=options["url"], events=events, description=options["description"])
        try:
            hook.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(problems) from None
        hook.save()
        self.stdout.write(f"Webhook {hook.pk}: {hook.url} for {', '.join(hook.events)}")
        self.stdout.write(f"Signing secret: {hook.secret}")
