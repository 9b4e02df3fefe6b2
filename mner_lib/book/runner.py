"""The book's runner: executing the chapter notebooks with papermill, and the HTML build.

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

The chapters are :mod:`mner_lib.book.toc`'s, the profiles :mod:`mner_lib.book.profiles`' (checked
whole before anything runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mner_lib.book import cache
from mner_lib.book.profiles import Profile, chapter_parameters, load_profile, profile_env
from mner_lib.book.toc import (
    BUILD_DIR,
    CHAPTERS,
    EXECUTED_DIR,
    NOTEBOOK_DIR,
    PROFILE_DIR,
    ROOT,
    BookError,
    Chapter,
    chapter,
)
from mner_lib.io.atomicfile import atomic_write_json

LIBRARY_DIR = PROFILE_DIR.parent  # the package the kernel imports: in every chapter's key
RESULTS_DIR = ROOT / "results"  # read by the book's Sphinx extensions: in the build's key


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


@contextmanager
def kernel_env(extra: dict[str, str]) -> Iterator[None]:
    """:func:`_kernel_env` for the kernels started inside the block; the caller's environment
    comes back after it (a test process, or a notebook that builds the book, keeps its own
    thread count)."""
    saved = dict(os.environ)
    try:
        _kernel_env(extra)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


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
    source = NOTEBOOK_DIR / chapter_.notebook
    if not source.is_file():
        raise FileNotFoundError(f"notebook of chapter {chapter_.key!r} not found: {source}")
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    try:
        run_notebook(source, output, parameters, cell_timeout, cwd)
    except Exception as err:  # papermill wraps every cell error; keep its fields in the message
        raise BookError(failure_message(chapter_, output, err)) from err
    off_the_page(output, chapter_)
    return time.time() - start


def run_notebook(
    source: Path, output: Path, parameters: dict[str, Any], cell_timeout: int, cwd: Path
) -> None:
    """papermill's run of ``source`` into ``output`` with ``parameters``, in the book's kernel
    (:class:`mner_lib.book.kernel.ChapterKernelManager`: no kernel noise in the log)."""
    import papermill as pm

    from mner_lib.book.kernel import ChapterKernelManager

    pm.execute_notebook(
        str(source),
        str(output),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(cwd),
        progress_bar=False,
        execution_timeout=cell_timeout,
        log_output=False,
        kernel_manager_class=ChapterKernelManager,
    )


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


def _execute_all(due: list, params: dict, profile: Profile, log) -> dict[str, float]:
    """Execute ``due`` chapters ((chapter, key parts, record, output) each), ``profile.jobs`` at
    a time (threads: each chapter runs in its own kernel process). The first failure stops what
    has not started; the chapters already running finish (their keys are written), then it is
    raised."""

    import threading

    lock = threading.Lock()

    def say(line: str) -> None:  # one whole line at a time from the chapters' threads
        with lock:
            log(line)

    def one(c: Chapter, parts: dict, record: cache.Record, out: Path) -> float:
        say(f"[book] {c.key}: notebooks/{c.notebook} with {json.dumps(params[c.key])}")
        with record.making(parts):  # a failed or interrupted execution leaves no key
            secs = execute_chapter(c, params[c.key], out, profile.cell_timeout)
        say(f"[book] {c.key}: done in {secs:.0f}s")
        return secs

    if profile.jobs == 1 or len(due) < 2:
        return {item[0].key: one(*item) for item in due}
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=profile.jobs, thread_name_prefix="chapter") as pool:
        futures = {pool.submit(one, *item): item[0].key for item in due}
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            for f in pending:
                f.cancel()
            wait(pending)
            raise failed[0].exception()
    return {key: f.result() for f, key in futures.items()}


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
    with kernel_env(profile.env):
        return _execute_and_build(profile, keys, params, executed_dir, output, build, log, force)


def _execute_and_build(
    profile: Profile,
    keys: list[str],
    params: dict[str, dict[str, Any]],
    executed_dir: Path,
    output: Path,
    build: bool,
    log,
    force: bool,
) -> RunReport:
    """:func:`run_book` once its parameters are checked, in the kernels' environment."""
    inputs = cache.Keys(ROOT, LIBRARY_DIR, profile.env)
    seconds: dict[str, float] = {}
    cached: list[str] = []
    # the chapters that show the build's runs come after those that write them: their key lists
    # the runs folder, read once the others have finished
    for phase in (False, True):
        due = []
        for c in (c for c in map(chapter, keys) if cache.reads_runs(c.key) == phase):
            out = executed_dir / c.notebook
            parts = inputs.chapter(NOTEBOOK_DIR / c.notebook, params[c.key], phase)
            record = cache.Record(cache.key_file(out), out)
            if record.due(parts, force, log, f"[book] {c.key}", "executing"):
                due.append((c, parts, record, out))
            else:
                cached.append(c.key)
        seconds.update(_execute_all(due, params, profile, log))
    executed = {k: seconds[k] for k in keys if k in seconds}
    cached = [k for k in keys if k in cached]
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
