"""Rules for the text readers and clients send: what a database can store, what a reader can
see, and names that cannot reorder the text around them.

Used by the comment service (text, author), the API schemas (article titles), the
Perspective/Coral doors and the decision trail (notes), so every door applies the same rules."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

# Bidirectional formatting characters: embeddings, overrides, isolates and marks. In a name they
# can make "‮gro.elpmaxe" read as another name, or flip the text that follows it.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Letters and symbols by Unicode category that nonetheless draw nothing.
BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
LINE_CONTROLS = frozenset("\t\n\r")


def storable_problem(value: str, max_chars: int | None = None) -> str | None:
    """Why `value` cannot be stored as text (NUL, lone surrogates, length), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains invalid Unicode (a lone surrogate)"
    if max_chars is not None and len(value) > max_chars:
        return f"is longer than {max_chars} characters"
    return None


def has_visible(value: str) -> bool:
    """True when `value` has a letter, a digit or a symbol such as an emoji (Unicode categories
    L*, N* and So), not counting the fillers that draw nothing. Spaces, zero-width characters,
    bidi controls, combining marks alone and control characters are not visible."""
    for char in value:
        category = unicodedata.category(char)
        if (category[0] in "LN" or category == "So") and char not in BLANK_GLYPHS:
            return True
    return False


def has_control(value: str, allow_lines: bool = True) -> bool:
    """True when `value` holds C0/C1 control characters (tab and line breaks allowed if asked)."""
    allowed = LINE_CONTROLS if allow_lines else frozenset()
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in value)


def clean_name(value: str) -> str:
    """A display name without bidi controls and surrounding space."""
    return "".join(c for c in value if c not in BIDI_CONTROLS).strip()


def visible_text_problem(value: str, what: str, allow_lines: bool = True) -> str | None:
    """The first reason `value` is not acceptable visible text, or None."""
    problem = storable_problem(value)
    if problem:
        return f"the {what} {problem}"
    if has_control(value, allow_lines):
        return f"the {what} contains control characters"
    if not has_visible(value):
        return f"the {what} has no visible letters, digits or emoji"
    return None


def validate_visible(value: str) -> None:
    """Model-field validator (article titles in the admin)."""
    problem = visible_text_problem(value, "text", allow_lines=False)
    if problem:
        raise ValidationError(problem)


# Row ids fit a signed 64-bit integer (PostgreSQL's bigint): anything larger is no id.
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """A row id from a form field or query parameter: ASCII digits only ("²".isdigit() is
    true, but int("²") fails), within bigint. None for anything else."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None
