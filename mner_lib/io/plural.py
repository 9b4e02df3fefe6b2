"""A count and its noun, spelled for a reader: ``1 seed``, ``3 seeds``, never ``3 seed(s)``.

Every text the book, the reports or a command shows with a number in it says the noun in the
form the number takes: :func:`counted` (``counted(2, "run")`` -> ``2 runs``) where the number
comes first, :func:`noun` where it stands elsewhere (``f"{noun(n, 'seed')} {seeds}"``). An
irregular plural is given (``counted(n, "entry", "entries")``).
"""

from __future__ import annotations


def noun(n: object, singular: str, plural: str | None = None) -> str:
    """``singular`` when ``n`` is 1 (or -1), else ``plural`` (default: ``singular + "s"``);
    a count not known (``None``) takes the plural."""
    return singular if n in (1, -1) else (plural if plural is not None else singular + "s")


def counted(n: object, singular: str, plural: str | None = None, fmt: str = "") -> str:
    """``n`` and its noun: ``1 seed``, ``0 seeds``, ``2.5 CPUs`` (``fmt`` formats the number,
    e.g. ``"g"``)."""
    return f"{n:{fmt}} {noun(n, singular, plural)}"
