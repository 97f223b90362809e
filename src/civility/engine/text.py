"""Text normalisation: undo evasion tricks while keeping a map back to what the reader wrote.

`normalize(text)` returns a `NormalizedText` whose `text` is the *matching view*: NFKC, casefolded,
format characters dropped, Cyrillic/Greek look-alikes folded in Latin words, leetspeak undone
inside words, spelled-out words ("f.u.c.k") glued, runs of 3+ repeated letters cut to 2, and
Arabic-script harakat/tatweel removed with letter variants folded. Every character of `text`
carries the index of the original character it came from, so spans found in `text` can be
shown on the original comment.

Runs of repeated letters are collapsed to **two** ("fuuuuck" -> "fuuck", "goooood" -> "good"),
so real double letters ("ass", "kill") survive; matchers should allow a doubled letter.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

__all__ = ["NormalizedText", "normalize"]


@dataclass(frozen=True)
class NormalizedText:
    original: str  # what the reader wrote
    text: str  # the matching view (see module docstring)
    # len(text)+1 entries; offsets[i] = index in `original` that text[i] came from;
    # offsets[len(text)] == len(original)
    offsets: tuple[int, ...]
    # ends[i] = end (exclusive) in `original` of the unit text[i] came from. Optional so that
    # callers may build a NormalizedText from the three contract fields alone.
    ends: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Smallest [s, e) of `original` covering text[start:end]."""
        n = len(self.text)
        start = max(0, min(start, n))
        end = max(start, min(end, n))
        s = self.offsets[start]
        if start == end:
            return s, s
        if self.ends:
            return s, self.ends[end - 1]
        # Without ends: the original unit of text[end-1] runs up to the next larger offset.
        last = self.offsets[end - 1]
        for j in range(end, n + 1):
            if self.offsets[j] > last:
                return s, self.offsets[j]
        return s, len(self.original)


# --- character level ------------------------------------------------------------------------

_TATWEEL = "\u0640"
# Arabic-script letter variants folded to one form (lexicons are normalised the same way).
# Sorani letters (ێ ۆ ڕ ڵ ە ڤ) are deliberately absent: they identify the language.
_ARABIC_FOLD = {
    "\u0623": "\u0627",  # أ -> ا
    "\u0625": "\u0627",  # إ -> ا
    "\u0622": "\u0627",  # آ -> ا
    "\u0671": "\u0627",  # ٱ -> ا
    "\u064a": "\u06cc",  # Arabic ي -> Persian/Kurdish ی
    "\u0649": "\u06cc",  # ى -> ی
    "\u0643": "\u06a9",  # Arabic ك -> ک
    "\u06c0": "\u0647",  # ۀ -> ه
}
# Arabic-Indic and Persian digits -> ASCII digits.
_ARABIC_FOLD.update({chr(0x0660 + d): str(d) for d in range(10)})
_ARABIC_FOLD.update({chr(0x06F0 + d): str(d) for d in range(10)})


def _is_arabic_mark(ch: str) -> bool:
    """Harakat, Quranic annotation marks and superscript alef: noise for matching."""
    o = ord(ch)
    return 0x064B <= o <= 0x065F or o == 0x0670 or 0x06D6 <= o <= 0x06ED or 0x0610 <= o <= 0x061A


class _CharMap(dict):
    """Lazy per-character matching form (NFKC + casefold + folds); usable by str.translate."""

    def __missing__(self, code: int) -> str:
        out = _unit_form(chr(code))
        self[code] = out
        return out


_CHAR_MAP = _CharMap()


