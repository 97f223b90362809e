"""`civility moderator add NAME [--email E] [--staff]`: a moderator account and an API token.

`--staff` also lets the token create and update articles (`POST /api/v1/articles`): the
account a CMS integration uses. `--privacy` lets it export, erase and withdraw a commenter's
personal data (`/api/v1/moderation/privacy/…`, docs/privacy.md). The token is the last word of the output, so scripts can take
it with `awk '{print $NF}'`."""

from django.core.management.base import BaseCommand, CommandError

from civility.web.site.services import create_moderator


class Command(BaseCommand):
    help = "Manage moderators: `add NAME [--email E]` creates one and prints an API token."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a moderator (or add a token to an existing one)")
        add.add_argument("name")
        add.add_argument("--email", default="")
        add.add_argument(
            "--staff",
            action="store_true",
            help="may also create and update articles through the API (a CMS integration)",
        )
        add.add_argument(
            "--privacy",
            action="store_true",
            help="may also export and erase commenters' personal data through the API",
        )

    def handle(self, *args, **options):
        if options["action"] != "add":
            raise CommandError("unknown action")
        name = options["name"].strip()
        if not name or len(name) > 150:
            raise CommandError("the name must be 1 to 150 characters")
        user, password, token = create_moderator(
            name, options["email"], staff=options["staff"], privacy=options["privacy"]
        )
        if password:
            self.stdout.write(
                f"Created moderator {user.username}; web sign-in password: {password}"
            )
        else:
            self.stdout.write(f"Moderator {user.username} exists; added to the Moderators group")
        if user.is_staff:
            self.stdout.write(
                "Staff: the token may create and update articles (POST /api/v1/articles)"
            )
        if options["privacy"]:
            self.stdout.write(
                "Personal data: the token may export and erase commenters' data "
                "(/api/v1/moderation/privacy/…)"
            )
        self.stdout.write(f"API token (shown once): {token}")
