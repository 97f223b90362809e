"""`civility learn`: a candidate model version from the newsroom's human decisions."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from civility.engine.learning import LearnSettings


class Command(BaseCommand):
    help = (
        "Learn a candidate model version from every human decision (imported history and "
        "moderators', never automatic ones), judge it against the active version on the most "
        "recent decisions, and store it under the data directory. See docs/learning.md."
    )

    def add_arguments(self, parser):
        defaults = LearnSettings()
        parser.add_argument(
            "--auto-promote",
            action="store_true",
            help="promote the candidate if it is worse in no language",
        )
        parser.add_argument(
            "--min-decisions",
            type=int,
            default=defaults.min_decisions,
            help="a language's decisions before it may be decided automatically "
            f"(default {defaults.min_decisions})",
        )
        parser.add_argument(
            "--holdout-share",
            type=float,
            default=defaults.holdout_share,
            help="share of the most recent decisions kept to judge the candidate "
            f"(default {defaults.holdout_share})",
        )
        parser.add_argument(
            "--max-approved-violations",
            type=float,
            default=defaults.max_approved_violations,
            help="largest share of a language's violations its bands may approve",
        )
        parser.add_argument(
            "--max-false-rejects",
            type=float,
            default=defaults.max_false_rejects,
            help="largest share of a language's acceptable comments its bands may reject",
        )
        parser.add_argument("--limit", type=int, help="learn from the most recent N decisions")
        parser.add_argument(
            "--shipped-data",
            metavar="DIR",
            help="the public data sets the shipped model came from (e.g. ../shared/data): a "
            "sample of their training rows is mixed in at a lower weight and their dev rows "
            "judge the candidate too",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        from civility.web.learning.services import run_learning

        if not 0.05 <= options["holdout_share"] <= 0.5:
            raise CommandError("--holdout-share must be between 0.05 and 0.5")
        for name in ("max_approved_violations", "max_false_rejects"):
            if not 0.0 <= options[name] <= 0.2:
                raise CommandError(f"--{name.replace('_', '-')} must be between 0 and 0.2")
        if options["min_decisions"] < 1:
            raise CommandError("--min-decisions must be positive")
        settings = LearnSettings(
            min_decisions=options["min_decisions"],
            holdout_share=options["holdout_share"],
            max_approved_violations=options["max_approved_violations"],
            max_false_rejects=options["max_false_rejects"],
        )
        try:
            if options["shipped_data"] and not Path(options["shipped_data"]).is_dir():
                raise ValueError(f"--shipped-data: {options['shipped_data']} is not a directory")
            outcome = run_learning(
                settings,
                options["auto_promote"],
                options["limit"],
                shipped_data_dir=options["shipped_data"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        report = outcome.report
        if options["json"]:
            payload = {**report.to_dict(), "promoted": outcome.promoted, "why": outcome.reason}
            self.stdout.write(json.dumps(payload, indent=2, default=str))
            return
        self.stdout.write(format_report(report))
        verdict = "promoted" if outcome.promoted else "not promoted"
        self.stdout.write(f"{report.version}: {verdict} ({outcome.reason})")


def format_report(report) -> str:
    lines = [
        f"candidate {report.version}: {report.examples} human decisions "
        f"({report.train} to fit, the {report.holdout} most recent to judge), {report.seconds} s",
        f"heads refitted: {', '.join(report.heads) or 'none'}",
        f"languages adapted: {', '.join(report.adapted) or 'none'}; "
        f"decided automatically: {', '.join(report.opened) or 'none'}",
        "",
        f"{'language':<9}{'decisions':>10}  {'model':<10}{'automation':>11}{'appr.viol.':>11}"
        f"{'false rej.':>11}{'AUC':>7}",
    ]

    def pct(value):
        return "n/a" if value is None else f"{100 * value:.1f}%"

    def table(candidates: dict, actives: dict, counts: dict) -> None:
        for language, candidate in sorted(candidates.items()):
            for name, figs in (("active", actives[language]), ("candidate", candidate)):
                lines.append(
                    f"{language:<9}{counts.get(language, figs.comments):>10}  {name:<10}"
                    f"{pct(figs.automation):>11}{pct(figs.approved_violations):>11}"
                    f"{pct(figs.false_rejects):>11}"
                    f"{'n/a' if figs.auc is None else format(figs.auc, '.3f'):>7}"
                )

    table(report.candidate, report.active, report.languages)
    if report.dev_candidate:
        lines.append("on the shipped dev sets (comments):")
        table(report.dev_candidate, report.dev_active, {})
    lines.append(f"worse than the active version in: {', '.join(report.worse) or 'no language'}")
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines) + "\n"