class _SlowFlags(dict):
    """Maps a character to "." when its matching form is exactly one character and needs no
    context, else to "x": it must go through the unit-by-unit path (removed, expanded,
    combining mark, or a Cyrillic/Greek letter that may be a homoglyph)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        mapped = _CHAR_MAP[code]
        slow = len(mapped) != 1 or unicodedata.combining(ch) != 0 or _is_mixed_script_letter(ch)
        out = "x" if slow else "."
        self[code] = out
        return out


def _is_mixed_script_letter(ch: str) -> bool:
    o = ord(ch)
    return 0x0370 <= o <= 0x03FF or 0x0400 <= o <= 0x052F or 0x1F00 <= o <= 0x1FFF


_SLOW_FLAGS = _SlowFlags()


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and (ch.isascii() or unicodedata.name(ch, "").startswith("LATIN"))


@lru_cache(maxsize=4096)
def _unit_form(unit: str) -> str:
    """Matching form of one base character with its combining marks."""
    base = unit[0]
    if base == _TATWEEL or unicodedata.category(base) == "Cf" or _is_arabic_mark(base):
        return ""  # an invisible or removed character takes its marks with it
    out = unicodedata.normalize("NFKC", unit).casefold()
    head = out[:1]
    if not head.isalpha() or _is_latin_letter(head) or _is_mixed_script_letter(head):
        # Marks that did not compose are decoration (strike-through, Zalgo) on Latin, Greek
        # and Cyrillic letters, and noise on anything that is not a letter (or a stray mark
        # with no base). Other scripts keep theirs: there they are vowels.
        out = "".join(c for c in out if not unicodedata.combining(c))
    out = "".join(c for c in out if not _is_arabic_mark(c) and unicodedata.category(c) != "Cf")
    return "".join(_ARABIC_FOLD.get(c, c) for c in out)


def _plain_form(ch: str) -> bool:
    """True when casefold + the Arabic letter folds already give the full matching form of
    `ch`, one character long, with no context needed."""
    form = _CHAR_MAP[ord(ch)]
    return (
        len(form) == 1
        and form == "".join(_ARABIC_FOLD.get(c, c) for c in ch.casefold())
        and not unicodedata.combining(ch)
        and not _is_mixed_script_letter(ch)
    )


def _char_class(codes: list[int]) -> str:
    """A regex character class body matching exactly `codes` (sorted), as ranges."""
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        a, b = codes[i], codes[j]
        parts.append(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}")
        i = j + 1
    return "".join(parts)


def _build_maybe_special_re() -> re.Pattern[str]:
    """Characters that may need more than casefold + folds: everything outside the common
    Latin/Arabic/punctuation blocks, and the few inside them that are not plain."""
    blocks = [(0x0000, 0x024F), (0x0600, 0x06FF), (0x2010, 0x2027), (0x2030, 0x205E)]
    plain = [c for a, b in blocks for c in range(a, b + 1) if _plain_form(chr(c))]
    return re.compile(f"[^{_char_class(plain)}]")


_MAYBE_SPECIAL_RE = _build_maybe_special_re()
_FOLD_PAIRS = tuple(_ARABIC_FOLD.items())


def _plain_map(segment: str) -> str:
    """Matching form of a segment free of _MAYBE_SPECIAL_RE characters (length-preserving)."""
    out = segment.casefold()
    if not out.isascii():
        for src, dst in _FOLD_PAIRS:
            if src in out:
                out = out.replace(src, dst)
    return out


def _char_level(original: str) -> tuple[str, list[int], list[int]]:
    """Map unit by unit (base char + combining marks), recording each output char's origin.
    Stretches of plain characters between special ones are mapped in one go."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    combining = unicodedata.combining
    n = len(original)
    pos = 0  # original[:pos] is done

    def plain_until(a: int) -> None:
        if a > pos:
            out.append(_plain_map(original[pos:a]))
            starts.extend(range(pos, a))
            ends.extend(range(pos + 1, a + 1))

    for m in _MAYBE_SPECIAL_RE.finditer(original):
        i = m.start()
        if i < pos:
            continue  # already consumed as a mark of the unit before it
        j = i + 1
        while j < n and combining(original[j]):
            j += 1
        if j == i + 1 and _SLOW_FLAGS[ord(original[i])] == ".":
            # One-to-one (fullwidth, emoji, CJK...) and no marks follow.
            plain_until(i)
            out.append(_CHAR_MAP[ord(original[i])])
            starts.append(i)
            ends.append(i + 1)
            pos = i + 1
            continue
        a = i - 1 if i > pos and combining(original[i]) else i  # base goes with its marks
        plain_until(a)
        form = _unit_form(original[a:j]) if j > a + 1 else _CHAR_MAP[ord(original[a])]
        out.append(form)
        starts.extend([a] * len(form))
        ends.extend([j] * len(form))
        pos = j
    plain_until(n)
    return "".join(out), starts, ends


