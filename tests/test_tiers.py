"""The test suite in tiers (issue 25): ``make check`` runs the fast tier (``-m "not slow"``) for
the edit-test loop, ``make test`` everything. Every slow test names, in its docstring, a fast
sibling that checks the same behaviour on a small scale (``Fast sibling: :func:`name```, a test
of the same file, or ``path::name``): when a slow test cannot be run, something in the fast tier
still fails when that behaviour breaks."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SIBLING = re.compile(r"Fast sibling: :func:`(?:(?P<path>[\w/.]+)::)?(?P<name>\w+)`")


def _is_slow(node: ast.FunctionDef) -> bool:
    return any("mark.slow" in ast.unparse(d) for d in node.decorator_list)


def _tests(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")
    }


SLOW = [
    (path, name)
    for path in sorted(TESTS.rglob("test_*.py"))
    for name, node in _tests(path).items()
    if _is_slow(node)
]


def test_there_are_slow_tests_to_check():
    assert len(SLOW) >= 5


@pytest.mark.parametrize("path, name", SLOW, ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_slow_test_names_a_fast_sibling(path, name):
    docstring = ast.get_docstring(_tests(path)[name]) or ""
    found = SIBLING.search(docstring.replace("\n", " "))
    assert found, f"{path.name}::{name}: no 'Fast sibling: :func:`...`' in its docstring"
    where = TESTS.parent / found["path"] if found["path"] else path
    siblings = _tests(where)
    assert found["name"] in siblings, f"{name}: its sibling {found['name']} is not in {where.name}"
    assert not _is_slow(siblings[found["name"]]), f"{name}: its sibling is slow too"


# ----------------------------------------------------------------------------- the order
class _Worker:
    """A stand-in for an xdist worker: records the tests the scheduler sends it."""

    shutting_down = False

    def __init__(self, name: str) -> None:
        from types import SimpleNamespace

        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []

    def send_runtest_some(self, indices) -> None:
        self.sent.extend(indices)


def first_split(names: list[str], workers: int) -> list[list[str]]:
    """What pytest-xdist's work stealing hands each worker first, by its own scheduler."""
    from types import SimpleNamespace

    from xdist.scheduler import WorkStealingScheduling

    config = SimpleNamespace(getvalue=lambda name: [f"{workers}*popen"] if name == "tx" else None)
    scheduler = WorkStealingScheduling(config)
    nodes = [_Worker(f"gw{i}") for i in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
    for node in nodes:
        scheduler.add_node_collection(node, names)
    scheduler.schedule()
    return [[names[i] for i in node.sent] for node in nodes]


@pytest.mark.parametrize("workers", [2, 3])
def test_the_first_split_balances_the_slow_tests_expected_time(workers):
    from tests.schedule import chunk_sizes, worksteal_order

    cost = {"BOOK": 240.0, "COLAB": 65.0, "KILL": 58.0}
    cost |= {f"probe{i}": 30.0 for i in range(6)} | {f"wheel{i}": 0.1 for i in range(30)}
    names = [f"fast{i}" for i in range(120)] + sorted(cost)
    order = worksteal_order(names, workers, cost.get)
    assert sorted(order) == sorted(names)
    chunks = first_split(order, workers)
    assert [len(c) for c in chunks] == chunk_sizes(len(names), workers)
    assert chunks[0][0] == "BOOK" and all(n.startswith("fast") for n in chunks[0][1:])
    load = [sum(cost.get(n, 0.0) for n in chunk) for chunk in chunks[1:]]
    # longest first, each to the least loaded chunk: no two differ by more than the longest
    assert sum(load) == pytest.approx(sum(cost.values()) - 240.0) and max(load) - min(load) <= 65
    for chunk in chunks:  # each worker starts on its slow tests, longest first
        costs = [cost.get(n, -1.0) for n in chunk]
        assert costs == sorted(costs, reverse=True), chunk


def test_one_worker_runs_the_slow_tests_first_longest_first():
    from tests.schedule import worksteal_order

    cost = {"slow0": 5.0, "BOOK": 240.0, "slow1": 30.0}
    names = ["fast0", "slow0", "BOOK", "slow1", "fast1"]
    assert worksteal_order(names, 1, cost.get) == ["BOOK", "slow1", "slow0", "fast0", "fast1"]


def test_a_slow_marks_seconds_reach_the_order(pytester):
    """The conftest's hook reads ``@pytest.mark.slow(seconds=...)``: the longest runs first."""
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.makepyfile(
        test_order="""
import pytest

def test_fast():
    pass

@pytest.mark.slow
def test_default():
    pass

@pytest.mark.slow(seconds=100)
def test_long():
    pass
"""
    )
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    lines = [line for line in result.outlines if "PASSED" in line]
    assert [line.split("::")[1].split()[0] for line in lines] == [
        "test_long",
        "test_default",
        "test_fast",
    ]
