"""`civility apikey add NAME [--qps N]`, `apikey list`, `apikey revoke NAME`."""

from django.core.management.base import BaseCommand, CommandError

from civility.web.perspective.models import DEFAULT_QPS, ApiKey


class Command(BaseCommand):
    help = "Manage API keys for the Perspective-compatible endpoints."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a key; it is printed once, as the last word")
        add.add_argument("name")
        add.add_argument("--qps", type=int, default=DEFAULT_QPS, help="requests per second")
        sub.add_parser("list", help="list keys (names and hints, never the keys)")
        revoke = sub.add_parser("revoke", help="stop accepting a key")
        revoke.add_argument("name")

    def handle(self, *args, action, **options):
        if action == "add":
            return self._add(options["name"], options["qps"])
        if action == "revoke":
            updated = ApiKey.objects.filter(name=options["name"]).update(revoked=True)
            if not updated:
                raise CommandError(f"no key named {options['name']!r}")
            self.stdout.write(f"revoked {options['name']}")
            return None
        for key in ApiKey.objects.order_by("name"):
            state = "revoked" if key.revoked else f"{key.qps} qps"
            self.stdout.write(f"{key.name}\t{key.hint}…\t{state}")
        return None

    def _add(self, name: str, qps: int):
        if qps < 1:
            raise CommandError("--qps must be at least 1")
        if ApiKey.objects.filter(name=name).exists():
            raise CommandError(f"a key named {name!r} exists; revoke it or choose another name")
        _, raw = ApiKey.create(name, qps=qps)
        self.stdout.write(f"Created key {name!r} ({qps} requests/s). Store it now; it is not kept:")
        self.stdout.write(raw)
