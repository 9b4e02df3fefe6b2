"""Image-side benchmarks; writes ``benchmarks/images.txt`` (and ``images.json``).

1. Backbone throughput on CPU: images/s for each backbone at its input size (torchvision ones
   with random weights: the speed does not depend on the values).
2. An epoch of image features, the way a trainer asks for them (batches of 16 tweets): read from
   the feature cache vs recomputed (a fresh, empty cache each epoch).
3. The ``python -m mner_lib features`` runs on the real datasets, read from
   ``benchmarks/feature_runs.jsonl`` (written by those runs; see the report's command).
4. GloVe OOV rates per dataset (running tokens), when ``MNER_DATA_DIR`` is set.

Usage: ``python benchmarks/bench_images.py [--images 4] [--tweets 64] [--skip-backbones]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from mner_lib.images import ImageFeatures, build_image_backbone
from mner_lib.images.backbones import BACKBONES
from mner_lib.text.data import load_dataset
from mner_lib.training import portable_path

HERE = Path(__file__).parent


def backbone_speed(name: str, images: int, size: int | None = None) -> dict:
    pretrained = name == "efficientnet-lite0"
    model = build_image_backbone(name, pretrained=pretrained)
    size = size or model.default_size
    x = torch.randn(images, 3, size, size)
    with torch.inference_mode():
        model(x[:1])  # warm-up
        start = time.perf_counter()
        model(x)
        seconds = time.perf_counter() - start
    return {
        "backbone": name,
        "weights": "pretrained" if pretrained else "random",
        "image_size": size,
        "images": images,
        "seconds": round(seconds, 3),
        "images_per_s": round(images / seconds, 2),
    }


def epoch_comparison(tweets: int, batch: int = 16) -> dict:
    data = load_dataset("demo").train[:tweets]
    batches = [data[i : i + batch] for i in range(0, len(data), batch)]
    with tempfile.TemporaryDirectory() as warm, tempfile.TemporaryDirectory() as cold:
        cached = ImageFeatures("demo", condition="synthetic", cache_dir=warm)
        cached.prepare(data)
        start = time.perf_counter()
        for b in batches:
            cached(b)
        cached_s = time.perf_counter() - start
        fresh = ImageFeatures("demo", condition="synthetic", cache_dir=cold)
        fresh.model  # noqa: B018 - build the model outside the timing, as a trainer would
        start = time.perf_counter()
        for b in batches:
            fresh(b)
        recompute_s = time.perf_counter() - start
    return {
        "tweets": len(data),
        "batch_size": batch,
        "cached_s": round(cached_s, 4),
        "recomputed_s": round(recompute_s, 2),
        "speedup": round(recompute_s / cached_s, 1),
    }


def oov_rates() -> dict:
    from mner_lib.text.encoders import oov_rate

    out = {}
    if not os.environ.get("MNER_DATA_DIR"):
        return out
    for name in ("twitter2015", "twitter2017", "twitter10000"):
        data = load_dataset(name)
        tokens = [w for t in data.train + data.dev + data.test for w in t.tokens]
        out[name] = {
            "all": round(oov_rate(tokens), 4),
            "without_url_user": round(oov_rate(tokens, placeholders=False), 4),
        }
    return out


def coverage() -> dict:
    """How many tweets of each dataset/condition have their features in the default cache."""
    out = {}
    if not os.environ.get("MNER_DATA_DIR"):
        return out
    for name in ("twitter2015", "twitter2017"):
        data = load_dataset(name)
        tweets = data.train + data.dev + data.test
        for condition in ("blank", "synthetic", "shuffled"):
            feats = ImageFeatures(name, condition=condition)
            stored = sum(feats.plan(t).key in feats.store for t in tweets)
            out[f"{name} {condition}"] = {
                "tweets": len(tweets),
                "cached": stored,
                "store": portable_path(str(feats.store_dir)),
                "store_images": len(feats.store),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--tweets", type=int, default=64)
    parser.add_argument("--skip-backbones", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch threads {torch.get_num_threads()}, load average at start {load[0]:.1f}",
        "backbones": [],
    }
    previous = HERE / "images.json"
    if args.skip_backbones and previous.is_file():  # keep the last measured throughput
        old = json.loads(previous.read_text())
        result["backbones"] = old.get("backbones", [])
        result["machine"] = old.get("machine", result["machine"])
    if not args.skip_backbones:
        for name in BACKBONES:
            result["backbones"].append(backbone_speed(name, args.images))
            print(result["backbones"][-1], flush=True)
    result["epoch"] = epoch_comparison(args.tweets)
    print(result["epoch"], flush=True)
    result["oov"] = oov_rates()
    result["coverage"] = coverage()
    runs_path = HERE / "feature_runs.jsonl"
    runs = []
    if runs_path.is_file():
        runs = [json.loads(line) for line in runs_path.read_text().splitlines() if line.strip()]
    result["feature_runs"] = runs
    (HERE / "images.json").write_text(json.dumps(result, indent=1) + "\n")

    lines = [
        "Image-side benchmarks (written by benchmarks/bench_images.py; do not edit by hand)",
        f"machine: {result['machine']}",
        "",
        "1. backbone throughput on CPU (one batch after a warm-up)",
        f"{'backbone':<20}{'weights':<12}{'size':>6}{'images':>8}{'img/s':>9}",
    ]
    for r in result["backbones"]:
        lines.append(
            f"{r['backbone']:<20}{r['weights']:<12}{r['image_size']:>6}{r['images']:>8}"
            f"{r['images_per_s']:>9.2f}"
        )
    e = result["epoch"]
    lines += [
        "",
        f"2. one epoch of image features for {e['tweets']} demo tweets (synthetic probe, "
        f"efficientnet-lite0, 224 px, batches of {e['batch_size']})",
        f"   read from the cache: {e['cached_s']:.4f} s; recomputed: {e['recomputed_s']:.2f} s; "
        f"cached is {e['speedup']:.0f}x faster",
        "",
        "3. python -m mner_lib features runs (efficientnet-lite0, 224 px, all splits)",
        f"{'dataset':<13}{'condition':<11}{'tweets':>7}{'distinct':>9}{'computed':>9}"
        f"{'seconds':>9}{'img/s':>7}{'cache MiB':>10}  flags",
    ]
    for r in runs:
        rate = f"{r['images_per_s']:.1f}" if r.get("computed", 0) >= 16 else "-"
        lines.append(
            f"{r['dataset']:<13}{r['condition']:<11}{r['tweets']:>7}{r['unique_images']:>9}"
            f"{r['computed']:>9}{r['seconds']:>9.1f}{rate:>7}{r['cache_bytes'] / 2**20:>10.0f}  "
            f"{r['flags']}"
        )
    if not runs:
        lines.append("   (no runs recorded yet)")
    lines.append(
        "   cache MiB is the whole store after the run (shared by conditions: shuffled reuses "
        "the probe images' rows, blank is one row)"
    )
    if result["oov"]:
        lines += ["", "4. GloVe 6B 50-d OOV rate (running tokens, after glove_key normalisation)"]
        lines += [
            f"   {name}: {r['all']:.2%} of all tokens; {r['without_url_user']:.2%} leaving out "
            "URLs and @mentions (mapped to <url>/<user>, which GloVe 6B lacks)"
            for name, r in result["oov"].items()
        ]
    if result["coverage"]:
        first = next(iter(result["coverage"].values()))
        size = sum(p.stat().st_size for p in Path(first["store"]).rglob("*") if p.is_file())
        lines += [
            "",
            f"5. default feature cache now: {first['store_images']} images, {size / 2**20:.0f} MiB "
            f"({Path(first['store']).name}); tweets whose features are cached:",
        ]
        lines += [
            f"   {key:<24} {c['cached']:>5} of {c['tweets']}"
            for key, c in result["coverage"].items()
        ]
    (HERE / "images.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
