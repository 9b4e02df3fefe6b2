"""The built book as a reader sees it: pages rendered by headless Chromium (Debian's
``chromium``), their DOM after the scripts ran, a screenshot, and what on a page looks broken.

Only the tests read the HTML this way (``tests/test_book.py``); a screenshot of one chapter:

    python -c "from pathlib import Path; from tests.browser import screenshot; \
screenshot(Path('_build/html/notebooks/04_hsn.html'), Path('shot.png'), Path('/tmp/chromium'))"
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from mner_lib.book import BookError

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str | None:
    """The headless browser (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _browse(
    page: Path, extra: Sequence[str], profile_dir: Path, timeout: int = 90
) -> subprocess.CompletedProcess:
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("headless chromium not found: apt-get install -y chromium")
    command = [
        exe,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile_dir}",
        *extra,
        page.resolve().as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def dump_dom(page: Path, profile_dir: Path) -> str:
    """The page's DOM after its scripts ran, as headless Chromium renders it."""
    proc = _browse(page, ["--dump-dom", "--virtual-time-budget=5000"], profile_dir)
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise BookError(f"chromium could not render {page}: {proc.stderr[-500:]}")
    return proc.stdout


def screenshot(
    page: Path, png: Path, profile_dir: Path, size: tuple[int, int] = (1000, 1400)
) -> Path:
    """A PNG of ``page`` as headless Chromium draws it."""
    png.parent.mkdir(parents=True, exist_ok=True)
    proc = _browse(
        page,
        [
            f"--screenshot={png.resolve()}",
            f"--window-size={size[0]},{size[1]}",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ],
        profile_dir,
    )
    if not png.exists():
        raise BookError(f"chromium wrote no screenshot of {page}: {proc.stderr[-500:]}")
    return png


def dom_and_screenshot(
    page: Path, png: Path, profile_dir: Path, size: tuple[int, int] = (1000, 1400)
) -> str:
    """:func:`dump_dom` and :func:`screenshot` of ``page`` from one Chromium start (a start
    costs about 3 s on 2 cores)."""
    return _render(page, png, profile_dir, size)


def view(
    page: Path, png: Path, profile_dir: Path, size: tuple[int, int] = (1280, 9000)
) -> tuple[str, dict]:
    """:func:`dom_and_screenshot` and :func:`layout` (at the window's width) of ``page`` from one
    Chromium start: its DOM, a screenshot, and how it lays out. The DOM holds the measurement too,
    in a hidden ``<pre id="mner-layout">`` at the end of the body, which the screenshot does not
    show."""
    probe = _measuring_copy(page)
    try:
        dom = _render(probe, png, profile_dir, size)
    finally:
        probe.unlink(missing_ok=True)
    return dom, _measured(dom, page)


def _render(page: Path, png: Path, profile_dir: Path, size: tuple[int, int]) -> str:
    png.parent.mkdir(parents=True, exist_ok=True)
    proc = _browse(
        page,
        [
            "--dump-dom",
            f"--screenshot={png.resolve()}",
            f"--window-size={size[0]},{size[1]}",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ],
        profile_dir,
    )
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise BookError(f"chromium could not render {page}: {proc.stderr[-500:]}")
    if not png.exists():
        raise BookError(f"chromium wrote no screenshot of {page}: {proc.stderr[-500:]}")
    return proc.stdout


def page_problems(dom: str) -> list[str]:
    """What a reader would see as broken in a chapter page's DOM: error outputs (a traceback or
    an ``...Error:`` line in an output cell), no figure, or a figure that is not numbered and
    described (:func:`figure_problems`)."""

    problems = []
    outputs = re.findall(
        r'<div class="cell_output[^"]*">(.*?)</div>\s*</div>\s*</div>', dom, flags=re.S
    )
    text = "\n".join(outputs)
    if "Traceback" in text or re.search(
        r"\b[A-Z]\w*(Error|Exception):", re.sub(r"<[^>]+>", "", text)
    ):
        problems.append("an output cell shows an error")
    if 'class="output traceback' in dom:
        problems.append("an output cell shows a traceback")
    if not re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', dom):
        problems.append("no figure (img of a notebook output)")
    return problems + figure_problems(dom)


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return None if found is None else found.group(1)


def figure_problems(dom: str) -> list[str]:
    """Every image in the chapter's text (``<article>``: not the theme's logos and buttons) sits
    in a numbered figure (``Fig. N`` in its caption) and has alt text that says something: not
    empty, and not the file name Sphinx puts there when an image has none."""
    start, end = dom.find("<article"), dom.rfind("</article>")
    article = dom[start:end] if start >= 0 else dom
    problems = []
    figures = re.findall(r"<figure\b.*?</figure>", article, flags=re.S)
    for figure in figures:
        for tag in re.findall(r"<img\b[^>]*>", figure):
            alt, src = _attribute(tag, "alt"), _attribute(tag, "src") or ""
            if not alt or not alt.strip() or alt == src or re.search(r"\.(png|jpe?g|svg)$", alt):
                problems.append(f"an image without alt text: {src.rsplit('/', 1)[-1]}")
        if not re.search(r'class="caption-number">\s*Fig\. \d+', figure):
            problems.append("a figure without a number")
    outside = re.sub(r"<figure\b.*?</figure>", "", article, flags=re.S)
    for tag in re.findall(r"<img\b[^>]*>", outside):
        name = (_attribute(tag, "alt") or _attribute(tag, "src") or "").rsplit("/", 1)[-1]
        problems.append(f"an image outside a numbered figure: {name[:40]}")
    return problems


#: what :func:`layout` measures in the page: the viewport, the document's scroll width, and every
#: visible table that is wider than its container or runs past the article's right edge
_MEASURE = """
<script>
(function () {  // at the end of <body>: the stylesheets have loaded
  var article = document.querySelector("article") || document.querySelector("main") || document.body;
  var right = article.getBoundingClientRect().right;
  var out = {viewport: window.innerWidth, scroll_width: document.documentElement.scrollWidth,
             article_right: right, tables: [], wide_tables: []};
  document.querySelectorAll("table").forEach(function (t) {
    if (t.offsetParent === null) { return; }  // hidden (a closed details block)
    var r = t.getBoundingClientRect();
    var box = t.parentElement;
    var head = (t.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60);
    var row = {head: head, width: Math.round(r.width), right: Math.round(r.right),
               container: box.clientWidth, cls: t.className};
    out.tables.push(row);
    if (t.scrollWidth > box.clientWidth + 1 || r.right > right + 1) { out.wide_tables.push(row); }
  });
  var pre = document.createElement("pre");
  pre.id = "mner-layout";
  pre.hidden = true;  // in the DOM, not in a screenshot (inline style: a stylesheet may show pre)
  pre.style.display = "none";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def layout(page: Path, profile_dir: Path, width: int = 1280) -> dict:
    """How ``page`` lays out in a ``width``-pixel window: ``viewport``, ``scroll_width`` (the
    document's; more than the viewport means the page scrolls sideways), ``tables`` (each visible
    table's width, container and class) and ``wide_tables`` (those wider than their container or past the
    article's right edge: a reader scrolls sideways to read them). Measured by a copy of the page
    with a script added (:func:`_measuring_copy`); :func:`view` measures with a screenshot."""
    probe = _measuring_copy(page)
    try:
        proc = _browse(
            probe,
            [
                "--dump-dom",
                "--virtual-time-budget=5000",
                f"--window-size={width},900",
                "--hide-scrollbars",
            ],
            profile_dir,
        )
    finally:
        probe.unlink(missing_ok=True)
    return _measured(proc.stdout, page, proc.stderr)


def _measuring_copy(page: Path) -> Path:
    """A copy of ``page`` with :data:`_MEASURE` at the end of its body, written beside it so its
    stylesheets load (the caller removes it)."""
    probe = page.with_name(f".layout-{page.name}")
    probe.write_text(page.read_text().replace("</body>", _MEASURE + "</body>", 1))
    return probe


def _measured(dom: str, page: Path, stderr: str = "") -> dict:
    import html as html_lib
    import json

    found = re.search(r'<pre id="mner-layout"[^>]*>(.*?)</pre>', dom, flags=re.S)
    if not found:
        raise BookError(f"chromium measured nothing in {page}: {stderr[-500:]}")
    return json.loads(html_lib.unescape(found.group(1)))


def html_tables(dom: str) -> list[list[dict[str, str]]]:
    """Every ``<table>`` of a page as a list of rows, each row ``{column heading: cell text}``
    (the headings are the first row's ``th`` cells; a pandas index column is named ``""``)."""
    from html.parser import HTMLParser

    class Tables(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tables: list[list[list[str]]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag == "table":
                self.tables.append([])
            elif tag == "tr" and self.tables:
                self.tables[-1].append([])
            elif tag in ("td", "th") and self.tables and self.tables[-1]:
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self.cell is not None:
                self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    parser = Tables()
    parser.feed(dom)
    out = []
    for rows in parser.tables:
        rows = [r for r in rows if r]
        if not rows:
            continue
        head = rows[0]
        out.append([dict(zip(head, r)) for r in rows[1:] if len(r) == len(head)])
    return out
