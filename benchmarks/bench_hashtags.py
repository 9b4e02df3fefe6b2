"""Benchmark of the TriMod hashtag segmenter against two dictionary segmenters.

Trains the learned segmenter (:mod:`mner_lib.hashtags`) self-supervised on the training text of
Twitter-2015 + Twitter-2017 for several seeds; for each seed a seeded tenth of the tweets is held
out and its joined phrases (none of which occurs among the training phrases) are segmented by the
learned model, ``wordsegment`` and ``wordninja``. Writes

- ``results/hashtags/metrics.json``: per seed and mean/std, exact-match accuracy and boundary
  P/R/F1 (overall and by number of words), training time and loss curve, config, versions,
  commit, hardware; rewritten after every seed so an interrupted run keeps what it finished.
- ``results/hashtags/examples.txt``: real hashtags of the data segmented by all three.
- ``results/hashtags/segmenter_seed<S>.pt``: the model of the first seed (for TriMod).

Usage: ``MNER_DATA_DIR=../shared/data python benchmarks/bench_hashtags.py [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from mner_lib.hashtags import (
    BASELINES,
    DictionarySegmenter,
    HashtagSegmenter,
    HashtagSegmenterConfig,
    TrainConfig,
    chance_boundary_f1,
    evaluate_segmenter,
    heldout_split,
    train_segmenter,
)
from mner_lib.text.data import load_dataset

DATASETS = ("twitter2015", "twitter2017")
METRICS = ("exact_match", "boundary_precision", "boundary_recall", "boundary_f1")


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        return out or None
    except (OSError, subprocess.CalledProcessError):
        return None


def _hardware() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": "cpu",
        "load_average_at_start": list(os.getloadavg()),
    }


def _versions() -> dict:
    names = ("torch", "wordsegment", "wordninja", "mner-lib")
    out = {"python": sys.version.split()[0]}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _summary(per_seed: list[dict], segmenter: str) -> dict:
    out = {}
    for metric in METRICS:
        values = [run["scores"][segmenter][metric] for run in per_seed]
        out[metric] = {
            "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values,
        }
    return out


def _real_hashtags(seed: int, data_dir: str | None) -> tuple[list[str], list[str]]:
    """All distinct hashtags of both datasets (all splits), and a shown sample: the 25 most
    frequent, 25 random all-lowercase ones (the model alone decides) and 10 random others."""
    counts: Counter[str] = Counter()
    for name in DATASETS:
        ds = load_dataset(name, data_dir)
        for split in ("train", "dev", "test"):
            for tweet in ds.split(split):
                counts.update(t for t in tweet.tokens if t.startswith("#") and len(t) > 2)
    distinct = sorted(counts)
    frequent = [t for t, _ in counts.most_common(25)]
    rng = random.Random(seed)
    rest = [t for t in distinct if t not in frequent]
    lower = [t for t in rest if t[1:].isalpha() and t[1:].islower() and len(t) >= 8]
    sample_lower = rng.sample(lower, min(25, len(lower)))
    others = [t for t in rest if t not in sample_lower]
    return distinct, frequent + sample_lower + rng.sample(others, min(10, len(others)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data-dir", default=None, help="default: $MNER_DATA_DIR")
    parser.add_argument("--out-dir", default="results/hashtags")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: fastest on a shared 2-core box)"
    )
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)

    tweets = []
    for name in DATASETS:
        tweets.extend(load_dataset(name, args.data_dir).train)
    model_config = HashtagSegmenterConfig()
    baselines = {name: DictionarySegmenter(name) for name in BASELINES}
    result: dict = {
        "description": "hashtag segmentation on held-out joined phrases of the training text "
        "of twitter2015+twitter2017 (a seeded 10% of tweets held out; held-out phrases that "
        "occur among the training phrases are removed); learned = TriMod's char CNN+BiLSTM "
        "segmenter trained self-supervised on the other 90%",
        "datasets": list(DATASETS),
        "tweets": len(tweets),
        "seeds": args.seeds,
        "model_config": dataclasses.asdict(model_config),
        "train_config": dataclasses.asdict(TrainConfig(epochs=args.epochs)),
        "split": {"test_fraction": 0.1, "min_words": 1, "max_words": 4},
        "versions": _versions(),
        "commit": _commit(),
        "hardware": _hardware(),
        "per_seed": [],
    }
    first_model: HashtagSegmenter | None = None
    for seed in args.seeds:
        train, heldout = heldout_split(tweets, seed, 0.1, 1, 4)
        start = time.perf_counter()
        meta = {"datasets": list(DATASETS), "split": {"seed": seed, **result["split"]}}
        model, history = train_segmenter(
            train,
            model_config,
            TrainConfig(epochs=args.epochs, seed=seed),
            meta=meta,
            log=lambda m, s=seed: print(f"seed {s}: {m}", flush=True),
        )
        train_seconds = time.perf_counter() - start
        scores = {"learned": evaluate_segmenter(model, heldout)}
        for name, seg in baselines.items():
            scores[name] = evaluate_segmenter(seg, heldout)
        run = {
            "seed": seed,
            "train_phrases": len(train),
            "heldout_phrases": len(heldout),
            "chance_boundary_f1": chance_boundary_f1(heldout),
            "train_seconds": train_seconds,
            "epoch_loss": history.epoch_loss,
            "epoch_seconds": history.epoch_seconds,
            "scores": scores,
        }
        result["per_seed"].append(run)
        print(
            f"seed {seed}: "
            + ", ".join(
                f"{k} exact {v['exact_match']:.3f} F1 {v['boundary_f1']:.3f}"
                for k, v in scores.items()
            ),
            flush=True,
        )
        if first_model is None:
            first_model = model
            model.meta["epoch_loss"] = history.epoch_loss
            model.save(out_dir / f"segmenter_seed{seed}.pt")
        result["summary"] = {
            name: _summary(result["per_seed"], name) for name in ("learned", *BASELINES)
        }
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    assert first_model is not None
    distinct, shown = _real_hashtags(args.seeds[0], args.data_dir)
    segs = {"learned": first_model, **baselines}
    all_out = {name: seg.segment_many(distinct) for name, seg in segs.items()}
    lower_idx = [i for i, t in enumerate(distinct) if t[1:].isalpha() and t[1:].islower()]
    agreement = {}
    for a, b in (
        ("learned", "wordsegment"),
        ("learned", "wordninja"),
        ("wordsegment", "wordninja"),
    ):
        agreement[f"{a}={b}"] = {
            "all": sum(all_out[a][i] == all_out[b][i] for i in range(len(distinct)))
            / len(distinct),
            "lowercase_only": sum(all_out[a][i] == all_out[b][i] for i in lower_idx)
            / max(1, len(lower_idx)),
        }
    result["real_hashtags"] = {
        "distinct": len(distinct),
        "lowercase_only": len(lower_idx),
        "agreement": agreement,
        "note": "no gold segmentation exists for real hashtags: agreement between segmenters only",
    }
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    index = {t: i for i, t in enumerate(distinct)}
    lines = [
        f"# Real hashtags of {' + '.join(DATASETS)} (all splits), segmented by three segmenters.",
        f"# learned = {out_dir / f'segmenter_seed{args.seeds[0]}.pt'}; case prior on for all.",
        "# 25 most frequent, then 25 random all-lowercase tags, then 10 random others.",
        f"{'hashtag':<28}\t{'learned':<32}\t{'wordsegment':<32}\twordninja",
    ]
    for tag in shown:
        i = index[tag]
        cells = [" ".join(all_out[name][i]) for name in segs]
        lines.append(f"{tag:<28}\t{cells[0]:<32}\t{cells[1]:<32}\t{cells[2]}")
    (out_dir / "examples.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out_dir / 'metrics.json'} and {out_dir / 'examples.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
