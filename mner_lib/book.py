"""The book: run the chapter notebooks with papermill, build the HTML, sweep a chapter over a grid.

``python -m mner_lib book run --profile quick`` reads ``mner_lib/profiles/quick.yml``, checks
every chapter's parameters against its schema (:mod:`mner_lib.params`), executes the notebooks
of ``notebooks/`` with papermill into ``book/_executed/`` (the build input, ignored by git) and
then builds ``_build/html`` with Jupyter Book from the top-level ``_config.yml`` / ``_toc.yml``;
the build executes nothing (``execute_notebooks: off``) and treats warnings as errors.

A chapter that fails stops the run with a message naming the notebook, the cell and the error;
the executed notebook with the traceback stays in ``book/_executed/`` for inspection. A chapter
not executed in this run (``--only``) keeps its last executed copy, or gets a one-cell stub that
says how to run it, so the table of contents always resolves.

The second half holds the helpers the chapters call (:func:`train_seeds`, :func:`device_label`).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
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


# ----------------------------------------------------------------------------- profiles
@dataclass
class Profile:
    name: str
    description: str
    chapters: list[str]
    common: dict[str, Any] = field(default_factory=dict)
    per_chapter: dict[str, dict[str, Any]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    cell_timeout: int = 900


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yml"))


def load_profile(name_or_path: str) -> Profile:
    """A profile by name (``mner_lib/profiles/<name>.yml``) or by path."""
    import yaml

    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yml"
    if not path.is_file():
        raise FileNotFoundError(
            f"profile {name_or_path!r} not found ({path}); valid: {', '.join(profile_names())}"
        )
    data = yaml.safe_load(path.read_text()) or {}
    allowed = {"description", "chapters", "common", "chapters_params", "env", "cell_timeout"}
    bad = sorted(set(data) - allowed)
    if bad:
        raise ValueError(
            f"{path}: unknown key(s) {', '.join(bad)}; valid: {', '.join(sorted(allowed))}"
        )
    chapters = data.get("chapters") or list(CHAPTER_KEYS)
    for key in chapters:
        chapter(key)
    per_chapter = data.get("chapters_params") or {}
    for key in per_chapter:
        chapter(key)
    return Profile(
        name=path.stem,
        description=str(data.get("description", "")),
        chapters=[chapter(k).key for k in chapters],
        common=dict(data.get("common") or {}),
        per_chapter={chapter(k).key: dict(v or {}) for k, v in per_chapter.items()},
        env={k: str(v) for k, v in (data.get("env") or {}).items()},
        cell_timeout=int(data.get("cell_timeout", 900)),
    )


def chapter_parameters(profile: Profile, key: str, data_dir: str | None = None) -> dict[str, Any]:
    """The parameters papermill injects into chapter ``key``: the profile's common values the
    chapter knows, then the chapter's own; ``dataset: auto`` becomes the real dataset when a data
    folder is set (argument or ``$MNER_DATA_DIR``), else the demo corpus."""
    from mner_lib.params import schema, validate

    known = schema(key)
    values = {k: v for k, v in profile.common.items() if k in known}
    values.update(profile.per_chapter.get(key, {}))
    data_dir = data_dir or os.environ.get("MNER_DATA_DIR") or ""
    if "data_dir" in known:
        values.setdefault("data_dir", data_dir)
        if values["data_dir"] == "auto":
            values["data_dir"] = data_dir
    if values.get("dataset") == "auto":
        values["dataset"] = AUTO_DATASET if data_dir else "demo"
    if "runs_dir" in known:
        values.setdefault("runs_dir", f"runs/book/{profile.name}")
    return validate(key, values, partial=True)


# ----------------------------------------------------------------------------- running
def _kernel_env(extra: dict[str, str]) -> None:
    """Make the kernel the current interpreter: its folder first on PATH (the kernelspec says
    ``python``), a non-interactive matplotlib, and the profile's variables."""
    bin_dir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_dir):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ["MNER_BOOK_BATCH"] = "1"  # mner_lib.explorer: no live widget in a batch run
    os.environ.update(extra)


