"""The book's runner: profiles, executing the chapter notebooks with papermill, the HTML build.

``python -m mner_lib book run --profile quick`` reads ``mner_lib/profiles/quick.yml``, checks
every chapter's parameters against its schema (:mod:`mner_lib.book.params`), executes the notebooks
of ``notebooks/`` with papermill into ``book/_executed/`` (the build input, ignored by git) and
then builds ``_build/html`` with Jupyter Book from the top-level ``_config.yml`` / ``_toc.yml``;
the build executes nothing (``execute_notebooks: off``) and treats warnings as errors. A rebuild
redoes only what changed (:mod:`mner_lib.book.cache`): a chapter whose inputs are those of its
last successful execution keeps its executed copy, and an HTML build whose staged input, results
and library are those of the last one is skipped; ``book run --force`` redoes both.

A chapter that fails stops the run with a message naming the notebook, the cell and the error;
the executed notebook with the traceback stays in ``book/_executed/`` for inspection. A chapter
not executed in this run (``--only``) keeps its last executed copy, or gets a one-cell stub that
says how to run it, so the table of contents always resolves.

A profile (:func:`load_profile`) is checked whole before anything runs: a key, chapter or value
of another shape is an error naming the file and the key; its ``env:`` may set only
:data:`PROFILE_ENV` and the library's ``MNER_*`` variables (never ``PATH``, ``LD_PRELOAD``, ...).
"""

from __future__ import annotations

import json
import os
import re
import reprlib
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mner_lib.book import cache
from mner_lib.io.atomicfile import atomic_write_json

#: the repository checkout: notebooks/, book/, _config.yml and _toc.yml live here
ROOT = Path(__file__).resolve().parents[2]
PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"
NOTEBOOK_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "book" / "_executed"
BUILD_DIR = ROOT / "_build"
LIBRARY_DIR = PROFILE_DIR.parent  # the package the kernel imports: in every chapter's key
RESULTS_DIR = ROOT / "results"  # read by the book's Sphinx extensions: in the build's key


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
    source: str = ""  # the profile file, named in errors


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yml"))


#: what a profile's ``env:`` may set for the notebook kernel: the library's own ``MNER_*``
#: settings (data, cache and image folders, precision, downloads; not ``MNER_BOOK_BATCH``, the
#: runner's) and these. Anything else (``PATH``, ``PYTHONPATH``, ``LD_PRELOAD``, ...) could make
#: the kernel run other code, so a profile that sets it is refused.
PROFILE_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_MNER_ENV = re.compile(r"MNER_[A-Z0-9_]+")
PROFILE_KEYS = ("description", "chapters", "common", "chapters_params", "env", "cell_timeout")


