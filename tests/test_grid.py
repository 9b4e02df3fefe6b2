"""The grid engine (mner_lib.experiments.grid): every engine gives the sequential engine's metrics, keeps
finished runs, resumes unfinished ones and names the folder of a run that failed."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from mner_lib.experiments import grid
from tests.deadline import deadline

# mner_lib.book, .cli and .sweep are imported in the tests that use them: the worker processes
# that import this module for its run functions stay light.

EXPERIMENT = "demo-grid"
MODELS, SEEDS = ("bilstm-crf", "hbilstm-crf"), (0, 1)
# Tiny but not trivial: every run reaches a test F1 well above 0 on the demo corpus.
OPTIONS = dict(
    epochs=2,
    max_train=60,
    max_eval=40,
    batch_size=4,
    lr=0.1,
    optimizer="adam",
    threads=1,
    progress=False,
    model_options={"use_glove": False, "hidden": 16, "word_dim": 16},
)
CLI_OPTIONS = [
    "--models", ",".join(MODELS), "--datasets", "demo", "--conditions", "none",
    "--seeds", "0,1", "--epochs", "2", "--max-train", "60", "--max-eval", "40",
    "--batch-size", "4", "--lr", "0.1", "--optimizer", "adam", "--threads", "1", "--quiet",
    "--option", "use_glove=false", "--option", "hidden=16", "--option", "word_dim=16",
]  # fmt: skip


def specs(root: Path) -> list[dict]:
    return [
        dict(
            model=m,
            dataset="demo",
            seed=s,
            condition="none",
            out=str(grid.run_dir(root, EXPERIMENT, m, "demo", "none", s)),
            **OPTIONS,
        )
        for m in MODELS
        for s in SEEDS
    ]


def test_f1(root: Path) -> dict[str, float]:
    """Test F1 of every finished run under ``root``, by run folder relative to it."""
    return {
        str(p.parent.relative_to(root)): json.loads(p.read_text())["test"]["f1"]
        for p in sorted(root.rglob("metrics.json"))
    }


test_f1.__test__ = False  # a helper, not a test


def train_then_die(**spec) -> str:
    """A run whose process is killed (as the out-of-memory killer would) after its first epoch,
    leaving the trainer's resumable checkpoint behind."""
    from mner_lib.training import resolve_config, run_training

    spec = dict(spec)
    try:
        run_training(resolve_config(spec.pop("model"), **spec), stop_after_epochs=1)
    finally:
        os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"


def write_done(folder: str) -> str:
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / "metrics.json").write_text("{}")
    return "written"


def record_devices(folder: str) -> str:
    """Write the GPUs and threads this worker process was given into its run folder."""
    import torch

    Path(folder).mkdir(parents=True, exist_ok=True)
    seen = {"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "threads": torch.get_num_threads()}
    (Path(folder) / "metrics.json").write_text(json.dumps(seen))
    return "recorded"


def sleep_then_done(folder: str) -> str:
    import time

    time.sleep(3)
    return write_done(folder)


def fail(folder: str) -> str:
    raise RuntimeError(f"no data for {folder}")


@pytest.fixture(scope="module")
def sequential(tmp_path_factory) -> dict[str, float]:
    """The 4-run demo grid run one after another in this process: the reference metrics."""
    from mner_lib.experiments.sweep import run_grid

    root = tmp_path_factory.mktemp("sequential")
    folders = run_grid(
        EXPERIMENT, MODELS, ["demo"], SEEDS, ["none"], root=root, log=print, **OPTIONS
    )
    assert len(folders) == 4
    f1 = test_f1(root)
    assert len(f1) == 4 and all(v > 20 for v in f1.values()), f1  # runs that learned something
    return f1


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance (2 CPUs) for the module: the grid engine uses it as it finds it."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e .[ray])")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # train_then_die
    for attempt in range(3):  # on a starved machine Ray's raylet can miss its 30 s start limit
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception as err:
            if "timed out during startup" not in str(err) or attempt == 2:
                raise
            ray.shutdown()
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_engine_gives_the_sequential_metrics(ray_instance, sequential, tmp_path, monkeypatch):
    """The 4-run demo grid on a local Ray instance ends with the sequential metrics, streamed back.

    Fast sibling: :func:`test_every_ray_wait_is_bounded_and_ends_with_a_reason`."""
    monkeypatch.chdir(tmp_path)  # relative run folders, as `sweep --root results` makes them
    lines: list[str] = []
    points = grid.train_points(specs(Path("results")))
    outcomes = grid.run_points(points, engine="ray", log=lines.append)
    assert [o.status for o in outcomes] == ["done"] * 4
    assert test_f1(tmp_path / "results") == sequential  # in the driver's folders
    assert sum("done" in line and "test F1" in line for line in lines) == 4  # streamed back


