"""`civility model list | shadow [VERSION|--stop] | promote [VERSION] | rollback`.

A version is checked in full before it is promoted, shadowed or rolled back to: its files, a
trial run, and whether the site's engine can run it (the engine is loaded for that). A store
whose files are broken gives a one-line error, never a traceback."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from civility.engine.learning import StoreError


class Command(BaseCommand):
    help = "List, shadow, promote or roll back the model versions learnt from decisions."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="every version, which is active and in shadow")
        listing.add_argument("--json", action="store_true")
        shadow = sub.add_parser(
            "shadow", help="score new comments with VERSION too, without deciding by it"
        )
        shadow.add_argument("version", nargs="?", help="default: the newest candidate")
        shadow.add_argument("--stop", action="store_true", help="stop shadowing")
        promote = sub.add_parser("promote", help="make VERSION active in every process")
        promote.add_argument(
            "version", nargs="?", help="default: the newest candidate; 'shipped' for none"
        )
        sub.add_parser("rollback", help="return to the previously active version")

    def handle(self, *args, **options):
        from civility.web.learning.services import model_store

        store = model_store()
        store.check = _runs_on_the_site_engine
        try:
            action = options["action"]
            if action == "list":
                self._list(store, options["json"])
            elif action == "shadow":
                if options["stop"]:
                    store.set_shadow(None)
                    self.stdout.write("shadow stopped")
                    return
                version = options["version"] or _newest_candidate(store)
                store.set_shadow(version)
                self.stdout.write(f"{version} now scores new comments in shadow")
            elif action == "promote":
                version = store.promote(options["version"])
                self.stdout.write(f"{version} is now active")
            elif action == "rollback":
                version = store.rollback()
                self.stdout.write(f"rolled back: {version} is now active")
        except StoreError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if store.problem:
                self.stderr.write(f"warning: {store.problem}")

    def _list(self, store, as_json: bool) -> None:
        versions = store.versions()
        state = store.state()
        if as_json:
            self.stdout.write(json.dumps({"state": state, "versions": versions}, indent=2))
            return
        active = state["active"] or "shipped"
        self.stdout.write(f"active: {active}; shadow: {state['shadow'] or 'none'}")
        if not versions:
            self.stdout.write("no learnt versions yet (civility learn)")
        for v in versions:
            report = v.get("report") or {}
            if v["problem"]:
                self.stdout.write(f"{v['status']:<10} {v['version']}  broken: {v['problem']}")
                continue
            worse = report.get("worse")
            self.stdout.write(
                f"{v['status']:<10} {v['version']}  created {v['created']}  "
                f"{report.get('examples', '?')} decisions  adapted {','.join(v['adapted']) or '-'}"
                f"  opened {','.join(v['opened']) or '-'}  worse in "
                f"{','.join(map(str, worse)) if isinstance(worse, list) and worse else 'none'}"
            )


def _runs_on_the_site_engine(adapter) -> None:
    """AdapterUnavailable unless the site's shipped engine can run `adapter` (a test's
    scripted engine has no learnt versions and checks nothing)."""
    from civility.web.engine import base_moderator

    base = base_moderator()
    if hasattr(base, "with_adapter"):
        base.with_adapter(adapter)


def _newest_candidate(store) -> str:
    candidates = [v for v in store.versions() if v["status"] == "candidate"]
    if not candidates:
        raise StoreError("no candidate version; run `civility learn`")
    return candidates[-1]["version"]
