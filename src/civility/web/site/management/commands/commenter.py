"""`civility commenter export EMAIL` (everything held, as JSON on stdout) and
`civility commenter erase EMAIL` (the address, sign-on subject and IP hashes removed; the name
shown as "former commenter"; comment texts unchanged). docs/privacy.md."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from civility.web.site import privacy


class Command(BaseCommand):
    help = "A commenter's personal data: `export EMAIL` as JSON, or `erase EMAIL`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("export", help="print everything held about EMAIL as JSON").add_argument(
            "email"
        )
        erase = sub.add_parser("erase", help="erase EMAIL's personal data (texts stay)")
        erase.add_argument("email")

    def handle(self, *args, **options):
        email = options["email"].strip()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"not an e-mail address: {email!r}") from None
        if options["action"] == "export":
            data = privacy.export(email)
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        counts = privacy.erase(email)
        self.stdout.write(
            f"Erased: {counts['commenters']} commenter(s), {counts['comments']} comment(s) "
            "no longer hold the address, IP hashes or name; texts unchanged."
        )
