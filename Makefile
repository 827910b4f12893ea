# The two commands: `make run` (the portal, with demo data) and `make test` (the whole suite).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/portal
REDIS ?= redis://127.0.0.1:6379/0

.PHONY: install run test lint checks bench check-services messages

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The compiled catalogues are built from locale/*/LC_MESSAGES/django.po (Debian's gettext).
messages: install
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules --ignore=staticfiles

run: install messages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	bin/run-portal

check-services: install
	@DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" REDIS_URL="$${REDIS_URL:-$(REDIS)}" $(BIN)/python bin/check-services

# The checks CI and pre-commit run before the tests; each one fails the build.
checks: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/mypy

test: checks check-services messages
	DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" REDIS_URL="$${REDIS_URL:-$(REDIS)}" $(BIN)/pytest $(PYTEST_ARGS)

lint: checks

bench: check-services
	DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" REDIS_URL="$${REDIS_URL:-$(REDIS)}" $(BIN)/python benchmarks/run_all.py
