"""`civility …`: the engine's commands (score, check, train, evaluate) and, for everything
else, Django's manage.py (migrate, createsuperuser, serve, demo, moderator, apikey, …)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ENGINE_COMMANDS = {"score", "check", "train", "evaluate"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ENGINE_COMMANDS:
            return _engine_main(argv)
        return _django_main(argv)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); that is not our error.
        sys.stderr.close()
        return 0


def _django_main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civility.web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["civility", *argv])
    return 0


def _engine_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="civility", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    score = sub.add_parser("score", help="score a JSONL file of comments")
    score.add_argument("input", help="JSONL input, one comment per line ('-' for stdin)")
    score.add_argument("--output", "-o", default="-", help="JSONL output ('-' for stdout)")
    score.add_argument("--policy", help="newsroom policy TOML overriding the shipped bands")
    score.add_argument("--batch-size", type=int, default=512)
    score.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    check = sub.add_parser("check", help="print a readable verdict for one comment")
    check.add_argument("text")
    check.add_argument(
        "--article", help="file with the article: title on the first line, body after"
    )
    check.add_argument("--lang")
    check.add_argument("--policy")
    check.add_argument("--json", action="store_true", help="print the JSON contract instead")

    sub.add_parser("train", help="train the shipped models from ../shared/data", add_help=False)
    sub.add_parser("evaluate", help="evaluate on the dev splits", add_help=False)

    if argv[0] in {"train", "evaluate"}:
        # These own their flags; hand them the rest of the command line untouched.
        if argv[0] == "train":
            from .engine.train import main as train_main

            return train_main(argv[1:])
        from .engine.evaluate import main as evaluate_main

        return evaluate_main(argv[1:])

    args = parser.parse_args(argv)
    if args.command == "score":
        from .scoring_cli import score_file

        return score_file(args)
    return _check(args)


def _check(args) -> int:
    from .engine import InputError, Moderator
    from .engine.policy import PolicyError

    article = None
    if args.article:
        try:
            title, _, body = Path(args.article).read_text("utf-8").partition("\n")
        except OSError as exc:
            print(
                f"civility: cannot read article file {args.article}: {exc.strerror}",
                file=sys.stderr,
            )
            return 2
        article = {"title": title.strip(), "body": body.strip()}
    try:
        moderator = Moderator.default(args.policy)
        result = moderator.assess(args.text, article=article, lang=args.lang)
    except (InputError, PolicyError) as exc:
        print(f"civility: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print(format_verdict(args.text, result))
    return 0


def format_verdict(text: str, result) -> str:
    lines = [
        f"{result.decision.upper()}  (violation probability {result.score:.2f}, language {result.language})"
    ]
    for reason in result.reasons:
        lines.append(f"  reason: {reason}")
    lines.append("  scores: " + ", ".join(f"{k} {v:.2f}" for k, v in result.categories.items()))
    kinds = {k: v for k, v in result.abuse_kinds.items() if v >= 0.1}
    if kinds:
        lines.append("  abuse kinds: " + ", ".join(f"{k} {v:.2f}" for k, v in kinds.items()))
    if result.relevance is not None:
        lines.append(f"  relevance to the article: {result.relevance:.2f}")
    for span in result.spans:
        lines.append(
            f"  {span.category:>15}: {text[span.start : span.end]!r} at {span.start}-{span.end}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
