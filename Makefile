# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Arguments for the demo, e.g. `make demo DEMO_ARGS="--lr 2 --loss bce"`.
DEMO_ARGS ?=

.PHONY: demo test bench bench-quick lint clean fuzz

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed-all: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[all]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-all

demo: $(VENV)/.installed-all
	$(VENV)/bin/chainrule demo $(DEMO_ARGS)

test: $(VENV)/.installed-dev
	$(PY) -m pytest

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[all,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) -m benchmarks.run

bench-quick: $(VENV)/.installed-bench
	$(PY) -m benchmarks.run --quick

# 10,000 random programs through chainrule and PyTorch (values, gradients, every mode); `make test` runs 400.
fuzz: $(VENV)/.installed-dev
	$(PY) tests/fuzz/run.py --programs $(or $(FUZZ_PROGRAMS),10000)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
