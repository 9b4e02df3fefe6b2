"""HSN's gate (eq. 17) read two ways on the synthetic type-blind probe: one scalar per token (the
paper's "n scalars", the default) and one gate per token and dimension (the former default).
Does either let HSN use its image? The probe is the test's (tests/models/test_hsn.py: the
type-blind demo, 160 training tweets, 4 epochs, batch 8, lr 0.01), here over seeds 0, 1, 2;
test F1 with SYNTHETIC probe images and with blank ones, and their paired gap.

Writes ``benchmarks/hsn_gate_probe.txt`` and ``.json``. Run from a clean checkout's root:
``python benchmarks/bench_hsn_gate_probe.py [--epochs 4] [--seeds 0 1 2]``."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from mner_lib.training.runtime import environment_info, provenance  # noqa: E402
from tests.models.test_hsn import TINY  # noqa: E402
from tests.probes import train_probe  # noqa: E402

OPTIONS = {**TINY, "image_feature_dim": 1280, "hidden": 32, "image_dim": 32}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    code = provenance()
    rows = []
    for gate in ("token", "dimension"):
        for seed in args.seeds:
            out = Path(tempfile.mkdtemp())
            scores = train_probe(
                "hsn", {**OPTIONS, "gate": gate}, out, epochs=args.epochs, lr=0.01, seed=seed
            )
            rows.append({"gate": gate, "seed": seed, **scores})
            print(json.dumps(rows[-1]), flush=True)
            partial = {"rows": rows, "provenance": code, "finished": False}
            (ROOT / "benchmarks" / "hsn_gate_probe.json").write_text(json.dumps(partial, indent=1))
    lines = [
        f"HSN gate on the synthetic type-blind probe (SYNTHETIC images), {args.epochs} epochs;"
        f" commit {code['commit']}{'+dirty' if code['dirty'] else ''}",
        "gate       seeds  synthetic F1    blank F1        synthetic - blank (paired)  won",
    ]
    for gate in ("token", "dimension"):
        mine = [r for r in rows if r["gate"] == gate]
        syn = [r["synthetic"] for r in mine]
        blank = [r["blank"] for r in mine]
        gap = [s - b for s, b in zip(syn, blank)]
        sd = statistics.stdev if len(mine) > 1 else (lambda _: 0.0)
        lines.append(
            f"{gate:<10} {len(mine):>5}  {statistics.mean(syn):6.2f} ± {sd(syn):5.2f}  "
            f"{statistics.mean(blank):6.2f} ± {sd(blank):5.2f}  "
            f"{statistics.mean(gap):+6.2f} ± {sd(gap):5.2f}              "
            f"{sum(g > 0 for g in gap)} of {len(gap)}"
        )
    text = "\n".join(lines) + "\n"
    record = {
        "rows": rows,
        "provenance": code,
        "environment": environment_info(torch.device("cpu")),
    }
    (ROOT / "benchmarks" / "hsn_gate_probe.txt").write_text(text)
    (ROOT / "benchmarks" / "hsn_gate_probe.json").write_text(json.dumps(record, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
