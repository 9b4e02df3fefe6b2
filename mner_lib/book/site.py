"""Checks of the built HTML book, offline: every internal link and anchor resolves, no page prints
a local absolute path or shows papermill's parameter cell, MathJax comes from the book itself, and
no page holds active HTML that the theme did not write (:func:`active_html`: a script, an event
handler attribute, a ``javascript:`` URL, a frame or object), so a value from a results file,
a data file or a parameter that slipped through unescaped fails the check. A page's visible text
never hedges a plural as ``seed(s)`` (:func:`hedged_plurals`): the book says ``1 seed`` or
``3 seeds`` (:mod:`mner_lib.io.plural`).

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

from mner_lib.book.site_allow import (
    ACTIVE_TAGS,
    DATA_SCRIPT_TYPES,
    SAFE_DATA_URL,
    THEME_HANDLERS,
    URL_ATTRIBUTES,
    WIDGET_SCRIPTS,
    theme_inline_script,
)
from mner_lib.io.plural import counted

#: an absolute path on a local machine, as a page could print it
LOCAL_PATH = re.compile(
    r"(?<![\w.:/-])(/(?:work|home|root|tmp|Users|private/var)/[\w.@+-][^\s\"'<>]*)"
)


class _Page(HTMLParser):
    """The ids, links and script sources of one HTML page, and its active HTML: every script
    (``src``, ``type`` and inline text), every event handler attribute (``on...``), every URL
    attribute that runs code, every frame or object."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.script_tags: list[dict[str, str]] = []  # src, type, text of every <script>
        self.active: list[str] = []
        self._script: dict[str, str] | None = None

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
        self._check_active(tag, values)
        if tag == "script":
            self._script = {
                "src": str(values.get("src") or ""),
                "type": str(values.get("type") or "").strip().lower(),
                "text": "",
            }
            self.script_tags.append(self._script)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def _check_active(self, tag: str, values: dict[str, str | None]) -> None:
        if tag in ACTIVE_TAGS:
            self.active.append(f"a <{tag}> element")
        for name, value in values.items():
            text = str(value or "")
            if name.startswith("on") and (tag, name, text.strip()) not in THEME_HANDLERS:
                self.active.append(f"an event handler {name}={text[:60]!r} on <{tag}>")
            elif name in URL_ATTRIBUTES or (tag == "meta" and name == "content"):
                for url in _urls(name, text):
                    why = _active_url(url, tag, name)
                    if why:
                        self.active.append(f"{why} in <{tag} {name}={text[:60]!r}>")


def _urls(name: str, text: str) -> list[str]:
    """The URLs an attribute holds: ``srcset``'s list, a meta refresh's ``url=``, else itself."""
    if name == "srcset":
        return [part.split()[0] for part in text.split(",") if part.split()]
    if name == "content":
        found = re.search(r"url\s*=\s*(.*)", text, flags=re.I)
        return [found.group(1).strip("'\" ")] if found else []
    if name == "values":  # an SVG animation's list
        return text.split(";")
    return [text]


def _active_url(url: str, tag: str, name: str) -> str | None:
    """Why ``url`` would run code, or None: a ``javascript:`` or ``vbscript:`` URL, or a
    ``data:`` URL that is not an image, a CSV or plain text (browsers drop tabs and newlines in
    a URL and ignore the case of its scheme, so they are dropped and ignored here too)."""
    plain = re.sub(r"[\x00-\x20]", "", url).lower()
    if plain.startswith(("javascript:", "vbscript:")):
        return f"a {plain.split(':')[0]}: URL"
    if plain.startswith("data:") and not SAFE_DATA_URL.match(plain):
        if not (tag == "img" and name in ("src", "srcset") and plain.startswith("data:image/")):
            return "a data: URL that is not an image, a CSV or text"
    return None


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


def active_html(html_dir: Path) -> list[str]:
    """Every piece of active HTML in every page that the theme or Sphinx did not write: a
    ``<script>`` other than the theme's own (a file under ``_static/`` or the search index, an
    inline script of :func:`mner_lib.book.site_allow.theme_inline_script`, or data a browser does
    not run), an event handler attribute other than the theme's buttons, a ``javascript:``,
    ``vbscript:`` or active ``data:`` URL, a frame, object, embed or base element."""
    html_dir = Path(html_dir)
    root = html_dir.resolve()
    found = []
    for path in _pages(html_dir):
        text = path.read_text(errors="replace")
        page = _Page()
        page.feed(text)
        page.close()
        where = path.relative_to(html_dir)
        found += [f"{where}: {what}" for what in page.active]
        for script in page.script_tags:
            why = _script_problem(script, path, root)
            if why:
                found.append(f"{where}: {why}")
        opened = len(re.findall(r"<\s*script\b", text, flags=re.I))
        if opened > len(page.script_tags):  # a tag the parser read otherwise than a browser may
            unparsed = counted(opened - len(page.script_tags), "<script> tag")
            found.append(f"{where}: {unparsed} not parsed")
    return found


