"""The book: run the chapter notebooks, build the HTML, sweep a chapter over a grid, and the
helpers the chapters call.

- :mod:`mner_lib.book.runner`: profiles (``mner_lib/profiles/*.yml``), executing the notebooks
  with papermill (:func:`run_book`, :func:`execute_chapter`) and the Jupyter Book build
  (:func:`build_html`); ``python -m mner_lib book run``.
- :mod:`mner_lib.book.grid`: one chapter once per point of a grid (:func:`sweep`);
  ``python -m mner_lib book sweep``.
- :mod:`mner_lib.book.chapters`: what the notebooks call: the parameter summary, one call that
  trains a chapter's models and ablations and shows their table and figures
  (:func:`train_and_tabulate`).
- :mod:`mner_lib.book.realresults` and :mod:`mner_lib.book.realplots`: the recorded real-data
  runs of a chapter's models, as tables that fit the page (:func:`show_real_results`,
  :func:`show_recorded_runs`), their training curves and the ours-vs-paper plot.

Everything is importable from ``mner_lib.book`` itself (the notebooks do so). The page checks in
headless Chromium that the tests run on the built HTML live in ``tests/browser.py``.

The names load on first use (PEP 562), so ``python -m mner_lib train`` or ``--help`` does not
import the figures and the notebook machinery that only the book needs.
"""

from __future__ import annotations

import importlib
from typing import Any

#: each public name and the submodule that owns it
_OWNER = {
    "data_note": "build_summary",
    "device_label": "build_summary",
    "summary": "build_summary",
    "chapter_dataset": "chapters",
    "chapter_model_options": "chapters",
    "chapter_options": "chapters",
    "ChapterRuns": "chapters",
    "plan_runs": "chapters",
    "PlannedRun": "chapters",
    "recorded_runs": "chapters",
    "resolved_config": "chapters",
    "run_config": "chapters",
    "run_folder": "chapters",
    "show_recorded_runs": "chapters",
    "show_trained_modality": "chapters",
    "train_and_tabulate": "chapters",
    "train_seeds": "chapters",
    "trained_on": "chapters",
    "GRID_KEYS": "grid",
    "grid_points": "grid",
    "parse_grid": "grid",
    "point_name": "grid",
    "sweep": "grid",
    "chapter_parameters": "profiles",
    "load_profile": "profiles",
    "Profile": "profiles",
    "profile_names": "profiles",
    "real_results_html": "realresults",
    "recorded_settings": "realresults",
    "show_real_results": "realresults",
    "build_html": "runner",
    "execute_chapter": "runner",
    "failure_message": "runner",
    "run_book": "runner",
    "RunReport": "runner",
    "stage_sources": "runner",
    "stub_notebook": "runner",
    "AUTO_DATASET": "toc",
    "BookError": "toc",
    "BUILD_DIR": "toc",
    "Chapter": "toc",
    "chapter": "toc",
    "CHAPTER_KEYS": "toc",
    "CHAPTERS": "toc",
    "EXECUTED_DIR": "toc",
    "NOTEBOOK_DIR": "toc",
    "PROFILE_DIR": "toc",
    "ROOT": "toc",
    "Walkthrough": "walkthrough",
    "walkthrough": "walkthrough",
}

__all__ = sorted(_OWNER)


def __getattr__(name: str) -> Any:
    """A public name (imported from its submodule on first use) or a submodule."""
    owner = _OWNER.get(name)
    if owner is None:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{owner}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_OWNER))
