"""Read the public data sets in ../shared/data into one labelled table.

Each row says, per guideline category, 1 (violates), 0 (does not) or UNKNOWN (the set says
nothing about it). `overall` is "breaks at least one guideline". Which set feeds the shipped
model is decided here (`TRAINABLE`), from each set's SOURCE.md; the rest are evaluation-only.
The mapping from each set's labels to our categories is documented in docs/model-card.md.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..assessment import ABUSE_KINDS, CATEGORIES

UNKNOWN = -1
TARGETS: tuple[str, ...] = (*CATEGORIES, "overall")

# Sets that may feed the shipped model. UCC is CC BY-NC-SA (non-commercial): evaluation only.
# bias_madlibs is synthetic and meant for bias checks; the Jigsaw sample is a smoke-test fixture.
TRAINABLE = frozenset(
    {
        "olid",
        "davidson",
        "hatexplain",
        "hateval",
        "toxic_spans",
        "toxic_spans_typed",
        "c3",
        "youtube_spam",
        "osact",
        "lhsab",
        "offenseval_tr",
        "pars_off",
    }
)

csv.field_size_limit(sys.maxsize)


@dataclass
class Row:
    text: str
    language: str
    source: str
    split: str  # "train" or "dev"
    labels: dict[str, int] = field(default_factory=dict)  # every key of TARGETS
    kinds: dict[str, int] = field(default_factory=dict)  # abuse kinds, only where inferable
    extra: dict = field(default_factory=dict)  # set-specific fields kept for evaluation


def hash_split(text: str, dev_share: int = 10, salt: str = "") -> str:
    """Deterministic split on the text itself, so duplicates across sets land together.
    A different `salt` gives an independent split (e.g. halves of the dev split)."""
    key = (salt + text.strip().casefold()).encode("utf-8")
    digest = hashlib.sha1(key, usedforsecurity=False).digest()
    return "dev" if digest[0] % dev_share == 0 else "train"


def _labels(default: int = UNKNOWN, **known: int) -> dict[str, int]:
    labels = dict.fromkeys(TARGETS, default)
    labels.update(known)
    return labels


def _clean(labels: dict[str, int]) -> dict[str, int]:
    """A row judged free of violations: every category 0 (vulgarity and promotion included)."""
    return _labels(0)


# Keyword cues for the target of abuse in sets that do not name it. Only used on rows already
# labelled as abuse, to train weak per-kind heads; the lexicon's kinds complement them.
KIND_CUES: dict[str, re.Pattern] = {
    "sexism": re.compile(
        r"\b(wom[ae]n|girls?|bitch\w*|whores?|sluts?|feminis\w*|females?|hoes?|cunts?)\b"
    ),
    "racism": re.compile(r"\b(black|blacks|nigg\w*|negro\w*|whites?|coons?|racis\w*|ape|apes)\b"),
    "homophobia": re.compile(
        r"\b(gays?|lesbians?|fags?|faggots?|queers?|trann\w*|homos?\w*|lgbt\w*)\b"
    ),
    "xenophobia": re.compile(
        r"\b(immigra\w*|refugees?|migrants?|illegals?|aliens?|foreigners?|buildthewall|deport\w*)\b"
    ),
    "religious": re.compile(
        r"\b(muslims?|islam\w*|jews?|jewish|christians?|shia|sunni|hindus?|moslems?)\b"
    ),
    "ethnic": re.compile(
        r"\b(arabs?|kurds?|kurdish|turks?|persians?|mexicans?|chinese|gypsy|gypsies)\b"
    ),
}


def infer_kinds(text: str) -> dict[str, int]:
    lowered = text.casefold()
    return {kind: int(bool(KIND_CUES[kind].search(lowered))) for kind in ABUSE_KINDS}


def _row(text, language, source, labels, split=None, **extra) -> Row:
    text = text.strip()
    kinds = infer_kinds(text) if labels.get("abuse") == 1 else {}
    return Row(text, language, source, split or hash_split(text), labels, kinds, extra)


# --- one reader per set ----------------------------------------------------------------------


def read_olid(root: Path) -> Iterator[Row]:
    with open(root / "olid/olid-training-v1.0.tsv", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            a, b, c = rec["subtask_a"], rec["subtask_b"], rec["subtask_c"]
            if a == "NOT":
                labels = _clean({})
            elif b == "UNT":
                # Untargeted swearing: profanity, and by definition no attack on anyone.
                labels = _labels(overall=1, profanity=1, personal_attack=0, abuse=0, threat=0)
            else:
                labels = _labels(
                    overall=1,
                    personal_attack=int(c == "IND"),
                    abuse=1 if c == "GRP" else UNKNOWN,
                )
            yield _row(rec["tweet"], "en", "olid", labels, subtask_a=a)


def read_davidson(root: Path) -> Iterator[Row]:
    with open(root / "davidson_hate_offensive/labeled_data.csv", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            cls = rec["class"]
            if cls == "2":
                labels = _clean({})
            elif cls == "1":
                labels = _labels(overall=1, profanity=1, abuse=0)
            else:
                labels = _labels(overall=1, abuse=1)
            yield _row(rec["tweet"], "en", "davidson", labels)


def read_hatexplain(root: Path) -> Iterator[Row]:
    folder = root / "hatexplain_derived"
    divisions = json.loads((folder / "post_id_divisions.json").read_text("utf-8"))
    split_of = {
        pid: ("dev" if name == "val" else "train")
        for name in ("train", "val")
        for pid in divisions[name]
    }
    with open(folder / "092-HateXplain.csv", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            post_id = rec[""] if "" in rec else rec.get("id", "")
            split = split_of.get(post_id)
            if split is None:
                continue
            category = rec["category"]
            if category == "0":
                labels = _clean({})
            elif category == "1":
                labels = _labels(overall=1, abuse=1)
            elif category == "2":
                labels = _labels(overall=1, abuse=0)
            else:
                continue  # no majority among annotators
            yield _row(rec["text"], "en", "hatexplain", labels, split=split)


def read_hateval(root: Path) -> Iterator[Row]:
    for split_name, split in (("train", "train"), ("dev", "dev")):
        path = root / f"hateval2019_en/hateval2019_en_{split_name}.csv"
        with open(path, encoding="utf-8", newline="") as f:
            for rec in csv.DictReader(f):
                hateful = rec["HS"] == "1"
                if hateful:
                    labels = _labels(
                        overall=1, abuse=1, personal_attack=1 if rec["TR"] == "1" else UNKNOWN
                    )
                else:
                    labels = _labels(abuse=0)  # may still be offensive in other ways
                yield _row(rec["text"], "en", "hateval", labels, split=split, hs=int(hateful))


def _offsets(raw: str) -> list[int]:
    return [int(x) for x in json.loads(raw)] if raw.strip() else []


def read_toxic_spans(root: Path) -> Iterator[Row]:
    """SemEval-2021 toxic spans: every comment was pre-selected as toxic; spans are kept."""
    for name in ("tsd_train", "tsd_trial"):
        with open(root / f"toxic_spans_civil/{name}.csv", encoding="utf-8", newline="") as f:
            for rec in csv.DictReader(f):
                # Offsets point into the raw text; _row strips it, so shift them with it.
                lead = len(rec["text"]) - len(rec["text"].lstrip())
                spans = [i - lead for i in _offsets(rec["spans"]) if i >= lead]
                labels = _labels(overall=1) if spans else _labels()
                yield _row(rec["text"], "en", "toxic_spans", labels, spans=spans, part=name)


TYPED_SPAN_CATEGORY = {
    "Insult": "personal_attack",
    "Threat": "threat",
    "Identity based Attack": "abuse",
    "Profane/Obscene": "profanity",
}


def read_toxic_spans_typed(root: Path) -> Iterator[Row]:
    """ACL 2022 typed spans: a category is 1 when at least half the annotators marked it."""
    folder = root / "toxic_spans_civil"
    with open(folder / "comments.csv", encoding="utf-8", newline="") as f:
        texts = {rec["comment_id"]: rec["comment_text"] for rec in csv.DictReader(f)}
    annotators: dict[str, int] = defaultdict(int)
    not_toxic: dict[str, int] = defaultdict(int)
    comment_of: dict[str, str] = {}
    with open(folder / "annotations.csv", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            cid = rec["comment_id"]
            comment_of[rec["annotation"]] = cid
            annotators[cid] += 1
            not_toxic[cid] += rec["not toxic"] == "True"
    marked: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    with open(folder / "spans.csv", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            category = TYPED_SPAN_CATEGORY.get(rec["type"])
            cid = comment_of.get(rec["annotation"])
            if category and cid:
                marked[cid][category].add(rec["annotation"])
    for cid, text in texts.items():
        n = annotators.get(cid, 0)
        if n == 0:
            continue
        if 2 * not_toxic[cid] > n:
            labels = _clean({})
        else:
            labels = _labels(overall=1)
            for category in TYPED_SPAN_CATEGORY.values():
                votes = len(marked[cid][category])
                labels[category] = (
                    1 if votes >= 2 or 2 * votes >= n else (0 if votes == 0 else UNKNOWN)
                )
        yield _row(text, "en", "toxic_spans_typed", labels)


def read_c3(root: Path) -> Iterator[Row]:
    with open(
        root / "c3_constructive_comments/C3_anonymized.csv", encoding="utf-8", newline=""
    ) as f:
        for rec in csv.DictReader(f):
            try:
                toxicity = float(rec["crowd_toxicity_level"])
                judges = float(rec["njudgements_toxicity_expt"] or 0)
            except ValueError:
                continue
            votes = dict(
                (name, int(n))
                for name, _, n in (
                    item.partition(":") for item in rec["toxicity_characteristics"].split()
                )
                if n.isdigit()
            )
            attack = judges > 0 and 2 * votes.get("personal_attack", 0) >= judges
            if toxicity <= 1.0:
                labels = _clean({})
            elif attack:
                labels = _labels(overall=1, personal_attack=1)
            elif toxicity < 1.5:
                labels = _labels(personal_attack=0, threat=0, promotion=0)
            else:
                labels = _labels()
            constructive = rec["constructive_binary"] == "1.0"
            yield _row(rec["comment_text"], "en", "c3", labels, constructive=constructive)


def read_youtube_spam(root: Path) -> Iterator[Row]:
    for path in sorted((root / "youtube_spam").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            for rec in csv.DictReader(f):
                if rec["CLASS"] == "1":
                    labels = _labels(overall=1, promotion=1)
                else:
                    labels = _clean({})
                yield _row(rec["CONTENT"], "en", "youtube_spam", labels)


def read_osact(root: Path) -> Iterator[Row]:
    with open(root / "osact2020_ar/OSACT2020-sharedTask-train.txt", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            text, off, hs = parts
            text = text.replace("<LF>", "\n")
            if off == "NOT_OFF":
                labels = _clean({})
            else:
                labels = _labels(overall=1, abuse=1 if hs == "HS" else UNKNOWN)
            yield _row(text, "ar", "osact", labels)


def read_lhsab(root: Path) -> Iterator[Row]:
    with open(root / "lhsab_ar/L-HSAB", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            cls = (rec.get("Class") or "").strip()
            if cls == "normal":
                labels = _clean({})
            elif cls == "abusive":
                labels = _labels(overall=1, abuse=0)
            elif cls == "hate":
                labels = _labels(overall=1, abuse=1)
            else:
                continue
            yield _row(rec["Tweet"], "ar", "lhsab", labels)


def read_offenseval_tr(root: Path) -> Iterator[Row]:
    with open(root / "offenseval2020_tr/offenseval-tr-training-v1.tsv", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[2] not in {"OFF", "NOT"}:
                continue
            labels = _labels(overall=1) if parts[2] == "OFF" else _clean({})
            yield _row(parts[1], "tr", "offenseval_tr", labels, subtask_a=parts[2])


def read_pars_off(root: Path) -> Iterator[Row]:
    folder = root / "pars_off_fa"

    def table(level: str) -> dict[str, str]:
        with open(
            folder / f"Pars-OFF_level{level}_train.csv", encoding="utf-8-sig", newline=""
        ) as f:
            return {rec["tweet"].strip(): rec["label"].strip() for rec in csv.DictReader(f)}

    level_b, level_c = table("b"), table("c")
    for text, a in table("a").items():
        if a == "NOT":
            labels = _clean({})
        else:
            b, c = level_b.get(text), level_c.get(text)
            labels = _labels(overall=1)
            if b == "UNT":
                labels.update(profanity=1, personal_attack=0, abuse=0, threat=0)
            elif c == "IND":
                labels.update(personal_attack=1)
            elif c == "GRP":
                labels.update(abuse=1)
        yield _row(text, "fa", "pars_off", labels)


# --- evaluation-only sets ---------------------------------------------------------------------


def read_bias_madlibs(root: Path) -> Iterator[Row]:
    with open(root / "bias_madlibs/bias_madlibs_77k.csv", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            bad = rec["Label"] == "BAD"
            yield Row(
                rec["Text"],
                "en",
                "bias_madlibs",
                "dev",
                _labels(overall=int(bad)),
                {},
                {"bad": bad},
            )


def read_ucc(root: Path) -> Iterator[Row]:
    """UCC (CC BY-NC-SA): evaluation only, never in the shipped model."""
    with open(root / "ucc_unhealthy_conversations/val.csv", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            hostile = rec["hostile"] == "1" or rec["antagonize"] == "1"
            labels = _labels(personal_attack=int(hostile))
            yield Row(
                rec["comment"], "en", "ucc", "dev", labels, {}, {"healthy": rec["healthy"] == "1"}
            )


READERS = {
    "olid": read_olid,
    "davidson": read_davidson,
    "hatexplain": read_hatexplain,
    "hateval": read_hateval,
    "toxic_spans": read_toxic_spans,
    "toxic_spans_typed": read_toxic_spans_typed,
    "c3": read_c3,
    "youtube_spam": read_youtube_spam,
    "osact": read_osact,
    "lhsab": read_lhsab,
    "offenseval_tr": read_offenseval_tr,
    "pars_off": read_pars_off,
    "bias_madlibs": read_bias_madlibs,
    "ucc": read_ucc,
}


def load(root: str | Path, sources: set[str] | frozenset[str] | None = None) -> list[Row]:
    """All rows of the named sets (default: every trainable set), texts non-empty."""
    root = Path(root)
    wanted = TRAINABLE if sources is None else sources
    rows: list[Row] = []
    for name in READERS:
        if name in wanted:
            rows.extend(row for row in READERS[name](root) if row.text)
    return rows
