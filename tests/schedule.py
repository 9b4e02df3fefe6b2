"""The order of the tests for ``make test`` (``-n 2 --dist worksteal``).

pytest-xdist's work stealing first splits the collected list into one contiguous chunk per
worker (a worker gets ``len(rest) // workers_left`` of the rest); a worker that runs dry then
steals half of another's queue, counted in tests, from its end, and never the last two. With
the slow tests in one block at the front of the list, they all fell in the first chunk, behind
the browser book test: the other worker ran through its fast tests and stole more fast ones,
and the slow tests ran last, a long tail after the book (``benchmarks/test_timing.md``).

:func:`worksteal_order` lays the list out for that split: the longest test (the book test)
heads the first chunk, with fast tests only behind it; the other slow tests go to the other
chunks longest first, each to the chunk with the least expected time so far (LPT), and each of
those chunks runs its slow tests longest first. The fast tests fill every chunk to its size.
What a worker steals from another's end is then fast tests, then the shortest of its slow ones,
while the longest started at once. A slow test's expected time is its mark's ``seconds``
(``@pytest.mark.slow(seconds=60)``, about what it takes on 2 idle cores), :data:`SLOW_SECONDS`
without one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

#: the expected seconds of a slow test whose mark gives none
SLOW_SECONDS = 5.0


def chunk_sizes(total: int, workers: int) -> list[int]:
    """The sizes of xdist's first split of ``total`` tests over ``workers`` idle workers."""
    sizes, rest = [], total
    for left in range(workers, 0, -1):
        sizes.append(rest // left)
        rest -= sizes[-1]
    return sizes


def worksteal_order(
    items: Sequence[T], workers: int, seconds: Callable[[T], float | None]
) -> list[T]:
    """``items`` reordered for a first split over ``workers``. ``seconds(item)``: a slow test's
    expected seconds, None for a fast test. With one worker: the slow tests first, longest
    first, then the fast ones."""
    cost = {id(item): seconds(item) for item in items}
    slow = sorted((i for i in items if cost[id(i)] is not None), key=lambda i: -cost[id(i)])
    fast = [i for i in items if cost[id(i)] is None]
    if workers < 2:
        return slow + fast
    sizes = chunk_sizes(len(items), workers)
    chunks: list[list[T]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    if slow:  # the longest alone in the first chunk
        chunks[0].append(slow[0])
        load[0] = float("inf")
    for item in slow[1:]:  # never all full: the sizes add up to every test
        open_ = [k for k in range(workers) if len(chunks[k]) < sizes[k]]
        k = min(open_, key=lambda k: load[k])
        chunks[k].append(item)
        load[k] += cost[id(item)]
    rest = iter(fast)
    for chunk, size in zip(chunks, sizes):
        chunk.extend(next(rest) for _ in range(size - len(chunk)))
    return [item for chunk in chunks for item in chunk]
