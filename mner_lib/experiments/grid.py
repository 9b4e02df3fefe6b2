"""One grid engine for every grid of runs: ``sweep`` and ``book sweep`` both hand it their points.

A grid is a list of :class:`Point`: a run folder, the module-level function that fills it and
that function's keyword arguments, and what the run needs (CPUs, GPUs). :func:`run_points` runs
them with one of two engines:

``local`` (the default; nothing to install)
    one run after another in this process, or ``workers=N`` runs at a time, each in its own
    spawned process (pinned to ``threads`` torch threads, 1 unless told otherwise; on a machine
    with GPUs a run that asks for one gets its own GPU through ``CUDA_VISIBLE_DEVICES``).
``ray``
    each run a Ray task with its CPU and GPU needs, on the cluster at ``ray_address`` or on a
    Ray instance started here for the grid; a line is printed as each run ends. Runs that no
    node of the cluster can take (``--threads 4`` on 2-CPU nodes) are refused before any is
    submitted, and every wait is bounded (:func:`_collect_ray`): Ray alone would wait forever.

Every engine keeps the same guarantees. A finished run (its done file, ``metrics.json`` for a
training run, which the run folder writes last) is skipped; an unfinished one
starts again in its folder, where the trainer resumes it after its last finished epoch; results
land in the run folders, never anywhere else; a run that fails (an error, or its process killed)
is reported with its folder once the others have ended, and the finished runs stay finished. A
training run's folder that holds a run made with other settings is refused before anything runs
(:func:`train_points`), and a run folder has one writer at a time (:mod:`mner_lib.training.runlock`).
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from mner_lib.io.plural import counted, noun

ENGINES = ("local", "ray")
#: environment variables a Ray worker on another node must see as the driver does (with every
#: ``MNER_*`` one: the data, cache and image folders)
FORWARDED_ENV = ("HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
#: an engine checks on its runs this often (seconds) and logs a line every LOG_EVERY checks
#: without news; the Ray engine gives up on runs that have not started after RAY_START_TIMEOUT
#: seconds in which the cluster ran nothing at all
POLL_SECONDS, LOG_EVERY, RAY_START_TIMEOUT = 30.0, 20, 600.0


@dataclass(frozen=True)
class Point:
    """One run of a grid: ``run(**kwargs)`` fills ``folder``; it is finished when
    ``folder/done_file`` exists (the run folder writes it last). ``run`` must be a module-level
    function (it travels by name to worker processes and Ray tasks)."""

    folder: Path
    run: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    cpus: float = 1.0
    gpus: float = 0.0
    done_file: str = "metrics.json"

    def finished(self) -> bool:
        return (self.folder / self.done_file).exists()


@dataclass(frozen=True)
class Outcome:
    """How one point ended: ``done`` (ran to the end now), ``skipped`` (finished before) or
    ``failed`` (``error`` says why); ``summary`` is the run function's one-line result."""

    folder: Path
    status: str
    seconds: float = 0.0
    summary: str = ""
    error: str = ""


class GridError(RuntimeError):
    """Some runs of a grid failed; the message names each run folder and its error. The other
    runs ended normally (``outcomes`` holds every run's outcome)."""

    def __init__(self, outcomes: Sequence[Outcome]):
        self.outcomes = list(outcomes)
        failed = [o for o in self.outcomes if o.status == "failed"]
        lines = [f"{len(failed)} of {counted(len(self.outcomes), 'run')} failed:"]
        for o in failed:
            lines.append(f"  {o.folder}:")
            lines += [f"    {line}" for line in o.error.strip().splitlines()]
        lines.append(
            "the finished runs are kept; run the same command again to finish the grid "
            "(finished runs are skipped, unfinished ones resume)"
        )
        super().__init__("\n".join(lines))


