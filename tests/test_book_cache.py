"""The book's rebuild cache (:mod:`mner_lib.book.cache`): a chapter is executed again only when
one of its inputs changed, a failed or interrupted execution or build leaves no key, ``--force``
redoes everything, and staging keeps unchanged files as they were (so Sphinx rereads only what
changed). papermill and jupyter-book are replaced by fakes that write their products: these tests
check the decisions, in well under a second per run of the book."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from mner_lib.book import BookError, cache, runner
from mner_lib.book.params import schema
from mner_lib.commands import cli

CHAPTERS = ["foundations", "cwi", "comparison"]  # two that train, one that shows their runs


class Book:
    """A book in a temporary folder: its own notebooks, library, results, runs and output; the
    real profile loader and parameter checks; fake papermill and jupyter-book that count calls."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch):
        self.root = root
        self.executions: list[str] = []
        self.builds = 0
        self.fail: dict[str, BaseException] = {}
        self.barrier: threading.Barrier | None = None  # the chapters that train wait at it
        self.events: list[tuple[str, str]] = []  # (start or end, chapter), in order
        self.notebooks = root / "notebooks"
        self.notebooks.mkdir()
        for c in runner.CHAPTERS:
            (self.notebooks / c.notebook).write_text(f'{{"cells": ["{c.key}"]}}\n')
        self.library = root / "lib"
        (self.library / "__pycache__").mkdir(parents=True)
        (self.library / "core.py").write_text("X = 1\n")
        (self.library / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"\x00")
        self.results = root / "results"
        (self.results / "run1").mkdir(parents=True)
        (self.results / "run1" / "metrics.json").write_text('{"test_f1": 70.0}\n')
        self.runs = root / "runs"
        self.executed = root / "executed"
        self.profile = root / "tiny.yml"
        self.write_profile({})
        monkeypatch.setattr(runner, "NOTEBOOK_DIR", self.notebooks)
        monkeypatch.setattr(runner, "LIBRARY_DIR", self.library)
        monkeypatch.setattr(runner, "RESULTS_DIR", self.results)
        monkeypatch.setattr(runner, "execute_chapter", self.execute)
        monkeypatch.setattr(runner, "build_html", self.build_html)
        monkeypatch.delenv("MNER_DATA_DIR", raising=False)
        for name in ("PATH", "MNER_BOOK_BATCH", "PYDEVD_DISABLE_FILE_VALIDATION"):
            present = name in os.environ  # run_book sets them: restored after the test
            monkeypatch.setenv(name, os.environ.get(name, ""))
            if not present:
                monkeypatch.delenv(name)

    def write_profile(self, per_chapter: dict, chapters: list[str] = CHAPTERS, **keys) -> None:
        text = {"chapters": chapters, "common": {"dataset": "demo", "epochs": 1, "seeds": [0]}}
        text["chapters_params"] = per_chapter
        text.update(keys)
        self.profile.write_text(json.dumps(text))  # JSON is YAML

    def execute(self, chapter, params, output: Path, cell_timeout: int = 900) -> float:
        """papermill's stand-in: writes the executed notebook (half of it when told to fail)
        and, for a chapter that trains, its run folder."""
        self.executions.append(chapter.key)
        self.events.append(("start", chapter.key))
        output.parent.mkdir(parents=True, exist_ok=True)
        if self.barrier is not None and "models" in schema(chapter.key):
            self.barrier.wait()  # broken (an error) unless the other one runs at the same time
        if chapter.key in self.fail:
            self.events.append(("end", chapter.key))
            output.write_text('{"cells": [')  # cut short
            raise self.fail.pop(chapter.key)
        output.write_text(json.dumps({"chapter": chapter.key, "run": len(self.executions)}))
        if "models" in schema(chapter.key):
            run = self.root / "runs" / chapter.key / "metrics.json"
            run.parent.mkdir(parents=True, exist_ok=True)
            run.write_text(json.dumps({"run": len(self.executions)}))
        self.events.append(("end", chapter.key))
        return 0.5

    def build_html(self, source: Path, output: Path) -> Path:
        self.builds += 1
        if self.fail.pop("html", None):
            raise BookError("jupyter-book build failed (exit 2)")
        html = output / "_build" / "html"
        html.mkdir(parents=True, exist_ok=True)
        (html / "index.html").write_text(f"<p>build {self.builds}</p>")
        return html

    def run(self, force: bool = False, **overrides) -> tuple[runner.RunReport, list[str]]:
        """One ``book run`` of the tiny profile; returns the report and the log lines."""
        lines: list[str] = []
        self.executions = []
        report = runner.run_book(
            str(self.profile),
            executed_dir=self.executed,
            output=self.root,
            overrides={"runs_dir": str(self.runs), "results_dir": str(self.results), **overrides},
            log=lines.append,
            force=force,
        )
        return report, lines


