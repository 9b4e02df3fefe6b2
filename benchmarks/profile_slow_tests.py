"""Where the largest tests of ``make test`` spend their time: cProfile of the work behind them, one
piece at a time, in one process with one thread and an empty image-feature cache each.

- ``chapter:cwi`` and ``chapter:gmf``: the chapter's training cell under the quick profile
  (``train_and_tabulate``, what the browser book test executes);
- ``probe:cwi``: one plain CWI probe run (seed 0, tests.probes.CWI_PLAIN_RUN).

The image backbone's own speed against a frozen trace: benchmarks/bench_backbone_trace.py.

    python benchmarks/profile_slow_tests.py chapter:cwi chapter:gmf probe:cwi
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PIECES = ("chapter:cwi", "chapter:gmf", "probe:cwi")


def chapter(key: str) -> None:
    from mner_lib import book
    from mner_lib.book.chapters import train_and_tabulate

    params = book.chapter_parameters(book.load_profile("quick"), key, data_dir=None)
    params.setdefault("models", [key])  # the chapter's notebook sets it
    params["runs_dir"] = tempfile.mkdtemp()
    train_and_tabulate(params, key, show=lambda _: None)


def probe() -> None:
    from tests.probes import CWI_PLAIN_RUN, demo_probe_f1

    settings = dict(CWI_PLAIN_RUN)
    options = settings.pop("options")
    demo_probe_f1("cwi", options, Path(tempfile.mkdtemp()), "synthetic", seed=0, **settings)


def main(pieces: list[str]) -> int:
    unknown = [p for p in pieces if p not in PIECES]
    if unknown or not pieces:
        print(f"give one or more of {', '.join(PIECES)} (got {unknown or 'none'})", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    for piece in pieces:
        os.environ["MNER_CACHE_DIR"] = tempfile.mkdtemp()  # an empty feature cache each
        profiler = cProfile.Profile()
        start = time.perf_counter()
        if piece.startswith("chapter:"):
            profiler.runcall(chapter, piece.split(":")[1])
        else:
            profiler.runcall(probe)
        print(f"== {piece}: {time.perf_counter() - start:.1f} s")
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        print("\n".join(line for line in text.getvalue().splitlines() if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
