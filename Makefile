# Everyday jobs, one target each. Every target uses the project's virtualenv (.venv), made by
# `./scripts/test` or `make setup`; the README's commands and CI never need make.
#
#   make lint        ruff check and ruff format --check (what CI checks)
#   make format      ruff format and the fixable ruff fixes, in place
#   make types       mypy, strict
#   make test-fast   the tests that start no sqld and are not marked slow
#   make test        every test, as CI runs them (./scripts/test; ARGS="..." go to pytest)
#   make regenerate  stores/_compiled.py from the statements (after any SQL change)
#   make bench       the list of benchmarks; `make bench-NAME` runs benchmarks/NAME.py
#   make setup       the virtualenv with the test and dev extras, and the pre-commit hooks

VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: help setup lint format types test-fast test regenerate bench

help:
	@sed -n 's/^#   make /make /p' Makefile

setup:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test,dev]'
	$(VENV)/bin/pre-commit install

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

types:
	$(VENV)/bin/mypy

test-fast:
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow and not sqld" $(ARGS)

test:
	./scripts/test $(ARGS)

regenerate:
	$(PY) -m stores._build

bench:
	@echo "make bench-NAME runs benchmarks/NAME.py (README, 'More', says what each measures):"
	@ls benchmarks | sed -n 's/^\([a-z][a-z_]*\)\.py$$/  bench-\1/p'

bench-%:
	$(PY) benchmarks/$*.py $(ARGS)