@pytest.fixture
def tiny_book(tmp_path, monkeypatch) -> Book:
    book = Book(tmp_path, monkeypatch)
    book.run()  # the first build: every chapter executed, the HTML built
    assert book.executions == CHAPTERS and book.builds == 1
    return book


def line_of(lines: list[str], key: str) -> str:
    """The line that says whether ``key`` is cached or executed, and why."""
    return next(x for x in lines if x.startswith(f"[book] {key}: "))


# ----------------------------------------------------------------------------- what re-executes
def test_nothing_changed_executes_nothing_and_skips_jupyter_book(tiny_book):
    report, lines = tiny_book.run()
    assert tiny_book.executions == [] and tiny_book.builds == 1
    assert report.cached == CHAPTERS and not report.built
    assert line_of(lines, "cwi").startswith("[book] cwi: cached (key ")
    assert "jupyter-book skipped" in line_of(lines, "HTML")
    record = json.loads((tiny_book.executed / "03_cwi.key.json").read_text())
    assert set(record["parts"]) == {"notebook", "parameters", "library", "environment", "results"}


def test_a_changed_notebook_executes_that_chapter_and_those_showing_its_runs(tiny_book):
    with open(tiny_book.notebooks / "07_comparison.ipynb", "a") as f:
        f.write("\n")
    tiny_book.run()
    assert tiny_book.executions == ["comparison"] and tiny_book.builds == 2
    with open(tiny_book.notebooks / "03_cwi.ipynb", "a") as f:
        f.write("\n")
    _, lines = tiny_book.run()
    # cwi trained again, so the comparison of this build's runs is executed again too
    assert tiny_book.executions == ["cwi", "comparison"]
    assert line_of(lines, "cwi") == "[book] cwi: executing (notebook changed)"
    assert (
        line_of(lines, "comparison") == "[book] comparison: executing (this build's runs changed)"
    )
    assert line_of(lines, "foundations").startswith("[book] foundations: cached")


def test_a_parameter_change_executes_the_chapter_again(tiny_book):
    tiny_book.write_profile({"cwi": {"epochs": 2}})
    _, lines = tiny_book.run()
    assert tiny_book.executions == ["cwi", "comparison"]
    assert line_of(lines, "cwi") == "[book] cwi: executing (parameters changed)"


def test_a_library_change_executes_every_chapter_but_byte_code_does_not(tiny_book):
    (tiny_book.library / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"\x01")
    (tiny_book.library / "core.pyc").write_bytes(b"\x01")
    tiny_book.run()
    assert tiny_book.executions == []
    (tiny_book.library / "core.py").write_text("X = 2\n")
    _, lines = tiny_book.run()
    assert tiny_book.executions == CHAPTERS
    assert line_of(lines, "foundations") == "[book] foundations: executing (library changed)"
    assert "library changed" in line_of(lines, "HTML")  # it holds the Sphinx extensions


def test_a_results_change_executes_again_and_rebuilds_but_the_same_bytes_do_not(tiny_book):
    metrics = tiny_book.results / "run1" / "metrics.json"
    metrics.write_text(metrics.read_text())  # rewritten, same content
    tiny_book.run()
    assert tiny_book.executions == [] and tiny_book.builds == 1
    metrics.write_text('{"test_f1": 71.0}\n')
    _, lines = tiny_book.run()
    assert tiny_book.executions == CHAPTERS and tiny_book.builds == 2
    assert line_of(lines, "cwi") == "[book] cwi: executing (results changed)"


def test_a_data_folder_is_keyed_by_its_listing(tmp_path, monkeypatch):
    book = Book(tmp_path, monkeypatch)
    data = tmp_path / "data"
    (data / "twitter2015").mkdir(parents=True)
    (data / "twitter2015" / "train.txt").write_text("IMGID:1\n")
    monkeypatch.setenv("MNER_DATA_DIR", str(data))
    book.write_profile({"task_data": {"dataset": "auto", "data_dir": "auto"}}, ["task_data"])
    book.run()
    book.run()
    assert book.executions == []
    os.utime(data / "twitter2015" / "train.txt", ns=(1, 1))  # same bytes, another file
    _, lines = book.run()
    assert book.executions == ["task_data"]
    assert line_of(lines, "task_data") == "[book] task_data: executing (data folder changed)"