# ----------------------------------------------------------------------------- run folders
def inside_root(root: Path, *parts: str) -> Path:
    """``root/parts...``, refused with a clear error when the parts lead out of ``root`` (an
    absolute path or ``..``), so no grid writes outside its results folder."""
    path = Path(root).joinpath(*parts)
    base = Path(root).resolve()
    if any(Path(p).is_absolute() for p in parts) or not path.resolve().is_relative_to(base):
        raise ValueError(
            f"run folder {path} leaves the results root {root}/ (from {'/'.join(parts)!r}); "
            "use a plain name such as 'baselines' or 'budget/gmf'"
        )
    if path.resolve() == base:
        raise ValueError(f"run folder names {list(parts)!r} are empty: name an experiment")
    return path


def run_dir(
    root: Path, experiment: str, model: str, dataset: str, condition: str, seed: int
) -> Path:
    """The run folder of one training run of a grid, the one naming rule of the project:
    ``root/<experiment>/<model>/<dataset>/<condition>/seed<k>`` (``:`` in a condition such as
    ``real:resnet`` becomes ``-``). An experiment name that leaves ``root`` is an error."""
    experiment_dir = inside_root(Path(root), experiment)
    safe = condition.replace(":", "-")
    return inside_root(experiment_dir, model, dataset, safe, f"seed{seed}")


# ----------------------------------------------------------------------------- training runs
def train_point(**spec: Any) -> str:
    """Train one run of a grid: the only place the grid engine calls the trainer.
    ``spec`` holds ``model`` and the keyword arguments of ``mner_lib.training.resolve_config``
    (``out`` is the run folder); the trainer resumes an unfinished run in that folder."""
    from mner_lib.training import resolve_config, run_training

    spec = dict(spec)
    result = run_training(resolve_config(spec.pop("model"), **spec))
    return f"test F1 {result.metrics['test']['f1']:.2f}"


def check_train_point(**spec: Any) -> str | None:
    """Fail before any run starts when a point's training settings are wrong. Returns how the
    run already in its folder differs from the point's: other settings ("lr 0.1 there, 0.5
    here; ...", finished or not) or, for a finished run, other data files than the point would
    read now (the SHA-256 in its metrics.json); None when there is no such run."""
    import json

    from mner_lib.training import resolve_config
    from mner_lib.training.config import portable_config
    from mner_lib.training.runfolder import METRICS, RunFolder
    from mner_lib.training.runstate import data_drift
    from mner_lib.training.trainer import NOT_IDENTITY

    spec = dict(spec)
    cfg = resolve_config(spec.pop("model"), **spec)
    folder = RunFolder(cfg.out)
    if folder.state not in ("finished", "unfinished"):
        return None
    differ = folder.differences(portable_config(cfg), NOT_IDENTITY)

    def shown(value: Any) -> str:
        return "(not recorded)" if value is ... else str(value)[:60]

    parts = [f"{k} {shown(old)} there, {shown(new)} here" for k, (old, new) in differ.items()]
    if not parts and folder.state == "finished":  # an unfinished one checks when it resumes
        try:
            recorded = json.loads(folder.read(folder.path / METRICS)).get("data_hashes")
        except (ValueError, OSError, AttributeError):
            recorded = None  # an unreadable metrics.json is the results reader's to name
        parts = [f"data: {change}" for change in data_drift(recorded, cfg.dataset, cfg.data_dir)]
    return f"{folder.path} ({folder.state}: {'; '.join(parts)})" if parts else None


def train_points(specs: Sequence[dict[str, Any]], threads: int | None = None) -> list[Point]:
    """The points of training runs ``specs`` (each ``model`` + ``resolve_config`` arguments with
    ``out``), all checked first: a wrong setting, or a run folder that already holds a run made
    with other settings or on other data (its results would pass for this grid's), is a
    ``ValueError`` before anything runs. A run on ``device='cuda'`` asks for one GPU; a run asks for ``threads`` CPUs
    (1 when not given)."""
    points, other = [], []
    for spec in specs:
        if (differs := check_train_point(**spec)) is not None:
            other.append(differs)
        gpus = 1.0 if spec.get("device") == "cuda" else 0.0
        cpus = float(spec.get("threads") or threads or 1)
        points.append(Point(Path(spec["out"]), train_point, dict(spec), cpus=cpus, gpus=gpus))
    if other:
        more = f" and {len(other) - 1} more" if len(other) > 1 else ""
        raise ValueError(
            f"{counted(len(other), 'run folder')} of this grid {noun(len(other), 'holds', 'hold')} "
            "runs made with other settings or data, "
            f"which it would count as its own: {other[0]}{more}; use another experiment name, "
            "the settings and data those runs were made with, or delete those run folders"
        )
    return points


