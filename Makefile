# nautilus-gateway: `make run` opens the console on a demo workspace, `make test` runs everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python >= 3.12: $(PYTHON) if given, else the first python3.12/3.13/3.14 that really runs
# (a pyenv shim for a version that is not selected exists but fails).
PYTHON ?= $(shell for p in python3.12 python3.13 python3.14 $$HOME/.pyenv/versions/3.1[234]*/bin/python3; do \
	$$p -c 'import sys; assert (3, 12) <= sys.version_info < (3, 15)' 2>/dev/null && { command -v $$p; break; }; done)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
# Compile site-packages once at install: otherwise, where bytecode may not be written
# (PYTHONDONTWRITEBYTECODE), every node host compiles Nautilus, pandas and arrow again at
# each launch (measured: importing BacktestNode 1.59 s from source, 0.56 s compiled).
export UV_COMPILE_BYTECODE := 1

.PHONY: help setup setup-dev system-deps redis-server run demo test test-fast lint fmt bench clean

help:
	@echo "make run    set up .venv, create the demo workspace if missing, open the console"
	@echo "make test   set up .venv with dev tools, then lint and the whole suite"
	@echo "make lint   ruff, mypy, import-linter"
	@echo "make bench  benchmarks in bench/ (prints the README's performance figures)"

$(UV):
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.12 not found; pass PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.runtime: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --no-dev
	@touch $@

$(VENV)/.dev: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@ $(VENV)/.runtime

# Our own modules too: node hosts and the CLI start in fresh interpreters, and compiling the
# engine's modules from source costs every launch tens of milliseconds. compileall skips
# what is up to date; a stale .pyc is never used (Python checks the source's mtime).
setup: $(VENV)/.runtime redis-server
	@$(BIN)/python -m compileall -q -j 0 console engine widgets >/dev/null
setup-dev: $(VENV)/.dev system-deps
	@$(BIN)/python -m compileall -q -j 0 console engine widgets >/dev/null

# System packages the tests drive: tmux (a real terminal for the console test),
# dbus-daemon + gnome-keyring (a real Secret Service for the keyring tests), redis-server.
system-deps: redis-server
	@command -v tmux >/dev/null && command -v dbus-daemon >/dev/null && command -v gnome-keyring-daemon >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends tmux dbus gnome-keyring; }

# Sandbox and live nodes keep their state in Redis; without a URL in settings.json the
# gateway runs its own redis-server for the workspace (engine/state/redis_server.py).
redis-server:
	@command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server; } || { echo "error: redis-server is missing and could not be installed (apt-get install redis-server as root)" >&2; exit 1; }

demo: setup
	@$(BIN)/gateway demo init --if-missing

run: demo
	$(BIN)/gateway

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest -n 2 --dist loadgroup --durations=15

bench: setup-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache
