"""Where and how a run executes: seeds, device, mixed precision (:mod:`mner_lib.models.precision`), and
what the run records about the machine and the code (commit: :func:`mner_lib.training.runfolder.provenance`;
versions, hardware)."""

from __future__ import annotations

import os
import platform
import random
import sys
from typing import Any

import numpy as np
import torch

from mner_lib.io.allocator import tune_allocator
from mner_lib.models.precision import autocast, resolve_precision
from mner_lib.training.config import DEVICES
from mner_lib.training.runfolder import provenance
from mner_lib.training.runstate import code_label


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def pick_device(name: str) -> torch.device:
    if name not in DEVICES:
        raise ValueError(f"device {name!r} is not one of: {', '.join(DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' asked for but no GPU is available; use --device auto or cpu"
        )
    return torch.device(name)


__all__ = [
    "autocast",
    "environment_info",
    "git_commit",
    "pick_device",
    "provenance",
    "resolve_precision",
    "set_seed",
]


def git_commit() -> str:
    """``<sha>``, ``<sha>+dirty`` for a tree with uncommitted changes, or ``unknown``."""
    return code_label(provenance())


def environment_info(device: torch.device, precision: str | None = None) -> dict[str, Any]:
    """Where a run executed. ``precision``: the run's setting, recorded as what it resolved to
    here ("auto" is bf16 on a GPU or a CPU with AMX-BF16, else fp32: the same command trains in
    another precision on another machine). transformers' version is read from its package
    metadata: importing it costs a run that does not use it 1 to 2 s."""
    from importlib.metadata import version

    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": version("transformers"),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "malloc": tune_allocator(),  # glibc's thresholds: how fast, not what it computes
    }
    if precision is not None:
        info["precision"] = resolve_precision(precision, device)
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
