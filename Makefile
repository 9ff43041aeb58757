# Two commands do all the set-up on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PYTHON := .venv/bin/python

.PHONY: install run test bench bench-scaling lint wrk

install:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || python3 -m pip install --user --quiet uv
	@# Bytecode written now: with PYTHONDONTWRITEBYTECODE set (as on the CI machine) every process, and the suite starts
	@# many, would otherwise compile every module it imports again (12 s -> 7 s for a service's imports, measured).
	@$(UV) sync --all-packages --frozen --quiet --compile-bytecode
	@$(PYTHON) -m compileall -q -j 0 kernel gateway services web >/dev/null

run: install
	@$(PYTHON) deploy/local/run.py

test: install
	@$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: install wrk
	@$(PYTHON) benchmarks/run.py

bench-scaling: install wrk
	@$(PYTHON) benchmarks/scaling.py

# The gateway benchmark's load generator (C, so it leaves the 2 cores to what it measures); without it, and without
# root to install it, the benchmark falls back to its aiohttp client and says so in its rows.
wrk:
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || echo "wrk not installed: the gateway benchmark uses its aiohttp load generator"