def failure_message(chapter_: Chapter, output: Path, err: Exception) -> str:
    """Name the notebook, the cell and the error of a failed chapter."""
    cell = getattr(err, "cell_index", None)
    exec_count = getattr(err, "exec_count", None)
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    where = f"cell {cell}" if cell is not None else "a cell"
    if exec_count is not None:
        where += f" (execution count {exec_count})"
    source = ""
    if output.exists():
        import nbformat

        nb = nbformat.read(output, as_version=4)
        failed = [
            c
            for c in nb.cells
            if c.cell_type == "code"
            and (
                c.metadata.get("papermill", {}).get("status") == "failed"
                or any(o.get("output_type") == "error" for o in c.get("outputs", []))
            )
        ]
        if failed:
            first = failed[0].source.strip().splitlines()[:3]
            source = "\n    " + "\n    ".join(first)
    return (
        f"chapter {chapter_.key!r} (notebooks/{chapter_.notebook}) failed in {where}: "
        f"{ename}: {evalue}{source}\nthe executed notebook with the traceback: {output}"
    )


def execute_chapter(
    chapter_: Chapter,
    parameters: dict[str, Any],
    output: Path,
    cell_timeout: int = 900,
    cwd: Path = ROOT,
) -> float:
    """Run one notebook with papermill; returns seconds. Raises :class:`BookError` on failure."""
    import papermill as pm

    source = NOTEBOOK_DIR / chapter_.notebook
    if not source.is_file():
        raise FileNotFoundError(f"notebook of chapter {chapter_.key!r} not found: {source}")
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    try:
        pm.execute_notebook(
            str(source),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(cwd),
            progress_bar=False,
            execution_timeout=cell_timeout,
            log_output=False,
        )
    except Exception as err:  # papermill wraps every cell error; keep its fields in the message
        raise BookError(failure_message(chapter_, output, err)) from err
    return time.time() - start


def stub_notebook(chapter_: Chapter, path: Path, profile: str) -> None:
    """A one-cell page for a chapter not executed in this build (the toc must resolve)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f"# {chapter_.title}\n\nThis chapter was not executed in this build. Run it with\n\n"
            f"```bash\npython -m mner_lib book run --profile {profile} --only {chapter_.key}\n```\n"
        )
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def stage_sources(executed_dir: Path = EXECUTED_DIR, stage: Path = BUILD_DIR / "src") -> Path:
    """The build input: ``_config.yml``, ``_toc.yml`` and ``book/`` as committed, and the
    *executed* notebooks under ``notebooks/`` (the same paths as in the repository, so the Colab
    launch buttons point at the committed notebooks)."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, stage / name)
    shutil.copytree(ROOT / "book", stage / "book", ignore=shutil.ignore_patterns("_executed"))
    (stage / "notebooks").mkdir()
    for c in CHAPTERS:
        shutil.copy2(executed_dir / c.notebook, stage / "notebooks" / c.notebook)
    return stage


