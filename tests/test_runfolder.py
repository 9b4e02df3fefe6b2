"""Run folders: no pickle is ever loaded, a kill or a full disk never leaves a broken run, and no
run is overwritten silently. Kills are real: a forked child is SIGKILLed mid-save."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mner_lib.io import atomicfile
from mner_lib.training import runfolder as rf

COMMAND = "mner train --model bilstm-crf --out runs/x"
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child")
CONFIG = {"model": "bilstm-crf", "lr": 0.015, "epochs": 3, "device": "cpu", "progress": True}


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to prove a refused call changed nothing)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


def _tensors(epoch: int, size: int = 64) -> dict[str, torch.Tensor]:
    return {
        "w": torch.full((size, size), float(epoch)),
        "b": torch.arange(epoch, epoch + 5, dtype=torch.float32),
    }


def _optimizer_state(epoch: int, size: int = 64) -> dict:
    return {
        "state": {0: {"step": torch.tensor(float(epoch)), "exp_avg": torch.full((size,), -epoch)}},
        "param_groups": [{"lr": 0.1 * epoch, "betas": (0.9, 0.999), "params": [0]}],
    }


def _save(run: rf.RunFolder, epoch: int, size: int = 64) -> None:
    state = {"epoch": epoch, "best_f1": epoch / 10, "scheduler": {"last_epoch": epoch}}
    run.save_checkpoint(_tensors(epoch, size), _optimizer_state(epoch, size), state)


def _assert_checkpoint(loaded, epoch: int, size: int = 64) -> None:
    """``loaded`` is the complete checkpoint of ``epoch``: every part from the same save."""
    tensors, optimizer_state, state = loaded
    assert state == {"epoch": epoch, "best_f1": epoch / 10, "scheduler": {"last_epoch": epoch}}
    for name, expected in _tensors(epoch, size).items():
        assert torch.equal(tensors[name], expected)
    assert optimizer_state["param_groups"][0]["lr"] == 0.1 * epoch
    assert torch.equal(optimizer_state["state"][0]["exp_avg"], torch.full((size,), -epoch))


def _in_child(body) -> int:
    """Run ``body`` in a forked child; its wait status (the child never returns to pytest)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            body()
            code = 0
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1]


