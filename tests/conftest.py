"""Shared fixtures. Tests use the shared data when ``MNER_DATA_DIR`` is set (CI sets it to
``../shared/data`` when that folder exists) and the shipped demo corpus otherwise."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

from mner_lib.io.allocator import tune_allocator
from tests.schedule import worksteal_order

# nbformat imports jsonschema, whose format checker imports rfc3987_syntax when it is installed
# (jupyter-events asks for it), and rfc3987_syntax compiles 38 Lark grammars at import: 3 to 8 s
# of every test process's collection on 2 cores. Nothing here validates the "iri" formats it
# checks, so a test process goes without it (jsonschema then skips those two formats). The
# book's own processes (papermill, jupyter-book) and a user's are unchanged.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Small models train fastest on one thread, and a busy machine does not oversubscribe it.
torch.set_num_threads(1)
# Freed tensors' memory kept for the next ones, as in a training run (mner_lib.io.allocator).
tune_allocator()


@pytest.fixture(scope="session")
def data_dir() -> Path | None:
    value = os.environ.get("MNER_DATA_DIR")
    return Path(value) if value else None


@pytest.fixture
def need_data(data_dir):
    """The shared data folder; the test is skipped (with the reason) where it is not set."""
    if data_dir is None or not (data_dir / "twitter2015").is_dir():
        pytest.skip("MNER_DATA_DIR is not set to the shared data folder")
    return data_dir


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A private feature cache, so tests never touch the user's cache."""
    path = tmp_path / "cache"
    monkeypatch.setenv("MNER_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def demo():
    """The demo corpus that ships with the package (read once per test process)."""
    from mner_lib.text.data import load_dataset

    return load_dataset("demo")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test writes caches (features, POS tags) under its session's temporary folder, never
    under the user's ``~/.cache/mner_lib`` (a test that asks for ``cache_dir`` gets its own)."""
    if "MNER_CACHE_DIR" not in os.environ or not os.environ["MNER_CACHE_DIR"].startswith(
        str(tmp_path_factory.getbasetemp())
    ):
        monkeypatch.setenv("MNER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def probe_cache(tmp_path_factory, monkeypatch) -> Path:
    """The feature cache of the synthetic probe runs, one for the whole session: under
    pytest-xdist the test processes share it (their common temporary folder), so a seed's probe
    drawings are drawn and encoded once, not once per process (about 40 s of CPU per seed and
    process on 2 cores). Concurrent writers are safe (mner_lib.images.cache: shards renamed
    whole, index lines appended in one write), and a seed's probe drawings are computed under a
    lock (``mner_lib.images.cache.computing``), so two processes never compute the same ones side
    by side."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path = root / "probe-cache"
    monkeypatch.setenv("MNER_CACHE_DIR", str(path))
    return path


#: the longest test (about a third of the suite's CPU time): started first, so that the other
#: worker runs everything else beside it (``make test``: ``-n 2 --dist worksteal``)
LONGEST = "test_quick_book_trains_every_model_and_renders_in_chromium"


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected: the list xdist splits
def pytest_collection_modifyitems(config, items):
    """The longest test first and the slow tests before the fast ones; under ``--dist
    worksteal``, laid out so that xdist's first split gives each worker its share of the slow
    tests (:func:`tests.schedule.worksteal_order`)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if config.getoption("dist", "no") != "worksteal":
        workers = 1
    items[:] = worksteal_order(
        items,
        workers,
        slow=lambda item: item.get_closest_marker("slow") is not None,
        longest=lambda item: item.name == LONGEST,
    )
