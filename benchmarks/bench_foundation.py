"""Speed of the foundation: CRF Viterbi decoding and the three text baselines.

    python benchmarks/bench_foundation.py [--data-dir D] [--out benchmarks/foundation.json]

Measures, on the CPU:

* CRF Viterbi decoding in tweets/s (9 tags, lengths 15-30, batches of 64 and 512), for
  :class:`mner_lib.models.crf.CRF` (batched back-tracking) and for ``pytorch-crf``'s own ``decode``
  (a Python loop per sequence and per token), on the same emissions;
* one training epoch of each baseline through :func:`mner_lib.training.run_training` (the trainer's
  own loop, paper batch sizes), its training tweets/s and its inference tweets/s on dev + test.
  ``bilstm-crf`` and ``hbilstm-crf`` run on the whole Twitter-2015 training set (4000 tweets;
  target: an epoch of ``bilstm-crf`` in 15 s or less on 2 cores); ``bert-crf`` (``minilm-l6``) on a
  slice (``--bert-tweets``, dev and test cut to the same size).

The machine may be shared: the JSON records ``uptime``'s load averages before and after and the
torch thread count, so a figure taken on a busy machine can be told apart. Without a data folder
the demo corpus is used (and said so in the JSON).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchcrf

from mner_lib.models.crf import CRF
from mner_lib.text.data import TAGS, load_dataset, resolve_data_dir
from mner_lib.training import resolve_config, run_training


def load_averages() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def bench_decode(n: int = 4096, batch_sizes: tuple[int, ...] = (64, 512), repeats: int = 3) -> dict:
    """Tweets/s of Viterbi decoding: ours vs pytorch-crf's, same emissions and weights."""
    gen = torch.Generator().manual_seed(0)
    crf = CRF(len(TAGS), list(TAGS), constrain_bio=True)
    with torch.no_grad():
        crf.crf.transitions.normal_(generator=gen)
    lengths = torch.randint(15, 31, (n,), generator=gen)
    emissions = torch.randn(n, 30, len(TAGS), generator=gen)
    mask = torch.arange(30)[None] < lengths[:, None]
    # pytorch-crf decodes with the scores our CRF reads (forbidden moves at -1e4): a fair race
    reference = torchcrf.CRF(len(TAGS), batch_first=True)
    start, transitions, end = crf.constrained_scores()
    with torch.no_grad():
        reference.start_transitions.copy_(start)
        reference.transitions.copy_(transitions)
        reference.end_transitions.copy_(end)
    out: dict = {"tweets": n, "tags": len(TAGS), "lengths": "15-30", "constrain_bio": True}
    for bs in batch_sizes:
        for label, fn in (
            ("mner_lib", lambda e, m: crf.decode(e, m)),
            ("pytorch_crf", lambda e, m: reference.decode(e, mask=m)),
        ):
            best, best_cpu = float("inf"), float("inf")
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                for i in range(0, n, bs):
                    fn(emissions[i : i + bs], mask[i : i + bs])
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            out[f"{label}_batch{bs}_tweets_per_s"] = round(n / best, 1)
            # per CPU second of this process: less sensitive to a busy machine than wall time
            out[f"{label}_batch{bs}_tweets_per_cpu_s"] = round(n / max(best_cpu, 1e-9), 1)
    same = crf.decode(emissions[:512], mask[:512]) == reference.decode(
        emissions[:512], mask=mask[:512]
    )
    out["identical_paths"] = bool(same)
    return out


def bench_model(name: str, dataset, options: dict, workdir: Path, **cfg_kwargs) -> dict:
    """One epoch through the trainer; its training and inference tweets/s."""
    cfg = resolve_config(
        name,
        dataset=dataset.name,
        out=str(workdir / name),
        epochs=1,
        device="cpu",
        progress=False,
        model_options=options,
        **cfg_kwargs,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_training(cfg, dataset=dataset)
    cpu = time.process_time() - c0
    m = result.metrics
    return {
        "model": name,
        "options": options,
        "batch_size": cfg.batch_size,
        "optimizer": cfg.optimizer,
        "train_tweets": m["train_tweets"],
        "epoch_seconds": round(m["train_seconds"], 2),
        "train_tweets_per_s": round(m["train_tweets_per_second"], 1),
        "inference_tweets": len(dataset.dev) + len(dataset.test),
        "inference_tweets_per_s": round(m["inference_tweets_per_second"], 1),
        "dev_f1_after_1_epoch": round(m["dev"]["f1"], 2),
        "total_seconds": round(time.perf_counter() - t0, 2),
        # CPU seconds of the whole call (epoch + dev/test inference + set-up), all threads
        "total_cpu_seconds": round(cpu, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="data folder (default: $MNER_DATA_DIR)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "foundation.json"))
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--bert-tweets", type=int, default=300)
    parser.add_argument("--models", default="bilstm-crf,hbilstm-crf,bert-crf")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    root = resolve_data_dir(args.data_dir)
    name = "twitter2015" if root is not None else "demo"
    report: dict = {
        "dataset": name,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "load_average_before": load_averages(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    report["crf_decode"] = bench_decode()
    print(f"CRF decode: {report['crf_decode']}", file=sys.stderr)

    full = load_dataset(name, root)
    try:
        from mner_lib.text.encoders import load_glove  # noqa: F401

        glove = True
    except ImportError:
        glove = False
    report["glove"] = glove
    models = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for model in args.models.split(","):
            try:
                if model in ("bilstm-crf", "hbilstm-crf"):
                    row = bench_model(model, full, {"use_glove": glove}, work)
                elif model == "bert-crf":
                    k = args.bert_tweets
                    part = dataclasses.replace(
                        full, train=full.train[:k], dev=full.dev[: k // 2], test=full.test[: k // 2]
                    )
                    row = bench_model(model, part, {"encoder": "minilm-l6"}, work)
                else:
                    raise ValueError(f"unknown model {model!r}")
            except (ImportError, ValueError, FileNotFoundError, OSError) as err:
                row = {"model": model, "error": f"{type(err).__name__}: {err}"}
            print(row, file=sys.stderr)
            models.append(row)
    report["models"] = models
    report["load_average_after"] = load_averages()
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")

    d = report["crf_decode"]
    print(
        f"dataset {name}; torch threads {report['torch_threads']}; load {report['load_average_before']}"
    )
    print(f"{'CRF Viterbi decode (tweets/s)':<34} {'batch 64':>10} {'batch 512':>10}")
    for label in ("mner_lib", "pytorch_crf"):
        print(
            f"{label:<34} {d[f'{label}_batch64_tweets_per_s']:>10.0f} "
            f"{d[f'{label}_batch512_tweets_per_s']:>10.0f}"
        )
    print(f"{'model':<12} {'train tw':>8} {'epoch s':>8} {'train tw/s':>10} {'infer tw/s':>10}")
    for row in models:
        if "error" in row:
            print(f"{row['model']:<12} {row['error']}")
            continue
        print(
            f"{row['model']:<12} {row['train_tweets']:>8} {row['epoch_seconds']:>8.1f} "
            f"{row['train_tweets_per_s']:>10.1f} {row['inference_tweets_per_s']:>10.1f}"
        )
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
