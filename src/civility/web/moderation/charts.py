"""Small server-rendered SVG charts for the dashboard: no chart library, no JavaScript.

Each function returns a complete `<svg>` element with a `<title>` and `role="img"` so screen
readers get the chart's name; labels are escaped because they may come from data
(article titles, category codes).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def column_chart(
    points: Sequence[tuple[str, float]], *, title: str, width: int = 640, height: int = 220
) -> SafeString:
    """Vertical bars, one per (label, value), e.g. comments per day."""
    margin_left, margin_bottom, margin_top = 36, 40, 16
    plot_w, plot_h = width - margin_left - 8, height - margin_bottom - margin_top
    top = max((v for _, v in points), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line class="axis" x1="{margin_left}" y1="{margin_top + plot_h}" '
        f'x2="{width - 8}" y2="{margin_top + plot_h}"/>',
        f'<text class="tick" x="{margin_left - 4}" y="{margin_top + 4}" '
        f'text-anchor="end">{_number(top)}</text>',
    ]
    if not points:
        parts.append(
            f'<text class="empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
            f"{escape(_('No data yet'))}</text>"
        )
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.7, 1)
    label_every = max(1, len(points) // 10)  # keep day labels legible on long ranges
    for index, (label, value) in enumerate(points):
        bar_h = plot_h * value / top
        x = margin_left + index * slot + (slot - bar_w) / 2
        y = margin_top + plot_h - bar_h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}">'
            f"<title>{escape(label)}: {_number(value)}</title></rect>"
        )
        if index % label_every == 0:
            parts.append(
                f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{height - margin_bottom + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - labels escaped, numbers formatted


def bar_chart(
    rows: Sequence[tuple[str, float]], *, title: str, width: int = 640, row_height: int = 26
) -> SafeString:
    """Horizontal bars with their label and value, e.g. decisions by category."""
    label_w, value_w = 190, 48
    height = max(len(rows), 1) * row_height + 8
    top = max((v for _, v in rows), default=0) or 1
    plot_w = width - label_w - value_w
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    if not rows:
        parts.append(
            f'<text class="empty" x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle">'
            f"{escape(_('No data yet'))}</text>"
        )
    for index, (label, value) in enumerate(rows):
        y = 4 + index * row_height
        bar_w = plot_w * value / top
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + row_height * 0.65:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{bar_w:.1f}" '
            f'height="{row_height - 6}"/>'
            f'<text class="value" x="{label_w + bar_w + 6:.1f}" '
            f'y="{y + row_height * 0.65:.1f}">{_number(value)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - labels escaped, numbers formatted


def share_bar(share: float, *, title: str, width: int = 640, height: int = 36) -> SafeString:
    """One bar split into the share (0..1) and the rest, e.g. decided automatically vs by hand."""
    share = min(max(share, 0.0), 1.0)
    filled = width * share
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect class="rest" x="0" y="4" width="{width}" height="{height - 8}"/>',
        f'<rect class="bar" x="0" y="4" width="{filled:.1f}" height="{height - 8}"/>',
        # White on the filled part, dark on the grey rest, so the figure stays legible.
        f'<text class="value{" on-bar" if filled > 48 else ""}" x="8" '
        f'y="{height / 2 + 5:.1f}">{share * 100:.0f}%</text>',
        "</svg>",
    ]
    return mark_safe("".join(parts))  # noqa: S308 - title escaped, numbers formatted


def share_sparkline(
    points: Sequence[tuple[str, float | None]], *, title: str, width: int = 168, height: int = 40
) -> SafeString:
    """Small columns of shares (0..1), one per (label, share), e.g. a language's weeks, on a
    fixed 0-100% scale so periods and languages compare at a glance. A period with nothing to
    measure (share None) is a short grey mark on the baseline, not a zero."""
    plot_h = height - 4
    slot = width / max(len(points), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart spark" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line class="axis" x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}"/>',
    ]
    for index, (label, share) in enumerate(points):
        x = index * slot + (slot - bar_w) / 2
        if share is None:
            parts.append(
                f'<rect class="none" x="{x:.1f}" y="{height - 3}" width="{bar_w:.1f}" height="2">'
                f"<title>{escape(label)}: –</title></rect>"
            )
            continue
        share = min(max(share, 0.0), 1.0)
        bar_h = plot_h * share
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{height - 1 - bar_h:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}"><title>{escape(label)}: {share * 100:.0f}%</title></rect>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - labels escaped, numbers formatted