def _kill_at(stage: str, prefix: str):
    """A hook that SIGKILLs this process at ``stage`` of the atomic write of a file ``prefix*``."""

    def hook(at: str, path: Path) -> None:
        if at == stage and path.name.startswith(prefix):
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _killed(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


class _Payload:
    """Unpickling it creates ``marker``: the stand-in for code a hostile model.pt would run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# -- legacy pickles ------------------------------------------------------------------------------
def test_a_pickled_model_is_refused_and_its_payload_never_runs(tmp_path):
    folder, marker = tmp_path / "old_run", tmp_path / "payload_ran"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(CONFIG))
    (folder / "metrics.json").write_text("{}")
    torch.save({"model": "bilstm-crf", "payload": _Payload(marker)}, folder / "model.pt")
    run = rf.RunFolder(folder, COMMAND)
    assert run.state == "legacy"
    with pytest.raises(rf.LegacyRunError) as opened:
        run.open(CONFIG)
    message = str(opened.value)
    assert "can run arbitrary code" in message and rf.TRUST_FLAG in message
    assert f"{COMMAND} --overwrite" in message and str(folder / "model.pt") in message
    with pytest.raises(rf.LegacyRunError):
        run.load_model()
    with pytest.raises(rf.LegacyRunError):
        rf.load_legacy_model(folder / "model.pt", trust=False)
    assert not marker.exists()
    # the file is a live payload: only the explicit trust flag runs it
    loaded = rf.load_legacy_model(folder / "model.pt", trust=True)
    assert marker.exists() and loaded["model"] == "bilstm-crf"


def test_an_old_checkpoint_is_legacy_and_overwrite_removes_only_old_run_files(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    torch.save({"epoch": 1}, folder / "checkpoint_last.pt")
    (folder / "notes.txt").write_text("mine")
    run = rf.RunFolder(folder, COMMAND)
    with pytest.raises(rf.LegacyRunError):
        run.open(CONFIG)
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint_last.pt", "notes.txt"]
    assert run.open(CONFIG, overwrite=True) == "new"
    assert sorted(p.name for p in folder.iterdir()) == [
        ".lock",  # the run's lock, held while it runs
        "config.json",
        "notes.txt",
        "replaced.checkpoint_last.pt",
    ]
    assert run.state == "unfinished"


# -- kills ---------------------------------------------------------------------------------------
@needs_fork
@pytest.mark.parametrize(
    ("prefix", "stage", "expected"),
    [
        ("model-", "before_replace", 1),
        ("optimizer-", "before_replace", 1),
        ("manifest.json", "before_replace", 1),
        ("manifest.json", "after_replace", 2),  # committed, old generation not yet removed
    ],
)
def test_a_kill_during_a_checkpoint_save_leaves_a_complete_checkpoint(
    tmp_path, prefix, stage, expected
):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    _save(run, 1)

    def child():
        atomicfile._hook = _kill_at(stage, prefix)
        _save(rf.RunFolder(folder, COMMAND), 2)

    assert _killed(_in_child(child))
    if stage == "before_replace":  # the kill came between the complete temporary file and rename
        assert _temp_files(folder / "checkpoint")
    _assert_checkpoint(rf.RunFolder(folder, COMMAND).load_checkpoint(), expected)
    rerun = rf.RunFolder(folder, COMMAND)
    assert rerun.open(CONFIG) == "resume"
    assert _temp_files(folder) == []
    _save(rerun, 3)
    _assert_checkpoint(rerun.load_checkpoint(), 3)
    names = sorted(p.name for p in (folder / "checkpoint").iterdir())  # older generations gone
    generations = {name.split("-")[1].split(".")[0] for name in names[1:]}
    assert names[0] == "manifest.json" and len(names) == 3 and len(generations) == 1


@needs_fork
def test_a_kill_while_saving_the_best_model_keeps_the_previous_one(tmp_path):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    run.save_model(_tensors(1), {"model": "bilstm-crf", "epoch": 1})

    def child():
        atomicfile._hook = _kill_at("before_replace", "model.safetensors")
        rf.RunFolder(folder, COMMAND).save_model(_tensors(2), {"model": "bilstm-crf", "epoch": 2})

    assert _killed(_in_child(child))
    assert _temp_files(folder)
    tensors, meta = rf.RunFolder(folder, COMMAND).load_model()
    assert meta == {"model": "bilstm-crf", "epoch": 1} and torch.equal(
        tensors["w"], _tensors(1)["w"]
    )


def test_resuming_rolls_back_a_best_model_and_history_written_after_the_checkpoint(tmp_path):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    run.save_model(_tensors(1), {"epoch": 1})
    run.append_history({"epoch": 1, "dev_f1": 10.0})
    _save(run, 1)
    run.save_model(_tensors(2), {"epoch": 2})  # epoch 2 improved, then the kill came
    run.append_history({"epoch": 2, "dev_f1": 20.0})

    rerun = rf.RunFolder(folder, COMMAND)
    assert rerun.open(CONFIG) == "resume"
    _assert_checkpoint(rerun.load_checkpoint(), 1)
    assert [r["epoch"] for r in rerun.history()] == [1]
    tensors, meta = rerun.load_model()
    assert meta == {"epoch": 1} and torch.equal(tensors["w"], _tensors(1)["w"])
    assert json.loads((folder / "model.json").read_text()) == {"epoch": 1}
    rerun.append_history({"epoch": 2, "dev_f1": 19.0})  # the epoch is run again
    assert [(r["epoch"], r["dev_f1"]) for r in rerun.history()] == [(1, 10.0), (2, 19.0)]


@needs_fork
def test_random_kill_9_while_saving_never_leaves_a_broken_checkpoint(tmp_path):
    folder, size = tmp_path / "run", 384  # about 0.6 MB per tensor: kills land mid-write
    rf.RunFolder(folder, COMMAND).open(CONFIG)
    rng, last, kills, mid_write = random.Random(7), 0, 0, 0

    def child():  # a trainer that resumes, then saves a checkpoint per "epoch" until killed
        run = rf.RunFolder(folder, COMMAND)
        loaded = run.load_checkpoint()
        for epoch in range((loaded[2]["epoch"] if loaded else 0) + 1, 100_000):
            if epoch % 2:
                run.save_model(_tensors(epoch, 8), {"epoch": epoch})
            _save(run, epoch, size)

    for _ in range(40):  # until 4 kills landed mid-write (a temporary file was left)
        before = set(_temp_files(folder))
        pid = os.fork()
        if pid == 0:
            try:
                child()
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.02, 0.3))
        os.kill(pid, signal.SIGKILL)
        assert _killed(os.waitpid(pid, 0)[1]), "the child stopped on its own (an error)"
        kills, mid_write = kills + 1, mid_write + bool(set(_temp_files(folder)) - before)
        loaded = rf.RunFolder(folder, COMMAND).load_checkpoint()
        epoch = loaded[2]["epoch"] if loaded else 0
        if loaded:
            _assert_checkpoint(loaded, epoch, size)
            assert rf.RunFolder(folder).load_model()[1]["epoch"] <= epoch
        assert epoch >= last
        last = epoch
        if mid_write >= 4:
            break
    assert last >= 1 and mid_write >= 1
    print(f"{kills} kills, {mid_write} of them mid-write, reached epoch {last}")


# -- corrupt files -------------------------------------------------------------------------------
def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("pattern", "damage"),
    [
        ("model-*.safetensors", _truncate),
        ("optimizer-*.pt", _flip),
        ("optimizer-*.pt", Path.unlink),
        ("manifest.json", lambda p: p.write_bytes(b"")),
        ("manifest.json", _truncate),
    ],
)
def test_a_damaged_checkpoint_names_the_file_and_the_command_to_restart(tmp_path, pattern, damage):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    _save(run, 1)
    target = next((folder / "checkpoint").glob(pattern))
    damage(target)
    with pytest.raises(rf.CorruptRunError) as caught:
        rf.RunFolder(folder, COMMAND).load_checkpoint()
    message = str(caught.value)
    assert "\n" not in message and str(target) in message
    assert f"delete {folder / 'checkpoint'} and rerun: {COMMAND}" in message


def test_a_damaged_model_is_corrupt_not_a_crash(tmp_path):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    run.save_model(_tensors(1), {"epoch": 1})
    _truncate(folder / "model.safetensors")  # an unfinished run: no manifest, safetensors checks
    with pytest.raises(rf.CorruptRunError, match="model.safetensors is truncated or corrupt"):
        run.load_model()
    run.save_model(_tensors(1), {"epoch": 1})
    run.finish({"test_f1": 1.0})
    _flip(folder / "model.safetensors")  # same size, other bytes: only the manifest can tell
    with pytest.raises(rf.CorruptRunError) as caught:
        run.load_model()
    assert "changed or truncated" in str(caught.value) and f"{COMMAND} --overwrite" in str(
        caught.value
    )


# -- opening -------------------------------------------------------------------------------------
def _finished_run(folder: Path) -> rf.RunFolder:
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    run.save_model(_tensors(1), {"epoch": 1})
    run.append_history({"epoch": 1})
    _save(run, 1)
    run.write_text("predictions_test.txt", "a O\n")
    run.finish({"test_f1": 50.0})
    return run


def test_a_finished_run_is_refused_without_overwrite_and_left_byte_for_byte(tmp_path):
    folder = tmp_path / "run"
    _finished_run(folder)
    assert not (folder / "checkpoint").exists()
    manifest = json.loads((folder / "manifest.json").read_text())["files"]
    assert set(manifest) == {
        "config.json",
        "history.jsonl",
        "metrics.json",
        "model.json",
        "model.safetensors",
        "predictions_test.txt",
    }
    data = (folder / "model.safetensors").read_bytes()
    assert manifest["model.safetensors"]["sha256"] == hashlib.sha256(data).hexdigest()
    before = _snapshot(folder)
    for config in (CONFIG, {**CONFIG, "lr": 0.1}):
        with pytest.raises(rf.RunExistsError, match="--overwrite"):
            rf.RunFolder(folder, COMMAND).open(config)
    assert _snapshot(folder) == before


def test_overwrite_removes_only_the_files_of_the_run(tmp_path):
    folder = tmp_path / "run"
    _finished_run(folder)
    (folder / "notes.txt").write_text("mine")
    run_files = sorted(p.name for p in folder.iterdir() if p.name != "notes.txt")
    assert rf.RunFolder(folder, COMMAND).open({**CONFIG, "lr": 0.1}, overwrite=True) == "new"
    # the finished run's files are set aside until the new run finishes
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [".lock", "config.json", "notes.txt", *(rf.REPLACED + n for n in run_files)]
    )
    assert json.loads((folder / "config.json").read_text())["lr"] == 0.1


def test_a_failed_open_writes_nothing(tmp_path):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    _save(run, 1)
    before = _snapshot(folder)
    with pytest.raises(rf.RunFolderError, match="config.json: cannot be written as JSON"):
        rf.RunFolder(folder, COMMAND).open({**CONFIG, "lr": {0.1, 0.2}}, overwrite=True)
    assert _snapshot(folder) == before
    with pytest.raises(rf.RunFolderError):
        rf.RunFolder(tmp_path / "new", COMMAND).open({"lr": object()})
    assert not (tmp_path / "new").exists()


def test_an_unfinished_run_of_another_configuration_is_refused(tmp_path):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    _save(run, 1)
    before = _snapshot(folder)
    with pytest.raises(rf.RunFolderError) as caught:
        rf.RunFolder(folder, COMMAND).open({**CONFIG, "lr": 0.1, "epochs": 9})
    assert "differs in: epochs, lr" in str(caught.value)
    assert _snapshot(folder) == before
    # keys outside the identity (device, progress) may change on resumption
    moved = {**CONFIG, "device": "cuda", "progress": False}
    assert rf.RunFolder(folder, COMMAND).open(moved) == "resume"
    assert json.loads((folder / "config.json").read_text())["device"] == "cuda"


def test_resume_only_with_a_checkpoint_and_when_asked(tmp_path):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    assert run.state == "new" and run.open(CONFIG) == "new"
    run.append_history({"epoch": 1})  # killed before the first checkpoint
    assert rf.RunFolder(folder).open(CONFIG) == "new" and not (folder / "history.jsonl").exists()
    run.append_history({"epoch": 1})
    _save(run, 1)
    assert rf.RunFolder(folder).open(CONFIG) == "resume"
    assert rf.RunFolder(folder).open(CONFIG, resume=False) == "new"
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "config.json"]


def test_history_never_repeats_an_epoch(tmp_path):
    run = rf.RunFolder(tmp_path / "run")
    run.open(CONFIG)
    for epoch in (1, 2, 3):
        run.append_history({"epoch": epoch, "loss": 1.0 / epoch})
    run.append_history({"epoch": 2, "loss": 0.25})  # a resumed run redoes epoch 2
    assert run.history() == [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.25}]
    assert len((tmp_path / "run" / "history.jsonl").read_text().splitlines()) == 2
    with pytest.raises(rf.RunFolderError, match="integer 'epoch'"):
        run.append_history({"loss": 1.0})


# -- paths and disks -----------------------------------------------------------------------------
def test_safe_child_keeps_names_inside_the_root(tmp_path):
    root = tmp_path / "results"
    (root / "exp").mkdir(parents=True)
    (root / "link").symlink_to(tmp_path)  # inside the root, pointing out of it
    assert rf.safe_child(root, "exp1") == (root / "exp1").resolve()
    assert rf.safe_child(root, "exp/sub") == (root / "exp" / "sub").resolve()
    for bad, why in [
        ("../x", "'..'"),
        ("exp/../../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("link/x", "symbolic link"),
        ("", "empty"),
        (".", "empty"),
    ]:
        with pytest.raises(rf.RunFolderError, match=why):
            rf.safe_child(root, bad)
    run = rf.RunFolder(root / "exp")
    with pytest.raises(rf.RunFolderError):
        run.write_json("../escaped.json", {})
    assert not (root / "escaped.json").exists()


def _assert_clean_failure(caught, path: Path, cause: str) -> None:
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and cause in message


def test_a_read_only_folder_is_one_line_and_no_temp_file(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root (CAP_DAC_OVERRIDE): see the EROFS test below
            pytest.skip("this user writes into a 0o555 folder anyway")
        with pytest.raises(rf.RunFolderError) as caught:
            rf.atomic_write_json(folder / "metrics.json", {"f1": 1.0})
    finally:
        folder.chmod(0o755)
    _assert_clean_failure(caught, folder / "metrics.json", "EACCES")
    assert list(folder.iterdir()) == []


def test_a_read_only_file_system_is_one_line_and_no_temp_file(tmp_path, monkeypatch):
    run = rf.RunFolder(tmp_path / "run", COMMAND)
    run.open(CONFIG)
    before = _snapshot(tmp_path / "run")

    def read_only(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(rf.RunFolderError) as caught:
        run.write_json("config.json", {"lr": 1})
    _assert_clean_failure(caught, tmp_path / "run" / "config.json", "EROFS")
    assert _snapshot(tmp_path / "run") == before


def test_a_full_disk_is_one_line_no_temp_file_and_the_checkpoint_survives(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    run = rf.RunFolder(folder, COMMAND)
    run.open(CONFIG)
    run.save_model(_tensors(1), {"epoch": 1})
    _save(run, 1)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(rf.RunFolderError) as caught:
        _save(run, 2)
    _assert_clean_failure(caught, folder / "checkpoint" / "model-000002.safetensors", "ENOSPC")
    assert "free some space" in str(caught.value)
    with pytest.raises(rf.RunFolderError):
        run.save_model(_tensors(2), {"epoch": 2})
    monkeypatch.undo()
    assert _temp_files(folder) == []
    _assert_checkpoint(rf.RunFolder(folder, COMMAND).load_checkpoint(), 1)
    assert rf.RunFolder(folder).load_model()[1] == {"epoch": 1}


# -- state round trips ---------------------------------------------------------------------------
def test_rng_state_round_trips_exactly_through_json():
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    random.gauss(0, 1), np.random.standard_normal(), torch.rand(1)  # cached Gaussians too
    state = json.loads(json.dumps(rf.rng_state()))

    def draw():
        return (
            random.random(),
            random.gauss(0, 1),
            np.random.standard_normal(3).tolist(),
            np.random.rand(2).tolist(),
            torch.rand(3).tolist(),
            torch.randn(2).tolist(),
        )

    first = draw()
    draw()
    rf.set_rng_state(state)
    assert draw() == first
    with pytest.raises(ValueError, match="malformed"):
        rf.set_rng_state({"python": [3]})


def test_a_resumed_optimizer_and_model_continue_exactly(tmp_path):
    def make():
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 3)
        model.weight2 = model.weight  # shared memory (tied weights) must save too
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        return model, optimizer

    def step(model, optimizer, seed):
        torch.manual_seed(seed)
        model(torch.randn(5, 4)).pow(2).sum().backward()
        optimizer.step()
        optimizer.zero_grad()

    model, optimizer = make()
    for seed in (1, 2):
        step(model, optimizer, seed)
    run = rf.RunFolder(tmp_path / "run")
    run.open(CONFIG)
    run.save_checkpoint(model.state_dict(), optimizer.state_dict(), {"epoch": 2})
    step(model, optimizer, 3)

    resumed, resumed_optimizer = make()
    tensors, optimizer_state, state = rf.RunFolder(tmp_path / "run").load_checkpoint()
    resumed.load_state_dict(tensors)
    resumed_optimizer.load_state_dict(optimizer_state)
    step(resumed, resumed_optimizer, 3)
    assert state == {"epoch": 2}
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_only_tensors_and_json_are_saved(tmp_path):
    run = rf.RunFolder(tmp_path / "run")
    run.open(CONFIG)
    with pytest.raises(rf.RunFolderError, match="'extra' is a str, not a tensor"):
        run.save_model({"w": torch.zeros(2), "extra": "x"}, {})
    with pytest.raises(rf.RunFolderError, match="model.json: cannot be written as JSON"):
        run.save_model({"w": torch.zeros(2)}, {"vocab": {"a", "b"}})
    assert not (tmp_path / "run" / "model.safetensors").exists()


# -- provenance ----------------------------------------------------------------------------------
def test_provenance_names_the_commit_and_hashes_uncommitted_changes(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
        return subprocess.run(command, cwd=repo, check=True, capture_output=True).stdout.decode()

    git("init", "-q")
    (repo / "code.py").write_text("a = 1\n")
    git("add", "code.py")
    git("commit", "-qm", "first")
    head = git("rev-parse", "HEAD").strip()
    (repo / "untracked.txt").write_text("x")
    assert rf.provenance(repo) == {"commit": head, "dirty": False, "diff_sha256": None}
    (repo / "code.py").write_text("a = 2\n")
    diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=repo, capture_output=True)
    expected = hashlib.sha256(diff.stdout).hexdigest()
    assert rf.provenance(repo) == {"commit": head, "dirty": True, "diff_sha256": expected}
    (repo / "sub").mkdir()  # an installed copy inside someone else's repository
    unknown = {"commit": "unknown", "dirty": None, "diff_sha256": None}
    assert rf.provenance(repo / "sub") == unknown
    assert rf.provenance(tmp_path) == unknown