def profile_env(env: Any, where: str) -> dict[str, str]:
    """A profile's ``env:`` checked against :data:`PROFILE_ENV` (numbers become strings);
    ``ValueError`` naming ``where`` (the profile file) and the variable otherwise."""
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise ValueError(f"{where}: env: must be a mapping NAME: value, got {reprlib.repr(env)}")
    out = {}
    for name, value in env.items():
        if not isinstance(name, str) or not (
            name in PROFILE_ENV or (_MNER_ENV.fullmatch(name) and name != "MNER_BOOK_BATCH")
        ):
            raise ValueError(
                f"{where}: env: variable {name!r} may not be set by a profile; allowed: "
                f"{', '.join(PROFILE_ENV)} and MNER_* (but MNER_BOOK_BATCH)"
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(
                f"{where}: env: {name}: give a string value, got {reprlib.repr(value)}"
            )
        if "\x00" in str(value):
            raise ValueError(f"{where}: env: {name}: the value holds a NUL character")
        out[name] = str(value)
    return out


def _mapping(value: Any, where: str, key: str) -> dict[str, Any]:
    """``value`` (``None``: empty) as a mapping with string keys, else a ``ValueError``."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(
            f"{where}: {key}: must be a mapping of names to values, got {reprlib.repr(value)}"
        )
    return dict(value)


def _chapter_key(key: Any, where: str, field_: str) -> str:
    try:
        return chapter(key).key
    except ValueError as err:
        raise ValueError(f"{where}: {field_}: {err}") from None


def load_profile(name_or_path: str) -> Profile:
    """A profile by name (``mner_lib/profiles/<name>.yml``) or by path; a file of another shape
    is a ``ValueError`` naming the file and the key."""
    import yaml

    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yml"
    if not path.is_file():
        raise FileNotFoundError(
            f"profile {name_or_path!r} not found ({path}); valid: {', '.join(profile_names())}"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        why = getattr(err, "problem", None) or " ".join(str(err).split())
        raise ValueError(f"{where}: not a valid YAML profile ({why})") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a profile is a mapping of {', '.join(PROFILE_KEYS)}")
    bad = sorted(str(k) for k in data if k not in PROFILE_KEYS)
    if bad:
        raise ValueError(
            f"{path}: unknown {'key' if len(bad) == 1 else 'keys'} {', '.join(bad)}; valid: {', '.join(sorted(PROFILE_KEYS))}"
        )
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise ValueError(f"{path}: description: must be text, got {reprlib.repr(description)}")
    chapters = data.get("chapters")
    chapters = list(CHAPTER_KEYS) if chapters in (None, []) else chapters
    if not isinstance(chapters, list):
        raise ValueError(
            f"{path}: chapters: must be a list of chapter names, got {reprlib.repr(chapters)}"
        )
    per_chapter = {}
    for key, values in _mapping(data.get("chapters_params"), path, "chapters_params").items():
        per_chapter[_chapter_key(key, path, "chapters_params")] = _mapping(
            values, path, f"chapters_params: {key}"
        )
    timeout = data.get("cell_timeout", 900)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(
            f"{path}: cell_timeout: must be a whole number of seconds, got {reprlib.repr(timeout)}"
        )
    return Profile(
        name=path.stem,
        description=description,
        chapters=[_chapter_key(k, path, "chapters") for k in chapters],
        common=_mapping(data.get("common"), path, "common"),
        per_chapter=per_chapter,
        env=profile_env(data.get("env"), str(path)),
        cell_timeout=timeout,
        source=str(path),
    )


def chapter_parameters(
    profile: Profile, key: str, data_dir: str | None = None, use_env: bool = True
) -> dict[str, Any]:
    """The parameters papermill injects into chapter ``key``: the profile's common values the
    chapter knows, then the chapter's own; ``dataset: auto`` becomes the real dataset when a data
    folder is set (argument or, with ``use_env``, ``$MNER_DATA_DIR``), else the demo corpus."""
    from mner_lib.book.params import ParameterError

    try:
        return _chapter_parameters(profile, key, data_dir, use_env)
    except ParameterError as err:
        if not profile.source:
            raise
        raise ParameterError(f"profile {profile.source}: {err}") from None


def _chapter_parameters(
    profile: Profile, key: str, data_dir: str | None, use_env: bool
) -> dict[str, Any]:
    from mner_lib.book.params import schema, validate

    known = schema(key)
    values = {k: v for k, v in profile.common.items() if k in known}
    values.update(profile.per_chapter.get(key, {}))
    data_dir = data_dir or (os.environ.get("MNER_DATA_DIR") if use_env else "") or ""
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
    ``python``), a non-interactive matplotlib, and the profile's variables (only those
    :func:`profile_env` allows)."""
    os.environ.update(profile_env(extra, "the profile"))
    bin_dir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_dir):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ["MNER_BOOK_BATCH"] = "1"  # mner_lib.book.explorer: no live widget in a batch run


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
    off_the_page(output, chapter_)
    return time.time() - start


#: parameters that name a folder: injected relative to the checkout, so no page prints a local path
PATH_PARAMETERS = ("data_dir", "runs_dir", "results_dir")


def portable_paths(values: dict[str, Any], cwd: Path = ROOT) -> dict[str, Any]:
    """``values`` with every absolute folder of :data:`PATH_PARAMETERS` made relative to ``cwd``
    (where the kernel runs), so the pages that print them show no local absolute path."""
    out = dict(values)
    for name in PATH_PARAMETERS:
        value = out.get(name)
        if isinstance(value, str) and value and os.path.isabs(value):
            out[name] = os.path.relpath(value, cwd)
    return out


def local_prefixes() -> list[tuple[str, str]]:
    """Local folders a page must not print, longest first, and what a page says instead: the
    checkout becomes repository-relative, the Python environment ``<python>``, the home ``~``."""
    pairs = {str(ROOT) + os.sep: "", str(ROOT): "."}
    if sys.prefix != sys.base_prefix:  # a virtual environment (not a system folder like /usr)
        pairs.setdefault(sys.prefix, "<python>")
    if len(Path.home().parts) > 1:
        pairs.setdefault(str(Path.home()), "~")
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def _scrub(text: str, prefixes: list[tuple[str, str]]) -> str:
    for prefix, replacement in prefixes:
        text = text.replace(prefix, replacement)
    return text


