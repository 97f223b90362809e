"""Our threat and intimidation set (training/threats): well formed, the sizes the issue asks for,
and a held-out part that training never sees."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from civility.engine.training import threat_set

FOLDER = threat_set.default_folder()
MINIMUM = {"en": 300, "ar": 300, "fa": 300, "tr": 300, "ckb": 150, "kmr": 150}


@pytest.fixture(scope="module")
def records():
    assert FOLDER is not None, "training/threats is missing from the checkout"
    return threat_set.read_records(FOLDER)


def test_every_language_has_its_threats_and_as_many_hard_negatives(records):
    counts = Counter((r["lang"], r["label"]) for r in records)
    for lang, minimum in MINIMUM.items():
        assert counts[lang, "threat"] >= minimum, lang
        assert counts[lang, "not_threat"] == counts[lang, "threat"], lang


def test_each_language_has_a_held_out_part_for_both_labels(records):
    for lang in MINIMUM:
        for label in threat_set.LABELS:
            mine = [r for r in records if r["lang"] == lang and r["label"] == label]
            held = sum(r["split"] == "heldout" for r in mine)
            assert 0.2 <= held / len(mine) <= 0.3, (lang, label)


def test_every_kind_is_written_in_every_language(records):
    for lang in MINIMUM:
        kinds = Counter(r["kind"] for r in records if r["lang"] == lang)
        for kind in (*threat_set.THREAT_KINDS, *threat_set.NEGATIVE_KINDS):
            assert kinds[kind] >= 10, (lang, kind)


def test_ids_and_texts_are_unique(records):
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    folded = [re.sub(r"\s+", " ", r["text"]).strip().casefold() for r in records]
    assert len(folded) == len(set(folded))


def test_threats_say_threat_and_hard_negatives_are_clean():
    rows = threat_set.load(FOLDER)
    for row in rows:
        if row.extra["kind"] in threat_set.THREAT_KINDS:
            assert row.labels["threat"] == row.labels["overall"] == 1
        else:
            assert set(row.labels.values()) == {0}


def test_held_out_rows_never_reach_training_or_the_dev_split():
    rows = threat_set.load(FOLDER)
    held = {r.text for r in rows if r.split == "heldout"}
    assert held
    assert all(r.split == "heldout" for r in rows if r.text in held)
    trainable = {r.text for r in rows if r.split in ("train", "dev")}
    assert not held & trainable


def test_a_bad_line_names_its_file_and_line(tmp_path):
    good = {
        "id": "thr-en-0001",
        "lang": "en",
        "text": "We know which school your son goes to.",
        "label": "threat",
        "kind": "veiled",
        "target": "journalist",
        "split": "train",
    }
    (tmp_path / "en.jsonl").write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "kind": "sport"}) + "\n", "utf-8"
    )
    with pytest.raises(ValueError, match=r"en.jsonl:2: kind 'sport' for a threat row"):
        threat_set.read_records(tmp_path)
    (tmp_path / "en.jsonl").write_text("{not json\n", "utf-8")
    with pytest.raises(ValueError, match=r"en.jsonl:1: not JSON"):
        threat_set.read_records(tmp_path)
