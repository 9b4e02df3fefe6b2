"""What a user's default ``train`` of BERT-CRF and GMF gains over the plain loop (issue 27).

In one sitting, interleaved over ``--rounds`` rounds, one thread each, one process at a time:

* ``hf-plain``: the loop a user would write (``benchmarks/bench_speed.py``'s ``hf_plain``:
  ``AutoModelForTokenClassification`` on the same MiniLM, batch 16, dynamic padding, AdamW,
  fp32) over the first ``--max-train`` Twitter-2015 training tweets (a seeded sample);
* ``python -m mner_lib train --model M --dataset twitter2015 --max-train N --epochs 1
  --threads 1`` with every other setting at its default, for M in bert-crf, gmf (GMF under its
  default condition, blank images); the figure is ``last_epoch_tweets_per_second`` of the run's
  ``metrics.json`` (the only epoch here, so the same as ``train_tweets_per_second``).

Each round's ratios are taken within the round (the plain loop and the two runs a few minutes
apart, under the same load); the table gives every round's ratios and their median. Writes
``benchmarks/default_speed.json`` and ``.md``. Run from the repository root with the shared data:

    MNER_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_default_speed.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from probe_seeds import cpu_model  # noqa: E402  (the CPU's model name, from /proc/cpuinfo)

MODELS = ("bert-crf", "gmf")


def plain(args: argparse.Namespace) -> float:
    """hf-plain's training tweets/s, in its own process."""
    code = (
        "import argparse, json, sys; sys.path.insert(0, 'benchmarks'); import bench_speed; "
        f"a = argparse.Namespace(dataset='twitter2015', max_train={args.max_train}); "
        "print(json.dumps(bench_speed.hf_plain('fp32', a)))"
    )
    out = _run([sys.executable, "-c", code])
    return float(json.loads(out.splitlines()[-1])["train_tweets_per_second"])


def default_train(model: str, args: argparse.Namespace) -> dict:
    """A default ``train`` of ``model``: its metrics.json speed figures."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        _run(
            [sys.executable, "-m", "mner_lib", "train", "--model", model, "--dataset",
             "twitter2015", "--max-train", str(args.max_train), "--max-eval", "50",
             "--epochs", "1", "--threads", "1", "--quiet", "--out", str(out)]
        )  # fmt: skip
        metrics = json.loads((out / "metrics.json").read_text())
    return {
        "last_epoch_tweets_per_second": metrics["last_epoch_tweets_per_second"],
        "train_tweets_per_second": metrics["train_tweets_per_second"],
        "length_buckets": metrics["config"]["length_buckets"],
        "precision": metrics["environment"]["precision"],  # what precision auto chose here
        "commit": metrics["commit"],
    }


def _run(cmd: list[str]) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])}...: exit {done.returncode}\n{done.stderr[-2000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-train", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "default_speed"))
    args = parser.parse_args()
    rounds: list[dict] = []
    for r in range(args.rounds):
        entry = {"hf-plain": plain(args)}
        for model in MODELS:
            entry[model] = default_train(model, args)
        rounds.append(entry)
        print(f"round {r + 1}: {json.dumps(entry)}", file=sys.stderr)
    ratios = {
        m: [e[m]["last_epoch_tweets_per_second"] / e["hf-plain"] for e in rounds] for m in MODELS
    }
    median = {m: statistics.median(r) for m, r in ratios.items()}
    result = {
        "what": __doc__.split("\n")[0],
        "max_train": args.max_train,
        "rounds": rounds,
        "ratio_to_plain_per_round": ratios,
        "ratio_to_plain_median": median,
        "load_average_at_end": os.getloadavg(),
        "platform": platform.platform(),
        "processor": cpu_model(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    Path(args.out + ".json").write_text(json.dumps(result, indent=1) + "\n")
    commit = rounds[0][MODELS[0]]["commit"]
    lines = [
        "# A default `train` against the plain loop (written by benchmarks/bench_default_speed.py)",
        "",
        f"{result['date']}, commit {commit}, one thread, Twitter-2015, {args.max_train} training "
        f"tweets, {args.rounds} rounds (each: the plain loop, then BERT-CRF, then GMF); load "
        f"average at the end {result['load_average_at_end'][0]:.1f}. Train tweets/s of the last "
        "epoch; the ratio is taken within each round.",
        "",
        "| round | hf-plain (fp32) | bert-crf | / plain | gmf | / plain |",
        "|---|---|---|---|---|---|",
    ]
    for k, e in enumerate(rounds):
        b, g = (e[m]["last_epoch_tweets_per_second"] for m in MODELS)
        lines.append(
            f"| {k + 1} | {e['hf-plain']:.1f} | {b:.1f} | {ratios['bert-crf'][k]:.2f} | {g:.1f} | "
            f"{ratios['gmf'][k]:.2f} |"
        )
    lines.append(f"| median | | | {median['bert-crf']:.2f} | | {median['gmf']:.2f} |")
    lines.append("")
    chosen = ", ".join(f"{m} {rounds[0][m].get('precision', '?')}" for m in MODELS)
    lines.append(
        f"Default settings: length buckets of {rounds[0][MODELS[0]]['length_buckets']} batches, "
        f"fused AdamW, precision auto (here: {chosen}; bf16 only where the CPU has AMX-BF16); "
        f"the plain loop runs fp32, as a user's would. CPU: {result['processor']}, "
        f"{os.cpu_count()} cores."
    )
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
