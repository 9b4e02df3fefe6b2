"""Image backbones in channels-last memory format against the default (contiguous) one, on CPU:
writes ``benchmarks/channels_last.md`` (and ``.json``).

For each backbone of :data:`mner_lib.images.backbones.BACKBONES` (efficientnet-lite0 with its
pretrained weights, the torchvision ones with seeded random weights: the speed does not depend on
the values), one batch of random images at its input size, ``--rounds`` rounds that alternate the
two formats; the median milliseconds per image of each, the largest difference of the logits (relative to
the largest logit) and
whether the top-5 classes agree (what CWI reads).

    python benchmarks/bench_channels_last.py [--batch 16] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mner_lib.images.backbones import BACKBONES, build_image_backbone  # noqa: E402
from mner_lib.training.runtime import git_commit  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from probe_seeds import cpu_model  # noqa: E402  (the CPU's model name, from /proc/cpuinfo)

FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


@torch.inference_mode()
def measure(name: str, batch: int, rounds: int) -> dict:
    model = build_image_backbone(name, pretrained=name == "efficientnet-lite0", seed=0)
    size = model.default_size
    images = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    times: dict[str, list[float]] = {f: [] for f in FORMATS}
    logits = {}
    for _ in range(rounds):
        for fmt, memory in FORMATS.items():
            model = model.to(memory_format=memory)
            x = images.contiguous(memory_format=memory)
            model(x[:2])  # warm-up of this format's kernels
            start = time.perf_counter()
            logits[fmt] = model(x).logits
            times[fmt].append((time.perf_counter() - start) / batch * 1000)
    a, b = logits["contiguous"], logits["channels_last"]
    median = {f: statistics.median(v) for f, v in times.items()}
    return {
        "backbone": name,
        "size": size,
        "ms_per_image": median,
        "speedup": median["contiguous"] / median["channels_last"],
        # relative: random weights give logits in the tens or thousands
        "max_logit_diff": float((a - b).abs().max() / a.abs().max()),
        "top5_agree": float((a.topk(5).indices == b.topk(5).indices).all(dim=1).float().mean()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "channels_last"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in BACKBONES:
        rows.append(measure(name, args.batch, args.rounds))
        print(rows[-1], flush=True)
    meta = {
        "commit": git_commit(),
        "cpu": cpu_model(),
        "threads": args.threads,
        "batch": args.batch,
        "rounds": args.rounds,
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    lines = [
        "# Image backbones in channels-last memory format (written by "
        "benchmarks/bench_channels_last.py)",
        "",
        f"CPU: {meta['cpu']}; {meta['threads']} thread(s); torch {meta['torch']}; a batch of "
        f"{meta['batch']} random images; median of {meta['rounds']} rounds that alternate the "
        f"formats; commit {meta['commit']}; {meta['date']}. efficientnet-lite0 with its "
        "pretrained weights, the others with seeded random ones. 'top-5 agree': the share of "
        "images whose five highest classes (what CWI reads) are the same in both formats.",
        "",
        "| backbone | size | contiguous ms/image | channels-last ms/image | speed-up | "
        "largest logit difference (relative) | top-5 agree |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ms = r["ms_per_image"]
        lines.append(
            f"| {r['backbone']} | {r['size']} | {ms['contiguous']:.1f} | "
            f"{ms['channels_last']:.1f} | {r['speedup']:.2f}x | {r['max_logit_diff']:.1e} | "
            f"{r['top5_agree']:.0%} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