@pytest.mark.slow
def test_a_killed_ray_worker_loses_only_its_run_and_the_rerun_resumes_it(
    ray_instance, sequential, tmp_path
):
    """A Ray worker killed mid-run loses only its run; the rerun resumes it to the uninterrupted
    metrics.

    Fast sibling: :func:`tests/test_train.py::test_seeded_runs_repeat_and_resume_loses_nothing`."""
    points = grid.train_points(specs(tmp_path))
    killed = points[1]
    points[1] = grid.Point(killed.folder, train_then_die, killed.kwargs, cpus=1)
    outcomes = grid.run_points(points, engine="ray", raise_errors=False, log=lambda _: None)
    assert [o.status for o in outcomes] == ["done", "failed", "done", "done"]
    assert "worker" in outcomes[1].error
    assert (killed.folder / "checkpoint" / "manifest.json").exists()
    assert not (killed.folder / "metrics.json").exists()
    finished = [p.folder / "metrics.json" for i, p in enumerate(points) if i != 1]
    before = {p: p.stat().st_mtime_ns for p in finished}

    again = grid.run_points(grid.train_points(specs(tmp_path)), engine="ray", log=lambda _: None)
    assert [o.status for o in again] == ["skipped", "done", "skipped", "skipped"]
    assert {p: p.stat().st_mtime_ns for p in finished} == before  # not redone
    assert not (killed.folder / "checkpoint").exists()
    history = (killed.folder / "history.jsonl").read_text().splitlines()
    assert len(history) == 2  # epoch 1 from before the kill, epoch 2 after the resume
    assert test_f1(tmp_path) == sequential  # the resumed run equals the uninterrupted one


@pytest.mark.slow
def test_two_local_workers_give_the_sequential_metrics(sequential, tmp_path, capsys):
    """``sweep --workers 2`` gives the sequential metrics, and a second sweep runs nothing again.

    Fast sibling: :func:`test_a_failing_run_is_named_with_its_folder_and_the_others_finish`."""
    from mner_lib.commands import cli

    argv = ["sweep", "--experiment", EXPERIMENT, "--root", str(tmp_path), "--workers", "2"]
    assert cli.main(argv + CLI_OPTIONS) == 0
    assert "4 to run (engine local, 2 workers)" in capsys.readouterr().out
    assert test_f1(tmp_path) == sequential
    assert cli.main(argv + CLI_OPTIONS) == 0  # everything finished: nothing runs again
    assert "4 finished before, 0 to run" in capsys.readouterr().out


def test_an_experiment_name_that_leaves_the_results_root_is_refused(tmp_path, capsys):
    from mner_lib.commands import cli

    root = tmp_path / "results"
    for name in ("../../x", "/tmp/x", "a/../../x", "."):
        with pytest.raises(ValueError, match="results root|empty"):
            grid.run_dir(root, name, "bilstm-crf", "demo", "none", 0)
    assert grid.run_dir(root, "budget/gmf", "gmf", "demo", "blank", 1) == (
        root / "budget/gmf/gmf/demo/blank/seed1"
    )
    argv = ["sweep", "--experiment", "../../x", "--root", str(root)] + CLI_OPTIONS
    assert cli.main(argv) == 2
    assert "leaves the results root" in capsys.readouterr().err
    assert not (tmp_path.parent / "x").exists() and not root.exists()


def test_a_failing_run_is_named_with_its_folder_and_the_others_finish(tmp_path, monkeypatch):
    points = [
        grid.Point(tmp_path / "a", write_done, {"folder": str(tmp_path / "a")}),
        grid.Point(tmp_path / "b", fail, {"folder": str(tmp_path / "b")}),
        grid.Point(tmp_path / "c", write_done, {"folder": str(tmp_path / "c")}),
    ]
    with pytest.raises(grid.GridError, match="1 of 3 run") as err:
        grid.run_points(points, log=lambda _: None)
    assert f"{tmp_path / 'b'}:" in str(err.value) and "no data for" in str(err.value)
    assert (tmp_path / "a" / "metrics.json").exists() and (tmp_path / "c" / "metrics.json").exists()
    with pytest.raises(ValueError, match="engine 'slurm'.*local, ray"):
        grid.run_points(points, engine="slurm")
    with pytest.raises(ValueError, match="share a run folder"):
        grid.run_points(points[:1] * 2)
    monkeypatch.setitem(sys.modules, "ray", None)  # as where Ray is not installed
    with pytest.raises(ImportError, match=r"pip install -e '\.\[ray\]'"):
        grid.run_points([grid.Point(tmp_path / "d", write_done, {"folder": "d"})], engine="ray")


