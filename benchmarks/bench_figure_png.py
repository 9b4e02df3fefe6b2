"""How long the book's largest figure takes to become the PNG a chapter shows: the "Recorded
runs" curves of the foundations chapter (one panel per recorded setting of bilstm-crf,
hbilstm-crf and bert-crf, from the committed results/), drawn four ways:

- ``savefig tight, constrained``: what the book did before a34e7ad (``savefig`` with
  ``bbox_inches="tight"`` draws the figure twice; a constrained layout is solved at the first);
- ``savefig tight, fixed grid``: the figure's fixed grid in inches, saved as before;
- ``drawn once, constrained``: :func:`mner_lib.figures.figure.png_bytes` (one drawing, cut to
  the same box) on the constrained layout;
- ``drawn once, fixed grid``: what the book does now.

Each way is timed ``--rounds`` times, interleaved, in one process with one thread; the median is
reported. Writes ``figure_png.json`` and ``figure_png.md`` beside this file.

    python benchmarks/bench_figure_png.py --rounds 5
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from probe_seeds import cpu_model  # noqa: E402  (the CPU's model name, from /proc/cpuinfo)

MODELS = ["bilstm-crf", "hbilstm-crf", "bert-crf"]
WAYS = (
    "savefig tight, constrained",
    "savefig tight, fixed grid",
    "drawn once, constrained",
    "drawn once, fixed grid",
)


def figure(settings, constrained: bool):
    from mner_lib.book.realplots import recorded_curves

    fig = recorded_curves(settings)
    if constrained:
        fig.set_layout_engine("constrained")
    return fig


def savefig_tight(fig) -> bytes:
    import matplotlib

    from mner_lib.figures.figure import DPI, LITERAL, literal_text

    buf = io.BytesIO()
    with matplotlib.rc_context(LITERAL):
        literal_text(fig).savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def time_way(way: str, settings) -> float:
    from mner_lib.figures.figure import png_bytes

    fig = figure(settings, constrained=way.endswith("constrained"))
    start = time.perf_counter()
    savefig_tight(fig) if way.startswith("savefig") else png_bytes(fig, "caption", "alt")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("agg")
    import torch

    torch.set_num_threads(1)
    from mner_lib.book.realresults import recorded_settings
    from mner_lib.training.runtime import git_commit

    settings = recorded_settings(MODELS, ROOT / "results")
    settings = settings[settings["protocol"] != "quick (smoke)"]
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    time_way(WAYS[-1], settings)  # fonts and caches warm
    for _ in range(args.rounds):
        for way in WAYS:
            times[way].append(time_way(way, settings))
    medians = {way: statistics.median(ts) for way, ts in times.items()}
    record = {
        "figure": f"recorded_curves of {', '.join(MODELS)} ({len(settings)} panels)",
        "rounds": args.rounds,
        "seconds": times,
        "median_s": medians,
        "commit": git_commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_model()}, one thread",
        "matplotlib": matplotlib.__version__,
    }
    out = Path(__file__).with_name("figure_png")
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    before = medians[WAYS[0]]
    lines = [
        "# The largest figure of the book to PNG (written by benchmarks/bench_figure_png.py)",
        "",
        f"{record['figure']}; {args.rounds} rounds, interleaved, median seconds. Commit "
        f"{record['commit']}, {record['date']}, {record['machine']}, matplotlib "
        f"{record['matplotlib']}. See the script's docstring for the four ways.",
        "",
        "| way | median s | speed-up over the first |",
        "|---|---|---|",
        *(f"| {way} | {medians[way]:.2f} | {before / medians[way]:.2f}x |" for way in WAYS),
        "",
    ]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