def build_html(source: Path, output: Path = ROOT, warnings_as_errors: bool = True) -> Path:
    """``jupyter-book build`` of ``source`` (the staged top-level ``_config.yml`` / ``_toc.yml``)
    into ``output/_build/html``; executes nothing. Returns the HTML folder."""
    exe = Path(sys.executable).parent / "jupyter-book"
    command = [
        str(exe) if exe.exists() else "jupyter-book",
        "build",
        str(source),
        "--builder",
        "html",
        "--path-output",
        str(output),
    ]
    if warnings_as_errors:
        command += ["-W", "-n", "--keep-going"]
    proc = subprocess.run(command, cwd=source, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")
    return output / "_build" / "html"


@dataclass
class RunReport:
    executed: dict[str, float]  # chapter -> seconds
    stubs: list[str]
    html: Path | None


def run_book(
    profile_name: str,
    only: Sequence[str] | None = None,
    data_dir: str | None = None,
    build: bool = True,
    executed_dir: Path = EXECUTED_DIR,
    output: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    log=print,
) -> RunReport:
    """Execute the profile's chapters (or ``only`` those) and build the book into
    ``output/_build/html``. ``overrides`` replace parameters of every chapter that has them
    (the tests send ``runs_dir`` to a temporary folder)."""
    from mner_lib.params import schema, validate

    profile = load_profile(profile_name)
    keys = [chapter(k).key for k in only] if only else profile.chapters
    params = {k: chapter_parameters(profile, k, data_dir) for k in keys}  # fail before running
    for key in keys:
        known = schema(key)
        params[key].update({k: v for k, v in (overrides or {}).items() if k in known})
        validate(key, params[key], partial=True)
    _kernel_env(profile.env)
    executed: dict[str, float] = {}
    for key in keys:
        c = chapter(key)
        log(f"[book] {c.key}: executing notebooks/{c.notebook} with {json.dumps(params[key])}")
        seconds = execute_chapter(c, params[key], executed_dir / c.notebook, profile.cell_timeout)
        executed[key] = seconds
        log(f"[book] {c.key}: done in {seconds:.0f}s")
    stubs = []
    for c in CHAPTERS:
        if not (executed_dir / c.notebook).exists():
            stub_notebook(c, executed_dir / c.notebook, profile.name)
            stubs.append(c.key)
    (executed_dir / "run.json").write_text(
        json.dumps({"profile": profile.name, "executed": executed, "stubs": stubs}, indent=2)
    )
    html = None
    if build:
        log("[book] building HTML with jupyter-book (no execution, warnings are errors)")
        html = build_html(
            stage_sources(executed_dir, Path(output) / "_build" / "src"), Path(output)
        )
        log(f"[book] HTML in {html}/index.html")
    return RunReport(executed, stubs, html)


# ----------------------------------------------------------------------------- reading the HTML
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
    import re

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


# ----------------------------------------------------------------------------- sweep
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
    _kernel_env(env)
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
    (:func:`mner_lib.grid.run_points`: ``engine``, ``workers``, ``ray_address``; a point whose
    notebook ran to the end before is skipped), and copy the run folders' ``metrics.json`` (with
    config and history) into ``results_root``; returns the copied files. A failed point raises
    :class:`BookError` naming its folder, after the finished points' metrics were copied."""
    from mner_lib.grid import GridError, Point, inside_root, run_points
    from mner_lib.params import validate

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
    _kernel_env(profile.env)
    try:
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


