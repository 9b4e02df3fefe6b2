"""glibc's allocator set for PyTorch (mner_lib.io.allocator): freed activations are reused, not
faulted in again; the switches that leave it alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mner_lib.io import allocator
from mner_lib.training.runtime import environment_info

ROOT = Path(__file__).resolve().parent.parent

#: a process that runs a convolution 20 times on 6 MB activations and reports its page faults
FAULTS = """
import hashlib, json, resource, torch
from mner_lib.io.allocator import tune_allocator
state = tune_allocator()
torch.manual_seed(0)
x = torch.rand(8, 16, 112, 112)
conv = torch.nn.Conv2d(16, 16, 3, padding=1)
with torch.no_grad():
    conv(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        y = torch.relu(conv(x)) + x
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
digest = hashlib.sha256(y.numpy().tobytes()).hexdigest()
print(json.dumps({"state": state, "faults": after - before, "output": digest}))
"""


def faults(**env: str) -> dict:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", allocator.ENV_SWITCH)
    }
    out = subprocess.run(
        [sys.executable, "-c", FAULTS],
        env={**clean, "OMP_NUM_THREADS": "1", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(allocator._mallopt() is None, reason="not glibc: mallopt is not there")
def test_tuned_allocator_reuses_freed_activations_instead_of_faulting_them_in():
    """Two processes (about 5 s): the tuned allocator faults in far fewer pages, and the
    network's output is the same bit for bit.

    Fast sibling: :func:`test_tunes_once_every_block_from_the_heap` (the settings it makes)."""
    tuned, default = faults(), faults(MNER_TUNE_MALLOC="0")
    assert (tuned["state"], default["state"]) == ("tuned", "off")
    # each pass frees and allocates about 13 MB: about 3,000 pages faulted in again when the
    # blocks go back to the system (62,000 in 20 passes here), under 5,000 in all when tuned
    assert tuned["faults"] * 4 < default["faults"], (tuned, default)
    assert tuned["output"] == default["output"]


@pytest.fixture
def uncached():
    """tune_allocator with nothing decided yet, and forgotten again after the test."""
    allocator.tune_allocator.cache_clear()
    yield
    allocator.tune_allocator.cache_clear()


@pytest.fixture
def fresh(uncached, monkeypatch):
    """tune_allocator as in a new process: nothing decided yet, mallopt recorded, not called."""
    calls = []
    monkeypatch.setattr(allocator, "_mallopt", lambda: lambda p, v: calls.append((p, v)) or 1)
    for name in (allocator.ENV_SWITCH, "GLIBC_TUNABLES", *allocator.USER_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_tunes_once_every_block_from_the_heap(fresh):
    assert allocator.tune_allocator() == "tuned"
    assert allocator.tune_allocator() == "tuned"
    assert fresh == [
        (allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD),
        (allocator.M_MMAP_MAX, 0),
        (allocator.M_TRIM_THRESHOLD, allocator.TRIM_THRESHOLD),
    ]


@pytest.mark.parametrize(
    "name, value, state",
    [
        ("MNER_TUNE_MALLOC", "0", "off"),
        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1000000", "user"),
        ("MALLOC_TRIM_THRESHOLD_", "1000000", "user"),
    ],
)
def test_leaves_the_allocator_alone_when_told_or_already_set(
    fresh, monkeypatch, name, value, state
):
    monkeypatch.setenv(name, value)
    assert allocator.tune_allocator() == state
    assert fresh == []


def test_other_tunables_do_not_count_as_malloc_settings(fresh, monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F")
    assert allocator.tune_allocator() == "tuned"


def test_without_glibc_nothing_is_called(uncached, monkeypatch):
    monkeypatch.delenv(allocator.ENV_SWITCH, raising=False)
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator._mallopt() is None
    assert allocator.tune_allocator() == "unsupported"


def test_a_run_records_what_its_allocator_was(fresh, monkeypatch):
    monkeypatch.setenv(allocator.ENV_SWITCH, "0")
    assert environment_info(torch.device("cpu"))["malloc"] == "off"
