"""Our own threat and intimidation set (training/threats/, see its SOURCE.md) as training rows.

Each file `training/threats/<lang>.jsonl` holds threats (explicit and veiled) and hard negatives
(news and debate about violence, quoted or condemned threats, history, figures of speech, sport).
Rows marked "heldout" are never trained on nor used to fit the cascade: they are read only by
`bench/threats.py`. Of the rest, the usual hash split sends a tenth to "dev", where the cascade's
stackers and bands are fitted.
"""

from __future__ import annotations

import json
from pathlib import Path

from .datasets import TARGETS, UNKNOWN, Row, hash_split

SOURCE = "threat_set"
LABELS = ("threat", "not_threat")
THREAT_KINDS = (
    "explicit",
    "veiled",
    "incitement",
    "doxxing",
    "press_intimidation",
    "retribution",
    "past_violence_allusion",
)
NEGATIVE_KINDS = (
    "news_violence",
    "debate_violence",
    "quote_condemn",
    "history",
    "figure_of_speech",
    "sport",
)
TARGET_KINDS = ("journalist", "outlet", "politician", "commenter", "group", "none")
FIELDS = ("id", "lang", "text", "label", "kind", "target", "split")


def default_folder() -> Path | None:
    """training/threats in a source checkout (the set is not part of the installed package)."""
    folder = Path(__file__).resolve().parents[4] / "training" / "threats"
    return folder if folder.is_dir() else None


def read_records(folder: Path) -> list[dict]:
    """Every record of every language file, checked; a bad line raises with its place."""
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: not JSON ({error})") from error
            problems = check_record(record)
            if problems:
                raise ValueError(f"{where}: {'; '.join(problems)}")
            records.append(record)
    return records


def check_record(record: dict) -> list[str]:
    problems = [f"missing {name}" for name in FIELDS if name not in record]
    if problems:
        return problems
    if record["label"] not in LABELS:
        problems.append(f"label {record['label']!r}")
    kinds = THREAT_KINDS if record["label"] == "threat" else NEGATIVE_KINDS
    if record["kind"] not in kinds:
        problems.append(f"kind {record['kind']!r} for a {record['label']} row")
    if record["target"] not in TARGET_KINDS:
        problems.append(f"target {record['target']!r}")
    if record["split"] not in ("train", "heldout"):
        problems.append(f"split {record['split']!r}")
    if not isinstance(record["text"], str) or not record["text"].strip():
        problems.append("empty text")
    return problems


def to_row(record: dict) -> Row:
    text = record["text"].strip()
    if record["label"] == "threat":
        # Written free of swearing; whether a threat is also a personal attack or abuse of a
        # group is left unsaid.
        labels = dict.fromkeys(TARGETS, UNKNOWN) | {
            "threat": 1,
            "overall": 1,
            "profanity": 0,
            "vulgarity": 0,
            "promotion": 0,
        }
    else:
        labels = dict.fromkeys(TARGETS, 0)
    split = "heldout" if record["split"] == "heldout" else hash_split(text)
    extra = {k: record[k] for k in ("id", "kind", "target")}
    return Row(text, record["lang"], SOURCE, split, labels, {}, extra)


def load(folder: Path | None = None) -> list[Row]:
    folder = folder or default_folder()
    if folder is None:
        return []
    return [to_row(record) for record in read_records(folder)]
