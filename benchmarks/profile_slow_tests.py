"""Where the largest tests of ``make test`` spend their time: cProfile of the work behind them, one
piece at a time, in one process with one thread and an empty image-feature cache each.

- ``chapter:cwi`` and ``chapter:gmf``: the chapter's training cell under the quick profile
  (``train_and_tabulate``, what the browser book test executes);
- ``probe:cwi``: one plain CWI probe run (seed 0, tests.probes.CWI_PLAIN_RUN);
- ``backbone``: EfficientNet-Lite0 as the feature cache runs it (folded, channels-last), against
  a frozen TorchScript trace of it, ms per image at batch 16.

    python benchmarks/profile_slow_tests.py chapter:cwi chapter:gmf probe:cwi backbone
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
PIECES = ("chapter:cwi", "chapter:gmf", "probe:cwi", "backbone")


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


def backbone() -> str:
    import torch

    from mner_lib.images.backbones import build_image_backbone

    model = build_image_backbone("efficientnet-lite0")
    images = torch.randn(16, 3, 224, 224).contiguous(memory_format=torch.channels_last)

    class Outputs(torch.nn.Module):  # tensors only, for the tracer
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            out = self.model(x)
            return (*out.stages, out.logits)

    def ms_per_image(run, rounds: int = 4) -> float:
        with torch.inference_mode():
            run(images)
            start = time.perf_counter()
            for _ in range(rounds):
                run(images)
        return (time.perf_counter() - start) / rounds / len(images) * 1000

    with torch.no_grad():
        frozen = torch.jit.freeze(torch.jit.trace(Outputs().eval(), images))
    eager, traced = ms_per_image(model), ms_per_image(frozen)
    return (
        f"efficientnet-lite0, batch 16: {eager:.1f} ms an image as run; frozen trace {traced:.1f}"
    )


def main(pieces: list[str]) -> int:
    unknown = [p for p in pieces if p not in PIECES]
    if unknown or not pieces:
        print(f"give one or more of {', '.join(PIECES)} (got {unknown or 'none'})", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    for piece in pieces:
        os.environ["MNER_CACHE_DIR"] = tempfile.mkdtemp()  # an empty feature cache each
        if piece == "backbone":
            print(f"== {piece}: {backbone()}")
            continue
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
