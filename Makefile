# Developer commands. `make run` and `make test` are the two set-up commands in README.md: both create the venv
# in .venv and install the pinned requirements first, so they work on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Where SQLite, the file-based Celery broker, collected static files and the beat schedule live (see config/settings.py).
DATA_DIR ?= $(CURDIR)/var
export DATA_DIR
PORT ?= 8000
SCHEMA_FILE ?= $(DATA_DIR)/openapi.yaml
PYTEST_ARGS ?=
BENCH_N ?= 2000

RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check

.DEFAULT_GOAL := help
.PHONY: help install run test lint schema bench migrate

help: ## Show this list
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (PYTHON=$(PYTHON) is " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(PY)
	$(PIP_INSTALL) -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PIP_INSTALL) -r requirements-dev.txt
	@touch $@ $(RUN_STAMP)

install: $(DEV_STAMP) ## Create .venv and install requirements-dev.txt (includes requirements.txt)

migrate: $(RUN_STAMP) ## Apply database migrations
	@mkdir -p "$(DATA_DIR)"
	$(PY) manage.py migrate --noinput

run: $(RUN_STAMP) ## Migrate, create the demo account, then run web (:$PORT, 8000), worker, beat and relay (Procfile)
	@mkdir -p "$(DATA_DIR)"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --no-colour release
	$(PY) manage.py bootstrap_demo --base-url "http://127.0.0.1:$(PORT)"
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://127.0.0.1:$(PORT)/  (API docs: /api/docs/, admin: /admin/). Ctrl-C stops them all."
	@# Ctrl-C reaches make, this shell (which ignores it) and honcho. honcho stops the four processes, then answers
	@# 130 (SIGINT) or 143 (SIGTERM): a stop that was asked for, so the recipe ends 0 and make reports no error.
	@trap '' INT TERM; PATH="$(CURDIR)/$(BIN):$$PATH" PYTHONUNBUFFERED=1 $(BIN)/honcho start --no-colour -p $(PORT) \
		web worker beat relay; rc=$$?; if [ $$rc -eq 130 ] || [ $$rc -eq 143 ]; then rc=0; fi; exit $$rc

test: $(DEV_STAMP) ## Lint, Django checks, migrations check, schema validation and the whole pytest suite
	@mkdir -p "$(DATA_DIR)"
	$(BIN)/ruff check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file "$(SCHEMA_FILE)"
	@rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is missing or mis-configured"; fi; \
	exit $$rc

lint: $(DEV_STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schema: $(RUN_STAMP) ## Write the OpenAPI schema (var/openapi.yaml), validated, failing on any warning
	@mkdir -p "$(dir $(SCHEMA_FILE))"
	$(PY) manage.py spectacular --validate --fail-on-warn --file "$(SCHEMA_FILE)"
	@echo "Schema written to $(SCHEMA_FILE)"

bench: $(DEV_STAMP) ## Signed API calls per second, engine vs reference vs Cedar, wildcard worst cases, a signed read through gunicorn
	$(PY) bench/signed_api.py -n $(BENCH_N)
	$(PY) bench/authz.py
	$(PY) bench/wildcards.py
	@if [ -n "$$DATABASE_URL" ]; then $(PY) bench/signed_read.py; else echo "bench/signed_read.py (gunicorn, PostgreSQL, Redis) runs when DATABASE_URL and REDIS_URL are set"; fi