def test_force_executes_and_builds_again(tiny_book):
    report, lines = tiny_book.run(force=True)
    assert tiny_book.executions == CHAPTERS and tiny_book.builds == 2 and report.built
    assert line_of(lines, "cwi") == "[book] cwi: executing (--force)"


def test_the_cli_passes_force(monkeypatch):
    seen = {}

    def fake_run_book(profile, **kwargs):
        seen.update(kwargs)
        return runner.RunReport({}, [], None)

    monkeypatch.setattr("mner_lib.book.run_book", fake_run_book)
    assert cli.main(["book", "run", "--force", "--no-build"]) == 0
    assert seen["force"] is True
    assert cli.main(["book", "run", "--no-build"]) == 0
    assert seen["force"] is False


# ----------------------------------------------------------------------------- no false keys
def test_a_failed_execution_leaves_no_key_and_runs_again(tiny_book):
    (tiny_book.notebooks / "03_cwi.ipynb").write_text('{"cells": ["cwi", "new"]}\n')
    tiny_book.fail["cwi"] = BookError("chapter 'cwi' failed in cell 3")
    with pytest.raises(BookError):
        tiny_book.run()
    assert not (tiny_book.executed / "03_cwi.key.json").exists()
    _, lines = tiny_book.run()
    assert tiny_book.executions == ["cwi", "comparison"]
    assert line_of(lines, "cwi") == "[book] cwi: executing (no cached copy)"


def test_an_interrupted_forced_run_does_not_leave_the_old_key_on_a_half_notebook(tiny_book):
    # the inputs are unchanged, so the old key would match the half-written notebook
    tiny_book.fail["foundations"] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        tiny_book.run(force=True)
    assert not (tiny_book.executed / "02_foundations.key.json").exists()
    tiny_book.run()
    assert tiny_book.executions == ["foundations", "comparison"]


def test_an_executed_notebook_changed_since_it_was_keyed_is_executed_again(tiny_book):
    (tiny_book.executed / "03_cwi.ipynb").write_text("{}")
    _, lines = tiny_book.run()
    assert tiny_book.executions == ["cwi", "comparison"]
    assert "03_cwi.ipynb missing or changed" in line_of(lines, "cwi")


def test_a_failed_build_is_built_again_and_a_deleted_site_too(tiny_book):
    tiny_book.fail["html"] = True
    (tiny_book.library / "core.py").write_text("X = 2\n")
    with pytest.raises(BookError):
        tiny_book.run()
    tiny_book.run()
    assert tiny_book.executions == [] and tiny_book.builds == 3
    (tiny_book.root / "_build" / "html" / "index.html").unlink()
    tiny_book.run()
    assert tiny_book.builds == 4


# ----------------------------------------------------------------------------- staging
def test_sync_keeps_unchanged_files_rewrites_changed_and_removes_stale(tmp_path):
    src, stage = tmp_path / "src", tmp_path / "stage"
    src.mkdir()
    (src / "a.md").write_text("a")
    (src / "b.md").write_text("b")
    files = {"a.md": src / "a.md", "sub/b.md": src / "b.md"}
    assert cache.sync_tree(files, stage) == ["a.md", "sub/b.md"]
    for path in (stage / "a.md", stage / "sub" / "b.md"):
        os.utime(path, ns=(10**9, 10**9))
    (stage / "old").mkdir()
    (stage / "old" / "gone.md").write_text("stale")
    (src / "b.md").write_text("b2")
    assert cache.sync_tree(files, stage) == ["sub/b.md"]
    assert (stage / "a.md").stat().st_mtime_ns == 10**9  # untouched: Sphinx sees it unchanged
    assert (stage / "sub" / "b.md").read_text() == "b2"
    assert (stage / "sub" / "b.md").stat().st_mtime_ns > 10**9  # rewritten: Sphinx rereads it
    assert not (stage / "old").exists()
    assert sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*")) == [
        "a.md",
        "sub",
        "sub/b.md",
    ]