def test_book_sweep_skips_points_whose_notebook_ran_to_the_end(tmp_path, monkeypatch):
    from mner_lib import book
    from mner_lib.book import grid as book_grid

    calls = []

    def fake_execute(chapter, params, output, cell_timeout=900, cwd=None):
        calls.append(params)
        run = Path(params["runs_dir"]) / chapter.key / params["models"][0] / "seed0"
        run.mkdir(parents=True, exist_ok=True)
        (run / "metrics.json").write_text(json.dumps({"seed": params["seeds"][0]}))
        return 0.0

    monkeypatch.setattr(book_grid, "execute_chapter", fake_execute)
    grid_ = book.parse_grid("models=hsn seeds=0,1")
    args = ("hsn", grid_, "smoke", tmp_path / "runs", tmp_path / "results")
    first = book.sweep(*args, log=lambda _: None)
    again = book.sweep(*args, log=lambda _: None)
    assert len(calls) == 2 and first == again and len(first) == 2
    with pytest.raises(ValueError, match="needs engine 'ray'"):
        book.sweep(*args, log=lambda _: None, ray_address="ray://head:10001")


def test_a_worker_body_takes_its_gpu_and_thread_count(tmp_path, monkeypatch):
    import multiprocessing

    import torch

    threads = torch.get_num_threads()
    for var in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "x")  # restored after the test, as the worker's are set here
    receive, send = multiprocessing.Pipe(duplex=False)
    try:
        grid._child(
            grid.Point(tmp_path / "r", record_devices, {"folder": str(tmp_path / "r")}),
            1,
            "5",
            send,
        )
        outcome = receive.recv()
    finally:
        torch.set_num_threads(threads)
    assert outcome.status == "done", outcome.error
    assert json.loads((tmp_path / "r" / "metrics.json").read_text()) == {"gpus": "5", "threads": 1}
    assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "1"


