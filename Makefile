# Two commands do everything on a fresh machine:
#   make demo   set up, then run the demo task on embedded defaults
#   make test   set up, then run the linters and the whole test suite
#
# Each checkout gets its own Python environment in .venv (uv's cache makes that quick);
# the slow, shareable artefacts (Kubo, the Rust target directory) live under
# ~/.cache/fl-app, so a second checkout sets up in a minute or two.

CACHE    ?= $(HOME)/.cache/fl-app
VENV     ?= $(CURDIR)/.venv
PY       := $(VENV)/bin/python
STAMPS   := build/stamps
export CARGO_TARGET_DIR ?= $(CACHE)/target
export PYO3_PYTHON ?= $(PY)
export RUST_LOG ?= off
export FL_APP_VENV := $(VENV)
export PATH := $(VENV)/bin:$(CACHE)/bin:$(PATH)

.PHONY: setup chain threshold demo test lint bench clean

setup: $(STAMPS)/python $(STAMPS)/ipfs $(STAMPS)/browser $(STAMPS)/js chain threshold

# uv installs from its cache under ~/.cache/uv by hard links: torch's gigabytes land in a
# new venv in seconds where pip unpacks them again (minutes). Bytecode is compiled at
# install, as pip does: every ClientApp message starts a Python process, and with
# PYTHONDONTWRITEBYTECODE set each would compile torch and Flower again.
$(VENV)/bin/python:
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip wheel 'uv==0.12.24'

$(STAMPS)/python: pyproject.toml strategy/pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) \
		--editable ./strategy --editable '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/ipfs: scripts/setup_ipfs.sh
	bash scripts/setup_ipfs.sh
	@mkdir -p $(STAMPS) && touch $@

# Debian's Chromium, for the dashboard's browser test.
$(STAMPS)/browser: scripts/setup_browser.sh
	bash scripts/setup_browser.sh
	@mkdir -p $(STAMPS) && touch $@

# @solana/web3.js and @coral-xyz/anchor from npm, for the local chain's acceptance test.
$(STAMPS)/js: scripts/setup_js.sh tests/js/package.json tests/js/package-lock.json
	bash scripts/setup_js.sh
	@mkdir -p $(STAMPS) && touch $@

# Builds the embedded chain (the staking program inside an in-process Solana runtime)
# in release mode into a wheel under ~/.cache/fl-app/wheels, reused while the Rust
# sources are unchanged, and installs it into the venv.
chain: $(STAMPS)/python
	bash scripts/setup_chain.sh

# Builds the threshold CKKS engine (Go, Lattigo) into ~/.cache/fl-app/lib; skips itself
# when the Go sources are unchanged.
threshold:
	bash scripts/setup_threshold.sh

demo: setup
	$(VENV)/bin/fl-app demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	bash scripts/check_idl.sh
	cargo fmt --all -- --check
	cargo clippy -j 2 --workspace --all-targets -- -D warnings
	test -z "$$(gofmt -l native/threshold_ckks)" || { gofmt -l native/threshold_ckks; exit 1; }
	cd native/threshold_ckks && go vet ./...

test: lint
	cargo test -j 2 -p staking -p staking-harness
	cd native/threshold_ckks && go test ./...
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/round_bench.py
	$(PY) benchmarks/round_bench.py --local-epochs 5
	$(PY) benchmarks/traffic_bench.py
	$(PY) benchmarks/scoring_bench.py
	$(PY) benchmarks/fairness.py
	$(PY) benchmarks/chain_bench.py
	$(PY) benchmarks/ipfs_verify.py
	$(PY) benchmarks/threshold_bench.py

clean:
	rm -rf build
