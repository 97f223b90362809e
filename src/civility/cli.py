"""`civility …`: the engine's commands (score, assess, train, evaluate) and, for everything
else, Django's manage.py (migrate, createsuperuser, serve, demo, moderator, apikey, …)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

# `assess`, not `check`: `civility check [--deploy]` is Django's system check.
ENGINE_COMMANDS = {"score", "assess", "train", "evaluate"}


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
    if argv and argv[0] == "demo":
        # The demo serves plain HTTP on 127.0.0.1: production mode (HTTPS only) stays off.
        os.environ.setdefault("CIVILITY_PRODUCTION", "0")
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

    assess = sub.add_parser("assess", help="print a readable verdict for one comment")
    assess.add_argument("text")
    assess.add_argument(
        "--article", help="file with the article: title on the first line, body after"
    )
    assess.add_argument("--lang")
    assess.add_argument("--policy")
    assess.add_argument("--json", action="store_true", help="print the JSON contract instead")

    sub.add_parser(
        "train",
        help="train the fast tier (default) or, with --tier encoder, the accurate tier",
        add_help=False,
    )
    sub.add_parser("evaluate", help="evaluate on the dev splits", add_help=False)

    if argv[0] in {"train", "evaluate"}:
        # These own their flags; hand them the rest of the command line untouched.
        if argv[0] == "train":
            rest = argv[1:]
            tier = _take_tier(rest)
            if tier not in {"fast", "encoder"}:
                print(f"civility train: unknown --tier {tier!r} (fast or encoder)", file=sys.stderr)
                return 2
            if tier == "encoder":
                from .engine.training.encoder_tier import main as encoder_main

                return encoder_main(rest)
            from .engine.training.train import main as train_main

            return train_main(rest)
        from .engine.training.evaluate import main as evaluate_main

        return evaluate_main(argv[1:])

    args = parser.parse_args(argv)
    if args.command == "score":
        return score_file(args)
    return _check(args)


def _take_tier(rest: list[str]) -> str:
    """Remove `--tier NAME` / `--tier=NAME` from the arguments; the tier named (default fast)."""
    for i, arg in enumerate(rest):
        if arg == "--tier" and i + 1 < len(rest):
            tier = rest[i + 1]
            del rest[i : i + 2]
            return tier
        if arg.startswith("--tier="):
            del rest[i]
            return arg.split("=", 1)[1]
    return "fast"


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
        moderator = active_version(Moderator.default(args.policy))
        result = moderator.assess(args.text, article=article, lang=args.lang)
    except (InputError, PolicyError) as exc:
        print(f"civility: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print(format_verdict(args.text, result))
    return 0


def active_version(moderator):
    """The engine with the model version active in the data directory (CIVILITY_DATA_DIR,
    default ./var) on top, as the service uses it; the shipped model if none is active."""
    from .engine.learning import ModelStore, StoreError

    try:
        active, _ = ModelStore().engines(moderator)
    except StoreError as exc:
        print(f"civility: model store unreadable, using the shipped model: {exc}", file=sys.stderr)
        return moderator
    return active


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


# -- civility score ---------------------------------------------------------------------------


def score_file(args) -> int:
    """`civility score`: JSONL in, JSONL out, one output line per input line, in order. A line
    that cannot be assessed yields `{"id": …, "error": "…"}` and the run goes on."""
    from .engine import Moderator
    from .engine.policy import PolicyError

    try:
        moderator = active_version(Moderator.default(args.policy))
    except PolicyError as exc:
        print(f"civility: {exc}", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        try:
            source = (
                sys.stdin
                if args.input == "-"
                else stack.enter_context(open(args.input, encoding="utf-8", errors="replace"))
            )  # noqa: SIM115
            sink = (
                sys.stdout
                if args.output == "-"
                else stack.enter_context(open(args.output, "w", encoding="utf-8"))
            )  # noqa: SIM115
        except OSError as exc:
            print(f"civility: cannot open {exc.filename}: {exc.strerror}", file=sys.stderr)
            return 2
        progress = None
        if args.input != "-" and not args.no_progress:
            from tqdm import tqdm

            progress = stack.enter_context(tqdm(unit=" comments", file=sys.stderr, desc="scoring"))
        errors = 0
        line_no = 1
        for records in _batches(source, max(1, args.batch_size)):
            for line in score_records(moderator, records, first_line=line_no):
                errors += "error" in line
                sink.write(_jsonl(line))
            line_no += len(records)
            if progress is not None:
                progress.update(len(records))
        sink.flush()
    if errors:
        print(
            f'civility: {errors} line(s) could not be scored; see their "error" fields',
            file=sys.stderr,
        )
    return 0


def _jsonl(line: dict) -> str:
    """One output line; readable UTF-8, or ASCII escapes where the input carried invalid
    Unicode (a lone surrogate in an id) that cannot be written as UTF-8."""
    text = json.dumps(line, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(line)
    return text + "\n"


def _batches(source: IO[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for raw in source:
        if not raw.strip():
            continue  # blank lines carry no comment
        batch.append(raw)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def parse_record(raw: str, line_no: int) -> tuple[object, tuple]:
    """(id, (text, article, lang)); raises InputError naming the problem."""
    from .engine import InputError

    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {line_no}: not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise InputError(f"line {line_no}: expected a JSON object")
    record_id = record.get("id")
    if "text" not in record:
        raise _Failed(record_id, "missing field 'text'")
    return record_id, (record.get("text"), record.get("article"), record.get("lang"))


class _Failed(ValueError):
    """A line that parsed but cannot be scored; carries the line's id for the error line."""

    def __init__(self, record_id, message):
        super().__init__(message)
        self.record_id = record_id


def score_records(moderator, raws: list[str], first_line: int = 1) -> list[dict]:
    """Score a batch of raw JSONL lines; errors become error lines in place."""
    from .engine import InputError

    out: list[dict | None] = [None] * len(raws)
    good: list[tuple[int, object, tuple]] = []
    for i, raw in enumerate(raws):
        try:
            record_id, item = parse_record(raw, first_line + i)
            moderator.validate(*item)  # validate early so one bad line cannot sink the batch
            good.append((i, record_id, item))
        except _Failed as exc:
            out[i] = {"id": exc.record_id, "error": str(exc)}
        except InputError as exc:
            out[i] = {"id": _id_of(raw), "error": str(exc)}
    if good:
        results = moderator.assess_many([item for _, _, item in good])
        for (i, record_id, _), result in zip(good, results, strict=True):
            out[i] = {"id": record_id, **result.to_dict()}
    return out  # type: ignore[return-value]


def _id_of(raw: str):
    try:
        record = json.loads(raw)
        return record.get("id") if isinstance(record, dict) else None
    except json.JSONDecodeError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
