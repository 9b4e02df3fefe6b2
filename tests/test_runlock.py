"""One writer per folder (mner_lib.training.runlock): a second process is refused at once, in one line
naming the holder's process; the system frees the lock of a killed holder; a forked child does
not inherit the right to write; a link or a FIFO in place of the lock file never hangs or leads
out of the folder."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from mner_lib.training import runfolder as rf
from mner_lib.training import runlock
from tests.deadline import deadline

CONFIG = {"model": "bilstm-crf", "seed": 0, "lr": 0.1}
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a second writer")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _holder(body) -> tuple[int, int, int]:
    """A forked child that runs ``body`` (taking a lock), reports, then waits to be told to end
    (a line on its pipe) or killed: ``(pid, to_child, from_child)``."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(ready_r)
            os.close(go_w)
            body()
            os.write(ready_w, b"ready\n")
            os.read(go_r, 1)
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(go_r)
    with deadline(60):
        assert os.read(ready_r, 6) == b"ready\n", "the holder failed to take its lock"
    return pid, go_w, ready_r


def _end(pid: int, go_w: int, ready_r: int, kill: bool = False) -> int:
    if kill:
        os.kill(pid, signal.SIGKILL)
    else:
        os.write(go_w, b"x")
    os.close(go_w)
    os.close(ready_r)
    return os.waitpid(pid, 0)[1]


@needs_fork
def test_a_second_process_is_refused_naming_the_holder_and_a_killed_holder_frees_it(tmp_path):
    folder = tmp_path / "run"
    holder = _holder(lambda: rf.RunFolder(folder, "train --out run").open(CONFIG))
    before = _snapshot(folder)
    info = json.loads((folder / ".lock").read_text())
    assert info["pid"] == holder[0] and info["command"] == "train --out run"
    for config, overwrite in ((CONFIG, False), ({**CONFIG, "seed": 1}, True)):
        with pytest.raises(rf.RunBusyError) as caught:
            rf.RunFolder(folder, "train --seed 1").open(config, overwrite=overwrite)
        message = str(caught.value)
        assert "\n" not in message
        assert f"in use by process {holder[0]} (train --out run, since " in message
        assert f"(kill {holder[0]})" in message and caught.value.holder["pid"] == holder[0]
    assert _snapshot(folder) == before  # the refused writer changed nothing
    status = _end(*holder, kill=True)
    assert os.WIFSIGNALED(status)
    run = rf.RunFolder(folder)
    assert run.open({**CONFIG, "seed": 1}, overwrite=True) == "new"  # the system freed it
    assert json.loads((folder / ".lock").read_text())["pid"] == os.getpid()
    run.close()
    assert not (folder / ".lock").exists()  # released: the lock file goes with it


@needs_fork
def test_a_forked_child_does_not_inherit_the_right_to_write(tmp_path):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder)
    run.open(CONFIG)
    read_r, read_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            rf.RunFolder(folder).open(CONFIG)
            os.write(read_w, b"opened")
        except rf.RunBusyError as err:
            os.write(read_w, str(err).encode()[:4000])
        finally:
            os._exit(0)
    os.close(read_w)
    os.waitpid(pid, 0)
    with os.fdopen(read_r, "rb") as f:
        said = f.read().decode()
    assert f"in use by process {os.getpid()}" in said
    assert rf.RunFolder(folder).open(CONFIG) == "new"  # this process may open it again
    run.close()


def test_finishing_or_a_refused_open_releases_the_lock_and_leaves_no_folder(tmp_path, monkeypatch):
    folder = tmp_path / "new" / "run"
    run = rf.RunFolder(folder)
    run.open(CONFIG)
    assert (folder / ".lock").is_file()
    run.save_model({}, {"model": "x"})
    run.finish({"test": {"f1": 1.0}})
    assert not (folder / ".lock").exists()
    assert ".lock" not in json.loads((folder / "manifest.json").read_text())["files"]
    with pytest.raises(rf.RunExistsError):  # refused: no lock file stays behind
        rf.RunFolder(folder).open(CONFIG)
    assert not (folder / ".lock").exists()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("mine")

    def never(*args, **kwargs):
        raise AssertionError("a lock file was made in a folder of other files")

    monkeypatch.setattr(runlock, "acquire", never)  # refused before any lock file is made
    with pytest.raises(rf.RunFolderError, match="not a run folder"):
        rf.RunFolder(other).open(CONFIG)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ".lock").write_text(json.dumps({"pid": 999999999, "command": "gone"}))
    run = rf.RunFolder(folder)
    assert run.open(CONFIG) == "new"
    assert json.loads((folder / ".lock").read_text())["pid"] == os.getpid()
    run.close()


def test_a_link_or_a_fifo_in_place_of_the_lock_file_is_refused_in_one_line(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    link_run = tmp_path / "link"
    link_run.mkdir()
    (link_run / ".lock").symlink_to(outside)
    with pytest.raises(rf.RunFolderError, match=r"\.lock is a symbolic link"):
        rf.RunFolder(link_run).open(CONFIG)
    assert outside.read_text() == "not yours"
    assert not (link_run / "config.json").exists()
    if hasattr(os, "mkfifo"):
        fifo_run = tmp_path / "fifo"
        fifo_run.mkdir()
        os.mkfifo(fifo_run / ".lock")
        with deadline(20), pytest.raises(rf.RunFolderError, match="not a regular file"):
            rf.RunFolder(fifo_run).open(CONFIG)
        with deadline(20):
            assert runlock.read_holder(fifo_run / ".lock") == {}


def test_the_holders_description_is_one_bounded_line_whatever_it_wrote():
    assert runlock.describe_holder({}) == "another process"
    assert runlock.describe_holder({"pid": "1; rm -rf /"}) == "another process"
    line = runlock.describe_holder({"pid": 7, "command": "a\nb" + "x" * 500, "since": "t\n"})
    assert line.startswith("process 7 (a b") and "\n" not in line and len(line) < 260
