"""A sweep owns its experiment: a second sweep of it (or a summary of it) while the first runs is
refused at once, naming the first one's process, and the summary files are left alone; a rerun
with other settings is refused, naming each setting, instead of passing the old runs off as its
own."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from mner_lib.commands import cli
from tests.deadline import deadline

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forks the first sweep")
SWEEP = ["sweep", "--experiment", "demo-writers", "--models", "bilstm-crf", "--datasets", "demo",
         "--conditions", "none", "--seeds", "0", "--max-train", "20", "--max-eval", "10",
         "--epochs", "2", "--batch-size", "10", "--threads", "1", "--quiet",
         "--option", "use_glove=false", "--option", "hidden=8", "--option", "word_dim=8"]  # fmt: skip


def _paused_sweep(argv: list[str], log: Path) -> tuple[int, int, int]:
    """A forked sweep that stops before its first run until told to go on: (pid, ready, go)."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            import mner_lib.experiments.grid as grid

            real = grid.train_point

            def wait_then_train(**spec):
                os.write(ready_w, b"running\n")
                os.read(go_r, 1)
                return real(**spec)

            grid.train_point = wait_then_train
            code = cli.main(argv)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(ready_w)
    os.close(go_r)
    return pid, ready_r, go_w


def test_a_second_sweep_of_an_experiment_is_refused_and_a_rerun_with_other_settings_too(
    tmp_path, capsys
):
    root = tmp_path / "results"
    argv = [*SWEEP, "--root", str(root)]
    pid, ready, go = _paused_sweep(argv, tmp_path / "first.log")
    try:
        with deadline(120):
            assert os.read(ready, 8) == b"running\n"
        for second in (argv, [*argv, "--summary-only"]):
            assert cli.main(second) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "Traceback" not in err
            assert f"{root / 'demo-writers'} is in use by process {pid} (" in err, err
            assert f"(kill {pid})" in err
        assert not list(root.glob("summary_*"))  # the second one wrote no summary
    finally:
        os.write(go, b"x")
    with deadline(120):
        status = os.waitpid(pid, 0)[1]
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (
        tmp_path / "first.log"
    ).read_text()
    summary = (root / "summary_demo-writers.json").read_bytes()
    run = root / "demo-writers" / "bilstm-crf" / "demo" / "none" / "seed0"
    metrics = (run / "metrics.json").read_bytes()

    # the example: the same sweep with other settings reuses nothing, silently or not
    assert cli.main([*argv, "--epochs", "3", "--lr", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made with other settings" in err
    assert f"{run} (finished: epochs 2 there, 3 here; lr 0.015 there, 0.5 here)" in err, err
    assert (run / "metrics.json").read_bytes() == metrics
    assert (root / "summary_demo-writers.json").read_bytes() == summary
    assert not (root / "demo-writers" / ".lock").exists()  # the refused sweep let go

    assert cli.main(argv) == 0  # the same settings: the finished run is the grid's own
    assert "1 finished before, 0 to run" in capsys.readouterr().out
    assert json.loads((run / "metrics.json").read_bytes())["epochs_run"] == 2


def test_a_rerun_after_the_data_changed_does_not_count_the_old_runs(tmp_path, monkeypatch, capsys):
    import shutil

    from mner_lib.text import data as data_module

    demo = tmp_path / "demo_data"
    shutil.copytree(data_module.DEMO_DIR, demo)
    monkeypatch.setattr(data_module, "DEMO_DIR", demo)
    argv = [*SWEEP, "--root", str(tmp_path / "results")]
    assert cli.main(argv) == 0
    capsys.readouterr()
    train = demo / "train.txt"
    original = train.read_bytes()
    train.write_bytes(original.replace(b"\tB-PER", b"\tB-LOC", 1))  # one label edited
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made with other settings or data" in err
    assert f"(finished: data: {train} (train) changed (SHA-256 " in err, err
    train.write_bytes(original)
    assert cli.main(argv) == 0
    assert "1 finished before, 0 to run" in capsys.readouterr().out
