"""How many threads a chapter's kernel should use: the quick profile's HSN and GMF chapters with
``OMP_NUM_THREADS`` 1 and 2, on idle cores and beside other work.

Each round runs ``book run --profile quick --only hsn,gmf`` (no HTML) once per thread count, in
alternating order, and records the wall time, the CPU time of the kernels and the load average
when it started. ``--label`` names the condition (``idle``: nothing else running; ``busy``: the
campaign's two single-thread workers on the same two cores, as ``make test`` has its second
pytest worker). Appends to ``benchmarks/book_threads.jsonl`` and rewrites ``book_threads.md``.

    .venv/bin/python benchmarks/bench_book_threads.py --label busy --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "book_threads"
CHAPTERS = ["hsn", "gmf"]


def profile_with_threads(threads: int, folder: Path) -> Path:
    """The quick profile with the kernels' thread count set to ``threads``."""
    import yaml

    data = yaml.safe_load((ROOT / "mner_lib" / "profiles" / "quick.yml").read_text())
    data["env"] = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    path = folder / f"quick_threads{threads}.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def one_run(threads: int) -> dict:
    from mner_lib.book.runner import run_book

    os.environ.pop("MNER_DATA_DIR", None)  # the model chapters train on the demo
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        report = run_book(
            str(profile_with_threads(threads, folder)),
            only=CHAPTERS,
            build=False,
            executed_dir=folder / "executed",
            output=folder,
            overrides={"runs_dir": str(folder / "runs"), "results_dir": str(ROOT / "results")},
            log=lambda *_: None,
            force=True,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "threads": threads,
        "wall_s": round(wall, 1),
        "kernel_cpu_s": round(cpu, 1),
        "chapters_s": {k: round(v, 1) for k, v in report.executed.items()},
        "load_before": round(load, 2),
    }


def commit() -> str:
    out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip() or "unknown"


def write_markdown(rows: list[dict]) -> None:
    lines = [
        "# Threads per chapter kernel (quick profile, HSN and GMF chapters)",
        "",
        "Written by `benchmarks/bench_book_threads.py` from `book_threads.jsonl`; each row one",
        "`book run --profile quick --only hsn,gmf` without the HTML build, `OMP_NUM_THREADS` as",
        "given. `busy`: the campaign's two single-thread workers ran on the same two cores.",
        "",
        "| label | threads | runs | wall s (median) | kernel CPU s (median) | commit | host |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["label"], row["threads"], row["commit"], row["host"]), []).append(
            row
        )
    for (label, threads, sha, host), runs in sorted(groups.items()):
        wall = statistics.median(r["wall_s"] for r in runs)
        cpu = statistics.median(r["kernel_cpu_s"] for r in runs)
        lines.append(
            f"| {label} | {threads} | {len(runs)} | {wall:.1f} | {cpu:.1f} | {sha} | {host} |"
        )
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, choices=["idle", "busy"])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    host = f"{platform.node()} ({os.cpu_count()} cores)"
    sha = commit()
    for r in range(args.rounds):
        for threads in (1, 2) if r % 2 == 0 else (2, 1):
            row = {"label": args.label, **one_run(threads), "commit": sha, "host": host,
                   "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
            print(json.dumps(row), flush=True)
            with OUT.with_suffix(".jsonl").open("a") as fh:
                fh.write(json.dumps(row) + "\n")
    rows = [json.loads(x) for x in OUT.with_suffix(".jsonl").read_text().splitlines() if x]
    write_markdown(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
