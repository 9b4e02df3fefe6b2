"""The book's chapters and where the book lives: the checkout's folders, each chapter's key,
notebook and title (the order of ``_toc.yml``), and the error every book step raises.

:mod:`mner_lib.book.profiles` checks a profile's chapters against this list;
:mod:`mner_lib.book.runner` executes them and builds the HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: the repository checkout: notebooks/, book/, _config.yml and _toc.yml live here
ROOT = Path(__file__).resolve().parents[2]
PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"
NOTEBOOK_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "book" / "_executed"
BUILD_DIR = ROOT / "_build"


@dataclass(frozen=True)
class Chapter:
    key: str  # name used by --only and by the parameter schema
    notebook: str  # file name under notebooks/
    title: str


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("task_data", "01_task_and_data.ipynb", "The task and the data"),
    Chapter("foundations", "02_foundations.ipynb", "Foundations: CRF, metrics, text baselines"),
    Chapter("cwi", "03_cwi.ipynb", "CWI: characters, words, image words"),
    Chapter("hsn", "04_hsn.ipynb", "HSN: hierarchical self-adaptation"),
    Chapter("trimod", "05_trimod.ipynb", "TriMod: text, image and hashtags"),
    Chapter("gmf", "06_gmf.ipynb", "GMF: visual clue guidance and consistency matching"),
    Chapter("comparison", "07_comparison.ipynb", "Comparison"),
    Chapter("reproducibility", "08_reproducibility.ipynb", "Reproducibility appendix"),
)
CHAPTER_KEYS = tuple(c.key for c in CHAPTERS)
#: the dataset the ``auto`` setting picks when a data folder is set
AUTO_DATASET = "twitter2015"


class BookError(RuntimeError):
    """The book could not be run or built; the message says which notebook/cell and why."""


def chapter(key: str) -> Chapter:
    for c in CHAPTERS:
        if c.key == key or c.notebook == key or Path(c.notebook).stem == key:
            return c
    raise ValueError(f"unknown chapter {key!r}; valid: {', '.join(CHAPTER_KEYS)}")
