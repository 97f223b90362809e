"""The highlighted comment text: escaped piece by piece, spans marked, never broken HTML."""

from dataclasses import dataclass
from html.parser import HTMLParser

from civility.web.moderation.highlight import highlight_spans


@dataclass(frozen=True)
class Span:
    """Same shape as civility.engine.assessment.Span, without importing the whole engine."""

    start: int
    end: int
    category: str


class _Collector(HTMLParser):
    """Rebuilds the visible text and lists the elements, to check the markup structurally."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text = []
        self.tags = []
        self.marked = []  # (text, categories) per <mark>
        self._open = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "mark":
            self._open = (dict(attrs)["data-categories"], [])

    def handle_endtag(self, tag):
        if tag == "mark":
            categories, chunks = self._open
            self.marked.append(("".join(chunks), categories))
            self._open = None

    def handle_data(self, data):
        self.text.append(data)
        if self._open:
            self._open[1].append(data)


def parse(html):
    collector = _Collector()
    collector.feed(str(html))
    collector.close()
    return collector


def test_plain_text_is_escaped_and_unchanged_in_meaning():
    text = "<script>alert('x')</script> & \"quotes\""
    html = highlight_spans(text, [])
    assert "<script>" not in html
    parsed = parse(html)
    assert "".join(parsed.text) == text
    assert parsed.tags == []


def test_xss_payload_inside_a_span_stays_text():
    text = 'hi <img src=x onerror="alert(1)"> idiot'
    start = text.index("<img")
    end = text.index(">") + 1
    html = highlight_spans(text, [Span(start, end, "personal_attack")])
    parsed = parse(html)
    assert parsed.tags == ["mark"]
    assert "".join(parsed.text) == text
    assert parsed.marked == [(text[start:end], "personal_attack")]


def test_span_cutting_through_an_entity_character_escapes_both_sides():
    text = "a&b<c"
    html = highlight_spans(text, [Span(1, 2, "profanity"), Span(3, 4, "threat")])
    parsed = parse(html)
    assert "".join(parsed.text) == text
    assert parsed.marked == [("&", "profanity"), ("<", "threat")]


def test_overlapping_spans_are_split_and_list_every_category():
    text = "you stupid idiot now"
    spans = [Span(4, 16, "personal_attack"), Span(11, 20, "profanity")]
    parsed = parse(highlight_spans(text, spans))
    assert "".join(parsed.text) == text
    assert parsed.marked == [
        ("stupid ", "personal_attack"),
        ("idiot", "personal_attack profanity"),
        (" now", "profanity"),
    ]


def test_astral_plane_characters_count_as_one_offset():
    text = "🙂🙂 bad 𝕩 word 🙂"
    start = text.index("bad")
    end = text.index("word") + len("word")
    parsed = parse(highlight_spans(text, [Span(start, end, "vulgarity")]))
    assert "".join(parsed.text) == text
    assert parsed.marked == [("bad 𝕩 word", "vulgarity")]


def test_rtl_text_with_span_keeps_every_character():
    text = "این یک متن فارسی است"
    start = text.index("متن")
    parsed = parse(highlight_spans(text, [{"start": start, "end": start + 3, "category": "abuse"}]))
    assert "".join(parsed.text) == text
    assert parsed.marked == [("متن", "abuse")]


def test_out_of_range_empty_and_malformed_spans_are_ignored_or_clipped():
    text = "short"
    spans = [
        Span(-5, 2, "threat"),
        Span(3, 99, "profanity"),
        Span(4, 4, "abuse"),
        Span(4, 1, "abuse"),
        {"start": "1", "end": 3, "category": "abuse"},
        {"start": True, "end": 3, "category": "abuse"},
    ]
    parsed = parse(highlight_spans(text, spans))
    assert "".join(parsed.text) == text
    assert parsed.marked == [("sh", "threat"), ("rt", "profanity")]


def test_hostile_category_names_cannot_break_out_of_attributes():
    text = "word"
    html = highlight_spans(text, [{"start": 0, "end": 4, "category": '"><script>x</script>'}])
    parsed = parse(html)
    assert parsed.tags == ["mark"]
    assert "<script>" not in html
    assert "".join(parsed.text) == text
