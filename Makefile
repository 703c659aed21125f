# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Arguments for the demo, e.g. `make demo DEMO_ARGS="--lr 2 --loss bce"`.
DEMO_ARGS ?=

.PHONY: demo test test-all docs notebook bench bench-quick lint clean fuzz

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
	$(PY) tests/project/fuzz/run.py --programs $(or $(FUZZ_PROGRAMS),10000)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

# The documentation site (mkdocs, Material, mkdocstrings, the notebook) into build/site; --strict fails on a
# broken link or reference; then docstring coverage (interrogate, settings in pyproject.toml).
docs: $(VENV)/.installed-dev
	$(VENV)/bin/mkdocs build --strict
	$(VENV)/bin/interrogate src/chainrule

# Re-run docs/notebooks/why-backprop.ipynb and keep its outputs (the site shows them; the suite re-runs it).
notebook: $(VENV)/.installed-dev
	$(PY) -c "import nbformat, nbclient; path = 'docs/notebooks/why-backprop.ipynb'; nb = nbformat.read(path, 4); \
	nbclient.NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': 'docs/notebooks'}}).execute(); \
	nbformat.write(nb, path)"

# Everything CI runs, nothing skipped: every extra (PyTorch included), Debian's chromium for the browser tests,
# and the suite with the CHAINRULE_REQUIRE_* switches, so a missing piece fails instead of skipping.
test-all: $(VENV)/bin/python
	$(PIP) install -q -e '.[dev,compare]'
	touch $(VENV)/.installed-dev $(VENV)/.installed-all
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for the browser tests (needs root)"; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	CHAINRULE_REQUIRE_TORCH=1 CHAINRULE_REQUIRE_BROWSER=1 CHAINRULE_REQUIRE_EXTRAS=1 $(PY) -m pytest

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis .mypy_cache