# --- word level -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _homoglyph_table() -> dict[int, str]:
    """Cyrillic/Greek letters that look like a Latin letter, built once from
    confusable-homoglyphs' Unicode confusables data (only 1-to-1 lowercase ASCII targets)."""
    path = resources.files("confusable_homoglyphs") / "confusables.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    table: dict[int, str] = {}
    for ch, entries in data.items():
        if len(ch) != 1 or not _is_mixed_script_letter(ch):
            continue
        folded = _CHAR_MAP[ord(ch)]
        if len(folded) != 1 or folded.isascii():
            continue
        for entry in entries:
            target = entry["c"].casefold()
            if len(target) == 1 and "a" <= target <= "z":
                table[ord(folded)] = target
                break
    # Lowercase look-alikes used in evasion, where the data picks another letter (і -> l,
    # υ -> y) or has no entry; these win. Lowercase forms of capital look-alikes (в from В,
    # н from Н, ...) are included because text is casefolded before this step.
    table.update({ord(k): v for k, v in _HOMOGLYPH_OVERRIDES.items()})
    return table


_HOMOGLYPH_OVERRIDES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c", "ς": "c",
}  # fmt: skip


_WORD_RE = re.compile(r"[^\W\d_]+")
_HAS_OTHER_SCRIPT_RE = re.compile(r"[\u0370-\u03ff\u0400-\u052f\u1f00-\u1fff]")

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
_LEET_TABLE = str.maketrans(_LEET)
_LEET_CHARS_RE = re.compile(r"[0-9@$!]")
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!")
# A leet character touching a letter ("sh1t", "f@ck", "4ss", "$hit"); "!" only between letters.
_LEET_TOUCH_RE = re.compile(r"[a-z][0-9@$]|[0-9@$][a-z]|[a-z]![a-z]")
# Tokens that are real numbers, ordinals, units or names-with-numbers: never leet.
_NOT_LEET_RE = re.compile(
    r"\d+(?:st|nd|rd|th|s|k|m|bn|am|pm|h|d|x|kg|km|cm|mm|ml|g|gb|mb|tb|p|v|mph|kw|yo)"
    r"|[a-z]{2,}\d+|\d+x\d+|[a-z]\d[a-z]?"
)
# Runs of >= 3 single letters split by a separator: "f u c k", "f.u.c.k", "f_u_c_k".
# The same separator throughout, so "a f.u.c.k" glues only "f.u.c.k".
_SPACED_RE = re.compile(
    r"(?<![^\W_])[^\W\d_](?P<sep>[ .\-_*~+]{1,2})[^\W\d_](?![^\W_])"
    r"(?:(?P=sep)[^\W\d_](?![^\W_]))+"
)
_REPEAT_RE = re.compile(r"(.)\1{2,}")
_TRIPLE_SCREEN_RE = re.compile(r"(.)\1\1")
_SPACED_SCREEN_RE = re.compile(r"[ .\-_*~+][^ .\-_*~+][ .\-_*~+]{1,2}[^ .\-_*~+][ .\-_*~+]")
# Leet screen for ASCII text: each character mapped to its class (a: letter, 1: digit/@/$,
# !: "!", #: other), so "a leet character touches a letter" becomes substring tests.
_ASCII_CLASS = str.maketrans(
    {chr(c): "a" if chr(c).isalpha() else "#" for c in range(128)}
    | dict.fromkeys("0123456789@$", "1")
    | {"!": "!"}
)
_RANGE = tuple(range(4097))  # sliced for identity offset maps (cheaper than building them)
_VOWEL_WORDS = set("aeiouy")


def _rules_needed(view: str) -> tuple[bool, bool, bool]:
    """(leet, spaced letters, repeated letters) screens; cheap, may say yes needlessly."""
    if view.isascii():
        classes = view.translate(_ASCII_CLASS)
        leet = "a1" in classes or "1a" in classes or "a!a" in classes
    else:
        leet = _LEET_CHARS_RE.search(view) is not None
    spaced = _SPACED_SCREEN_RE.search(f" {view} ") is not None
    repeats = _TRIPLE_SCREEN_RE.search(view) is not None
    return leet, spaced, repeats


def _identity(original: str, view: str) -> NormalizedText:
    n = len(original)
    if n < len(_RANGE):
        return NormalizedText(original, view, _RANGE[: n + 1], _RANGE[1 : n + 1])
    offsets = tuple(range(n + 1))
    return NormalizedText(original, view, offsets, offsets[1:])


_HAS_LATIN_RE = re.compile(r"[A-Za-z]")


