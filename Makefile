# The two commands a newcomer needs: `make demo` and `make test`. Both create .venv if missing.
VENV ?= .venv
PY := $(VENV)/bin/python
CIVILITY := $(VENV)/bin/civility
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: setup demo test lint test-sqlite test-postgres browser-deps i18n-deps translations messages bench bench-cascade bench-web bench-learning

setup: $(VENV)/.installed translations

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The tests also exercise the training code (resumable fine-tuning): torch's CPU build and
# transformers, from the `train` extra. The demo and production never need them.
$(VENV)/.installed-train: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev,train]'
	touch $@

demo: setup
	$(CIVILITY) demo

# The translation catalogues (docs/translations.md): the .po files are committed, the .mo
# files are compiled here by Django's compilemessages, which needs GNU gettext's msgfmt.
i18n-deps:
	@command -v msgfmt >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; }

translations: $(VENV)/.installed i18n-deps
	$(CIVILITY) shell --verbosity 0 -c 'from civility.web.i18n import compile_catalogues; compile_catalogues()'

# After adding or changing a user-visible string: extract it into every catalogue, then
# translate it there (a test fails while any string is untranslated or fuzzy).
messages: setup
	cd src/civility/web && CIVILITY_DATA_DIR=$(abspath var) $(abspath $(PY)) -m django makemessages -l ar -l fa -l tr -l ckb -l kmr \
		--no-obsolete --add-location file -i __pycache__ --settings civility.web.settings_test

# Debian's chromium for the Playwright tests (never a browser download).
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# lint-imports: the layering contract in pyproject.toml (docs/architecture.md).
lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports

# CIVILITY_REQUIRE_SERVICES=1: a test skipped for anything missing (Redis, PostgreSQL,
# Chromium, a package) fails the run; the one intended skip is `postgres_only` tests in the
# SQLite pass, counted in the summary (tests/conftest.py, docs/web.md "Tests").
test-sqlite: setup $(VENV)/.installed-train browser-deps
	CIVILITY_REQUIRE_SERVICES=1 $(VENV)/bin/pytest -q

# Everything that touches the database, again on PostgreSQL (the engine tests have no database).
test-postgres: setup browser-deps
	CIVILITY_REQUIRE_SERVICES=1 DATABASE_URL=$(PG_TEST_URL) $(VENV)/bin/pytest -q tests/web tests/browser

test: lint test-sqlite test-postgres

bench: setup
	$(PY) bench/throughput.py

# The cascade (fast tier + encoder) on newsroom_dev, the issue's sentences and a news mix.
bench-cascade: setup
	$(PY) bench/cascade.py --data ../shared/data

bench-web: setup
	$(PY) bench/load.py

# Learning from decisions, simulated on public streams (docs/learning.md); about 10 minutes.
bench-learning: setup
	$(PY) bench/learning.py --data ../shared/data --end-to-end
