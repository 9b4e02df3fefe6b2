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
"""

from mner_lib.book.build_summary import data_note, device_label, summary
from mner_lib.book.chapters import (
    ChapterRuns,
    PlannedRun,
    chapter_dataset,
    chapter_model_options,
    chapter_options,
    plan_runs,
    recorded_runs,
    resolved_config,
    run_config,
    run_folder,
    show_recorded_runs,
    show_trained_modality,
    train_and_tabulate,
    train_seeds,
    trained_on,
)
from mner_lib.book.grid import GRID_KEYS, grid_points, parse_grid, point_name, sweep
from mner_lib.book.profiles import Profile, chapter_parameters, load_profile, profile_names
from mner_lib.book.realresults import real_results_html, recorded_settings, show_real_results
from mner_lib.book.runner import (
    RunReport,
    build_html,
    execute_chapter,
    failure_message,
    run_book,
    stage_sources,
    stub_notebook,
)
from mner_lib.book.toc import (
    AUTO_DATASET,
    BUILD_DIR,
    CHAPTER_KEYS,
    CHAPTERS,
    EXECUTED_DIR,
    NOTEBOOK_DIR,
    PROFILE_DIR,
    ROOT,
    BookError,
    Chapter,
    chapter,
)
from mner_lib.book.walkthrough import Walkthrough, walkthrough

__all__ = [
    "Walkthrough",
    "walkthrough",
    "AUTO_DATASET",
    "BUILD_DIR",
    "CHAPTERS",
    "CHAPTER_KEYS",
    "EXECUTED_DIR",
    "GRID_KEYS",
    "NOTEBOOK_DIR",
    "PROFILE_DIR",
    "ROOT",
    "BookError",
    "Chapter",
    "ChapterRuns",
    "PlannedRun",
    "Profile",
    "RunReport",
    "build_html",
    "chapter",
    "chapter_dataset",
    "chapter_model_options",
    "chapter_options",
    "chapter_parameters",
    "data_note",
    "device_label",
    "execute_chapter",
    "failure_message",
    "grid_points",
    "load_profile",
    "parse_grid",
    "plan_runs",
    "point_name",
    "profile_names",
    "real_results_html",
    "recorded_runs",
    "recorded_settings",
    "run_book",
    "resolved_config",
    "run_config",
    "run_folder",
    "show_real_results",
    "show_trained_modality",
    "show_recorded_runs",
    "stage_sources",
    "stub_notebook",
    "summary",
    "sweep",
    "train_and_tabulate",
    "train_seeds",
    "trained_on",
]
