"""CWI's synthetic probe (tests/models/test_cwi.py) over several seeds: test F1 with synthetic
and with blank images per seed, to state the seeds for which the probe test's claim holds.

    python benchmarks/bench_cwi_probe_seeds.py --epochs 8 --lr 0.01 --seeds 0-5 --out benchmarks/cwi_probe_seeds
    python benchmarks/bench_cwi_probe_seeds.py --render benchmarks/cwi_probe_seeds   # the .md only

Appends one JSON line per seed to ``<out>.jsonl`` (so a stopped run keeps what finished) and
writes ``<out>.md`` from all lines."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def render(out: Path) -> None:
    rows = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines() if line]
    lines = [
        "# CWI's synthetic probe over seeds (written by benchmarks/bench_cwi_probe_seeds.py)",
        "",
        "Type-blind demo, 300 training tweets, batch 8, the trainer's defaults otherwise (length "
        "buckets of 20 batches); test F1. Synthetic images, labelled synthetic: a probe of the "
        "visual path, not a result on real images.",
        "",
        "| epochs | lr | seed | synthetic | blank | synthetic − blank | commit | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['epochs']} | {r['lr']:g} | {r['seed']} | {r['synthetic']:.1f} | "
            f"{r['blank']:.1f} | {r['synthetic'] - r['blank']:+.1f} | {r.get('commit', '?')} | "
            f"{r.get('s', '')} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seeds", default="0-5", help="first-last")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "cwi_probe_seeds"))
    parser.add_argument("--render", default=None, help="only write <RENDER>.md from its .jsonl")
    args = parser.parse_args()
    if args.render:
        render(Path(args.render))
        return
    from mner_lib.training.runstate import code_label, provenance
    from tests.probes import CWI_PROBE, train_probe

    first, last = (int(x) for x in args.seeds.split("-"))
    out = Path(args.out)
    for seed in range(first, last + 1):
        t = time.time()
        scores = train_probe(
            "cwi", CWI_PROBE, Path(tempfile.mkdtemp()), epochs=args.epochs, lr=args.lr,
            n_train=300, seed=seed,
        )  # fmt: skip
        row = {"epochs": args.epochs, "lr": args.lr, "seed": seed, **scores,
               "commit": code_label(provenance()), "s": round(time.time() - t)}  # fmt: skip
        with out.with_suffix(".jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")
        render(out)


if __name__ == "__main__":
    main()
