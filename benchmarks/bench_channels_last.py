"""Image backbones in channels-last memory format against the default (contiguous) one, on CPU:
writes ``benchmarks/channels_last.md`` (and ``.json``). :func:`run` and :func:`backbone` also
serve benchmarks/bench_backbone_folding.py.

For each backbone of :data:`mner_lib.images.backbones.BACKBONES` (efficientnet-lite0 with its
pretrained weights, the torchvision ones with seeded random weights: the speed does not depend on
the values), one batch of random images at its input size, ``--rounds`` rounds that alternate the
two arms (each arm's batch run twice, the second timed); the median milliseconds per image of
each, the largest difference of the logits (relative to the largest logit) and whether the top-5
classes agree (what CWI reads). Both arms unfolded (``fold=False``): the memory format alone.

    python benchmarks/bench_channels_last.py [--batch 16] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mner_lib.images.backbones import BACKBONES, build_image_backbone  # noqa: E402
from mner_lib.training.runtime import git_commit  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from probe_seeds import cpu_model  # noqa: E402  (the CPU's model name, from /proc/cpuinfo)

#: an arm: (the backbone by name, the memory format of its input)
Arm = Callable[[str], tuple[torch.nn.Module, torch.memory_format]]


def backbone(memory: torch.memory_format, fold: bool = False) -> Arm:
    """The arm that builds a backbone (folded or not) and runs it in ``memory`` format."""

    def arm(name: str):
        model = build_image_backbone(name, name == "efficientnet-lite0", seed=0, fold=fold)
        return model.to(memory_format=memory), memory

    return arm


ARMS = {
    "contiguous": backbone(torch.contiguous_format),
    "channels_last": backbone(torch.channels_last),
}


@torch.inference_mode()
def compare(name: str, arms: dict[str, Arm], batch: int, rounds: int) -> dict:
    """One backbone under two arms (the first is the reference of the speed-up)."""
    models = {label: arm(name) for label, arm in arms.items()}
    size = next(iter(models.values()))[0].default_size
    images = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    times: dict[str, list[float]] = {label: [] for label in arms}
    logits = {}
    for _ in range(rounds):
        for label, (model, memory) in models.items():
            x = images.contiguous(memory_format=memory)
            model(x)  # the arm's kernels and caches warm, as when a cache fills batch by batch
            start = time.perf_counter()
            logits[label] = model(x).logits
            times[label].append((time.perf_counter() - start) / batch * 1000)
    first, second = list(arms)
    a, b = logits[first], logits[second]
    median = {label: statistics.median(v) for label, v in times.items()}
    return {
        "backbone": name,
        "size": size,
        "ms_per_image": median,
        "speedup": median[first] / median[second],
        # relative: random weights give logits in the tens or thousands
        "max_logit_diff": float((a - b).abs().max() / a.abs().max()),
        "top5_agree": float((a.topk(5).indices == b.topk(5).indices).all(dim=1).float().mean()),
    }


def write(out: Path, title: str, what: str, arms: dict[str, Arm], rows: list, meta: dict) -> None:
    """``out``.json (meta and rows) and ``out``.md (the table)."""
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    first, second = list(arms)
    lines = [
        f"# {title} (written by benchmarks/{Path(sys.argv[0]).name})",
        "",
        f"CPU: {meta['cpu']}; {meta['threads']} thread(s); torch {meta['torch']}; a batch of "
        f"{meta['batch']} random images; median of {meta['rounds']} rounds that alternate the "
        f"arms; commit {meta['commit']}; {meta['date']}. efficientnet-lite0 with its "
        "pretrained weights, the others with seeded random ones. 'top-5 agree': the share of "
        f"images whose five highest classes (what CWI reads) are the same in both. {what}",
        "",
        f"| backbone | size | {first.replace('_', '-')} ms/image | "
        f"{second.replace('_', '-')} ms/image | speed-up | "
        "largest logit difference (relative) | top-5 agree |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ms = r["ms_per_image"]
        lines.append(
            f"| {r['backbone']} | {r['size']} | {ms[first]:.1f} | "
            f"{ms[second]:.1f} | {r['speedup']:.2f}x | {r['max_logit_diff']:.1e} | "
            f"{r['top5_agree']:.0%} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def run(default_out: str, title: str, what: str, arms: dict[str, Arm]) -> int:
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="*", default=list(BACKBONES), choices=list(BACKBONES))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / default_out))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.only:
        rows.append(compare(name, arms, args.batch, args.rounds))
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
    write(Path(args.out), title, what, arms, rows, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(
        run(
            "channels_last",
            "Image backbones in channels-last memory format",
            "Both unfolded (no batch norm folded): the memory format alone.",
            ARMS,
        )
    )
