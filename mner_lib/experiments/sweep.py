"""Grids of training runs and the tables made from them.

``python -m mner_lib sweep --experiment baselines --models bilstm-crf,bert-crf --datasets
twitter2015,twitter2017 --seeds 0,1,2`` trains every combination into
``results/<experiment>/<model>/<dataset>/<condition>/seed<k>/`` (a finished run is skipped, an
unfinished one resumes) and writes ``results/summary_<experiment>.md`` and ``.json``: mean ± std
of test F1 over seeds per setting, beside the papers' numbers (:mod:`mner_lib.reporting.results`).

A sweep holds its experiment folder (:func:`experiment_lock`) while it runs and writes the
summary: a second sweep of the same experiment is refused at once, naming the first one's
process; each run folder has its own lock besides (:mod:`mner_lib.training.runlock`). Run folders that
hold runs made with other settings are refused before anything runs
(:func:`mner_lib.experiments.grid.train_points`): a rerun with ``--epochs 3 --lr 0.5`` never passes the
old runs off as its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mner_lib.experiments.grid import run_dir

__all__ = [
    "check_experiment",
    "experiment_lock",
    "run_dir",
    "run_grid",
    "check_pattern",
]


def check_pattern(pattern: str) -> str:
    """An experiment name or glob pattern names folders directly under the results folder: not
    empty, no path separator, no leading dot, no ``**`` (``..`` would read, and name the report
    after, folders outside it; ``**`` every run folder as an experiment of its own)."""
    if (
        not pattern
        or pattern.startswith(".")
        or "**" in pattern
        or any(c in pattern for c in "/\\")
    ):
        raise ValueError(
            f"experiment {pattern!r}: give a folder name or glob pattern directly under the "
            "results folder (no '/', no leading '.', no '**'), e.g. budget or 'budget_*'"
        )
    return pattern


def check_experiment(root: Path, experiment: str) -> Path:
    """``root/experiment``, the experiment's folder, when ``experiment`` is one plain folder
    name (:func:`check_pattern`: not empty, no ``/`` or ``\\``, no leading dot;
    no glob character; :func:`mner_lib.training.runfolder.safe_child`: no NUL, no symbolic link leading
    out of ``root``); else a ``ValueError`` naming it. Checked before anything runs or is
    written: the grid's run folders and ``root/summary_<experiment>.*`` stay inside ``root``."""
    from mner_lib.training.runfolder import safe_child

    leaves = Path(experiment).is_absolute() or ".." in Path(experiment).parts
    why = (
        f"experiment {experiment!r} "
        + ("leaves the results root" if leaves else "is not one folder name in the results root")
        + f" {root}/: give one plain folder name (no '/', no '\\', no leading '.', no glob "
        "character), e.g. 'baselines'"
    )
    try:
        check_pattern(experiment)
    except ValueError:
        raise ValueError(why) from None
    if any(c in experiment for c in "*?["):
        raise ValueError(why)
    return safe_child(root, experiment)


@contextmanager
def experiment_lock(root: Path, experiment: str) -> Iterator[Path]:
    """Hold ``root/experiment`` for this process (re-entrant; created when missing, removed again
    if the body leaves it empty): another process's sweep of it is refused at once
    with a one-line ``ValueError`` naming that process (:mod:`mner_lib.training.runlock`)."""
    from mner_lib.training import runlock

    folder = check_experiment(root, experiment)
    lock = runlock.acquire(folder, "an experiment (its runs and summary)", "rerun the sweep")
    try:
        yield folder
    finally:
        lock.release(discard=True)  # the folder goes only if this call made it and it is empty


def run_grid(
    experiment: str,
    models: Iterable[str],
    datasets: Iterable[str],
    seeds: Iterable[int],
    conditions: Iterable[str] = ("none",),
    root: Path = Path("results"),
    data_dir: str | None = None,
    engine: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
    log: Callable[[str], None] = print,
    **options: Any,
) -> list[Path]:
    """Train every combination into its run folder (:func:`mner_lib.experiments.grid.run_dir`) with the
    grid engine (:func:`mner_lib.experiments.grid.run_points`: ``engine`` local or ray, ``workers``,
    ``ray_address``); text models run once with condition ``none``, image models once per
    image condition. ``options`` are training settings for every run. Returns the run folders;
    a failed run raises :class:`mner_lib.experiments.grid.GridError` once the others have ended. The
    experiment folder is held (:func:`experiment_lock`) until the grid ends."""
    from mner_lib.experiments.grid import run_points, train_points
    from mner_lib.models import get_model_class

    with experiment_lock(root, experiment):
        specs = []
        for model in models:
            cls = get_model_class(model)
            for dataset in datasets:
                for condition in conditions:
                    if not _runs_under(cls, condition):
                        continue  # text models: 'none' (or a caption they read); image models: an image condition
                    for seed in seeds:
                        out = run_dir(root, experiment, model, dataset, condition, seed)
                        specs.append(
                            dict(
                                model=model,
                                dataset=dataset,
                                data_dir=data_dir,
                                seed=seed,
                                out=str(out),
                                condition=condition,
                                **options,
                            )
                        )
        points = train_points(specs)
        threads = options.get("threads") or 1
        run_points(points, engine, workers, ray_address, threads=threads, log=log)
    return [p.folder for p in points]


def _runs_under(cls: type, condition: str) -> bool:
    """Whether a grid runs model ``cls`` under ``condition``."""
    from mner_lib.training.config import accepts_condition

    if condition == "none":
        return not cls.uses_images
    return cls.uses_images or accepts_condition(cls, condition)
