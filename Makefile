# Two commands do all the set-up on a fresh machine:
#   make book   creates .venv if missing, installs, executes the notebooks (quick profile), builds the HTML book
#   make test   creates .venv if missing, installs, runs the tests
# Both are idempotent: the install step re-runs only when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROFILE ?= quick
# The shared benchmark data, when it sits beside the checkout (override with MNER_DATA_DIR=...).
SHARED_DATA := $(wildcard ../shared/data)
export MNER_DATA_DIR ?= $(if $(SHARED_DATA),$(abspath $(SHARED_DATA)),)
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: install book test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, by exact version: pip takes the local wheels where they exist
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

book: $(STAMP)
	$(PY) -m mner_lib book run --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m ruff check mner_lib tests benchmarks
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check mner_lib tests benchmarks
	$(PY) -m ruff format --check mner_lib tests benchmarks

format: $(STAMP)
	$(PY) -m ruff format mner_lib tests benchmarks
	$(PY) -m ruff check --fix mner_lib tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_foundation.py

clean:
	rm -rf _build book/_executed .pytest_cache
