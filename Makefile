# Two commands do everything on a fresh machine:
#   make demo   set up, then run the demo task on embedded defaults
#   make test   set up, then run the linters and the whole test suite
#
# Heavy, reusable artefacts live under ~/.cache/fl-app (Python environment, Kubo,
# Rust target directory), so a second checkout sets up in seconds.

CACHE    ?= $(HOME)/.cache/fl-app
VENV     ?= $(CACHE)/venv
PY       := $(VENV)/bin/python
STAMPS   := build/stamps
export CARGO_TARGET_DIR ?= $(CACHE)/target
export PATH := $(VENV)/bin:$(CACHE)/bin:$(PATH)

.PHONY: setup demo test lint bench clean

setup: $(STAMPS)/python $(STAMPS)/ipfs

$(VENV)/bin/python:
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip wheel

$(STAMPS)/python: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --editable '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/ipfs: scripts/setup_ipfs.sh
	bash scripts/setup_ipfs.sh
	@mkdir -p $(STAMPS) && touch $@

demo: setup
	$(VENV)/bin/fl-app demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/round_bench.py

clean:
	rm -rf build
