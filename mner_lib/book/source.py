"""The code behind an equation: a chapter shows the library's own source of the function or class
that implements it, read with :mod:`inspect` when the notebook runs, so the page cannot drift from
the code (a renamed function fails the chapter's build instead of showing stale code).

``show_source((hierarchical_attention, "eq. 8-13"), (SelfAdaptiveIntegration, "eq. 17-18"))``
displays one collapsed block per object (HTML ``<details>``, in the book as in Jupyter or Colab):
the equations it implements, its qualified name, its file relative to the repository and line
range, and the source, highlighted.
"""

from __future__ import annotations

import html
import inspect
import textwrap
from pathlib import Path
from typing import Any

import mner_lib

PACKAGE_ROOT = Path(mner_lib.__file__).resolve().parent.parent


def source_of(obj: Any) -> tuple[str, str, int, int]:
    """``(qualified name, file relative to the repository, first line, last line)`` of a
    function, method or class of :mod:`mner_lib`; anything else is a one-line error."""
    target = inspect.unwrap(obj)
    if not (inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target)):
        raise TypeError(f"show_source: {obj!r} is not a function, method or class")
    module = getattr(target, "__module__", "") or ""
    if not module.startswith("mner_lib"):
        raise ValueError(f"show_source: {target.__qualname__} is not mner_lib's ({module})")
    lines, first = inspect.getsourcelines(target)
    path = Path(inspect.getsourcefile(target)).resolve()
    try:
        shown = path.relative_to(PACKAGE_ROOT).as_posix()
    except ValueError:  # installed elsewhere: name the module's file inside the package
        shown = f"{module.replace('.', '/')}.py"
    return f"{module}.{target.__qualname__}", shown, first, first + len(lines) - 1


def source_block(obj: Any, label: str = "") -> str:
    """The HTML of one collapsed block holding ``obj``'s source (highlighted with pygments)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    name, path, first, last = source_of(obj)
    code = textwrap.dedent(inspect.getsource(inspect.unwrap(obj)))
    body = highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True))
    what = f" ({html.escape(label)})" if label else ""
    return (
        '<details class="mner-source"><summary>The code'
        f"{what}: <code>{html.escape(name)}</code> in <code>{html.escape(path)}</code>, "
        f"lines {first}-{last}</summary>\n{body}</details>"
    )


class Source:
    """What :func:`show_source` displays: HTML for the book and Jupyter, the plain source for a
    text-only front end."""

    def __init__(self, objects: tuple[Any, ...], label: str):
        if not objects:
            raise ValueError("show_source needs at least one function or class")
        self.items = [o if isinstance(o, tuple) else (o, label) for o in objects]
        for obj, _ in self.items:
            source_of(obj)  # a wrong object fails where the chapter names it

    def _repr_html_(self) -> str:
        return "\n".join(source_block(obj, label) for obj, label in self.items)

    def __repr__(self) -> str:
        parts = []
        for obj, _ in self.items:
            name, path, first, last = source_of(obj)
            code = textwrap.dedent(inspect.getsource(inspect.unwrap(obj)))
            parts.append(f"# {name} ({path}, lines {first}-{last})\n{code}")
        return "\n".join(parts)


def show_source(*objects: Any, label: str = "") -> Source:
    """The source of ``objects`` (functions, methods, classes of :mod:`mner_lib`, or
    ``(object, label)`` pairs), each in a collapsed block; a label names the equations the object
    implements (``label`` for those given without one). A cell's last value, or
    ``display(show_source(...))``."""
    return Source(objects, label)
