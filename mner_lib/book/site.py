"""Checks of the built HTML book, offline: every internal link and anchor resolves, no page prints
a local absolute path or shows papermill's parameter cell, and MathJax comes from the book itself.

``python -m mner_lib.book.site _build/html`` prints each problem on one line and exits 1 when
there is any (the GitHub Pages workflow runs it after the build); the book test calls
:func:`problems` on the book it builds. External links are not followed (no network in CI).
"""

from __future__ import annotations

import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: an absolute path on a local machine, as a page could print it
LOCAL_PATH = re.compile(
    r"(?<![\w.:/-])(/(?:work|home|root|tmp|Users|private/var)/[\w.@+-][^\s\"'<>]*)"
)


class _Page(HTMLParser):
    """The ids, links and script sources of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(str(values[key]))
        for key in ("href", "src"):
            if values.get(key) and (tag != "script" or key == "href"):
                self.links.append(str(values[key]))
        if tag == "script" and values.get("src"):
            self.scripts.append(str(values["src"]))
            self.links.append(str(values["src"]))


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(errors="replace"))
    return page


def _pages(html_dir: Path) -> list[Path]:
    """The book's pages (not the theme's template snippets under ``_static``)."""
    return [p for p in sorted(Path(html_dir).rglob("*.html")) if "_static" not in p.parts]


def broken_links(html_dir: Path) -> list[str]:
    """Every internal ``href``/``src`` of every page whose file or ``#anchor`` does not exist."""
    html_dir = Path(html_dir)
    pages = {p: _parse(p) for p in _pages(html_dir)}
    found = []
    for page, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue  # external: not checked offline
            target = page if not parts.path else (page.parent / unquote(parts.path))
            target = Path(os.path.normpath(target))
            if target.is_dir():
                target = target / "index.html"
            where = page.relative_to(html_dir)
            if not target.exists():
                found.append(f"{where}: link {link!r}: no file {target.relative_to(html_dir)}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    found.append(f"{where}: link {link!r}: no anchor #{parts.fragment}")
    return found


def local_paths(html_dir: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """Every local absolute path (``/work/...``, ``/home/...``, and the ``extra`` folders)
    printed in a page or carried by a file the book offers for download (``_sources/``)."""
    found = []
    html_dir = Path(html_dir)
    for path in sorted(html_dir.rglob("*")):
        if path.suffix not in (".html", ".ipynb", ".md", ".txt", ".py") or "_static" in path.parts:
            continue
        text = path.read_text(errors="replace")
        hits = [m.group(1) for m in LOCAL_PATH.finditer(text)]
        hits += [e for e in extra if e and e in text]
        if hits:
            found.append(f"{path.relative_to(html_dir)}: local path {hits[0]!r}")
    return found


def plumbing(html_dir: Path) -> list[str]:
    """Pages that show papermill's injected parameters or load MathJax from the network."""
    found = []
    for path in _pages(html_dir):
        text = path.read_text(errors="replace")
        where = path.relative_to(html_dir)
        if "injected-parameters" in text or "# Parameters\n" in text:
            found.append(f"{where}: shows papermill's injected-parameters cell")
        for src in _parse(path).scripts:
            if "mathjax" in src.lower() and urlsplit(src).scheme:
                found.append(f"{where}: MathJax from the network ({src})")
    return found


def problems(html_dir: Path, extra_paths: tuple[str, ...] = ()) -> list[str]:
    """All the checks of this module on a built book."""
    return broken_links(html_dir) + local_paths(html_dir, extra_paths) + plumbing(html_dir)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mner_lib.book.site",
        description="check a built book: internal links and anchors resolve, no local path shows",
    )
    parser.add_argument("html_dir", nargs="?", default="_build/html", help="default: _build/html")
    html_dir = Path(parser.parse_args(argv).html_dir)
    if not (html_dir / "index.html").is_file():
        print(f"error: {html_dir}/index.html not found: build the book first", file=sys.stderr)
        return 2
    found = problems(html_dir)
    for line in found:
        print(line)
    pages = len(_pages(html_dir))
    print(f"{pages} pages checked: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
