"""Two processes never write one run folder: a second ``train`` (an ``--overwrite --seed 1`` of a
run in progress) is refused at once, naming the first one's process, and the first finishes one
consistent run; ``predict`` refuses an unfinished run unless ``--partial`` is asked, and then
says so. Fault injection: two writers and a SIGKILL at seeded random moments, 10 trials, each
ending with one run whose config, metrics, history and weights agree (or a clear refusal)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from mner_lib.commands import cli
from tests.deadline import deadline

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forks the writers")
TINY = ["--option", "use_glove=false", "--option", "hidden=8", "--option", "word_dim=8"]
TRAIN = ["train", "--model", "bilstm-crf", "--max-train", "60", "--max-eval", "20"]
TRAIN += ["--epochs", "4", "--patience", "4", "--batch-size", "10", "--threads", "1", "--quiet"]
TRAIN += ["--optimizer", "adam", "--lr", "0.05", "--schedule", "constant", *TINY]


def _writer(argv: list[str], log: Path, pause: tuple[int, int] | None = None) -> int:
    """A forked ``python -m mner_lib <argv>`` writing its output to ``log``; its pid. With
    ``pause`` (two pipe ends), it reports its first checkpoint and waits to be told to go on."""
    pid = os.fork()
    if pid != 0:
        return pid
    code = 1
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        # pytest's capture replaced sys.stdout and sys.stderr: the writer's go to its log
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        if pause is not None:
            import mner_lib.training.trainer as trainer

            saved, (ready_w, go_r) = trainer.save_checkpoint, pause

            def save_then_wait(*args, **kwargs):
                saved(*args, **kwargs)
                trainer.save_checkpoint = saved
                os.write(ready_w, b"checkpoint\n")
                os.read(go_r, 1)

            trainer.save_checkpoint = save_then_wait
        code = cli.main(argv)
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code)


def _exit_code(pid: int, timeout: float = 120) -> int | None:
    """The exit code of a writer, or None when it was killed by a signal."""
    with deadline(int(timeout)):
        status = os.waitpid(pid, 0)[1]
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else None


def _records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "history.jsonl").read_text().splitlines()]


def _one_run(out: Path, references: dict[int, Path]) -> int:
    """``out`` holds one finished run, every part from the same training (the reference run of
    its seed, trained alone): config, metrics, history, weights and predictions; its manifest
    verifies. Returns its seed."""
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    seed = config["seed"]
    assert metrics["seed"] == seed and metrics["config"]["seed"] == seed
    ref = references[seed]
    ref_metrics = json.loads((ref / "metrics.json").read_text())
    for key in ("dev", "test", "epochs_run", "best_epoch", "data_hashes"):
        assert metrics[key] == ref_metrics[key], key
    history = _records(out)
    assert [r["epoch"] for r in history] == list(range(1, metrics["epochs_run"] + 1))
    assert [r["loss"] for r in history] == [r["loss"] for r in _records(ref)]
    weights, ref_weights = (
        load_file(out / "model.safetensors"),
        load_file(ref / "model.safetensors"),
    )
    assert weights.keys() == ref_weights.keys()
    assert all(weights[k].equal(ref_weights[k]) for k in weights)
    assert (out / "tags_test.tsv").read_bytes() == (ref / "tags_test.tsv").read_bytes()
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert {"config.json", "metrics.json", "history.jsonl", "model.safetensors"} <= set(files)
    for name, entry in files.items():
        data = (out / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    assert not (out / "checkpoint").exists()
    return seed


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[int, Path]:
    """Seeds 0 and 1 trained alone: what a consistent run of each seed holds."""
    root = tmp_path_factory.mktemp("references")
    runs = {}
    for seed in (0, 1):
        runs[seed] = root / f"seed{seed}"
        assert cli.main([*TRAIN, "--seed", str(seed), "--out", str(runs[seed])]) == 0
        assert json.loads((runs[seed] / "metrics.json").read_text())["test"]["f1"] > 20
    return runs


def test_an_overwrite_of_a_run_in_progress_is_refused_naming_its_process(
    references, tmp_path, capsys
):
    out = tmp_path / "run"
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    first = _writer([*TRAIN, "--seed", "0", "--out", str(out)], tmp_path / "a.log", (ready_w, go_r))
    try:
        with deadline(120):
            assert os.read(ready_r, 11) == b"checkpoint\n"
        before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        # the example: a second writer, once the first one's checkpoint exists
        assert cli.main([*TRAIN, "--seed", "1", "--overwrite", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"{out} is in use by process {first} (python -m mner_lib train" in err
        assert f"(kill {first})" in err
        assert cli.main([*TRAIN, "--seed", "0", "--out", str(out)]) == 2  # nor a resume
        assert f"in use by process {first}" in capsys.readouterr().err
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
        # predict refuses the unfinished run, or says loudly that it uses its partial model
        assert cli.main(["predict", "--run", str(out), "Mara visits Paris"]) == 2
        err = capsys.readouterr().err
        assert "holds an unfinished run" in err and "1 epoch trained so far" in err
        assert "--partial" in err and err.count("\n") == 1
        assert cli.main(["predict", "--partial", "--run", str(out), "Mara visits Paris"]) == 0
        said = capsys.readouterr()
        assert said.err.startswith("warning: PARTIAL MODEL: ") and "=>" in said.out
    finally:
        os.write(go_w, b"x")
    assert _exit_code(first) == 0
    assert _one_run(out, references) == 0
    assert not (out / ".lock").exists()
    assert cli.main(["predict", "--run", str(out), "Mara visits Paris"]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.slow
def test_two_writers_and_a_kill_at_random_moments_leave_one_consistent_run(references, tmp_path):
    """10 seeded trials: writer A (seed 0) starts; writer B (--overwrite --seed 1) starts at a
    random moment; one of them is SIGKILLed at a random moment; the killed command is rerun if
    the folder is unfinished. Each writer ends with its run finished, or a one-line refusal
    naming the other's process; the folder ends with one consistent run.

    Fast sibling: :func:`test_an_overwrite_of_a_run_in_progress_is_refused_naming_its_process`."""
    start = time.monotonic()
    probe = _writer([*TRAIN, "--out", str(tmp_path / "timed")], tmp_path / "timed.log")
    assert _exit_code(probe) == 0
    duration = time.monotonic() - start
    rng, seeds, refusals, reruns = random.Random(2026), [], 0, 0
    for trial in range(10):
        out = tmp_path / f"trial{trial}"
        commands = {
            "A": [*TRAIN, "--seed", "0", "--out", str(out)],
            "B": [*TRAIN, "--seed", "1", "--overwrite", "--out", str(out)],
        }
        logs = {name: tmp_path / f"trial{trial}{name}.log" for name in commands}
        start_b, kill_at = rng.uniform(0, duration), rng.uniform(0, 1.5 * duration)
        victim = "A" if kill_at < start_b else rng.choice("AB")  # B is killed once it runs
        began, pids = time.monotonic(), {"A": _writer(commands["A"], logs["A"])}
        for at, event in sorted([(start_b, "start B"), (kill_at, "kill")]):
            time.sleep(max(0.0, began + at - time.monotonic()))
            if event == "start B":
                pids["B"] = _writer(commands["B"], logs["B"])
            else:  # a writer that has ended already is not waited for yet: nothing happens
                os.kill(pids[victim], signal.SIGKILL)
        codes = {name: _exit_code(pid) for name, pid in pids.items()}
        for name, code in codes.items():
            text = logs[name].read_text() if logs[name].exists() else ""  # killed at once
            other = pids["B" if name == "A" else "A"]
            if code == 2:  # a clear refusal: one line naming the process that held the folder
                refusals += 1
                assert f"in use by process {other}" in text, f"trial {trial}: {text}"
                assert "Traceback" not in text and text.count("\n") == 1, text
            else:
                assert code in (0, None), f"trial {trial}, writer {name}: {text}"
        if not (out / "metrics.json").exists():  # the killed writer held it: run it again
            assert cli.main(commands[victim]) == 0, f"trial {trial}"
            reruns += 1
        seeds.append(_one_run(out, references))
    print(f"runs that ended the trials, by seed: {seeds}; {refusals} refusals, {reruns} reruns")
    assert refusals >= 1 and reruns >= 1  # the trials met a writer at work and a killed one
