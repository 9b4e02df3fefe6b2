"""glibc's memory allocator set for PyTorch on the CPU: freed tensor memory is kept for the next
tensor instead of going back to the system and being faulted in again, page by page.

Left as it is, glibc serves each block above an adaptive threshold (128 KiB to 32 MiB) with a
``mmap`` of its own, unmapped when freed, and returns the free top of its heap to the system once
it exceeds twice that threshold. A network allocates and frees its activations at every layer, so
each pass zeroes and faults its memory in again: EfficientNet-Lite0 on a batch of 16 spent about
half of its time in the kernel here, and ran 1.99x faster tuned (benchmarks/allocator.md). With
the settings below every block comes from the heap, and up to :data:`TRIM_THRESHOLD` of free
memory stays there. The results are the same, bit for bit (the backbone's outputs hash the same
both ways); a process holds on to up to that much freed memory.

:func:`tune_allocator` sets them once per process with ``mallopt``. It does nothing where the C
library is not glibc (macOS, Windows, musl), when the environment already sets glibc's malloc
tunables (``GLIBC_TUNABLES`` or a ``MALLOC_*_`` variable), or when ``MNER_TUNE_MALLOC=0``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

#: mallopt's parameter numbers (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
#: the mmap threshold fixed (glibc's largest on 64-bit), which stops its adaptation
MMAP_THRESHOLD = 32 * 1024 * 1024
#: how many blocks may have a mmap of their own: none, every block comes from the heap
MMAP_MAX = 0
#: the free top of the heap is returned to the system only above this size
TRIM_THRESHOLD = 256 * 1024 * 1024
#: set to 0 to leave the allocator as the C library sets it
ENV_SWITCH = "MNER_TUNE_MALLOC"
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


@functools.cache
def tune_allocator() -> str:
    """Set glibc's thresholds (once per process); what happened, in a word: ``"tuned"``,
    ``"off"`` (``MNER_TUNE_MALLOC=0``), ``"user"`` (the environment sets malloc's settings) or
    ``"unsupported"`` (no glibc ``mallopt``)."""
    if os.environ.get(ENV_SWITCH, "1").strip() == "0":
        return "off"
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "") or any(
        os.environ.get(name) for name in USER_SETTINGS
    ):
        return "user"
    mallopt = _mallopt()
    if mallopt is None:
        return "unsupported"
    settings = (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (M_MMAP_MAX, MMAP_MAX),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    )
    ok = [mallopt(param, value) == 1 for param, value in settings]
    return "tuned" if all(ok) else "unsupported"


def _mallopt():
    """glibc's ``mallopt``, or None where the C library is another or has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's name (musl's libc is another file)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt
