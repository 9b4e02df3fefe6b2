"""Where a training step spends its time, per model, and training/inference tweets/s (issue 13).

Run from the repository root (one thread, Twitter-2015, 400 training tweets, as in the issue):

    PYTHONPATH=. MNER_DATA_DIR=... python benchmarks/bench_speed.py --label before
    PYTHONPATH=. MNER_DATA_DIR=... python benchmarks/bench_speed.py --label after \
        --compare benchmarks/speed_before.json

Each model runs in its own process (so its peak resident memory is its own). A worker:

* loads the whole Twitter-2015 dataset and prepares the image features of every tweet (blank
  condition, the trainer's ``make_image_features``), so the memory figure is that of a full run;
  the model is built from a seeded 400-tweet training sample, as ``train --max-train 400`` does;
* trains one epoch over those tweets in the trainer's order and batch size (paper settings from
  ``resolve_config``), timing each phase: ``images`` (feature lookup), ``collate`` (the model's
  ``collate`` and the move to the device), the forward pass split by the model's top-level
  modules (``embedding``, ``encoder``, ``fusion``, ``output``, ``crf``; ``glue`` is forward time
  outside any top-level module), ``backward``, ``optimiser`` (clipping, step, schedule);
* tags the same tweets with the trainer's batched ``predict_tweets`` (inference tweets/s);
* records peak resident memory (``ru_maxrss``).

``hf-plain`` is the loop a user would write: ``AutoModelForTokenClassification`` on the same
MiniLM, batch 16, dynamic padding, AdamW, fp32 (and ``hf-plain@bf16``), the reference of the
BERT-CRF and GMF goals. A model name ``name@bf16`` / ``name@fp32`` forces a precision; plain
names use ``mner_lib.models.precision.resolve_precision("auto")`` when that module exists (otherwise
the trainer's own ``autocast``, fp32 on a CPU). The trainer's ``autocast`` is monkeypatched here.

Writes ``benchmarks/speed_<label>.json`` and ``.md``; with ``--compare`` every figure is printed
beside the one in that file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_MODELS = (
    "bilstm-crf,hbilstm-crf,hsn,cwi,cwi-attention,trimod,"
    "bert-crf@fp32,bert-crf,gmf@fp32,gmf,hf-plain@fp32,hf-plain@bf16"
)
BERT_MODELS = ("bert-crf", "gmf", "hf-plain")
CATEGORIES = (
    ("crf", ("crf",)),
    ("encoder", ("lstm", "rnn", "gru", "encoder", "highway", "bert")),
    ("embedding", ("words", "chars", "pos", "embedding")),
    ("output", ("emit", "dropout", "classifier")),
)


def category(name: str) -> str:
    for cat, keys in CATEGORIES:
        if any(k in name for k in keys):
            return cat
    return "fusion"  # attention, gates, projections of the image side, ...


class Timers:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.depth = 0  # nested top-level calls are counted once

    def add(self, key: str, seconds: float) -> None:
        self.seconds[key] += seconds


def instrument(model: Any, timers: Timers) -> None:
    """Forward hooks on every top-level child; the CRF's methods wrapped."""
    starts: dict[str, float] = {}

    for name, child in model.named_children():
        if name == "crf":
            continue
        cat = category(name)

        def pre(_m, _inp, name=name):
            starts[name] = time.perf_counter()

        def post(_m, _inp, _out, name=name, cat=cat):
            timers.add(f"fwd:{cat}", time.perf_counter() - starts.pop(name))

        child.register_forward_pre_hook(pre)
        child.register_forward_hook(post)
    crf = getattr(model, "crf", None)
    if crf is not None:
        for method in ("neg_log_likelihood", "decode"):
            original = getattr(crf, method)

            def wrapped(*args, _original=original, **kwargs):
                t0 = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    timers.add("fwd:crf", time.perf_counter() - t0)

            setattr(crf, method, wrapped)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def pick_autocast(precision: str | None):
    """The autocast function the trainer will use, and the precision it resolves to."""
    import torch

    from mner_lib.models import precision as prec

    name = precision or "auto"
    resolved = prec.resolve_precision(name, torch.device("cpu"))
    return (lambda device: prec.autocast(device, resolved)), resolved


def worker(model_name: str, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    model_name, *variants = model_name.split("+")
    name, _, precision = model_name.partition("@")
    if name in BERT_MODELS:
        args.max_train = args.bert_max_train
    if name == "hf-plain":
        return hf_plain(precision or "fp32", args)
    if "fused" in variants:  # prototype for build_optimizer: Adam/AdamW(fused=True)
        import functools

        torch.optim.Adam = functools.partial(torch.optim.Adam, fused=True)
        torch.optim.AdamW = functools.partial(torch.optim.AdamW, fused=True)
    from mner_lib.models import build_model, get_model_class
    from mner_lib.models.base import to_device
    from mner_lib.text.data import load_dataset, seeded_subset
    from mner_lib.training import resolve_config
    from mner_lib.training.optim import build_optimizer, build_schedule
    from mner_lib.training.runtime import set_seed
    from mner_lib.training.trainer import make_image_features

    autocast_fn, resolved = pick_autocast(precision or None)
    cfg = resolve_config(
        name, dataset=args.dataset, max_train=args.max_train, epochs=1, seed=0, progress=False
    )
    set_seed(0)
    t0 = time.perf_counter()
    full = load_dataset(cfg.dataset, cfg.data_dir, cfg.orphan_policy, None, 0)
    images = make_image_features(cfg, full)
    subset = seeded_subset(full.train, args.max_train, 0)
    setup_data = time.perf_counter() - t0
    options = dict(cfg.model_options)
    if images is not None:
        options.setdefault("image_feature_dim", images.region_dim)
        cls = get_model_class(name)
        import dataclasses

        fields = {f.name for f in dataclasses.fields(cls.config_class)}
        options = {k: v for k, v in options.items() if k in fields}
    extra = [t for tw in [*full.dev, *full.test] for t in tw.tokens] if cfg.augment_vocab else []
    model = build_model(name, subset, options, extra)
    device = torch.device("cpu")
    optimizer = build_optimizer(model, cfg)
    steps = math.ceil(len(subset) / (cfg.batch_size * cfg.grad_accum))
    scheduler = build_schedule(optimizer, cfg, steps)
    timers = Timers()
    instrument(model, timers)
    rss_before_train = peak_rss_mb()

    model.train()
    order = torch.randperm(len(subset), generator=torch.Generator().manual_seed(0)).tolist()
    batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
    if "bucket" in variants:  # prototype for the trainer: length-bucketed batches
        batches = bucketed_batches(order, [len(t.tokens) for t in subset], cfg.batch_size, 0)
    epoch_start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    for step, idx in enumerate(batches):
        tweets = [subset[i] for i in idx]
        t = time.perf_counter()
        feats = images(tweets) if images is not None else None
        timers.add("images", time.perf_counter() - t)
        t = time.perf_counter()
        batch = to_device(model.collate(tweets, feats), device)
        timers.add("collate", time.perf_counter() - t)
        t = time.perf_counter()
        with autocast_fn(device):
            output = model(batch)
        timers.add("forward", time.perf_counter() - t)
        t = time.perf_counter()
        (output.loss / cfg.grad_accum).backward()
        timers.add("backward", time.perf_counter() - t)
        t = time.perf_counter()
        if (step + 1) % cfg.grad_accum == 0 or step + 1 == len(batches):
            if cfg.clip_grad:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        float(output.loss.detach())
        timers.add("optimiser", time.perf_counter() - t)
    epoch = time.perf_counter() - epoch_start
    train_phases = dict(timers.seconds)
    timers.seconds.clear()
    t = time.perf_counter()
    model.run(subset, images, cfg.eval_batch_size)
    infer = time.perf_counter() - t
    fwd_parts = sum(v for k, v in train_phases.items() if k.startswith("fwd:"))
    train_phases["fwd:glue"] = max(0.0, train_phases.get("forward", 0.0) - fwd_parts)
    return {
        "model": name,
        "variants": variants,
        "precision": resolved,
        "batch_size": cfg.batch_size,
        "tweets": len(subset),
        "train_seconds": epoch,
        "train_tweets_per_second": len(subset) / epoch,
        "inference_tweets_per_second": len(subset) / infer,
        "phases_seconds": {k: round(v, 4) for k, v in sorted(train_phases.items())},
        "setup_data_seconds": setup_data,
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_setup_mb": rss_before_train,
        "memory_note": "full Twitter-2015 loaded and its image features prepared; "
        f"training measured on {len(subset)} tweets (a full epoch adds per-tweet caches only)",
    }


def bucketed_batches(
    order: list[int], lengths: list[int], batch_size: int, seed: int, pool: int = 20
) -> list[list[int]]:
    """Length-bucketed batches: the shuffled ``order`` is cut into pools of ``pool`` batches,
    each pool sorted by tweet length and cut into batches, and the batches shuffled (seeded):
    every tweet still once per epoch, batches of similar lengths, so less padding."""
    import random

    batches = []
    for start in range(0, len(order), pool * batch_size):
        chunk = sorted(order[start : start + pool * batch_size], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    random.Random(seed).shuffle(batches)
    return batches


def hf_plain(precision: str, args: argparse.Namespace) -> dict[str, Any]:
    """AutoModelForTokenClassification on MiniLM: batch 16, dynamic padding, AdamW, one epoch."""
    import torch
    from transformers import AutoModelForTokenClassification, get_linear_schedule_with_warmup

    from mner_lib.text.data import TAGS, load_dataset, seeded_subset
    from mner_lib.text.encoders import _minilm_tokenizer, minilm_path

    torch.manual_seed(0)
    full = load_dataset(args.dataset, None, "keep", None, 0)
    subset = seeded_subset(full.train, args.max_train, 0)
    tokenizer = _minilm_tokenizer()
    label = {t: i for i, t in enumerate(TAGS)}
    model = AutoModelForTokenClassification.from_pretrained(
        str(minilm_path()), num_labels=len(TAGS), local_files_only=True
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    order = torch.randperm(len(subset), generator=torch.Generator().manual_seed(0)).tolist()
    batches = [order[i : i + 16] for i in range(0, len(order), 16)]
    schedule = get_linear_schedule_with_warmup(optimizer, len(batches) // 10, len(batches))
    ctx = (
        (lambda: torch.autocast("cpu", dtype=torch.bfloat16))
        if precision == "bf16"
        else (lambda: torch.autocast("cpu", enabled=False))
    )
    model.train()
    start = time.perf_counter()
    for idx in batches:
        tweets = [subset[i] for i in idx]
        enc = tokenizer(
            [tw.tokens for tw in tweets],
            is_split_into_words=True,
            truncation=True,
            max_length=128,
            padding=True,
            return_tensors="pt",
        )
        labels = torch.full(enc["input_ids"].shape, -100, dtype=torch.long)
        for b, tw in enumerate(tweets):
            previous = None
            for pos, word in enumerate(enc.word_ids(b)):
                if word is not None and word != previous:
                    labels[b, pos] = label[tw.tags[word]]
                previous = word
        with ctx():
            loss = model(**enc, labels=labels).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - start
    return {
        "model": "hf-plain",
        "precision": precision,
        "batch_size": 16,
        "tweets": len(subset),
        "train_seconds": seconds,
        "train_tweets_per_second": len(subset) / seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_one(name: str, src: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, __file__, "--one", name, *passthrough(args)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=src)
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr)
        return {"error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_all(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every model under every source tree (``after`` = this checkout, ``before`` = --base-src),
    interleaved, ``--rounds`` times; the fastest round of each is kept (the least disturbed by
    other load on a shared machine). Variants (``+fused``, ``+bucket``) and hf-plain run in the
    ``after`` tree only (hf-plain does not use the project's models)."""
    trees = {"after": Path(__file__).resolve().parent.parent}
    if args.base_src:
        trees["before"] = Path(args.base_src).resolve()
    results: dict[str, dict[str, Any]] = {label: {} for label in trees}
    for round_ in range(args.rounds):
        for name in args.models.split(","):
            for label, src in trees.items():
                if label != "after" and ("+" in name or name.startswith("hf-plain")):
                    continue
                print(f"[bench] round {round_ + 1} {label} {name} ...", file=sys.stderr, flush=True)
                r = run_one(name, src, args)
                best = results[label].get(name)
                speed = r.get("train_tweets_per_second", 0)
                if best is None or speed > best.get("train_tweets_per_second", 0):
                    r["rounds"] = (best or {}).get("rounds", []) + [speed]
                    results[label][name] = r
                else:
                    best["rounds"].append(speed)
                print(f"[bench]   train {speed:.1f}/s", file=sys.stderr, flush=True)
    for name, r in results["after"].items():  # the references are shared by both trees
        if name.startswith("hf-plain") and "before" in results:
            results["before"][name] = r
    return results


def passthrough(args: argparse.Namespace) -> list[str]:
    return [
        "--dataset",
        args.dataset,
        "--max-train",
        str(args.max_train),
        "--threads",
        str(args.threads),
        "--bert-max-train",
        str(args.bert_max_train),
    ]


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Training tweets/s over BiLSTM-CRF's (RNN models) or over hf-plain@fp32's (BERT models)."""
    out: dict[str, float] = {}
    base = results.get("bilstm-crf", {}).get("train_tweets_per_second")
    plain = results.get("hf-plain@fp32", {}).get("train_tweets_per_second")
    for name, r in results.items():
        speed = r.get("train_tweets_per_second")
        if not speed:
            continue
        ref = plain if name.split("@")[0].split("+")[0] in BERT_MODELS else base
        if ref:
            out[name] = speed / ref
    return out


def fmt(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(results: dict[str, Any], before: dict[str, Any] | None) -> str:
    """A markdown table: every figure beside the one before (``before``) where it exists."""
    now_r = ratios(results)
    old = (before or {}).get("results", {})
    old_r = ratios(old) if old else {}
    lines = [
        "| model | precision | train tweets/s (before) | ratio* (before) | infer tweets/s (before) "
        "| infer/train | peak RSS MB (before) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | error: {r['error']} | | | | | |")
            continue
        o = old.get(name, {})
        tr, inf = r.get("train_tweets_per_second"), r.get("inference_tweets_per_second")
        lines.append(
            f"| {name} | {r.get('precision', '')} | {fmt(tr)} ({fmt(o.get('train_tweets_per_second'))})"
            f" | {fmt(now_r.get(name), 2)} ({fmt(old_r.get(name), 2)})"
            f" | {fmt(inf)} ({fmt(o.get('inference_tweets_per_second'))})"
            f" | {fmt(inf / tr if inf and tr else None, 1)}"
            f" | {fmt(r.get('peak_rss_mb'), 0)} ({fmt(o.get('peak_rss_mb'), 0)}) |"
        )
    lines.append("")
    lines.append(
        "*ratio: training tweets/s over BiLSTM-CRF's in the same run (RNN models), over the plain "
        "fp32 AutoModelForTokenClassification loop's (bert-crf, gmf, hf-plain)."
    )
    lines.append("")
    lines.append("Seconds per phase of one training epoch (fwd:* split the forward pass):")
    lines.append("")
    keys = sorted({k for r in results.values() for k in r.get("phases_seconds", {})})
    lines.append("| model | " + " | ".join(keys) + " |")
    lines.append("|---|" + "---|" * len(keys))
    for name, r in results.items():
        p = r.get("phases_seconds")
        if not p:
            continue
        cells = []
        for k in keys:
            was = old.get(name, {}).get("phases_seconds", {}).get(k)
            cells.append(f"{fmt(p.get(k), 2)} ({fmt(was, 2)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--dataset", default="twitter2015")
    parser.add_argument("--max-train", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bert-max-train", type=int, default=96, help="for bert-crf, gmf")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--base-src", default=None, help="an export of the base commit")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(worker(args.one, args)))
        return
    results = run_all(args)
    common = {
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "settings": {k: v for k, v in vars(args).items() if k != "one"},
        "cpu": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
    }
    for label, res in results.items():
        record = {"label": label, **common, "results": res, "ratios": ratios(res)}
        (HERE / f"speed_{label}.json").write_text(json.dumps(record, indent=2))
    before = {"results": results["before"]} if "before" in results else None
    text = table(results["after"], before)
    (HERE / "speed_after.md").write_text(
        f"# Speed benchmark (after; before = {args.base_src or '-'}), {common['date']}\n\n"
        f"Settings: {common['settings']}; load average at the end {common['load_average_at_end']}"
        "\n\n" + text
    )
    print(text)


if __name__ == "__main__":
    main()