@pytest.mark.slow
def test_local_workers_each_get_their_own_gpu_and_one_thread(tmp_path, monkeypatch):
    """Two worker processes side by side, each pinned to its own GPU and one thread.

    Fast sibling: :func:`test_a_worker_body_takes_its_gpu_and_thread_count` (the worker's body
    in this process)."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # two GPUs (none is touched)
    folders = [tmp_path / f"run{i}" for i in range(3)]
    points = [grid.Point(f, record_devices, {"folder": str(f)}, gpus=1) for f in folders]
    grid.run_points(points, workers=2, log=lambda _: None)
    seen = [json.loads((f / "metrics.json").read_text()) for f in folders]
    assert sorted(s["gpus"] for s in seen[:2]) == ["3", "5"]  # the first two run side by side
    assert seen[2]["gpus"] in ("3", "5") and {s["threads"] for s in seen} == {1}


# ----------------------------------------------------------------------------- bounded Ray waits
def _node(cpus: float, gpus: float = 0.0, alive: bool = True) -> dict:
    return {"Alive": alive, "Resources": {"CPU": cpus, **({"GPU": gpus} if gpus else {})}}


def test_runs_no_ray_node_can_take_are_named_before_anything_is_submitted(tmp_path):
    point = grid.Point(tmp_path / "a", write_done, cpus=4)
    assert grid.ray_fit_problem([point], [_node(8)]) is None
    why = grid.ray_fit_problem([point], [_node(2), _node(3), _node(16, alive=False)])
    assert f"a run ({tmp_path / 'a'}) asks 4 CPUs," in why
    assert "the largest has 3 CPUs and 0 GPUs)" in why and "--threads" in why
    gpu_point = grid.Point(tmp_path / "b", write_done, cpus=1, gpus=1)
    assert "asks 1 CPU and 1 GPU," in grid.ray_fit_problem([gpu_point], [_node(8)])
    two_gpus = grid.Point(tmp_path / "c", write_done, cpus=2, gpus=2)
    why = grid.ray_fit_problem([two_gpus], [_node(1, 1)])
    assert "asks 2 CPUs and 2 GPUs," in why and "the largest has 1 CPU and 1 GPU)" in why
    assert grid.ray_fit_problem([gpu_point], [_node(8, 1)]) is None
    assert "no alive node" in grid.ray_fit_problem([point], [])


class _StuckRay:
    """A Ray cluster on which the submitted runs never start and nothing else runs."""

    def __init__(self, nodes: list[dict]):
        self.node_list, self.cancelled, self.waits = nodes, [], 0

    def wait(self, refs, num_returns=1, timeout=None):
        assert timeout is not None, "an unbounded wait"
        self.waits += 1
        return [], refs

    def nodes(self):
        return self.node_list

    def cluster_resources(self):
        return {"CPU": 2.0}

    def available_resources(self):
        return {"CPU": 2.0}

    def cancel(self, ref, force=False):
        self.cancelled.append(ref)


def test_every_ray_wait_is_bounded_and_ends_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(grid, "LOG_EVERY", 3)  # a line every 3 polls without news
    points = {f"ref{i}": (grid.Point(tmp_path / f"r{i}", write_done), 0.0) for i in range(2)}
    now = [0.0]

    def clock() -> float:
        now[0] += 30.0  # each poll: 30 s
        return now[0]

    lines, reported = [], []
    ray = _StuckRay([_node(2)])
    outcomes = grid._collect_ray(
        ray, dict(points), reported.append, lines.append, start_timeout=600, clock=clock
    )
    assert [o.status for o in outcomes] == ["failed", "failed"] and reported == outcomes
    assert (
        "no run started on the Ray cluster in 600 s although it runs nothing" in outcomes[0].error
    )
    assert sorted(ray.cancelled) == ["ref0", "ref1"] and ray.waits <= 25
    assert any("[grid] waiting on the Ray cluster" in line for line in lines)  # said while waiting
    # a node that leaves: the runs it alone could take fail at the next check, with the reason
    gone = _StuckRay([_node(2, alive=False)])
    outcomes = grid._collect_ray(gone, dict(points), lambda _: None, lambda _: None, 600)
    assert "the Ray cluster has no alive node" in outcomes[0].error and gone.waits == 1


@pytest.mark.slow
def test_runs_asking_more_cpus_than_a_ray_node_has_are_refused_at_once(ray_instance, tmp_path):
    """The issue's ``sweep --engine ray --threads 4`` on 2 CPUs (``train`` now caps --threads at
    this machine's CPUs, but a cluster's nodes are not this machine): refused before anything is
    submitted, where Ray would have waited forever.

    Fast sibling: :func:`test_runs_no_ray_node_can_take_are_named_before_anything_is_submitted`."""
    points = [grid.Point(tmp_path / f"r{i}", write_done, {"folder": str(tmp_path / f"r{i}")},
                         cpus=4) for i in range(2)]  # fmt: skip
    with deadline(60), pytest.raises(ValueError) as caught:
        grid.run_points(points, engine="ray", log=lambda _: None)
    message = str(caught.value)
    assert "\n" not in message and "asks 4 CPUs," in message
    assert "the largest has 2 CPUs and 0 GPUs)" in message and "no run was started" in message
    assert not any(p.folder.exists() for p in points)


@pytest.mark.slow
def test_local_workers_are_waited_for_in_bounded_checks_that_say_so(tmp_path, monkeypatch):
    """Worker processes are waited for in bounded polls that log what they wait for.

    Fast sibling: :func:`test_every_ray_wait_is_bounded_and_ends_with_a_reason` (the same
    bounded waits on a fake Ray cluster)."""
    monkeypatch.setattr(grid, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(grid, "LOG_EVERY", 2)
    lines = []
    folders = [tmp_path / f"run{i}" for i in range(2)]
    points = [grid.Point(f, sleep_then_done, {"folder": str(f)}) for f in folders]
    outcomes = grid.run_points(points, workers=2, log=lines.append)
    assert [o.status for o in outcomes] == ["done", "done"]
    waiting = [line for line in lines if line.startswith("[grid] waiting for ")]
    assert waiting and re.match(
        r"\[grid\] waiting for (1 run|2 runs) in worker processes \(the oldest started", waiting[0]
    )
