"""The test suite in tiers (issue 25): ``make check`` runs the fast tier (``-m "not slow"``) for
the edit-test loop, ``make test`` everything. Every slow test names, in its docstring, a fast
sibling that checks the same behaviour on a small scale (``Fast sibling: :func:`name```, a test
of the same file, or ``path::name``): when a slow test cannot be run, something in the fast tier
still fails when that behaviour breaks."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

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
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []

    def send_runtest_some(self, indices) -> None:
        self.sent.extend(indices)


def first_split(names: list[str], workers: int) -> list[list[str]]:
    """What pytest-xdist's work stealing hands each worker first, by its own scheduler."""
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
def test_the_first_split_gives_every_worker_its_share_of_the_slow_tests(workers):
    from tests.schedule import chunk_sizes, worksteal_order

    names = [f"fast{i}" for i in range(40)] + ["BOOK"] + [f"slow{i}" for i in range(9)]
    order = worksteal_order(
        names, workers, slow=lambda n: "slow" in n, longest=lambda n: n == "BOOK"
    )
    assert sorted(order) == sorted(names)
    chunks = first_split(order, workers)
    assert [len(c) for c in chunks] == chunk_sizes(len(names), workers)
    assert chunks[0][0] == "BOOK" and not any("slow" in n for n in chunks[0])
    shares = [sum("slow" in n for n in chunk) for chunk in chunks[1:]]
    assert sum(shares) == 9 and max(shares) - min(shares) <= 1
    for chunk in chunks:  # each worker starts on its slow tests
        kinds = ["fast" in n for n in chunk]
        assert kinds == sorted(kinds), chunk


def test_one_worker_or_too_many_slow_tests_keep_the_plain_order():
    from tests.schedule import worksteal_order

    names = ["fast0", "slow0", "BOOK", "slow1", "fast1"]
    plain = ["BOOK", "slow0", "slow1", "fast0", "fast1"]
    args = {"slow": lambda n: "slow" in n, "longest": lambda n: n == "BOOK"}
    assert worksteal_order(names, 1, **args) == plain
    assert worksteal_order(["slow0", "slow1", "slow2", "fast0"], 2, **args) == [
        "slow0",
        "slow1",
        "slow2",
        "fast0",
    ]
