"""`civility import` on hostile files: memory stays bounded whatever a Disqus export nests or
holds, and an overlong JSON Lines line is reported by its number and skipped.

Before the readers were bounded, 50 MB of nested elements in a Disqus export took 2.7 GB:
each child of the root element was built whole before it was read. The generated files here
are read in a child process whose address space is capped at 1 GB, and whose peak resident
memory is reported back and checked."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from civility import imports
from civility.web.comments.models import REASON_CODES

pytestmark = pytest.mark.slow

HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n'
    b'<thread dsq:id="1"><id>harbour-strike</id><title>Strike</title></thread>\n'
)


def post(n: int, message: bytes = b"Fair wages.", extra: bytes = b"") -> bytes:
    return (
        b'<post dsq:id="%d"><message>%s</message><createdAt>2018-06-01T08:00:00Z</createdAt>'
        b'<author><name>Reader %d</name></author><thread dsq:id="1"/>%s</post>\n'
        % (n, message, n, extra)
    )


READ_IN_A_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from civility import imports
items = []
with open(sys.argv[1], "rb") as stream:
    for item in imports.read(sys.argv[2], stream, reason_codes={"other", "promotion"}):
        if isinstance(item, imports.Row):
            items.append(["row", item.line, item.author])
        else:
            items.append(["skipped", item.line, item.reason])
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({"items": items, "peak_mb": int(peak) / 1024}))
"""


def read_in_a_child(path: Path, fmt: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_A_CHILD, str(path), fmt],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_a_50_mb_disqus_export_of_nesting_and_bloat_is_read_in_bounded_memory(tmp_path):
    """Between good posts: a post with 400,000 nested-but-shallow elements, one whose message
    is 20 MB of text, then 25 MB of elements nested inside each other. The two bloated posts
    are bad rows; the posts around them are read; the nesting ends the read, naming its line;
    and the reader never holds much more than one post."""
    path = tmp_path / "hostile.xml"
    with path.open("wb") as out:
        out.write(HEAD)
        out.write(post(1))
        out.write(post(2, extra=b"<b><i>x</i></b>" * 400_000))  # line 5: wide
        out.write(post(3, message=b"a" * (20 << 20)))  # line 6: a 20 MB message
        out.write(post(4))
        out.write(b"<post>" + b"<x>" * ((25 << 20) // 3))  # line 8: nesting, never closed
    assert path.stat().st_size > 50 << 20

    result = read_in_a_child(path, "disqus")
    assert result["items"] == [
        ["row", 4, "Reader 1"],
        ["skipped", 5, "the <post> holds more than 500 elements; skipped"],
        ["skipped", 6, "the <post> holds more than 1,000,000 characters of text; skipped"],
        ["row", 7, "Reader 4"],
        ["skipped", 8, "the XML nests more than 32 elements deep; nothing after it was read"],
    ]
    assert result["peak_mb"] < 150, result["peak_mb"]


def test_one_huge_tag_ends_the_read_without_holding_its_attributes(tmp_path):
    """A start tag carrying 30 MB of attributes: expat would hold it whole and then give every
    attribute to Python at once."""
    path = tmp_path / "attributes.xml"
    with path.open("wb") as out:
        out.write(HEAD)
        out.write(post(1))
        out.write(b"<post " + b"".join(b'a%d="1" ' % i for i in range(3_000_000)) + b"/>")
        out.write(b"\n</disqus>\n")
    result = read_in_a_child(path, "disqus")
    assert result["items"][0] == ["row", 4, "Reader 1"]
    assert result["items"][1][0] == "skipped"
    assert result["items"][1][2] == (
        "a tag, comment or declaration is longer than 4,194,304 bytes; nothing after it was read"
    )
    assert len(result["items"]) == 2
    assert result["peak_mb"] < 150, result["peak_mb"]


def jsonl_row(author: str) -> bytes:
    row = {
        "article": {"slug": "talks", "title": "Talks"},
        "author": author,
        "text": "A fair point.",
        "created_at": "2023-01-01T10:00:00+00:00",
        "decision": "approve",
    }
    return json.dumps(row).encode() + b"\n"


def test_an_overlong_jsonl_line_is_named_and_skipped_in_bounded_memory(tmp_path):
    path = tmp_path / "history.jsonl"
    with path.open("wb") as out:
        out.write(jsonl_row("Ann"))
        out.write(b'{"text": "' + b"x" * (40 << 20) + b'"}\n')  # line 2: 40 MB
        out.write(jsonl_row("Bob"))
        out.write(b"y" * (10 << 20))  # line 4: 10 MB and no newline at the end of the file
    result = read_in_a_child(path, "jsonl")
    assert result["items"] == [
        ["row", 1, "Ann"],
        ["skipped", 2, "the line is longer than 4,194,304 bytes; skipped"],
        ["row", 3, "Bob"],
        ["skipped", 4, "the line is longer than 4,194,304 bytes; skipped"],
    ]
    assert result["peak_mb"] < 150, result["peak_mb"]


def test_a_line_of_exactly_the_limit_is_still_read():
    row = jsonl_row("Ann")
    padded = row[:-2] + b" " * (imports.MAX_LINE_BYTES - len(row)) + b"}\n"
    assert len(padded) == imports.MAX_LINE_BYTES
    items = list(imports.read("jsonl", io.BytesIO(padded + row), reason_codes=REASON_CODES))
    assert [(type(i).__name__, i.line) for i in items] == [("Row", 1), ("Row", 2)]


@pytest.mark.django_db
def test_the_command_reports_the_overlong_line_by_number(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "history.jsonl"
    path.write_bytes(jsonl_row("Ann") + b"[" * (5 << 20) + b"\n" + jsonl_row("Bob"))
    out, err = StringIO(), StringIO()
    call_command("import", str(path), "--quiet", stdout=out, stderr=err)
    assert err.getvalue().strip() == "line 2: the line is longer than 4,194,304 bytes; skipped"
    assert out.getvalue().startswith("Imported 2 comment(s)")
