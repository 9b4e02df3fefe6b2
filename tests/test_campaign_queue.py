"""The campaign queue (benchmarks/campaign.sh) has one owner per checkout, and its jobs one writer
per run folder: a second queue in the same checkout is refused at once, naming the first, and
leaves its claims alone; a queue of another checkout that reaches a run folder the first one's
job is writing is refused for that job (its worker goes on), and the folder ends with one run."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "campaign.sh"
ARGS = ("--max-train 60 --max-eval 20 --epochs 6 --patience 6 --batch-size 10 --option "
        "use_glove=false --option hidden=8 --option word_dim=8")  # fmt: skip
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("bash") and shutil.which("git")), reason="bash, git"),
]


def _checkout(root: Path) -> Path:
    """A git checkout holding only benchmarks/campaign.sh (mner_lib is the installed one)."""
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "benchmarks").mkdir()
    shutil.copy(SCRIPT, root / "benchmarks" / "campaign.sh")
    return root


def _wrapper(path: Path) -> Path:
    """$PYTHON for the queue: a `train` waits for the file $GO_FILE before it starts."""
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$3" = train ]; then while [ ! -e "$GO_FILE" ]; do sleep 0.05; done; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    path.chmod(0o755)
    return path


def _until(condition, what: str, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_one_queue_per_checkout_and_one_writer_per_run_folder(tmp_path):
    run = tmp_path / "shared" / "run"
    jobs = tmp_path / "jobs.txt"
    jobs.write_text(f"{run}|bilstm-crf|demo|none|0|{ARGS}\n")
    python = _wrapper(tmp_path / "python")
    first, second = _checkout(tmp_path / "one"), _checkout(tmp_path / "two")
    base = {**os.environ, "PYTHON": str(python), "CAMPAIGN_JOBS": str(jobs), "WORKERS": "1"}
    base.pop("PYTHONPATH", None)

    def queue(checkout: Path, go: str) -> subprocess.Popen:
        env = {**base, "GO_FILE": str(tmp_path / go)}
        return subprocess.Popen(["bash", "benchmarks/campaign.sh"], cwd=checkout, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip

    claim = Path(f"{first}/.campaign-claims/queue/{run}")
    a = queue(first, "go-a")
    try:
        _until(claim.is_dir, "the first queue's claim")
        # a second queue in the same checkout: refused at once, the first one's claims kept
        b = queue(first, "go-b")
        out, err = b.communicate(timeout=120)
        assert b.returncode == 2, err
        line = err.decode().strip()
        assert "\n" not in line and f"is in use by process {a.pid} (benchmarks/campaign.sh" in line
        assert "campaign queue has one writer at a time" in line and claim.is_dir()
        # the first queue's job starts and holds its run folder; it is stopped mid-run
        (tmp_path / "go-a").touch()
        _until((run / "checkpoint" / "manifest.json").exists, "the first job's checkpoint")
        holder = json.loads((run / ".lock").read_text())["pid"]
        os.kill(holder, signal.SIGSTOP)
        try:
            # a queue of another checkout reaches the same run folder: its job is refused
            (tmp_path / "go-c").touch()
            c = queue(second, "go-c")
            out, err = c.communicate(timeout=180)
            assert c.returncode == 0, err
            log = Path(f"{second}/.campaign-claims/queue/{run}/log").read_text()
            assert f"is in use by process {holder} (python -m mner_lib train" in log, log
            assert log.count("\n") == 1 and "Traceback" not in log
        finally:
            os.kill(holder, signal.SIGCONT)
        out, err = a.communicate(timeout=180)
        assert a.returncode == 0, err
    finally:
        for proc in (a,):
            if proc.poll() is None:
                proc.kill()
    log = Path(f"{claim}/log").read_text()
    assert "seed 0): dev F1" in log, log
    # one run in the folder: contiguous history, a manifest that verifies, no second writer's
    config, metrics = (json.loads((run / n).read_text()) for n in ("config.json", "metrics.json"))
    assert config["seed"] == metrics["seed"] == 0
    history = [json.loads(x)["epoch"] for x in (run / "history.jsonl").read_text().splitlines()]
    assert history == list(range(1, metrics["epochs_run"] + 1))
    for name, entry in json.loads((run / "manifest.json").read_text())["files"].items():
        data = (run / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    assert not (run / ".lock").exists()


def test_stopping_the_queue_stops_its_workers_and_their_running_jobs(tmp_path):
    """A careless user stops the queue with `kill <its pid>`: its workers and the job they were
    running stop with it (none goes on writing alone), and the checkout's queue is free again."""
    run = tmp_path / "run"
    jobs = tmp_path / "jobs.txt"
    jobs.write_text(f"{run}|bilstm-crf|demo|none|0|{ARGS}\n")
    python = tmp_path / "python"
    pids = tmp_path / "pids"
    python.write_text(  # a `train` that records its pid and runs until it is stopped
        "#!/bin/sh\n"
        f'if [ "$3" = train ]; then echo $$ >> {pids}; while true; do sleep 0.05; done; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    checkout = _checkout(tmp_path / "one")
    env = {**os.environ, "PYTHON": str(python), "CAMPAIGN_JOBS": str(jobs), "WORKERS": "2"}
    env.pop("PYTHONPATH", None)

    def queue() -> subprocess.Popen:
        return subprocess.Popen(["bash", "benchmarks/campaign.sh"], cwd=checkout, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip

    a = queue()
    try:
        _until(lambda: pids.exists() and pids.read_text().strip(), "the job's start")
        job = int(pids.read_text().split()[0])
        workers = [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(a.pid)], capture_output=True, text=True).stdout.split()]  # fmt: skip
        assert workers
        a.send_signal(signal.SIGTERM)
        out, err = a.communicate(timeout=60)
        assert a.returncode == 143 and "queue stopped" in err.decode(), err
        _until(
            lambda: not any(_alive(p) for p in [job, *workers]), "the workers and job to stop", 30
        )
    finally:
        if a.poll() is None:
            a.kill()
    # the lock went with them: a new queue of this checkout starts (and is stopped the same way)
    b = queue()
    try:
        _until(lambda: len(pids.read_text().split()) == 2, "the second queue's job")
        b.send_signal(signal.SIGINT)
        assert b.wait(timeout=60) == 143
    finally:
        if b.poll() is None:
            b.kill()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"
