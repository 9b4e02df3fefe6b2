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


def page_problems(dom: str) -> list[str]:
    """What a reader would see as broken in a chapter page's DOM: error outputs (a traceback or
    an ``...Error:`` line in an output cell), or no figure."""

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
    return problems


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
