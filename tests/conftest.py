"""Shared by every test folder: the translation catalogues are compiled before any test that
renders a page runs (the `.po` files are committed, the `.mo` files are built)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
NEEDS_CATALOGUES = (TESTS / "web", TESTS / "browser")


@pytest.fixture(autouse=True, scope="session")
def _compiled_catalogues(request):
    """Compile locale/*/LC_MESSAGES/django.po when a .mo is missing or older (GNU gettext's
    msgfmt through Django's compilemessages; `make setup` installs gettext). Engine-only
    runs skip it."""
    if any(
        Path(item.path).is_relative_to(folder)
        for item in request.session.items
        for folder in NEEDS_CATALOGUES
    ):
        from civility.web.i18n import compile_catalogues

        compile_catalogues()
