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
