# Two commands do all the set-up on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PYTHON := .venv/bin/python

.PHONY: install run test bench bench-scaling lint

install:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || python3 -m pip install --user --quiet uv
	@$(UV) sync --all-packages --frozen --quiet

run: install
	@$(PYTHON) deploy/local/run.py

test: install
	@$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: install
	@$(PYTHON) benchmarks/run.py

bench-scaling: install
	@$(PYTHON) benchmarks/scaling.py