# ----------------------------------------------------------------------------- chapter helpers
def device_label(device: str = "auto") -> str:
    """What ``device`` resolves to here, in words (for the chapters' set-up cell)."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def run_folder(
    runs_dir: str,
    chapter_key: str,
    model: str,
    dataset: str,
    condition: str,
    variant: str,
    seed: int,
) -> Path:
    safe = lambda s: str(s).replace(":", "-").replace("/", "-").replace(" ", "")  # noqa: E731
    return (
        Path(runs_dir)
        / chapter_key
        / model
        / dataset
        / safe(condition)
        / safe(variant)
        / f"seed{seed}"
    )


def chapter_dataset(params: dict[str, Any]) -> Any:
    """The chapter's :class:`mner_lib.data.Dataset`: the full training split (each run samples
    its ``max_train`` tweets with its own seed) and, when ``max_eval`` is set, the same seeded
    sample of at most ``max_eval`` dev and test tweets for every run and plot of the chapter."""

    from mner_lib.data import load_dataset
    from mner_lib.train import cap_eval

    data = load_dataset(params["dataset"], params.get("data_dir") or None)
    cap = params.get("max_eval")
    if cap:
        data = cap_eval(data, cap, seed=0)  # the same sample as the trainer's max_eval
    return data


def train_seeds(
    params: dict[str, Any],
    model: str,
    chapter_key: str,
    condition: str | None = None,
    model_options: dict[str, Any] | None = None,
    variant: str = "full",
    **overrides: Any,
) -> list[Any]:
    """Train ``model`` once per seed in ``params['seeds']`` with the chapter's parameters;
    returns the :class:`mner_lib.train.TrainResult` of each run. The run folders go under
    ``params['runs_dir']`` and each ``metrics.json`` records the ``variant`` (ablation) name."""
    from mner_lib.models import get_model_class
    from mner_lib.train import resolve_config, run_training

    uses_images = get_model_class(model).uses_images
    dataset = chapter_dataset(params)
    if condition is None:
        condition = params.get("condition", "blank") if uses_images else "none"
    results = []
    for seed in params["seeds"]:
        out = run_folder(
            params.get("runs_dir", "runs/book"),
            chapter_key,
            model,
            params["dataset"],
            condition,
            variant,
            seed,
        )
        cfg = resolve_config(
            model,
            dataset=params["dataset"],
            data_dir=params.get("data_dir") or None,
            epochs=params["epochs"],
            seed=seed,
            max_train=params.get("max_train"),
            device=params.get("device", "auto"),
            condition=condition,
            backbone=params.get("backbone") if uses_images else None,
            model_options={**(params.get("model_options") or {}), **(model_options or {})},
            out=str(out),
            progress=False,
            resume=False,
            **overrides,
        )
        result = run_training(cfg, dataset=dataset)
        result.metrics["variant"] = variant
        result.metrics["max_eval"] = params.get("max_eval")
        (Path(result.run_dir) / "metrics.json").write_text(json.dumps(result.metrics, indent=2))
        results.append(result)
    return results


def recorded_runs(models: Sequence[str], results_dir: str | Path = "results") -> Any:
    """The recorded runs of ``models`` under ``results_dir`` (not this build's): one row per
    setting with test F1 mean ± std over seeds beside the paper's row for it, the training
    settings and caps, and the metrics files averaged. Empty when there are none."""
    import pandas as pd

    from mner_lib.results import aggregate, compare, load_runs, with_text

    runs = load_runs(results_dir, relative_to=".")
    runs = runs[runs["model"].isin(list(models))]
    if runs.empty:
        return pd.DataFrame()
    table = with_text(compare(aggregate(runs)))
    table["images"] = [
        "none" if c == "none" else f"{c} (SYNTHETIC)" if syn else c
        for c, syn in zip(table["condition"], table["synthetic"])
    ]
    for cap in ("max_train", "max_eval"):
        table[cap] = [int(v) if v else "all" for v in table[cap]]
    columns = [
        "model",
        "variant",
        "dataset",
        "images",
        "training",
        "max_train",
        "max_eval",
        "test F1",
        "paper",
        "note",
        "sources",
    ]
    return table[columns].reset_index(drop=True)


def data_note(params: dict[str, Any]) -> str:
    """One sentence on what data a chapter ran on (printed under its parameters)."""
    dataset = params.get("dataset", "demo")
    cap = params.get("max_train")
    capped = f", training set capped at {cap} tweets" if cap else ""
    if dataset == "demo":
        return (
            "Data: the shipped demo corpus (synthetic tweets generated by mner_lib.demo_corpus; "
            f"no data folder set){capped}. Its numbers show that the code runs, not what the "
            "papers' models achieve."
        )
    from mner_lib.data import resolve_data_dir

    return f"Data: {dataset} from the data folder {resolve_data_dir(params.get('data_dir') or None)}{capped}."


def summary(params: dict[str, Any]) -> str:
    """The chapter's parameters and where it runs, for the cell after the parameters."""
    lines = [f"  {k} = {v!r}" for k, v in sorted(params.items())]
    text = "Parameters of this build:\n" + "\n".join(lines)
    if "device" in params:
        text += f"\nDevice: {device_label(params['device'])}"
    if "dataset" in params:
        text += "\n" + data_note(params)
    return text
