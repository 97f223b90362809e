"""Comment text as HTML with the engine's offending spans marked.

The text is reader input, so every piece is escaped on its own before any markup is added;
the only markup produced is `<mark>` elements whose attributes come from a fixed vocabulary.
Span offsets are Python string indices (code points), the same unit the engine uses, so
characters outside the Basic Multilingual Plane (emoji, some scripts) count as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Category names end up in class attributes; anything else is reduced to this alphabet.
_UNSAFE_CLASS_CHARS = re.compile(r"[^a-z0-9_]")


def _span_bounds(span) -> tuple[int, int, str] | None:
    """(start, end, category) from a Span object or its dict form; None if unusable."""
    if isinstance(span, Mapping):
        start, end, category = span.get("start"), span.get("end"), span.get("category", "")
    else:
        start = getattr(span, "start", None)
        end = getattr(span, "end", None)
        category = getattr(span, "category", "")
    if isinstance(start, bool) or isinstance(end, bool):
        return None
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    category = _UNSAFE_CLASS_CHARS.sub("_", str(category).lower()) or "other"
    return start, end, category


def highlight_spans(text: str, spans: Iterable) -> SafeString:
    """`text` escaped, with each stretch covered by spans wrapped in `<mark>`.

    Overlapping spans are split at every boundary, so each marked piece lists all the
    categories that cover it (`data-categories`, space-separated) and no element overlaps
    another. Spans outside the text are clipped; empty or malformed ones are ignored.
    """
    length = len(text)
    clipped: list[tuple[int, int, str]] = []
    for span in spans or ():
        bounds = _span_bounds(span)
        if bounds is None:
            continue
        start, end, category = max(0, bounds[0]), min(length, bounds[1]), bounds[2]
        if start < end:
            clipped.append((start, end, category))

    cuts = sorted({0, length, *(s for s, _, _ in clipped), *(e for _, e, _ in clipped)})
    pieces: list[str] = []
    for left, right in zip(cuts, cuts[1:], strict=False):
        segment = escape(text[left:right])
        covering = sorted({c for s, e, c in clipped if s <= left and right <= e})
        if covering:
            names = " ".join(covering)
            classes = " ".join(f"span-{c}" for c in covering)
            pieces.append(
                f'<mark class="span {classes}" data-categories="{names}" title="{names}">'
                f"{segment}</mark>"
            )
        else:
            pieces.append(segment)
    return mark_safe("".join(pieces))  # noqa: S308 - every piece above is escaped or fixed markup