def fold_look_alike_words(text: str) -> str:
    """Cyrillic/Greek look-alikes folded to Latin in words that mix them with Latin letters
    ("уоu іdiоt" -> "you idiot"), case kept, everything else as written: a real Russian or
    Greek word has no Latin letter, so it stays. One character for one, so the matching
    view's offsets stay valid (normalize folds its casefolded view with it), and the encoder
    reads the un-casefolded comment through it (model_text)."""
    if not _HAS_OTHER_SCRIPT_RE.search(text):
        return text
    table = _homoglyph_table()

    def fold_char(ch: str) -> str:
        lower = ch.lower()
        target = table.get(ord(lower)) if len(lower) == 1 else None
        if target is None:
            return ch
        return target if ch == lower else target.upper()

    def fold(m: re.Match[str]) -> str:
        word = m.group()
        if _HAS_LATIN_RE.search(word) and _HAS_OTHER_SCRIPT_RE.search(word):
            return "".join(map(fold_char, word))
        return word

    return _WORD_RE.sub(fold, text)


def _leet_form(token: str, after: str) -> str | None:
    """The de-leeted token, or None when it must stay as written."""
    core = token.rstrip("!")  # "shit!" keeps its exclamation mark
    if not _LEET_TOUCH_RE.search(core) or _NOT_LEET_RE.fullmatch(core):
        return None
    if core.startswith("@"):  # "@name" is a handle, not leet
        return None
    if "@" in core and after.startswith("."):  # e-mail address
        return None
    if sum(c.isalpha() for c in core) < 2:
        return None
    return core.translate(_LEET_TABLE) + token[len(core) :]


def _fold_leet(view: str) -> str:
    """Undo leetspeak inside Latin tokens; 1-to-1, so offsets stay valid."""
    pieces: list[str] = []
    done = 0  # view[:done] is already in pieces
    scanned = 0  # leet characters before this index belong to tokens already judged
    n = len(view)
    for m in _LEET_CHARS_RE.finditer(view):
        i = m.start()
        if i < scanned:
            continue
        a = i
        while a > 0 and view[a - 1] in _TOKEN_CHARS:
            a -= 1
        b = i + 1
        while b < n and view[b] in _TOKEN_CHARS:
            b += 1
        scanned = b
        if (a > 0 and view[a - 1].isalpha()) or (b < n and view[b].isalpha()):
            continue  # glued to a non-ASCII letter: not a Latin leet token
        form = _leet_form(view[a:b], view[b : b + 2])
        if form is not None:
            pieces.append(view[done:a])
            pieces.append(form)
            done = b
    if not pieces:
        return view
    pieces.append(view[done:])
    return "".join(pieces)


def _deletions(view: str, spaced: bool = True, repeats: bool = True) -> list[int]:
    """Indices to drop: separators in spelled-out words and the 3rd+ letter of repeats."""
    drop: list[int] = []
    if spaced:
        for m in _SPACED_RE.finditer(view):
            letters = [c for c in m.group() if c.isalpha()]
            if m.group("sep") == " " and set(letters) <= _VOWEL_WORDS:
                continue  # "a i o": ordinary short words, not a spelled-out word
            drop.extend(i for i in range(m.start(), m.end()) if not view[i].isalpha())
    if repeats:
        for m in _REPEAT_RE.finditer(view):
            if m.group(1).isalpha():  # letters only: "!!!" and "2000" stay
                drop.extend(range(m.start() + 2, m.end()))
    return drop


def normalize(text: str) -> NormalizedText:
    """The matching view of `text` with an offset map back to it (see module docstring)."""
    starts: list[int] | None = None  # None: identity map (view[i] came from text[i])
    ends: list[int] | None = None
    if text.isascii():
        view = text.lower()
    elif not _MAYBE_SPECIAL_RE.search(text):
        view = _plain_map(text)
    else:
        view, starts, ends = _char_level(text)
        if len(view) == len(text) and all(map(int.__eq__, starts, range(len(text)))):
            starts = ends = None  # nothing moved: keep the cheap identity map
        view = fold_look_alike_words(view)
    leet, spaced, repeats = _rules_needed(view)
    if not (leet or spaced or repeats) and starts is None:
        return _identity(text, view)

    if leet:
        view = _fold_leet(view)
    drop = _deletions(view, spaced, repeats)
    if not drop and starts is None:
        return _identity(text, view)
    if starts is None or ends is None:
        starts = list(range(len(view)))
        ends = list(range(1, len(view) + 1))
    if drop:
        dropped = set(drop)
        keep = [i for i in range(len(view)) if i not in dropped]
        view = "".join([view[i] for i in keep])
        starts = [starts[i] for i in keep]
        ends = [ends[i] for i in keep]
    return NormalizedText(text, view, (*starts, len(text)), tuple(ends))