def _script_problem(script: dict[str, str], page: Path, root: Path) -> str | None:
    """Why one ``<script>`` is not the theme's, or None."""
    kind = script["type"].split(";")[0].strip()
    if kind in DATA_SCRIPT_TYPES:
        return None  # data for the theme's scripts: a browser does not run it
    if script["src"] in WIDGET_SCRIPTS:
        return None
    if script["src"]:
        parts = urlsplit(script["src"])
        target = Path(os.path.normpath(page.parent / unquote(parts.path))).resolve()
        local = not (parts.scheme or parts.netloc) and target.is_relative_to(root)
        if local and target.is_file():
            inside = target.relative_to(root)
            if inside.parts[0] == "_static" or inside.as_posix() == "searchindex.js":
                return None
        return f"a script from {script['src'][:80]!r}, not one of the book's theme"
    if theme_inline_script(script["text"]):
        return None
    return f"an inline script {' '.join(script['text'].split())[:60]!r}"


#: a plural left to the reader: ``seed(s)``, ``Setting(s)``
HEDGED_PLURAL = re.compile(r"[^\W\d_]\(s\)")
#: elements whose text is code or markup, not the page's words: a cell's source, a code span, a
#: code block (``highlight-<language>``, but not a cell's output), the library source a chapter
#: shows (``mner-source``), an equation (``math``)
CODE_TAGS = frozenset({"code", "kbd", "samp", "script", "style", "template", "head", "title"})
CODE_CLASSES = frozenset({"cell_input", "mner-source", "math"})


class _Text(HTMLParser):
    """The visible text of a page: every text node outside :data:`CODE_TAGS` and outside an
    element of :data:`CODE_CLASSES` or a ``highlight-*`` code block that is not an ``output``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: tuple[str, int] | None = None  # the skipped element's tag, its nesting depth

    def _skips(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        classes = set(str(dict(attrs).get("class") or "").split())
        block = any(c.startswith("highlight-") for c in classes) and "output" not in classes
        return tag in CODE_TAGS or bool(classes & CODE_CLASSES) or block

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip is not None:
            if tag == self._skip[0]:
                self._skip = (tag, self._skip[1] + 1)
        elif self._skips(tag, attrs):
            self._skip = (tag, 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # a void element holds no text

    def handle_endtag(self, tag: str) -> None:
        if self._skip is not None and tag == self._skip[0]:
            depth = self._skip[1] - 1
            self._skip = (tag, depth) if depth else None

    def handle_data(self, data: str) -> None:
        if self._skip is None:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The words a reader sees on a page (:class:`_Text`), whitespace collapsed: prose, tables,
    cell outputs, collapsed blocks; not code, equations or the page's head."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def hedged_plurals(html_dir: Path) -> list[str]:
    """Every page whose visible text hedges a plural (``seed(s)``), naming the page and the text
    around the first one: a count says its noun in the form the number takes."""
    found = []
    for path in _pages(html_dir):
        text = visible_text(path.read_text(errors="replace"))
        hit = HEDGED_PLURAL.search(text)
        if hit:
            around = text[max(0, hit.start() - 40) : hit.end() + 40]
            found.append(f"{path.relative_to(html_dir)}: '(s)' in its text: {around!r}")
    return found


def problems(html_dir: Path, extra_paths: tuple[str, ...] = ()) -> list[str]:
    """All the checks of this module on a built book."""
    return (
        broken_links(html_dir)
        + local_paths(html_dir, extra_paths)
        + plumbing(html_dir)
        + active_html(html_dir)
        + hedged_plurals(html_dir)
    )


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mner_lib.book.site",
        description="check a built book: internal links and anchors resolve, no local path "
        "shows, no active HTML but the theme's, no plural hedged as '(s)'",
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
    print(f"{counted(pages, 'page')} checked: {counted(len(found), 'problem')}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
