"""Training speed of TriMod and GMF: tweets/s and the time of one GMF epoch on Twitter-2017.

What is timed: for each model, ``--batches`` training steps on real training tweets of
``--dataset`` after ``--warmup`` untimed ones: the collate (image features from the cache, tokens,
hashtag segments) and, separately, forward + backward + optimizer step. One-time costs (segmenting
each tweet's hashtags once, filling the feature cache) happen before the timed loop, as they do
in the first epoch of a run only. An epoch time is extrapolated from the measured tweets/s to the full
training set (3373 tweets for Twitter-2017). Image features come from :class:`ImageFeatures` with
condition ``blank`` (one cached image: the model's cost does not depend on which image it is).

The machine's load (``os.getloadavg``) is recorded before and after: on a shared machine the
wall-clock numbers are lower bounds on speed, and the file says so. The CPU seconds of the timed
steps (``time.process_time``) are the machine-independent part: with ``--threads 1`` they bound
the wall time an idle machine needs (a second thread can only help); with more threads on a busy
machine they are inflated by OpenMP threads spinning while they wait for each other.

    python benchmarks/bench_trimod_gmf.py --dataset twitter2017 --threads 1 \
        --out benchmarks/trimod_gmf.txt

Without ``MNER_DATA_DIR`` the demo corpus is used (and the epoch is extrapolated to 3373 tweets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from mner_lib.images import ImageFeatures
from mner_lib.models import build_model
from mner_lib.text.data import load_dataset
from mner_lib.training import build_optimizer, resolve_config, to_device

TWITTER2017_TRAIN = 3373


def time_model(
    model_name: str,
    dataset,
    images,
    batch_size: int,
    batches: int,
    warmup: int,
    device: torch.device,
    options: dict,
) -> dict:
    cfg = resolve_config(model_name, dataset="demo", batch_size=batch_size, model_options=options)
    model = build_model(model_name, dataset.train, cfg.model_options).to(device).train()
    optimizer = build_optimizer(model, cfg)
    tweets = dataset.train
    needed = (warmup + batches) * batch_size
    pool = (tweets * (needed // max(1, len(tweets)) + 1))[:needed]
    # one-time costs outside the timed loop: hashtag segmentation (cached per tweet by TriMod)
    # and the feature cache fill; collate is then timed separately from the training step
    prepared = [
        model.collate(pool[i : i + batch_size], images(pool[i : i + batch_size]))
        for i in range(0, needed, batch_size)
    ]
    seconds = collate_seconds = cpu_seconds = 0.0
    count = 0
    for step in range(warmup + batches):
        chunk = pool[step * batch_size : (step + 1) * batch_size]
        t0 = time.perf_counter()
        model.collate(chunk, images(chunk))
        collate_time = time.perf_counter() - t0
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        batch = to_device(prepared[step], device)
        loss = model(batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            seconds += time.perf_counter() - t0
            cpu_seconds += time.process_time() - c0 + collate_time
            collate_seconds += collate_time
            count += len(chunk)
    rate = count / (seconds + collate_seconds)
    return {
        "model": model_name,
        "device": str(device),
        "batch_size": batch_size,
        "timed_tweets": count,
        "step_seconds": round(seconds, 3),
        "collate_seconds": round(collate_seconds, 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "tweets_per_second": round(rate, 2),
        "epoch_seconds_twitter2017": round(TWITTER2017_TRAIN / rate, 1),
        # CPU seconds of the process (all threads) per epoch: on an idle machine the wall time of
        # an epoch is at most this (threads only ever add to the CPU time); on a busy one the
        # wall time above is inflated by waiting for a core
        "cpu_seconds": round(cpu_seconds, 3),
        "epoch_cpu_seconds_twitter2017": round(TWITTER2017_TRAIN * cpu_seconds / count, 1),
        "options": options,
        "text_encoder": getattr(model, "encoder_name", None),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default=None, help="default: twitter2017 if MNER_DATA_DIR is set, else demo"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["trimod", "gmf"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--out", default="benchmarks/trimod_gmf.txt")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    name = args.dataset or ("twitter2017" if os.environ.get("MNER_DATA_DIR") else "demo")
    dataset = load_dataset(name)
    device = torch.device(args.device)
    images = ImageFeatures(dataset=name, condition="blank", backbone="efficientnet-lite0")
    images.prepare(dataset.train[:1])
    load_before = os.getloadavg()
    results = []
    # the paper's batch sizes for Twitter-2017: TriMod 10, GMF 32
    settings = {"trimod": (10, {}), "gmf": (32, {})}
    for model_name in args.models:
        batch_size, options = settings[model_name]
        results.append(
            time_model(
                model_name, dataset, images, batch_size, args.batches, args.warmup, device, options
            )
        )
        print(json.dumps(results[-1]))
    load_after = os.getloadavg()
    header = {
        "dataset": name,
        "train_tweets": len(dataset.train),
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "image_condition": "blank (cached features)",
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    lines = [
        "# TriMod / GMF training speed (written by benchmarks/bench_trimod_gmf.py; do not edit)",
        "# epoch_seconds_twitter2017 = 3373 / tweets_per_second (wall clock, extrapolated from the "
        "timed slice); epoch_cpu_seconds_twitter2017 = the CPU seconds of those steps scaled to "
        "3373 tweets, an upper bound on an idle machine's epoch wall time (training steps only, "
        "no dev evaluation)",
        f"# machine load (1/5/15 min) before {header['load_average_before']}, after "
        f"{header['load_average_after']} on {header['cpu_count']} cores: "
        + (
            "a busy machine, so these are lower bounds on speed"
            if max(load_before) > header["cpu_count"]
            else "a quiet machine"
        ),
        json.dumps(header),
        *(json.dumps(r) for r in results),
    ]
    out = Path(args.out)
    if out.exists() and args.device == "cuda":
        lines = out.read_text().rstrip("\n").splitlines() + lines[3:]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