# ----------------------------------------------------------------------------- one run
def execute(point: Point, threads: int | None = None, cwd: str | None = None) -> Outcome:
    """Run one point where this is called; any exception becomes a ``failed`` outcome with its
    message and where it was raised, so one run's error never ends the grid. ``cwd`` (a Ray
    task) is the driver's working folder: relative run folders are taken from it, so the
    results land where the driver's engine would have put them."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    start = time.time()
    try:
        if cwd is not None:
            if not Path(cwd).is_dir():
                raise FileNotFoundError(
                    f"the driver's working folder {cwd} does not exist on this Ray node; run the "
                    "grid from a folder on a filesystem every node mounts at the same path"
                )
            os.chdir(cwd)
        summary = point.run(**point.kwargs)
    except Exception as err:  # reported with the run folder, after the other runs
        where = traceback.extract_tb(err.__traceback__)[-1]
        error = "".join(traceback.format_exception_only(err)).strip()
        error += f"\n(raised at {where.filename}, line {where.lineno})"
        return Outcome(point.folder, "failed", time.time() - start, error=error)
    return Outcome(point.folder, "done", time.time() - start, str(summary or ""))


def _child(point: Point, threads: int, gpu: str | None, conn: Any) -> None:
    """The body of one local worker process (spawned: nothing of the parent's torch state)."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    conn.send(execute(point, threads))
    conn.close()


# ----------------------------------------------------------------------------- engines
def _visible_gpus() -> list[str]:
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g for g in listed.split(",") if g.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def _run_processes(
    points: Sequence[Point],
    workers: int,
    threads: int,
    report: Callable[[Outcome], None],
    log: Callable[[str], None] = print,
) -> list[Outcome]:
    """At most ``workers`` runs at a time, one spawned process per run: a run whose process
    dies (killed, out of memory) is reported as failed and the others go on. The wait for them
    is checked every ``POLL_SECONDS``, with a line every ``LOG_EVERY`` checks without news."""
    ctx = multiprocessing.get_context("spawn")
    gpus = _visible_gpus() if any(p.gpus for p in points) else []
    pending, running, outcomes, polls = list(points), {}, [], 0
    free_slots = list(range(workers))
    while pending or running:
        while pending and free_slots:
            point, slot = pending.pop(0), free_slots.pop(0)
            gpu = gpus[slot % len(gpus)] if point.gpus and gpus else None
            receiver, sender = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(point, threads, gpu, sender))
            proc.start()
            sender.close()
            running[proc.sentinel] = (proc, receiver, point, slot, time.time())
        ended = wait(list(running), timeout=POLL_SECONDS)
        polls = 0 if ended else polls + 1
        if polls and polls % LOG_EVERY == 0:
            oldest = min(start for *_, start in running.values())
            log(
                f"[grid] waiting for {counted(len(running), 'run')} in worker processes (the oldest "
                f"started {time.time() - oldest:.0f} s ago); {len(pending)} to start"
            )
        for sentinel in ended:
            proc, receiver, point, slot, start = running.pop(sentinel)
            outcome = receiver.recv() if receiver.poll() else None
            receiver.close()
            proc.join()
            free_slots.append(slot)
            if outcome is None:
                outcome = Outcome(
                    point.folder,
                    "failed",
                    time.time() - start,
                    error=f"the worker process ended (exit code {proc.exitcode}) before the "
                    "run finished",
                )
            outcomes.append(outcome)
            report(outcome)
    return outcomes


