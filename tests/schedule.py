"""The order of the tests for ``make test`` (``-n 2 --dist worksteal``).

pytest-xdist's work stealing first splits the collected list into one contiguous chunk per
worker (a worker gets ``len(rest) // workers_left`` of the rest); a worker that runs dry then
steals half of another's queue, from its end. With the slow tests in one block at the front of
the list, they all fell in the first chunk, behind the browser book test: the other worker ran
through its fast tests and stole more fast ones, and the slow tests ran last, on both cores, a
long tail after the book (``benchmarks/test_timing.md``). :func:`worksteal_order` lays the list
out so that the split itself is balanced: the longest test heads the first chunk, the other slow
tests head the other chunks (round robin; the first chunk gets some only when there is one
worker), and the fast tests fill every chunk to its size. Stealing then evens out the fast tail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunk_sizes(total: int, workers: int) -> list[int]:
    """The sizes of xdist's first split of ``total`` tests over ``workers`` idle workers."""
    sizes, rest = [], total
    for left in range(workers, 0, -1):
        sizes.append(rest // left)
        rest -= sizes[-1]
    return sizes


def worksteal_order(
    items: Sequence[T], workers: int, slow: Callable[[T], bool], longest: Callable[[T], bool]
) -> list[T]:
    """``items`` reordered for a first split over ``workers``; the longest and slow tests first
    (in their order) when there is one worker, or when the slow tests outnumber what the chunks
    hold (``-m slow``, a few selected tests)."""
    first = [i for i in items if longest(i)]
    slows = [i for i in items if slow(i) and not longest(i)]
    fast = [i for i in items if not slow(i) and not longest(i)]
    simple = first + slows + fast
    if workers < 2:
        return simple
    chunks: list[list[T]] = [list(first)] + [[] for _ in range(workers - 1)]
    for n, item in enumerate(slows):
        chunks[1 + n % (workers - 1)].append(item)
    sizes = chunk_sizes(len(items), workers)
    if any(len(chunk) > size for chunk, size in zip(chunks, sizes)):
        return simple
    rest = iter(fast)
    for chunk, size in zip(chunks, sizes):
        chunk.extend(next(rest) for _ in range(size - len(chunk)))
    return [item for chunk in chunks for item in chunk]
