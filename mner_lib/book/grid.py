"""``python -m mner_lib book sweep``: one chapter executed once per point of a grid.

A grid (``models=hsn,gmf datasets=twitter2015 seeds=0,1,2``) names chapter parameters and their
values; every combination runs the chapter notebook with papermill into its own folder under
``runs/sweep/<chapter>/<point>/`` and the run folders' ``metrics.json`` (with ``config.json`` and
``history.jsonl``) are copied into ``results/book-sweep/<chapter>/<point>/``.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

from mner_lib.book.profiles import chapter_parameters, load_profile
from mner_lib.book.runner import execute_chapter, kernel_env
from mner_lib.book.toc import ROOT, BookError, chapter

GRID_KEYS = {
    "models": "models",
    "datasets": "dataset",
    "seeds": "seeds",
    "conditions": "condition",
    "backbones": "backbone",
}


def parse_grid(text: str) -> dict[str, list[str]]:
    """``models=hsn,gmf;datasets=twitter2015;seeds=0,1,2`` (``;`` or spaces between keys)."""
    grid: dict[str, list[str]] = {}
    current = None
    for part in text.replace(";", " ").split():
        if "=" in part:
            current, _, rest = part.partition("=")
            if current not in GRID_KEYS:
                raise ValueError(f"unknown grid key {current!r}; valid: {', '.join(GRID_KEYS)}")
            grid[current] = [v for v in rest.split(",") if v]
        elif current is None:
            raise ValueError(f"grid item {part!r} has no key; expected KEY=V1,V2,...")
        else:
            grid[current].extend(v for v in part.split(",") if v)
    if not grid:
        raise ValueError("empty grid; expected e.g. models=hsn datasets=twitter2015 seeds=0,1,2")
    return grid


def grid_points(grid: dict[str, list[str]]) -> list[dict[str, Any]]:
    keys = sorted(grid)
    points = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point: dict[str, Any] = {}
        for key, value in zip(keys, values):
            name = GRID_KEYS[key]
            if name == "seeds":
                point[name] = [int(value)]
            elif name == "models":
                point[name] = [value]
            else:
                point[name] = value
        points.append(point)
    return points


def point_name(point: dict[str, Any]) -> str:
    parts = []
    for key in sorted(point):
        value = point[key]
        value = value[0] if isinstance(value, list) else value
        parts.append(f"{key}-{str(value).replace(':', '_').replace('/', '_')}")
    return "__".join(parts)


#: written into a grid point's folder by :func:`sweep` when its notebook ran to the end
SWEEP_DONE = "sweep_done.json"


def _sweep_point(
    key: str, params: dict[str, Any], output: str, cell_timeout: int, env: dict[str, str]
) -> str:
    """Execute one grid point of :func:`sweep` wherever the grid engine runs it (this process,
    a worker process, a Ray task) and mark its folder finished."""
    with kernel_env(env):
        seconds = execute_chapter(chapter(key), params, Path(output), cell_timeout)
    done = {"seconds": seconds, "parameters": params}
    (Path(output).parent / SWEEP_DONE).write_text(json.dumps(done, indent=2))
    return f"notebook ran in {seconds:.0f}s"


def _collect_metrics(folder: Path, target_root: Path) -> list[Path]:
    """Copy the run folders' ``metrics.json`` (with config and history) of one grid point."""
    copied = []
    for metrics in sorted((folder / "runs").rglob("metrics.json")):
        target = target_root / metrics.parent.relative_to(folder / "runs")
        target.mkdir(parents=True, exist_ok=True)
        for file in ("metrics.json", "config.json", "history.jsonl"):
            if (metrics.parent / file).exists():
                shutil.copy2(metrics.parent / file, target / file)
        copied.append(target / "metrics.json")
    return copied


def sweep(
    notebook: str,
    grid: dict[str, list[str]],
    profile_name: str = "cpu",
    out_root: Path = ROOT / "runs" / "sweep",
    results_root: Path = ROOT / "results" / "book-sweep",
    data_dir: str | None = None,
    log=print,
    engine: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
) -> list[Path]:
    """Run one chapter once per grid point, each into its own folder, through the grid engine
    (:func:`mner_lib.experiments.grid.run_points`: ``engine``, ``workers``, ``ray_address``; a point whose
    notebook ran to the end before is skipped), and copy the run folders' ``metrics.json`` (with
    config and history) into ``results_root``; returns the copied files. A failed point raises
    :class:`BookError` naming its folder, after the finished points' metrics were copied."""
    from mner_lib.book.params import validate
    from mner_lib.experiments.grid import GridError, Point, inside_root, run_points

    c = chapter(notebook)
    profile = load_profile(profile_name)
    base = chapter_parameters(profile, c.key, data_dir)
    points = []
    for point in grid_points(grid):  # check all before running any
        validate(c.key, {**base, **point}, partial=True)
        folder = inside_root(Path(out_root), c.key, point_name(point))
        params = {**base, **point, "runs_dir": str(folder / "runs")}
        spec = dict(
            key=c.key,
            params=params,
            output=str(folder / c.notebook),
            cell_timeout=profile.cell_timeout,
            env=profile.env,
        )
        points.append(Point(folder, _sweep_point, spec, done_file=SWEEP_DONE))
    try:
        with kernel_env(profile.env):
            outcomes = run_points(points, engine, workers, ray_address, log=log, raise_errors=False)
    except ImportError as err:
        raise BookError(str(err)) from err
    copied: list[Path] = []
    for point in points:
        if point.finished():
            copied += _collect_metrics(point.folder, results_root / c.key / point.folder.name)
    if any(o.status == "failed" for o in outcomes):
        raise BookError(str(GridError(outcomes)))
    return copied