def test_stage_sources_keeps_the_mtime_of_an_unchanged_notebook(tiny_book):
    stage = tiny_book.root / "_build" / "src"
    staged = stage / "notebooks" / "02_foundations.ipynb"
    os.utime(staged, ns=(10**9, 10**9))
    (stage / "notebooks" / "99_removed.ipynb").write_text("{}")
    (tiny_book.executed / "03_cwi.ipynb").write_text('{"edited": 1}')
    runner.stage_sources(tiny_book.executed, stage)
    assert staged.stat().st_mtime_ns == 10**9
    assert (stage / "notebooks" / "03_cwi.ipynb").read_text() == '{"edited": 1}'
    assert not (stage / "notebooks" / "99_removed.ipynb").exists()
    assert (stage / "_toc.yml").read_bytes() == (runner.ROOT / "_toc.yml").read_bytes()


def test_kernels_get_the_profiles_threads_and_the_caller_keeps_its_environment(
    tmp_path, monkeypatch
):
    """The profile's ``env`` reaches the kernels (papermill starts them from ``os.environ``),
    and the process that ran the book gets its own environment back: a test worker or a
    notebook that builds the book is not left with the kernels' thread count."""
    book = Book(tmp_path, monkeypatch)
    text = json.loads(book.profile.read_text())
    book.profile.write_text(json.dumps({**text, "env": {"OMP_NUM_THREADS": "3"}}))
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    seen: list[str | None] = []
    execute = book.execute

    def spying(chapter, params, output, cell_timeout=900):
        seen.append(os.environ.get("OMP_NUM_THREADS"))
        return execute(chapter, params, output, cell_timeout)

    monkeypatch.setattr(runner, "execute_chapter", spying)
    before = dict(os.environ)
    book.run()
    assert seen == ["3"] * len(CHAPTERS)
    assert dict(os.environ) == before
    book.fail["cwi"] = RuntimeError("kernel died")
    with pytest.raises(RuntimeError, match="kernel died"):
        book.run(force=True)
    assert dict(os.environ) == before  # after a failure too


def test_the_shipped_profiles_give_kernels_one_thread():
    """One thread per kernel: on two idle cores a second thread saved about 5% of the HSN and
    GMF chapters, beside other work it made them 4 to 7 times slower
    (benchmarks/book_threads.md, busy: 56-61 s against 220 s for both chapters)."""
    for name in ("quick", "smoke"):
        env = runner.load_profile(name).env
        assert env.get("OMP_NUM_THREADS") == "1" and env.get("MKL_NUM_THREADS") == "1", name


# ----------------------------------------------------------------------------- chapters side by side
def test_with_jobs_the_training_chapters_run_side_by_side_and_their_comparison_after(
    tmp_path, monkeypatch
):
    book = Book(tmp_path, monkeypatch)
    book.write_profile({}, jobs=2)
    book.barrier = threading.Barrier(2, timeout=10)  # foundations and cwi must meet there
    report, lines = book.run()
    ends = [book.events.index(("end", k)) for k in ("foundations", "cwi")]
    assert book.events.index(("start", "comparison")) > max(ends)
    assert list(report.executed) == CHAPTERS and book.builds == 1
    assert all((book.executed / f"{n}.key.json").exists() for n in ("02_foundations", "03_cwi"))
    book.barrier = None
    assert book.run()[0].cached == CHAPTERS  # keyed as in a run one chapter at a time


def test_with_jobs_a_failure_lets_the_running_chapter_finish_and_starts_nothing_more(
    tmp_path, monkeypatch
):
    book = Book(tmp_path, monkeypatch)
    book.write_profile({}, jobs=2)
    book.fail["cwi"] = BookError("chapter 'cwi' failed in cell 3")
    book.barrier = threading.Barrier(2, timeout=10)  # cwi fails once foundations is running
    with pytest.raises(BookError, match="'cwi' failed"):
        book.run()
    book.barrier = None
    assert sorted(book.executions) == ["cwi", "foundations"]  # no comparison after a failure
    assert (book.executed / "02_foundations.key.json").exists()
    assert not (book.executed / "03_cwi.key.json").exists()
    assert book.run()[0].executed.keys() == {"cwi", "comparison"}


@pytest.mark.parametrize("jobs", [0, 65, "2", True, 1.5])
def test_a_profile_with_jobs_out_of_range_is_refused_by_name(tmp_path, jobs):
    path = tmp_path / "bad.yml"
    path.write_text(json.dumps({"chapters": ["cwi"], "jobs": jobs}))
    with pytest.raises(
        ValueError, match=r"bad\.yml: jobs: must be a whole number of chapters from 1 to 64"
    ):
        runner.load_profile(str(path))
