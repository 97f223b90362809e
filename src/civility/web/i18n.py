"""The site's languages: which exist, which one a page is shown in, and their digits.

English is the source language; ar, fa, tr, ckb (Sorani, Arabic script) and kmr (Kurmanji,
Latin script) have catalogues in `locale/<code>/LC_MESSAGES/django.po`, compiled to `.mo`
at install, build and test time (`compile_catalogues`, `make setup`). docs/translations.md
says how a newsroom corrects a string.

Nothing here reads settings at import time: settings.py imports this module."""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf.locale import LANG_INFO

LOCALE_DIR = Path(__file__).resolve().parent / "locale"

# Languages Django's own LANG_INFO lacks (kmr) or that we state explicitly (ckb), so that
# get_language_info, {% get_current_language_bidi %} and LANGUAGES_BIDI agree.
EXTRA_LANG_INFO = {
    "ckb": {
        "bidi": True,
        "code": "ckb",
        "name": "Central Kurdish (Sorani)",
        "name_local": "کوردی",
    },
    "kmr": {
        "bidi": False,
        "code": "kmr",
        "name": "Northern Kurdish (Kurmanji)",
        "name_local": "Kurmancî",
    },
}

# The digits each locale's readers expect (CLDR's default numbering systems): Arabic-Indic
# for Arabic and Sorani, Extended Arabic-Indic ("Persian digits") for Persian. Other
# languages keep 0-9. Only our own numbers are converted, never reader text.
NATIVE_DIGITS = {
    "ar": "٠١٢٣٤٥٦٧٨٩",
    "ckb": "٠١٢٣٤٥٦٧٨٩",
    "fa": "۰۱۲۳۴۵۶۷۸۹",
}
_DIGIT_TABLES = {
    code: str.maketrans("0123456789", digits) for code, digits in NATIVE_DIGITS.items()
}
# Their percent signs, beside the digits (U+066A ARABIC PERCENT SIGN).
_PERCENT = {"ar": "٪", "ckb": "٪", "fa": "٪"}


def register_languages() -> None:
    """Add EXTRA_LANG_INFO to Django's table (idempotent; settings.py calls it)."""
    for code, info in EXTRA_LANG_INFO.items():
        LANG_INFO[code] = {**LANG_INFO.get(code, {}), **info}


def site_languages() -> list[str]:
    from django.conf import settings

    return [code for code, _name in settings.LANGUAGES]


def supported(code: object) -> str | None:
    """The site language for a code such as "ar", "AR" or "ar-IQ", or None."""
    if not isinstance(code, str) or not code or len(code) > 16:
        return None
    code = code.strip().lower().replace("_", "-")
    languages = site_languages()
    if code in languages:
        return code
    base = code.split("-")[0]
    return base if base in languages else None


def chosen_language(request) -> str | None:
    """The language the reader picked with `?lang=` (the switcher's links), or None."""
    return supported(request.GET.get("lang"))


def reader_language(request, article=None) -> str:
    """The language of a reader page: the reader's own pick (`?lang=`), else the article's
    language, else what the browser asks for (Django's LocaleMiddleware already chose it)."""
    from django.utils import translation

    return (
        chosen_language(request)
        or (supported(article.language) if article is not None else None)
        or translation.get_language()
        or "en"
    )


def local_digits(value: object, language: str | None = None) -> str:
    """`value` as text, its ASCII digits (and % signs) in the language's own digits."""
    from django.utils import translation

    language = language or translation.get_language() or "en"
    text = str(value)
    base = language.split("-")[0]
    table = _DIGIT_TABLES.get(base)
    if table is None:
        return text
    return text.translate(table).replace("%", _PERCENT[base])


def compile_catalogues(*, force: bool = False) -> bool:
    """Compile the `.po` catalogues to `.mo` with Django's compilemessages (GNU gettext's
    msgfmt, which `make setup` installs), when any `.mo` is missing or older than its `.po`.
    Returns whether anything was compiled."""
    stale = [
        po
        for po in LOCALE_DIR.glob("*/LC_MESSAGES/django.po")
        if force
        or not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if not stale:
        return False
    from django.core.management import call_command

    # compilemessages also walks the working directory for folders named "locale": run it
    # beside ours, so only our catalogues are compiled (never a virtualenv's packages).
    with contextlib.chdir(LOCALE_DIR.parent):
        call_command("compilemessages", verbosity=0)
    # Catalogues this process has loaded already, and its "does one exist" answers, are
    # stale now: drop them the way Django's own test signals do when LOCALE_PATHS changes.
    from asgiref.local import Local
    from django.utils.translation import trans_real

    trans_real._translations = {}
    trans_real._default = None
    trans_real._active = Local()
    trans_real.translation_catalog_exists.cache_clear()
    return True
