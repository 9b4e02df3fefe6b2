"""Where and how a run executes: seeds, device, mixed precision, and what the run records about
the machine and the code (commit, versions, hardware)."""

from __future__ import annotations

import contextlib
import os
import platform
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mner_lib.config import DEVICES, PRECISIONS


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


def resolve_precision(precision: str, device: torch.device) -> str:
    """``fp32`` or ``bf16`` for ``precision`` on ``device`` (``auto``: bf16 on a GPU)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of: {', '.join(PRECISIONS)}")
    try:
        from mner_lib import precision as _precision  # CPU bf16 detection, where present
    except ImportError:
        _precision = None
    if _precision is not None and hasattr(_precision, "resolve_precision"):
        return _precision.resolve_precision(precision, device)
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


def autocast(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """bf16 autocast where :func:`resolve_precision` says so, else nothing."""
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _git(*args: str) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parent.parent
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)


def provenance() -> dict[str, Any]:
    """The code a run came from: ``commit``, ``dirty`` and, for a dirty tree, the SHA-256 of
    ``git diff HEAD`` (so two dirty runs can be told apart); ``unknown`` outside a checkout."""
    import hashlib

    try:
        head = _git("rev-parse", "HEAD")
        commit = (head.stdout.strip() if head.returncode == 0 else "") or "unknown"
        if commit == "unknown":
            return {"commit": "unknown", "dirty": None, "diff_sha256": None}
        status = _git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        diff = _git("diff", "HEAD").stdout if status else ""
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None, "diff_sha256": None}
    digest = hashlib.sha256(diff.encode()).hexdigest() if status else None
    return {"commit": commit, "dirty": bool(status), "diff_sha256": digest}


def git_commit() -> str:
    """``<sha>``, ``<sha>+dirty`` for a tree with uncommitted changes, or ``unknown``."""
    info = provenance()
    return info["commit"] + ("+dirty" if info["dirty"] else "")


def environment_info(device: torch.device) -> dict[str, Any]:
    import transformers

    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
