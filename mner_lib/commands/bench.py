"""``python -m mner_lib bench``: training/inference speed per model on a device, and the
estimated wall time of the full replication grid there (:mod:`mner_lib.experiments.bench`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mner_lib.commands.checks import check_out_file, positive_int
from mner_lib.io.atomicfile import atomic_write_json
from mner_lib.io.plural import noun

#: The most timed optimiser steps per model (the default is 20).
MAX_BENCH_STEPS = 1000


def _capped(name: str, most: int | None = None):
    """An argparse type: a positive integer, at most ``most`` (or what the run config allows
    for field ``name``: ``threads`` at most this machine's CPUs)."""

    def convert(text: str) -> int:
        from mner_lib.training.config import check_field

        value = positive_int(text)
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most}, got {value}")
        message = check_field(name, value) if most is None else ""
        if message:
            raise argparse.ArgumentTypeError(message)
        return value

    convert.__name__ = "int"
    return convert


def _bench(args: argparse.Namespace) -> int:
    from mner_lib.experiments.bench import format_bench, run_bench
    from mner_lib.models import available_models

    models = [m for m in args.models.split(",") if m]
    valid = available_models()
    bad = [m for m in models if m not in valid]
    if not models:
        raise ValueError(f"--models is empty: name one model or more, from {', '.join(valid)}")
    if bad:
        raise ValueError(
            f"--models: unknown {noun(len(bad), 'model')} {', '.join(bad)}; valid: {', '.join(valid)}"
        )
    if args.out:
        check_out_file(Path(args.out))  # before the benchmark, which can take minutes
    result = run_bench(
        device=args.device,
        models=models,
        steps=args.steps,
        precision=args.precision,
        dataset=args.dataset,
        data_dir=args.data_dir,
        batch_size=args.batch_size,
        threads=args.threads,
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2) if args.json else format_bench(result))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bench`` to the command line's sub-commands."""
    from mner_lib.experiments.bench import GRID_MODELS
    from mner_lib.models.precision import PRECISIONS
    from mner_lib.text.data import DATASETS

    p = sub.add_parser(
        "bench",
        help="tweets/s and peak memory per model on a device; the replication grid's wall time",
        description=__doc__,
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--models", default=",".join(GRID_MODELS), help="comma-separated model names")
    p.add_argument(
        "--steps",
        type=_capped("steps", MAX_BENCH_STEPS),
        default=20,
        help=f"timed optimiser steps per model (1 to {MAX_BENCH_STEPS})",
    )
    p.add_argument(
        "--batch-size",
        type=_capped("batch_size"),
        default=None,
        help="default: each model's paper batch",
    )
    p.add_argument("--precision", choices=PRECISIONS, default="auto")
    p.add_argument("--dataset", choices=DATASETS, default="twitter2015")
    p.add_argument("--data-dir", default=None)
    p.add_argument(
        "--threads",
        type=_capped("threads"),
        default=None,
        help="torch CPU threads (at most the CPUs)",
    )
    p.add_argument("--out", default=None, help="also write the JSON result here")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_bench)
