"""benchmarks/timeline.py: the per-worker timeline of a test run (is the suite CPU-bound?)."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "benchmarks_timeline", ROOT / "benchmarks" / "timeline.py"
)
timeline = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = timeline  # its dataclass looks its module up
_spec.loader.exec_module(timeline)


def _record(monkeypatch, folder: Path, worker: str, test: str, start: float, end: float):
    """What the plugin writes for one test that ran from ``start`` to ``end``."""
    monkeypatch.setenv(timeline.TIMELINE_DIR, str(folder))
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    item = types.SimpleNamespace(nodeid=test)
    monkeypatch.setattr(timeline.time, "time", lambda: start)
    timeline.pytest_runtest_protocol(item, None)
    monkeypatch.setattr(timeline.time, "time", lambda: end)
    for when in ("setup", "call", "teardown"):  # one line, at the teardown
        timeline.pytest_runtest_makereport(item, types.SimpleNamespace(when=when))


def test_the_report_shows_each_workers_busy_time_and_its_idle_gaps(tmp_path, monkeypatch):
    _record(monkeypatch, tmp_path, "gw0", "tests/a.py::long", 100.0, 190.0)
    _record(monkeypatch, tmp_path, "gw1", "tests/b.py::one", 100.0, 110.0)
    _record(monkeypatch, tmp_path, "gw1", "tests/b.py::two", 140.0, 150.0)
    gw0 = timeline.read_spans(tmp_path / "gw0.jsonl", since=100.0)
    gw1 = timeline.read_spans(tmp_path / "gw1.jsonl", since=100.0)
    assert [(s.test, s.start, s.end) for s in gw1] == [
        ("tests/b.py::one", 0.0, 10.0),
        ("tests/b.py::two", 40.0, 50.0),
    ]
    assert timeline.gaps(gw1) == [(10.0, 40.0)] and timeline.gaps(gw0) == []
    text = timeline.report({"gw0": gw0, "gw1": gw1})
    assert "gw0: 1 tests from 0 s to 90 s, busy 90 s; the run ended at 90 s" in text
    assert "gw1: 2 tests from 0 s to 50 s, busy 20 s" in text
    assert "idle from 10 s to 40 s" in text
    assert text.endswith(
        "all workers: busy 110 s; the longest test 90 s (tests/a.py::long), the others 20 s"
    )


def test_without_its_folder_the_plugin_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(timeline.TIMELINE_DIR, raising=False)
    monkeypatch.chdir(tmp_path)
    item = types.SimpleNamespace(nodeid="tests/a.py::t")
    timeline.pytest_runtest_protocol(item, None)
    timeline.pytest_runtest_makereport(item, types.SimpleNamespace(when="teardown"))
    assert list(tmp_path.iterdir()) == []


def test_a_line_that_is_not_a_record_is_named_by_file_and_line(tmp_path, capsys):
    path = tmp_path / "gw0.jsonl"
    path.write_text(json.dumps({"id": "t", "start": 1.0, "end": 2.0}) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"gw0\.jsonl:2: not a timeline record"):
        timeline.read_spans(path, 0.0)
    assert timeline.main([str(tmp_path)]) == 2  # one line naming the file, no traceback
    assert "gw0.jsonl:2: not a timeline record" in capsys.readouterr().err
    assert timeline.main([str(tmp_path / "empty")]) == 2
    assert "no timeline" in capsys.readouterr().err
