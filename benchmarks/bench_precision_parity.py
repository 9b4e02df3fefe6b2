"""F1 parity of bf16 autocast against fp32 (issue 13): BERT-CRF on Twitter-2017, 300 training
tweets, 2 epochs, seeds 0, 1, 2, one thread, the same seeded 400 dev and 400 test tweets.

The trainer's ``autocast`` is monkeypatched with :func:`mner_lib.models.precision.autocast` at the
precision asked for, so this runs before the trainer takes a ``precision`` option. Two runs at a
time (``--jobs 2``). Writes ``benchmarks/precision_parity.json`` and ``.md``.

    PYTHONPATH=. MNER_DATA_DIR=... python benchmarks/bench_precision_parity.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent


def one(model: str, dataset: str, precision: str, seed: int, args: argparse.Namespace) -> dict:
    import torch

    from mner_lib import training as train
    from mner_lib.models import precision as prec

    torch.set_num_threads(1)
    train.autocast = lambda device: prec.autocast(device, precision)
    out = Path(tempfile.mkdtemp(prefix=f"parity-{precision}-{seed}-"))
    cfg = train.resolve_config(
        model,
        dataset=dataset,
        max_train=args.max_train,
        max_eval=args.max_eval,
        epochs=args.epochs,
        seed=seed,
        threads=1,
        device="cpu",
        progress=False,
        out=str(out),
    )
    m = train.run_training(cfg).metrics
    return {
        "precision": precision,
        "seed": seed,
        "dev_f1": m["dev"]["f1"],
        "test_f1": m["test"]["f1"],
        "train_tweets_per_second": m["train_tweets_per_second"],
        "inference_tweets_per_second": m["inference_tweets_per_second"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="bert-crf")
    p.add_argument("--dataset", default="twitter2017")
    p.add_argument("--max-train", type=int, default=300)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-eval", type=int, default=400, help="seeded dev/test sample size")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--one", nargs=2, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.model, args.dataset, args.one[0], int(args.one[1]), args)))
        return
    jobs = [(pr, s) for s in args.seeds.split(",") for pr in ("fp32", "bf16")]

    def run(job):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            *job,
            "--model",
            args.model,
            "--dataset",
            args.dataset,
            "--max-train",
            str(args.max_train),
            "--epochs",
            str(args.epochs),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])

    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(run, jobs))
    summary = {}
    for pr in ("fp32", "bf16"):
        sel = [r for r in rows if r["precision"] == pr]
        summary[pr] = {
            k: (statistics.mean(r[k] for r in sel), statistics.stdev(r[k] for r in sel))
            for k in ("dev_f1", "test_f1", "train_tweets_per_second")
        }
    record = {"settings": vars(args) | {"one": None}, "runs": rows, "summary": summary}
    (HERE / "precision_parity.json").write_text(json.dumps(record, indent=2))
    lines = [
        f"# bf16 vs fp32: {args.model}, {args.dataset}, {args.max_train} training tweets, "
        f"{args.epochs} epochs, seeds {args.seeds}, one thread, {args.max_eval} dev/test tweets",
        "",
        "| precision | seed | dev F1 | test F1 | train tweets/s |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['precision']} | {r['seed']} | {r['dev_f1']:.2f} | {r['test_f1']:.2f} | "
        f"{r['train_tweets_per_second']:.1f} |"
        for r in sorted(rows, key=lambda r: (r["precision"], r["seed"]))
    ]
    lines += [
        "",
        "| precision | dev F1 mean ± std | test F1 mean ± std | train tweets/s |",
        "|---|---|---|---|",
    ]
    for pr, s in summary.items():
        lines.append(
            f"| {pr} | {s['dev_f1'][0]:.2f} ± {s['dev_f1'][1]:.2f} | "
            f"{s['test_f1'][0]:.2f} ± {s['test_f1'][1]:.2f} | "
            f"{s['train_tweets_per_second'][0]:.1f} |"
        )
    (HERE / "precision_parity.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
