"""Numeric precision of training and inference: fp32 or bf16 autocast, chosen per device.

``resolve_precision("auto", device)`` gives ``"bf16"`` on a CUDA GPU and on a CPU with AMX-BF16
tile units (``amx_bf16`` in ``/proc/cpuinfo``), else ``"fp32"``. A CPU with AVX512-BF16 but no
AMX gets fp32: on such a CPU (Sapphire Rapids with AMX hidden by its VM, the project's machines)
a MiniLM training step under bf16 autocast measured 1.3-1.6x *slower* than fp32
(``benchmarks/speed_after.md``), since only the matrix products gain and every cast costs.
``MNER_BF16_AVX512=1`` counts AVX512-BF16 as enough (for CPUs where it pays). ``"fp32"`` and ``"bf16"`` are taken as given
(``"bf16"`` on a CPU without bf16 units still works, emulated and slow: it is the user's
choice). ``$MNER_PRECISION`` overrides ``"auto"`` (a switch for a whole sweep).

``autocast(device, precision)`` is the context the trainer runs forward passes in: bf16 autocast
for ``"bf16"``, a disabled autocast for ``"fp32"``. Under autocast, matrix products and
convolutions run in bf16, reductions and everything else in fp32. The CRF must stay in fp32: its
forward algorithm sums exp-scores over whole tweets, where bf16's 8 bits of mantissa lose the
gold path's score against the partition function; :class:`mner_lib.models.crf.CRF` casts its emissions
to fp32 and uses no autocast-listed op, so it runs in fp32 inside this context (tested in
``tests/test_precision.py``).
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from pathlib import Path

import torch

#: the choices of a run's ``precision`` setting (:class:`mner_lib.training.config.TrainConfig`)
PRECISIONS = ("auto", "fp32", "bf16")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of ``/proc/cpuinfo`` (empty where there is no such file)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_bf16() -> bool:
    """True when bf16 autocast pays on this CPU: AMX-BF16 units (or AVX512-BF16 with
    ``MNER_BF16_AVX512=1``)."""
    flags = cpu_flags()
    if "amx_bf16" in flags:
        return True
    return os.environ.get("MNER_BF16_AVX512") == "1" and "avx512_bf16" in flags


def _device_type(device: torch.device | str) -> str:
    return torch.device(device).type


def resolve_precision(name: str, device: torch.device | str) -> str:
    """``"fp32"`` or ``"bf16"`` for ``name`` ("auto", "fp32" or "bf16") on ``device``."""
    if name not in PRECISIONS:
        raise ValueError(f"precision: unknown value {name!r}; valid: {', '.join(PRECISIONS)}")
    if name == "auto":
        env = os.environ.get("MNER_PRECISION", "").strip()
        if env and env != "auto":
            if env not in PRECISIONS:
                raise ValueError(
                    f"$MNER_PRECISION: unknown value {env!r}; valid: {', '.join(PRECISIONS)}"
                )
            return env
        kind = _device_type(device)
        if kind == "cuda":
            return "bf16"
        if kind == "cpu" and cpu_has_bf16():
            return "bf16"
        return "fp32"
    return name


def autocast(
    device: torch.device | str, precision: str = "auto"
) -> contextlib.AbstractContextManager:
    """The autocast context of ``precision`` (resolved with :func:`resolve_precision`) on
    ``device``: bf16 autocast, or autocast disabled for fp32."""
    kind = _device_type(device)
    resolved = resolve_precision(precision, device)
    if kind not in ("cpu", "cuda"):
        return contextlib.nullcontext()
    if resolved == "bf16":
        return torch.autocast(kind, dtype=torch.bfloat16)
    return torch.autocast(kind, enabled=False)