def _ray_runtime_env() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k.startswith("MNER_") or k in FORWARDED_ENV}
    return {"env_vars": env} if env else {}


def ray_fit_problem(points: Sequence[Point], nodes: Sequence[dict[str, Any]]) -> str | None:
    """Why a run of ``points`` can never start on a Ray cluster of ``nodes`` (``ray.nodes()``:
    a task runs on one node, so some alive node must have its CPUs and GPUs), or None. Ray
    itself would keep such a task pending forever, its warning hidden from the driver."""
    sizes = [
        (float(n.get("Resources", {}).get("CPU", 0)), float(n.get("Resources", {}).get("GPU", 0)))
        for n in nodes
        if n.get("Alive", n.get("alive", False))
    ]
    for point in points:
        if any(point.cpus <= cpus and point.gpus <= gpus for cpus, gpus in sizes):
            continue
        asks = counted(point.cpus, "CPU", fmt="g") + (
            f" and {counted(point.gpus, 'GPU', fmt='g')}" if point.gpus else ""
        )
        if not sizes:
            return f"a run asks {asks}, but the Ray cluster has no alive node"
        most = max(sizes)
        fix = "--threads sets a run's CPUs" + (
            ", --device cpu asks for no GPU" if point.gpus else ""
        )
        return (
            f"a run ({point.folder}) asks {asks}, but no node of the Ray cluster has that many "
            f"(the largest has {counted(most[0], 'CPU', fmt='g')} and "
            f"{counted(most[1], 'GPU', fmt='g')}); Ray would wait for "
            f"them forever: ask for less ({fix}) or add a node that has them"
        )
    return None


def _collect_ray(
    ray: Any,
    refs: dict[Any, tuple[Point, float]],
    report: Callable[[Outcome], None],
    log: Callable[[str], None],
    start_timeout: float,
    poll: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> list[Outcome]:
    """The outcomes of the submitted ``refs`` as they end. No wait is unbounded: every
    ``poll`` seconds the cluster is checked; runs that no alive node can take any more (a node
    left) fail with the reason, and when for ``start_timeout`` seconds no run has ended while
    the cluster runs nothing at all, the runs cannot start: they are cancelled and fail, saying
    so. A line is logged every ``LOG_EVERY`` polls without news."""
    outcomes, waited_since, idle_since, polls = [], clock(), None, 0
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1, timeout=poll)
        if ready:
            point, start = refs.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except Exception as err:  # the task's worker died (killed, node lost)
                outcome = Outcome(
                    point.folder, "failed", time.time() - start, error=f"{type(err).__name__}: "
                    f"the Ray worker running this run ended before it finished ({err})"
                )  # fmt: skip
            outcomes.append(outcome)
            report(outcome)
            waited_since, idle_since, polls = clock(), None, 0
            continue
        polls += 1
        why = ray_fit_problem([p for p, _ in refs.values()], ray.nodes())
        total, free = ray.cluster_resources(), ray.available_resources()
        busy = any(free.get(k, 0.0) < total.get(k, 0.0) for k in ("CPU", "GPU"))
        idle_since = None if busy else (idle_since if idle_since is not None else clock())
        if why is None and idle_since is not None and clock() - idle_since >= start_timeout:
            why = (
                f"no run started on the Ray cluster in {start_timeout:g} s although it runs "
                f"nothing (resources: {dict(sorted(total.items()))}); Ray cannot place them"
            )
        if why is not None:
            for ref, (point, start) in list(refs.items()):
                ray.cancel(ref, force=True)
                outcome = Outcome(point.folder, "failed", time.time() - start, error=why)
                outcomes.append(outcome)
                report(outcome)
            refs.clear()
        elif polls % LOG_EVERY == 0:
            log(
                f"[grid] waiting on the Ray cluster for {clock() - waited_since:.0f} s: "
                f"{counted(len(refs), 'run')} running or queued; CPUs free {free.get('CPU', 0):g} of "
                f"{total.get('CPU', 0):g}"
            )
    return outcomes


