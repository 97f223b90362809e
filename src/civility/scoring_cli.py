"""`civility score`: JSONL in, JSONL out, one output line per input line, in order.

A line that cannot be assessed yields `{"id": …, "error": "…"}` and the run goes on."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO

from .engine import InputError, Moderator
from .engine.policy import PolicyError


def score_file(args) -> int:
    try:
        moderator = Moderator.default(args.policy)
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


class _Failed(InputError):
    def __init__(self, record_id, message):
        super().__init__(message)
        self.record_id = record_id


def score_records(moderator: Moderator, raws: list[str], first_line: int = 1) -> list[dict]:
    """Score a batch of raw JSONL lines; errors become error lines in place."""
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
