"""Template helpers for the site's languages: `{{ number|digits }}`, `{{ when|local_date }}`."""

from __future__ import annotations

from django import template
from django.utils import formats
from django.utils.timezone import template_localtime

from civility.web.i18n import local_digits

register = template.Library()


@register.filter
def digits(value) -> str:
    """A number (or our own text with numbers in it) in the active language's digits:
    Persian ۱۲۳ for fa, Arabic-Indic ١٢٣ for ar and ckb. Never for reader text."""
    return local_digits(value)


@register.filter
def local_date(value, format_name: str = "DATE_FORMAT") -> str:
    """A date or datetime in the active language's format (Django's formats, and ours for
    Kurmanji), with its digits."""
    if value in (None, ""):
        return ""
    return local_digits(formats.date_format(template_localtime(value), format_name))
