# Two commands do all the set-up on a fresh machine:
#   make book   creates .venv if missing, installs, executes the notebooks (quick profile), builds the HTML book
#   make test   creates .venv if missing, installs, runs the tests (make check: the fast tier)
# Both are idempotent: the install step re-runs only when pyproject.toml or requirements.lock
# changes. Both install the exact, locked environment (requirements.lock); `make lock` rewrites
# the lock from pyproject.toml's ranges, keeping every pin the ranges still admit.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
PROFILE ?= quick
# The shared benchmark data, when it sits beside the checkout (override with MNER_DATA_DIR=...).
SHARED_DATA := $(wildcard ../shared/data)
export MNER_DATA_DIR ?= $(if $(SHARED_DATA),$(abspath $(SHARED_DATA)),)
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
# Byte-code caches on, whatever the shell says: with PYTHONDONTWRITEBYTECODE set (as on the
# project's machines) every test process and every `python -m mner_lib` a test starts compiles
# mner_lib and the tests again (about 5 of the 15 s a test worker spent collecting).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install lock book test check lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, at the locked version: pip takes the local wheels where they exist
	$(PY) -m pip install --quiet -c $(LOCK) torch torchvision
	$(PY) -m pip install --quiet -c $(LOCK) -e ".[book,test]"
	touch $(STAMP)

# Resolve pyproject.toml's ranges (with the book and test extras) for Python 3.11.5 to 3.13 on every
# platform, preferring the pins already in the lock; `make lock UPGRADE=--upgrade` moves every pin to
# the newest release the ranges admit. Then `make install` (the stamp is older than the lock).
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet "uv>=0.13.9"
	$(PY) -m uv pip compile pyproject.toml --extra book --extra test --universal \
	    --python-version 3.11.5 --custom-compile-command "make lock" --quiet $(UPGRADE) -o $(LOCK)

# A second `make book` redoes only what changed (mner_lib/book/cache.py): a chapter runs again when
# its notebook, parameters, the library, results/ or its data folder changed (the log says which),
# and jupyter-book runs only when the staged pages, results/ or the library changed.
# `$(PY) -m mner_lib book run --profile $(PROFILE) --force` executes and builds everything again.
book: $(STAMP)
	$(PY) -m mner_lib book run --profile $(PROFILE)

# Everything (CI runs this): lint, the import contract of .importlinter (the layers of
# docs/ARCHITECTURE.md, no cycles), then every test on both cores, the 15 slowest listed.
test: $(STAMP)
	$(PY) -m ruff check mner_lib tests benchmarks
	@out=$$($(VENV)/bin/lint-imports --no-cache 2>&1) || { echo "$$out"; exit 1; }; echo "$$out" | tail -n 4
	$(PY) -m pytest -q -n 2 --dist worksteal --durations=15

# The fast tier for the edit-test loop (under a minute): lint, the contract, every test not
# marked slow (each slow test has a fast sibling there).
check: $(STAMP)
	$(PY) -m ruff check mner_lib tests benchmarks
	@out=$$($(VENV)/bin/lint-imports --no-cache 2>&1) || { echo "$$out"; exit 1; }; echo "$$out" | tail -n 4
	$(PY) -m pytest -q -n 2 --dist worksteal -m "not slow"

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