def _run_ray(
    points: Sequence[Point],
    address: str | None,
    retries: int,
    report: Callable[[Outcome], None],
    log: Callable[[str], None] = print,
    start_timeout: float = RAY_START_TIMEOUT,
) -> list[Outcome]:
    """Each point a Ray task with its CPU and GPU needs; outcomes come back as runs end. Runs
    that no node of the cluster can take are refused (``ValueError``) before any is submitted;
    every wait is bounded (:func:`_collect_ray`). A Ray instance started here (no ``address``)
    is shut down at the end; a cluster is left as is."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "engine 'ray' needs Ray: pip install -e '.[ray]' (or pip install mner-lib[ray])"
        ) from err
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            runtime_env=(_ray_runtime_env() or None) if address else None,
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        problem = ray_fit_problem(points, ray.nodes())
        if problem is not None:
            raise ValueError(f"engine ray: {problem}; no run was started")
        task = ray.remote(execute)
        refs = {}
        for point in points:
            threads = max(1, int(point.cpus))
            options = {"num_cpus": point.cpus, "num_gpus": point.gpus, "max_retries": retries}
            ref = task.options(**options).remote(point, threads, os.getcwd())
            refs[ref] = (point, time.time())
        return _collect_ray(ray, refs, report, log, start_timeout)
    finally:
        if started:
            ray.shutdown()


def run_points(
    points: Sequence[Point],
    engine: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
    threads: int = 1,
    retries: int = 0,
    log: Callable[[str], None] = print,
    raise_errors: bool = True,
) -> list[Outcome]:
    """Run a grid's points; returns one :class:`Outcome` per point, in the order of ``points``.

    Finished points are skipped with every engine. ``engine='local'`` with ``workers=1`` runs
    in this process (its torch threads untouched); ``workers>1`` spawns one process per run,
    ``threads`` torch threads each. ``engine='ray'`` submits to ``ray_address`` (a local Ray
    instance when None); ``retries`` lets Ray restart a run whose worker died (it resumes from
    its checkpoint). With ``raise_errors`` a failed run raises :class:`GridError` after all
    others ended."""
    if engine not in ENGINES:
        raise ValueError(f"unknown grid engine {engine!r}; valid: {', '.join(ENGINES)}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if ray_address and engine != "ray":
        raise ValueError(f"ray_address {ray_address!r} needs engine 'ray', not {engine!r}")
    folders = [p.folder for p in points]
    twice = sorted({str(f) for f in folders if folders.count(f) > 1})
    if twice:
        raise ValueError(f"two runs of the grid share a run folder: {', '.join(twice)}")
    todo = [p for p in points if not p.finished()]
    skipped = {p.folder: Outcome(p.folder, "skipped") for p in points if p.finished()}
    where = f"engine {engine}" + (f", {workers} workers" if engine == "local" else "")
    log(
        f"[grid] {counted(len(points), 'run')}: {len(skipped)} finished before, {len(todo)} to run ({where})"
    )
    counter = {"n": 0}

    def report(outcome: Outcome) -> None:
        counter["n"] += 1
        what = outcome.summary if outcome.status == "done" else outcome.error.strip()
        log(
            f"[grid] {counter['n']}/{len(todo)} {outcome.status} in {outcome.seconds:.0f}s: "
            f"{outcome.folder} {what.splitlines()[0] if what else ''}".rstrip()
        )

    if engine == "ray" and todo:
        ran = _run_ray(todo, ray_address, retries, report, log)
    elif workers > 1:
        ran = _run_processes(todo, workers, threads, report, log)
    elif engine == "ray":
        ran = []
    else:
        ran = []
        for point in todo:
            ran.append(execute(point))
            report(ran[-1])
    by_folder = {**skipped, **{o.folder: o for o in ran}}
    outcomes = [by_folder[p.folder] for p in points]
    if raise_errors and any(o.status == "failed" for o in outcomes):
        raise GridError(outcomes)
    return outcomes
