# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
FLASK := $(VENV)/bin/flask --app wsgi
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: run serve setup test test-sqlite test-pg translations i18n migrate demo lint security-lint clean bench

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e ".[test]"
	@touch $@ $(VENV)/.run-installed

translations: | $(VENV)/bin/python
	$(VENV)/bin/pybabel -q compile -d lms/translations

## i18n: extract messages, update catalogues, fill zh_CN (source language); en is translated by hand
i18n: $(VENV)/.test-installed
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l --no-location --sort-output -o lms/translations/messages.pot lms
	$(VENV)/bin/pybabel -q update -N -i lms/translations/messages.pot -d lms/translations
	$(PY) -m lms.i18n_catalog fill-source lms/translations/zh_CN/LC_MESSAGES/messages.po
	$(PY) -m lms.i18n_catalog report lms/translations/en/LC_MESSAGES/messages.po

instance/config.py: | $(VENV)/bin/python
	$(PY) -m lms.keys instance/config.py

migrate: $(VENV)/.run-installed instance/config.py
	$(FLASK) db upgrade

demo: migrate translations
	$(FLASK) lms demo --skip-if-loaded
	$(FLASK) courses sync courses

setup: demo

run: setup
	@$(FLASK) lms demo-logins
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(VENV)/.test-installed translations
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-pg

test-sqlite:
	@echo "== test suite on SQLite =="
	$(PY) -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

test-pg:
	@if $(PY) -m lms.pgcheck "$(PG_TEST_URL)"; then \
	  echo "== test suite on PostgreSQL =="; \
	  LMS_TEST_DATABASE_URL="$(PG_TEST_URL)" $(PY) -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then echo "PostgreSQL is required on CI but not reachable at $(PG_TEST_URL)"; exit 1; \
	else echo "SKIPPED the PostgreSQL run: no server at $(PG_TEST_URL) (start PostgreSQL to run it)"; fi

## bench: anchors and scenarios under wrk, interleaved rounds (docs/benchmarks.md)
SIZE ?= S
DB ?= sqlite
ROUNDS ?= 3
DURATION ?= 10
BENCH_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432
bench: $(VENV)/.bench-installed translations
	BENCH_PG_URL="$(BENCH_PG_URL)" $(PY) bench/run.py --size $(SIZE) --db $(DB) \
	  --rounds $(ROUNDS) --duration $(DURATION) $(if $(RESULTS),--results $(RESULTS))

## bench-window: bounded Locust exam-window replay (docs/benchmarks.md); 0 = the defaults
USERS ?= 0
WINDOW ?= 120
EXAM ?= 180
RAMP ?= 30
PERIOD ?= 0
$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.run-installed
	$(PIP) install --quiet -e '.[bench]'
	touch $@

bench-window: $(VENV)/.bench-installed translations
	BENCH_PG_URL="$(BENCH_PG_URL)" $(PY) bench/window.py --size $(SIZE) --db $(DB) \
	  --users $(USERS) --window $(WINDOW) --exam-time $(EXAM) --ramp $(RAMP) --period $(PERIOD) $(if $(RESULTS),--results $(RESULTS))

lint: $(VENV)/.test-installed
	$(PIP) install --quiet ruff
	$(VENV)/bin/ruff check lms tests

## security-lint: ruff S rules (S101 off: asserts only narrow types) and bandit high findings on lms/,
## then pip-audit of the installed dependencies when PyPI answers (security R44, figure F20)
security-lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check --select S --ignore S101 lms
	$(VENV)/bin/bandit -q -r lms -lll
	@if timeout 10 $(PY) -c 'import urllib.request; urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=8)' >/dev/null 2>&1; then \
	  out=$$(timeout 600 $(VENV)/bin/pip-audit --progress-spinner off --skip-editable 2>&1); rc=$$?; \
	  echo "$$out" | grep -v "could not be audited"; \
	  n=$$(echo "$$out" | grep -c "could not be audited"); \
	  if [ "$$n" -gt 0 ]; then echo "pip-audit: $$n dependencies not audited (no vulnerability data for them from PyPI here)"; fi; \
	  exit $$rc; \
	else echo "pip-audit skipped: no network"; fi

clean:
	rm -rf $(VENV) build *.egg-info
