"""`civility commenter export EMAIL` (everything held, as JSON on stdout),
`civility commenter erase EMAIL [--withdraw --by MODERATOR]` (the address, sign-on subject and
IP hashes removed; the name shown as "former commenter"; comment texts unchanged; with
--withdraw the comments are withdrawn too) and `civility commenter withdraw EMAIL --by
MODERATOR` (every comment not already rejected gets a rejection citing author_request, by that
moderator, in the decision trail). Each is recorded in the personal-data requests' trail
(channel "cli"). docs/privacy.md."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from civility.web.comments import privacy

BY_HELP = "the moderator (user name) the withdrawal decisions are recorded under"


class Command(BaseCommand):
    help = (
        "A commenter's personal data: `export EMAIL` as JSON, `erase EMAIL [--withdraw --by "
        "MODERATOR]`, or `withdraw EMAIL --by MODERATOR`."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("export", help="print everything held about EMAIL as JSON").add_argument(
            "email"
        )
        erase = sub.add_parser("erase", help="erase EMAIL's personal data (texts stay)")
        erase.add_argument("email")
        erase.add_argument(
            "--withdraw",
            action="store_true",
            help="also withdraw the comments (rejected with reason author_request; needs --by)",
        )
        erase.add_argument(
            "--by", default="", help=BY_HELP + " (and who the requests' trail names)"
        )
        withdraw = sub.add_parser(
            "withdraw", help="withdraw EMAIL's comments: rejected with reason author_request"
        )
        withdraw.add_argument("email")
        withdraw.add_argument("--by", required=True, help=BY_HELP)

    def handle(self, *args, **options):
        email = options["email"].strip()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"not an e-mail address: {email!r}") from None
        action = options["action"]
        if action == "export":
            data = privacy.export(email)
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        withdrawing = action == "withdraw" or options.get("withdraw")
        # The user recorded in the trail (and, withdrawing, under the decisions).
        by = self._moderator(options.get("by") or "") if withdrawing or options.get("by") else None
        try:
            if action == "withdraw":
                counts = privacy.withdraw(email, by)
            else:
                counts = privacy.erase(email, actor=by, withdraw=bool(withdrawing))
        except privacy.PrivacyError as exc:
            raise CommandError(exc.message) from None
        if action == "erase":
            self.stdout.write(
                f"Erased: {counts['commenters']} commenter(s), {counts['comments']} comment(s) "
                "no longer hold the address, IP hashes or name; texts unchanged."
            )
        if withdrawing:
            self.stdout.write(
                f"Withdrawn: {counts['withdrawn']} comment(s) rejected with reason "
                f"author_request by {by.get_username()}; texts unchanged."
            )

    def _moderator(self, name: str):
        if not name.strip():
            raise CommandError("--withdraw needs --by MODERATOR: the decisions name who made them")
        user = get_user_model().objects.filter(username=name.strip(), is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {name.strip()!r}")
        return user
