"""How fast each model trains on this device, and what the full replication grid would cost.

``run_bench(device="cuda")`` (``python -m mner_lib bench --device cuda``) trains every model for
a fixed number of optimiser steps on the device, under the precision
:func:`mner_lib.models.precision.resolve_precision` picks (bf16 autocast on a GPU), with the trainer's
own pieces (paper settings from :func:`mner_lib.training.resolve_config`, its batches, optimiser and
schedule), and records training and inference tweets/s and peak memory (GPU: the most memory
torch allocated; CPU: the process's peak resident memory so far, which only grows from one model
to the next). From those it estimates the wall time of the replication grid: every model, both
datasets, 3 seeds, the full training set, the paper's epochs (with the dataset-specific settings,
e.g. GMF's 50 epochs on Twitter-2017), one dev evaluation per epoch and a final dev + test pass.

It needs nothing but the installed project and, for Twitter data, the data folder: images use the
``blank`` condition (no image files, no backbone download), the text encoders load offline. The
estimate leaves out feature extraction for real images (``mner_lib features``, once per dataset
and backbone) and early stopping (which can only shorten it). The first step of each model is a
warm-up, not timed.
"""

from __future__ import annotations

import dataclasses
import math
import resource
import time
from collections.abc import Sequence
from typing import Any

import torch

GRID_MODELS = (
    "bilstm-crf",
    "hbilstm-crf",
    "bert-crf",
    "hsn",
    "cwi",
    "cwi-attention",
    "trimod",
    "gmf",
)
GRID_DATASETS = ("twitter2015", "twitter2017")
GRID_SEEDS = 3
# train / dev / test tweets of the full sets (Zhang et al. 2018; Lu et al. 2018)
DATASET_SIZES = {
    "twitter2015": (4000, 1000, 3257),
    "twitter2017": (3373, 723, 723),
}


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _setup(model_name: str, dataset: str, data_dir: str | None, tweets: int, device: torch.device):
    """Config, data, image features, model, optimiser and schedule of one model."""
    from mner_lib import training as train
    from mner_lib.models import build_model, get_model_class
    from mner_lib.text.data import load_dataset

    cfg = train.resolve_config(
        model_name, dataset=dataset, data_dir=data_dir, max_train=tweets, seed=0, progress=False
    )
    data = load_dataset(cfg.dataset, cfg.data_dir, cfg.orphan_policy, cfg.max_train, 0)
    images = train.make_image_features(cfg, data)
    options = dict(cfg.model_options)
    fields = {f.name for f in dataclasses.fields(get_model_class(model_name).config_class)}
    if images is not None and "image_feature_dim" in fields:
        options.setdefault("image_feature_dim", images.region_dim)
    model = build_model(model_name, data.train, options).to(device)
    optimizer = train.build_optimizer(model, cfg)
    schedule = train.build_schedule(optimizer, cfg, max(1, len(data.train) // cfg.batch_size))
    return cfg, data, images, model, optimizer, schedule


def bench_model(
    model_name: str,
    device: torch.device,
    precision: str,
    steps: int,
    dataset: str = "demo",
    data_dir: str | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Train ``model_name`` for ``steps`` timed optimiser steps (plus one warm-up) and tag the
    same tweets; tweets/s of both and the peak memory."""
    from mner_lib import training as train
    from mner_lib.models.precision import autocast

    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    probe = train.resolve_config(model_name, dataset=dataset)
    size = batch_size or probe.batch_size
    cfg, data, images, model, optimizer, schedule = _setup(
        model_name, dataset, data_dir, size * (steps + 1), device
    )
    tweets = data.train
    batches = [tweets[i : i + size] for i in range(0, len(tweets), size)][: steps + 1]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model.train()
    done, start = 0, 0.0
    for i, chunk in enumerate(batches):
        if i == 1:  # the first step warms up (allocations, kernels, caches)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        batch = model.batch(chunk, images, device)
        with autocast(device, precision):
            loss = model(batch).loss
        loss.backward()
        if cfg.clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        done += len(chunk) if i else 0
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    train_seconds = time.perf_counter() - start if done else float("nan")
    timed = [t for chunk in batches[1:] for t in chunk] or list(batches[0])
    t0 = time.perf_counter()
    model.run(timed, images, cfg.eval_batch_size, precision=precision)  # the one inference path
    infer_seconds = time.perf_counter() - t0
    return {
        "model": model_name,
        "batch_size": size,
        "steps": len(batches) - 1,
        "train_tweets_per_second": done / train_seconds if done else float("nan"),
        "inference_tweets_per_second": len(timed) / max(infer_seconds, 1e-9),
        "peak_memory_mb": _peak_memory_mb(device),
    }


def grid_hours(model_name: str, train_rate: float, infer_rate: float) -> dict[str, float]:
    """Estimated hours of the replication grid of one model (both datasets, 3 seeds)."""
    from mner_lib.training import resolve_config

    out: dict[str, float] = {}
    for dataset in GRID_DATASETS:
        n_train, n_dev, n_test = DATASET_SIZES[dataset]
        epochs = resolve_config(model_name, dataset=dataset).epochs
        seconds = epochs * (n_train / train_rate + n_dev / infer_rate)
        seconds += (n_dev + n_test) / infer_rate
        out[dataset] = GRID_SEEDS * seconds / 3600.0
    return out


def run_bench(
    device: str = "auto",
    models: Sequence[str] = GRID_MODELS,
    steps: int = 20,
    precision: str = "auto",
    dataset: str = "demo",
    data_dir: str | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Benchmark ``models`` on ``device``; returns per-model figures and the grid estimate."""
    from mner_lib.models.precision import resolve_precision
    from mner_lib.training import environment_info, pick_device, set_seed

    if threads:
        torch.set_num_threads(threads)
    dev = pick_device(device)
    resolved = resolve_precision(precision, dev)
    rows = []
    for name in models:
        set_seed(0)
        row = bench_model(name, dev, resolved, steps, dataset, data_dir, batch_size)
        hours = grid_hours(name, row["train_tweets_per_second"], row["inference_tweets_per_second"])
        row["grid_hours"] = hours
        row["grid_hours_total"] = sum(hours.values())
        rows.append(row)
    return {
        "device": str(dev),
        "precision": resolved,
        "dataset": dataset,
        "steps": steps,
        "environment": environment_info(dev),
        "models": rows,
        "grid_hours_total": sum(r["grid_hours_total"] for r in rows),
        "grid": f"{len(GRID_DATASETS)} datasets x {GRID_SEEDS} seeds, full training sets, "
        "paper epochs, one dev evaluation per epoch, blank-image speed",
    }


def format_bench(result: dict[str, Any]) -> str:
    """The result as a text table."""
    lines = [
        f"device {result['device']}, precision {result['precision']}, "
        f"{result['steps']} steps on {result['dataset']}",
        f"{'model':<15}{'batch':>6}{'train/s':>10}{'infer/s':>10}{'peak MB':>10}{'grid h':>9}",
    ]
    for r in result["models"]:
        lines.append(
            f"{r['model']:<15}{r['batch_size']:>6}{r['train_tweets_per_second']:>10.1f}"
            f"{r['inference_tweets_per_second']:>10.1f}{r['peak_memory_mb']:>10.0f}"
            f"{r['grid_hours_total']:>9.2f}"
        )
    total = result["grid_hours_total"]
    lines.append(
        f"replication grid ({result['grid']}): about {total:.1f} h "
        f"({math.ceil(total * 60)} min) on this device, one run at a time"
    )
    return "\n".join(lines)