def off_the_page(path: Path, chapter_: Chapter) -> None:
    """Plumbing off the built page: papermill's ``injected-parameters`` cell gets the
    ``remove-cell`` tag (the summary cell prints the values); a local folder printed in a text
    output (a path inside the checkout, the Python environment, the home folder) is written
    relative (:func:`local_prefixes`); papermill's record of the input and output paths becomes
    repository-relative (the page's .ipynb download carries it)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    prefixes = local_prefixes()
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _scrub(output["text"], prefixes)
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = _scrub(value, prefixes)
    record = nb.metadata.get("papermill", {})
    if "input_path" in record:
        record["input_path"] = f"notebooks/{chapter_.notebook}"
    if "output_path" in record:
        record["output_path"] = f"book/_executed/{chapter_.notebook}"
    nbformat.write(nb, path)


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
    """The build input: ``_config.yml``, ``_toc.yml``, ``references.bib`` and ``book/`` as
    committed, and the *executed* notebooks under ``notebooks/`` (the same paths as in the
    repository, so the Colab launch buttons point at the committed notebooks); synced, so Sphinx
    rereads only what changed (:func:`mner_lib.book.cache.sync_tree`)."""
    files = {name: ROOT / name for name in ("_config.yml", "_toc.yml", "references.bib")}
    for rel, path in cache.files_under(ROOT / "book", skip_dir=lambda name: name == "_executed"):
        files[f"book/{rel}"] = path
    for c in CHAPTERS:
        files[f"notebooks/{c.notebook}"] = executed_dir / c.notebook
    cache.sync_tree(files, stage)
    return stage


def build_html(source: Path, output: Path = ROOT, warnings_as_errors: bool = True) -> Path:
    """``jupyter-book build`` of ``source`` (the staged top-level ``_config.yml`` / ``_toc.yml``)
    into ``output/_build/html``; executes nothing. Returns the HTML folder."""
    exe = Path(sys.executable).parent / "jupyter-book"
    exe = str(exe) if exe.exists() else "jupyter-book"
    command = [exe, "build", str(source), "--builder", "html", "--path-output", str(output)]
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
    cached: list[str] = field(default_factory=list)  # chapters whose executed copy was current
    built: bool = False  # whether jupyter-book ran (False: the HTML was current, or no build)


def run_book(
    profile_name: str,
    only: Sequence[str] | None = None,
    data_dir: str | None = None,
    build: bool = True,
    executed_dir: Path = EXECUTED_DIR,
    output: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    log=print,
    force: bool = False,
) -> RunReport:
    """Execute the profile's chapters (or ``only`` those) and build the book into
    ``output/_build/html``. ``overrides`` replace parameters of every chapter that has them
    (the tests send ``runs_dir`` to a temporary folder). What is current is not redone, unless
    ``force`` (see :mod:`mner_lib.book.cache`)."""
    from mner_lib.book.params import schema, validate

    profile = load_profile(profile_name)
    keys = [chapter(k).key for k in only] if only else profile.chapters
    params = {k: chapter_parameters(profile, k, data_dir) for k in keys}  # fail before running
    for key in keys:
        known = schema(key)
        params[key].update({k: v for k, v in (overrides or {}).items() if k in known})
        params[key] = portable_paths(validate(key, params[key], partial=True))
    _kernel_env(profile.env)
    inputs = cache.Keys(ROOT, LIBRARY_DIR, profile.env)
    executed: dict[str, float] = {}
    cached: list[str] = []
    for c in map(chapter, keys):
        out = executed_dir / c.notebook
        parts = inputs.chapter(NOTEBOOK_DIR / c.notebook, params[c.key], cache.reads_runs(c.key))
        record = cache.Record(cache.key_file(out), out)
        if not record.due(parts, force, log, f"[book] {c.key}", "executing"):
            cached.append(c.key)
            continue
        log(f"[book] {c.key}: notebooks/{c.notebook} with {json.dumps(params[c.key])}")
        with record.making(parts):  # a failed or interrupted execution leaves no key
            executed[c.key] = execute_chapter(c, params[c.key], out, profile.cell_timeout)
        log(f"[book] {c.key}: done in {executed[c.key]:.0f}s")
    stubs = []
    for c in CHAPTERS:
        if not (executed_dir / c.notebook).exists():
            stub_notebook(c, executed_dir / c.notebook, profile.name)
            stubs.append(c.key)
    run = {"profile": profile.name, "executed": executed, "cached": cached, "stubs": stubs}
    atomic_write_json(executed_dir / "run.json", run)
    report = RunReport(executed, stubs, Path(output) / "_build" / "html" if build else None, cached)
    if build:
        stage = stage_sources(executed_dir, Path(output) / "_build" / "src")
        parts = inputs.build(stage, RESULTS_DIR)  # the results: the Sphinx extensions read them
        record = cache.Record(Path(output) / "_build" / "html.key.json", report.html / "index.html")
        kept = "unchanged since the last build, jupyter-book skipped"
        if record.due(parts, force, log, "[book] HTML", "building with jupyter-book", kept):
            with record.making(parts):
                report.html, report.built = build_html(stage, Path(output)), True
            log(f"[book] HTML in {report.html}/index.html")
    return report
