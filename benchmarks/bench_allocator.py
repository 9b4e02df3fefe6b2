"""glibc's allocator as PyTorch leaves it against :func:`mner_lib.io.allocator.tune_allocator`'s
settings, on the image backbones' inference: writes ``benchmarks/allocator.md`` (and ``.json``).

The allocator is set once per process, so each measurement is a process of its own: the arms
alternate (``MNER_TUNE_MALLOC=0``, then the default), ``--rounds`` times. A process builds the
backbone (folded, channels-last, as the features use it), runs one batch of random images to warm
up, then ``--batches`` batches timed; it reports the milliseconds per image and the CPU seconds
(user, system) and minor page faults per batch. Medians over the rounds.

    python benchmarks/bench_allocator.py [--backbones efficientnet-lite0,resnet50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mner_lib.training.runtime import git_commit  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from probe_seeds import cpu_model  # noqa: E402  (the CPU's model name, from /proc/cpuinfo)

ARMS = {"glibc default": "0", "tuned": "1"}

#: one measurement, in its own process: argv = backbone, batch, batches
MEASURE = """
import json, resource, sys, time, torch
from mner_lib.images.backbones import build_image_backbone
from mner_lib.io.allocator import tune_allocator
name, batch, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(1)
model = build_image_backbone(name, name == "efficientnet-lite0", seed=0)
size = model.default_size
x = torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
with torch.inference_mode():
    model(x)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(batches):
        model(x)
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
print(json.dumps({
    "state": tune_allocator(),
    "ms_per_image": 1000 * (t1 - t0) / (batch * batches),
    "user_s": (r1.ru_utime - r0.ru_utime) / batches,
    "sys_s": (r1.ru_stime - r0.ru_stime) / batches,
    "faults": (r1.ru_minflt - r0.ru_minflt) / batches,
}))
"""


def measure(name: str, switch: str, batch: int, batches: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env.update({"MNER_TUNE_MALLOC": switch, "OMP_NUM_THREADS": "1"})
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, name, str(batch), str(batches)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbones", default="efficientnet-lite0,resnet50")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "allocator")
    args = ap.parse_args()
    rows = []
    for name in args.backbones.split(","):
        runs: dict[str, list[dict]] = {arm: [] for arm in ARMS}
        for _ in range(args.rounds):
            for arm, switch in ARMS.items():
                runs[arm].append(measure(name, switch, args.batch, args.batches))
        row = {"backbone": name, "rounds": runs}
        for arm in ARMS:
            for key in ("ms_per_image", "user_s", "sys_s", "faults"):
                row[f"{arm}: {key}"] = statistics.median(r[key] for r in runs[arm])
        row["speed-up"] = row["glibc default: ms_per_image"] / row["tuned: ms_per_image"]
        rows.append(row)
        print(name, f"{row['speed-up']:.2f}x", flush=True)
    meta = {
        "commit": git_commit(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": 1,
        "batch": args.batch,
        "batches": args.batches,
        "rounds": args.rounds,
        "command": "python benchmarks/bench_allocator.py " + " ".join(sys.argv[1:]),
    }
    args.out.with_suffix(".json").write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    lines = [
        "# glibc's allocator, default against tuned (mner_lib.io.allocator)",
        "",
        f"Written by `{meta['command'].strip()}` at commit {meta['commit']} on {meta['cpu']} "
        f"({meta['cores']} cores, one thread). Each number is the median of {args.rounds} "
        f"processes per arm (the arms alternate), each timing {args.batches} batches of "
        f"{args.batch} random images after one batch of warm-up; per batch: CPU seconds in the "
        "process and in the kernel, and minor page faults.",
        "",
        "| backbone | ms/image, default | ms/image, tuned | speed-up | kernel s/batch, default "
        "| kernel s/batch, tuned | page faults/batch, default | page faults/batch, tuned |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d, t = "glibc default: ", "tuned: "
        lines.append(
            f"| {r['backbone']} | {r[d + 'ms_per_image']:.1f} | {r[t + 'ms_per_image']:.1f} "
            f"| {r['speed-up']:.2f}x | {r[d + 'sys_s']:.2f} | {r[t + 'sys_s']:.2f} "
            f"| {r[d + 'faults']:,.0f} | {r[t + 'faults']:,.0f} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
