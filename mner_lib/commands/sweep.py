"""``python -m mner_lib sweep``: a grid of training runs into results/, and its summary table."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def _csv(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--workers``, ``--ray-address``: how a grid runs (:mod:`mner_lib.experiments.grid`);
    shared by ``sweep`` and ``book sweep``."""
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: on this machine (default); ray: each run a Ray task (pip install -e .[ray])",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="local engine: runs at a time, each in its own process (1 torch thread unless "
        "--threads says otherwise); default 1: one after another in this process",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        help="ray engine: address of a running Ray cluster (default: start a local instance)",
    )


def engine_options(args: argparse.Namespace) -> dict[str, object]:
    """The keyword arguments of :func:`mner_lib.experiments.grid.run_points` from the parsed options."""
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.ray_address and args.engine != "ray":
        raise ValueError("--ray-address needs --engine ray")
    return {"engine": args.engine, "workers": args.workers, "ray_address": args.ray_address}


def _sweep(args: argparse.Namespace) -> int:
    from mner_lib.experiments.sweep import check_experiment, experiment_lock, run_grid
    from mner_lib.reporting.summary import write_summary
    from mner_lib.training.config import overrides_from_args

    try:  # before anything runs, in every mode: the summary is root/summary_<experiment>.*
        folder = check_experiment(Path(args.root), args.experiment)
    except ValueError as err:
        raise ValueError(f"--experiment: {err}") from None
    if args.summary_only and not folder.is_dir():  # no empty summary over a good one
        raise ValueError(
            f"--summary-only: no experiment folder {Path(args.root) / args.experiment}"
        )
    per_run = ("dataset", "seed", "condition", "out", "data_dir", "overwrite")
    options = {
        k: v for k, v in overrides_from_args(args).items() if v is not None and k not in per_run
    }
    root = Path(args.root)
    # one sweep of an experiment at a time, from its first run to its summary: a second one is
    # refused at once, naming this process
    with experiment_lock(root, args.experiment):
        if not args.summary_only:
            from mner_lib.experiments.grid import GridError

            try:
                run_grid(
                    args.experiment,
                    _csv(args.models),
                    _csv(args.datasets),
                    args.seeds,
                    _csv(args.conditions),
                    root=root,
                    data_dir=args.data_dir,
                    **engine_options(args),
                    **options,
                )
            except GridError as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
            except ImportError as err:  # --engine ray without Ray installed
                print(f"error: {err}", file=sys.stderr)
                return 2
        print(_read_back(write_summary(root, args.experiment)))
    return 0


def _read_back(path: Path) -> str:
    """The file just written, to print; refused, not read, if it was swapped for a FIFO since."""
    from mner_lib.io.safe_read import read_regular_file
    from mner_lib.reporting.results import MAX_METRICS_BYTES

    return read_regular_file(path, MAX_METRICS_BYTES, what="report").decode("utf-8")


def _report(args: argparse.Namespace) -> int:
    from mner_lib.reporting.report import write_report

    root = Path(args.root)
    if args.experiments is None:  # the campaign report
        from mner_lib.reporting.campaign_report import write_campaign_report

        if not root.is_dir():  # a mistyped --root would otherwise report "0 runs finished"
            raise ValueError(f"--root {root}: no such results folder")
        out = Path(args.out) if args.out else root / "report_campaign.md"
        bench = Path(args.bench) if args.bench else None  # None: beside the results folder
        print(_read_back(write_campaign_report(root, out, bench)))
        from mner_lib.reporting.per_tweet_file import write_counts

        # the per-tweet counts of the caption pairs (results/caption_per_tweet.json), where the
        # reader's data folder is there to rejoin the runs' tags; else one line says it is left
        print(write_counts(root))
        return 0
    patterns = _csv(args.experiments)
    try:
        if not patterns:
            raise ValueError("--experiments is empty: name one experiment folder or more")
        # each pattern is checked (report.check_pattern) before anything is read or written;
        # the report's name: the first pattern without its glob characters
        name = re.sub(r"[^\w.-]", "", patterns[0]) or "experiments"
        out = Path(args.out) if args.out else root / f"report_{name}.md"
        print(_read_back(write_report(root, patterns, out)))
    except ValueError as err:
        raise SystemExit(f"report: {err}") from err
    return 0


def _seeds(text: str) -> list[int]:
    """``--seeds``: comma-separated integers from 0 (each a NumPy seed)."""
    from mner_lib.training.config import MAXIMUM, check_field

    try:
        seeds = [int(s) for s in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 0,1,2, got {text!r}") from None
    if not seeds or any(check_field("seed", s) for s in seeds):  # the trainer's own bounds
        raise argparse.ArgumentTypeError(
            f"expected integers from 0 to {MAXIMUM['seed']}, got {text!r}"
        )
    return seeds


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("report", help="one markdown report over several experiments under results/")
    r.add_argument(
        "--experiments",
        default=None,
        help="comma-separated experiment folder names or glob patterns (budget,budget_*); "
        "none: the replication campaign's report (mner_lib/experiments/campaign.py)",
    )
    r.add_argument("--root", default="results")
    r.add_argument(
        "--out",
        default=None,
        help="default: <root>/report_<first experiment>.md (the campaign: report_campaign.md)",
    )
    r.add_argument(
        "--bench",
        default=None,
        help="recorded speeds for the cost of unfinished campaign runs "
        "(default: <root>/../benchmarks/bench_cpu.json)",
    )
    r.set_defaults(func=_report)

    p = sub.add_parser("sweep", help="train a grid of runs into results/ and summarise them")
    p.add_argument("--experiment", required=True)
    p.add_argument("--models", required=True, help="comma-separated model names")
    p.add_argument("--datasets", default="demo")
    p.add_argument("--seeds", default="0,1,2", type=_seeds, help="comma-separated seeds")
    p.add_argument(
        "--conditions",
        default="none,blank",
        help="'none' for text models; image conditions for the others",
    )
    p.add_argument("--data-dir", default=None)
    p.add_argument("--root", default="results")
    from mner_lib.training.config import add_config_arguments

    # every other training setting, generated from the run schema (default: the paper's)
    add_config_arguments(p, exclude=("dataset", "seed", "condition", "data_dir", "overwrite"))
    p.add_argument("--summary-only", action="store_true")
    add_engine_options(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_sweep)
