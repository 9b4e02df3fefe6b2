"""A time limit for a test body that could block (opening a FIFO): it fails instead of hanging."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def deadline(seconds: int = 20) -> Iterator[None]:
    """Raise TimeoutError in the body after ``seconds`` (SIGALRM: the main thread, Unix)."""

    def expire(*_):
        raise TimeoutError(f"blocked for {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
