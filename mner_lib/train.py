"""One trainer for every model.

``run_training(TrainConfig(...))`` seeds Python, NumPy and torch; builds the model from the
training tweets; trains with Adam / AdamW / SGD and the schedules the papers use, gradient
accumulation, early stopping on dev F1 with patience; keeps the best checkpoint; and writes a
run folder (layout in ``results/README.md``):

``config.json``      the full configuration of the run
``metrics.json``     dev and test P/R/F1 (overall, per type), model, dataset, image condition,
                     backbone, seed, commit, versions, device, hardware, wall time, tweets/s
``history.jsonl``    one line per epoch (loss, dev P/R/F1, lr, seconds)
``predictions_dev.txt`` / ``predictions_test.txt``  predictions in the tweet format
``model.pt``         the best model (config, vocabularies and weights: enough to ``predict``)
``checkpoint_last.pt``  everything needed to resume after a kill (removed when the run ends)

A killed run resumes where its last finished epoch left it when started again with the same
configuration and output folder; a different configuration in that folder is an error.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mner_lib.data import Dataset, Tweet, load_dataset, seeded_subset, write_tweets
from mner_lib.metrics import evaluate
from mner_lib.models import Tagger, build_model, get_model_class, make_config

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "linear-warmup", "inverse-decay")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainConfig:
    """A training run. Defaults are generic; each model's paper settings come from
    :func:`paper_defaults` and are applied by :func:`resolve_config`."""

    model: str
    dataset: str = "demo"
    data_dir: str | None = None
    out: str = "runs/run"
    seed: int = 0
    epochs: int = 10
    batch_size: int = 16
    eval_batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "constant"
    lr_decay: float = 0.0  # inverse-decay: lr_t = lr / (1 + lr_decay * epoch)
    warmup: float = 0.1  # linear-warmup: fraction of steps
    encoder_lr: float | None = None  # learning rate of a pretrained text encoder, if any
    grad_accum: int = 1
    clip_grad: float | None = 5.0
    patience: int = 5
    max_train: int | None = None
    max_eval: int | None = None  # a seeded sample of at most this many dev and test tweets
    orphan_policy: str = "keep"
    device: str = "auto"
    condition: str = "none"  # image condition (none for text models)
    backbone: str = "efficientnet-lite0"
    crops: str = "none"
    max_crops: int = 0
    image_dir: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None  # torch CPU threads (None: torch's default)
    # GloVe models: the dev and test words GloVe knows join the word vocabulary (Lample et al.
    # 2016; words only, never tags). False: training words only, the rest are unknown.
    augment_vocab: bool = True
    progress: bool = True
    resume: bool = True

    def validate(self) -> None:
        from mner_lib.data import DATASETS, ORPHAN_POLICIES, unknown

        get_model_class(self.model)  # unknown model -> error listing the valid ones
        if self.dataset not in DATASETS:
            raise unknown("dataset", self.dataset, DATASETS)
        for name, value, valid in (
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
            ("device", self.device, DEVICES),
            ("orphan_policy", self.orphan_policy, ORPHAN_POLICIES),
        ):
            if value not in valid:
                raise unknown(name, value, valid)
        for name in ("epochs", "batch_size", "eval_batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1, got {self.patience}")


# SGD with an inverse-time decay, as in Lample et al. (2016) for the two LSTM baselines.
_LSTM_BASELINE = {
    "optimizer": "sgd",
    "lr": 0.015,
    "schedule": "inverse-decay",
    "lr_decay": 0.05,
    "batch_size": 10,
    "epochs": 30,
    "momentum": 0.9,
}
# Paper training settings (SPEC.md). Applied to every field the user did not set.
PAPER_DEFAULTS: dict[str, dict[str, Any]] = {
    "bilstm-crf": dict(_LSTM_BASELINE),
    "hbilstm-crf": dict(_LSTM_BASELINE),
    "bert-crf": {
        "optimizer": "adamw",
        "lr": 1e-3,
        "encoder_lr": 5e-5,
        "schedule": "linear-warmup",
        "batch_size": 16,
        "epochs": 10,
        "weight_decay": 0.01,
    },
    "hsn": {"optimizer": "adam", "lr": 0.003, "batch_size": 16, "patience": 20, "epochs": 30},
    "cwi": {"optimizer": "adam", "lr": 8e-5, "batch_size": 16, "epochs": 10},
    "cwi-attention": {"optimizer": "adam", "lr": 8e-5, "batch_size": 16, "epochs": 10},
    "trimod": {
        "optimizer": "sgd",
        "lr": 0.005,
        "schedule": "inverse-decay",
        "lr_decay": 0.05,
        "batch_size": 10,
        "grad_accum": 9,
        "epochs": 30,
        "momentum": 0.0,
    },
    # GMF: the paper's 5e-5 for every parameter, the new layers (prefix, gates, heads, CRF)
    # included. At 1e-3 for the new layers GMF stayed at F1 0 on Twitter-2015 (1000 tweets, 3
    # epochs; results/budget_gmf_default-prefix-init/); at 5e-5 it learns (budget_gmf_lr5e-5/).
    "gmf": {
        "optimizer": "adamw",
        "lr": 5e-5,
        "encoder_lr": 5e-5,
        "schedule": "linear-warmup",
        "batch_size": 16,
        "epochs": 30,
    },
}


# Per-dataset paper settings (GMF, Twitter-2017: batch 32, 50 epochs, tau 0.174).
PAPER_DATASET_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("gmf", "twitter2017"): {
        "batch_size": 32,
        "epochs": 50,
        "model_options": {"temperature": 0.174},
    },
}


def resolve_config(model: str, **given: Any) -> TrainConfig:
    """A config for ``model``: the paper's settings, overridden by what is ``given``."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    bad = sorted(set(given) - fields)
    if bad:
        raise ValueError(
            f"unknown training option(s) {', '.join(bad)}; valid: {', '.join(sorted(fields))}"
        )
    given = {k: v for k, v in given.items() if v is not None}
    per_dataset = PAPER_DATASET_DEFAULTS.get((model, given.get("dataset", "demo")), {})
    values = {**PAPER_DEFAULTS.get(model, {}), **per_dataset, **given}
    values["model_options"] = {
        **per_dataset.get("model_options", {}),
        **(given.get("model_options") or {}),
    }
    cfg = TrainConfig(model=model, **values)
    cls = get_model_class(model)
    config_fields = {f.name for f in dataclasses.fields(cls.config_class)}
    from mner_lib.images.captions import caption_model_options  # TEMP trainer glue (issue 14)

    cfg.model_options = caption_model_options(cls, cfg.condition, cfg.model_options)
    if "backbone" in config_fields:  # the model must know which image features it is fed
        cfg.model_options.setdefault("backbone", cfg.backbone)
    make_config(
        cls, cfg.model_options
    )  # an unknown model option fails here, before any folder is written
    if cls.uses_images and cfg.condition == "none":
        cfg.condition = "blank"
    from mner_lib.images.conditions import is_text_condition  # TEMP trainer glue (issue 14)

    text_ok = getattr(cls, "accepts_captions", False) and is_text_condition(cfg.condition)
    if not cls.uses_images and cfg.condition != "none" and not text_ok:
        raise ValueError(
            f"model {model!r} uses no images; condition must be 'none', got {cfg.condition!r}"
        )
    cfg.validate()
    return cfg


def cap_eval(dataset: Dataset, max_eval: int, seed: int) -> Dataset:
    """The dataset with a seeded sample (file order kept) of at most ``max_eval`` dev and test tweets."""
    if max_eval < 1:
        raise ValueError(f"max_eval must be a positive number of tweets, got {max_eval}")

    return dataclasses.replace(
        dataset,
        dev=seeded_subset(dataset.dev, max_eval, seed),
        test=seeded_subset(dataset.test, max_eval, seed),
    )


def portable_path(path: str | None) -> str | None:
    """``path`` as recorded in a run folder: under ``$MNER_DATA_DIR`` written from that name,
    under the home folder from ``~``, so committed results carry no path of the machine."""
    if not path:
        return path
    resolved = Path(path).expanduser().resolve()
    env = os.environ.get("MNER_DATA_DIR")
    for root, name in ((env, "$MNER_DATA_DIR"), (str(Path.home()), "~")):
        if not root:
            continue
        try:
            rest = resolved.relative_to(Path(root).resolve())
        except ValueError:
            continue
        return name if str(rest) == "." else f"{name}/{rest}"
    return path


def portable_config(cfg: TrainConfig) -> dict[str, Any]:
    """The config as recorded in a run folder (:func:`portable_path` for the data folder)."""
    record = dataclasses.asdict(cfg)
    record["data_dir"] = portable_path(record["data_dir"])
    return record


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' asked for but no GPU is available; use --device auto or cpu"
        )
    return torch.device(name)


def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        # no commit yet: git prints "HEAD" and fails; that is "unknown", not a commit
        commit = (out.stdout.strip() if out.returncode == 0 else "") or "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return commit + ("+dirty" if dirty and commit != "unknown" else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment_info(device: torch.device) -> dict[str, Any]:
    import transformers

    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def build_optimizer(model: Tagger, cfg: TrainConfig) -> torch.optim.Optimizer:
    encoder_params = [
        p for n, p in model.named_parameters() if n.startswith("encoder.") and p.requires_grad
    ]
    other = [
        p for n, p in model.named_parameters() if not n.startswith("encoder.") and p.requires_grad
    ]
    groups: list[dict[str, Any]] = [{"params": other, "lr": cfg.lr}]
    if encoder_params:
        groups.append({"params": encoder_params, "lr": cfg.encoder_lr or cfg.lr})
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(groups, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def build_schedule(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    total = max(1, steps_per_epoch * cfg.epochs)
    warm = max(1, int(cfg.warmup * total))

    def factor(step: int) -> float:
        if cfg.schedule == "linear-warmup":
            if step < warm:
                return (step + 1) / warm
            return max(0.0, (total - step) / max(1, total - warm))
        if cfg.schedule == "inverse-decay":
            return 1.0 / (1.0 + cfg.lr_decay * (step // max(1, steps_per_epoch)))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            out[k] = v.to(device, non_blocking=True)
        elif isinstance(v, list) and v and isinstance(v[0], torch.Tensor):
            out[k] = [t.to(device) for t in v]
        else:
            out[k] = v
    return out


ImageFn = Callable[[Sequence[Tweet]], Any]


def make_image_features(cfg: TrainConfig, dataset: Dataset) -> Any | None:
    """The :class:`mner_lib.images.ImageFeatures` of the run, or None for text models."""
    if cfg.condition == "none":
        return None
    from mner_lib.images import ImageFeatures

    feats = ImageFeatures(
        dataset=cfg.dataset,
        data_dir=cfg.data_dir,
        backbone=cfg.backbone,
        condition=cfg.condition,
        seed=cfg.seed,
        image_dir=cfg.image_dir,
        crops=cfg.crops,
        max_crops=cfg.max_crops,
    )
    feats.prepare(dataset.train + dataset.dev + dataset.test)
    return feats


def make_batch(
    model: Tagger, tweets: Sequence[Tweet], images: ImageFn | None, device: torch.device
) -> dict[str, Any]:
    batch = model.collate(tweets, images(tweets) if images is not None else None)
    return to_device(batch, device)


@torch.no_grad()
def predict_tweets(
    model: Tagger,
    tweets: Sequence[Tweet],
    images: ImageFn | None,
    device: torch.device,
    batch_size: int = 64,
) -> list[list[str]]:
    model.eval()
    out: list[list[str]] = []
    for i in range(0, len(tweets), batch_size):
        chunk = tweets[i : i + batch_size]
        batch = make_batch(model, chunk, images, device)
        batch["tags"] = None
        with autocast(device):
            preds = model(batch, decode=True).predictions
        # words cut by a sub-word length limit are tagged O (never dropped: labels stay aligned)
        out.extend(p + ["O"] * (len(t.tokens) - len(p)) for t, p in zip(chunk, preds))
    return out


def autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    model: Tagger
    history: list[dict[str, Any]]
    images: Any | None = None


def _config_identity(cfg: TrainConfig) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    for k in ("progress", "resume", "device", "data_dir", "out", "threads"):
        d.pop(k)
    return d


def run_training(
    cfg: TrainConfig,
    dataset: Dataset | None = None,
    stop_after_epochs: int | None = None,
) -> TrainResult:
    """Train ``cfg.model`` and write its run folder. ``stop_after_epochs`` ends the process early
    (as a kill would) after that many epochs of this call, leaving the resumable checkpoint."""
    cfg.validate()
    wall_start = time.time()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    last_path = out / "checkpoint_last.pt"
    identity = _config_identity(cfg)
    if (out / "config.json").exists():
        old = json.loads((out / "config.json").read_text())
        old_identity = {k: old.get(k) for k in identity}
        if old_identity != json.loads(json.dumps(identity)) and last_path.exists():
            raise ValueError(
                f"{out} holds an unfinished run with another configuration; "
                "use another --out folder or delete it"
            )
    (out / "config.json").write_text(json.dumps(portable_config(cfg), indent=2))

    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    if dataset is None:
        dataset = load_dataset(
            cfg.dataset, cfg.data_dir, cfg.orphan_policy, cfg.max_train, cfg.seed
        )
    elif cfg.max_train is not None:
        train = seeded_subset(dataset.train, cfg.max_train, cfg.seed)
        dataset = dataclasses.replace(dataset, train=train)
    if cfg.max_eval is not None:
        dataset = cap_eval(dataset, cfg.max_eval, seed=0)  # the same sample for every seed
    images = make_image_features(cfg, dataset)
    model_options = dict(cfg.model_options)
    config_fields = {f.name for f in dataclasses.fields(get_model_class(cfg.model).config_class)}
    if images is not None and "image_feature_dim" in config_fields:
        model_options.setdefault("image_feature_dim", images.region_dim)  # follows the backbone

    extra_words = (
        [t for tweet in [*dataset.dev, *dataset.test] for t in tweet.tokens]
        if cfg.augment_vocab
        else []
    )
    model = build_model(cfg.model, dataset.train, model_options, extra_words).to(device)
    optimizer = build_optimizer(model, cfg)
    steps_per_epoch = math.ceil(len(dataset.train) / (cfg.batch_size * cfg.grad_accum))
    scheduler = build_schedule(optimizer, cfg, steps_per_epoch)

    history: list[dict[str, Any]] = []
    start_epoch, best_f1, best_epoch, bad_epochs, train_seconds, train_tweets = (
        0,
        -1.0,
        -1,
        0,
        0.0,
        0,
    )
    if cfg.resume and last_path.exists():
        state = torch.load(last_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best_f1, best_epoch, bad_epochs = (
            state["epoch"],
            state["best_f1"],
            state["best_epoch"],
            state["bad_epochs"],
        )
        history, train_seconds, train_tweets = (
            state["history"],
            state["train_seconds"],
            state["train_tweets"],
        )
        random.setstate(state["rng_python"])
        np.random.set_state(state["rng_numpy"])
        torch.set_rng_state(state["rng_torch"])
        print(f"resuming {out} after epoch {start_epoch}", file=sys.stderr)

    log_path = out / "history.jsonl"
    if start_epoch == 0 and log_path.exists():
        log_path.unlink()
    epochs_this_call = 0
    for epoch in range(start_epoch, cfg.epochs):
        if bad_epochs >= cfg.patience:
            break
        model.train()
        order = torch.randperm(
            len(dataset.train), generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
        ).tolist()
        batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        t0 = time.time()
        total_loss, n_batches = 0.0, 0
        optimizer.zero_grad(set_to_none=True)
        iterator = batches
        if cfg.progress:
            from tqdm.auto import tqdm

            iterator = tqdm(
                batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, file=sys.stderr
            )
        for step, idx in enumerate(iterator):
            tweets = [dataset.train[i] for i in idx]
            batch = make_batch(model, tweets, images, device)
            with autocast(device):
                output = model(batch)
            loss = output.loss / cfg.grad_accum
            loss.backward()
            if (step + 1) % cfg.grad_accum == 0 or step + 1 == len(batches):
                if cfg.clip_grad:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            total_loss += float(output.loss.detach())
            n_batches += 1
        epoch_seconds = time.time() - t0
        train_seconds += epoch_seconds
        train_tweets += len(order)
        dev_pred = predict_tweets(model, dataset.dev, images, device, cfg.eval_batch_size)
        dev = evaluate([t.tags for t in dataset.dev], dev_pred)
        record = {
            "epoch": epoch + 1,
            "loss": total_loss / max(1, n_batches),
            "dev_precision": dev["precision"],
            "dev_recall": dev["recall"],
            "dev_f1": dev["f1"],
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": epoch_seconds,
            "tweets_per_second": len(order) / max(epoch_seconds, 1e-9),
        }
        history.append(record)
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if cfg.progress:
            print(
                f"epoch {epoch + 1}: loss {record['loss']:.4f} dev F1 {dev['f1']:.2f} ({epoch_seconds:.1f}s)",
                file=sys.stderr,
            )
        if dev["f1"] > best_f1:
            best_f1, best_epoch, bad_epochs = dev["f1"], epoch + 1, 0
            model.save(out / "model.pt")
        else:
            bad_epochs += 1
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch + 1,
                "best_f1": best_f1,
                "best_epoch": best_epoch,
                "bad_epochs": bad_epochs,
                "history": history,
                "train_seconds": train_seconds,
                "train_tweets": train_tweets,
                "rng_python": random.getstate(),
                "rng_numpy": np.random.get_state(),
                "rng_torch": torch.get_rng_state(),
            },
            last_path,
        )
        epochs_this_call += 1
        if (
            stop_after_epochs is not None
            and epochs_this_call >= stop_after_epochs
            and epoch + 1 < cfg.epochs
        ):
            raise KeyboardInterrupt(f"stopped after {epochs_this_call} epoch(s) on request")

    best = Tagger.load(out / "model.pt", map_location=str(device)).to(device)
    t0 = time.time()
    dev_pred = predict_tweets(best, dataset.dev, images, device, cfg.eval_batch_size)
    test_pred = predict_tweets(best, dataset.test, images, device, cfg.eval_batch_size)
    infer_seconds = time.time() - t0
    write_tweets(out / "predictions_dev.txt", dataset.dev, dev_pred)
    write_tweets(out / "predictions_test.txt", dataset.test, test_pred)
    image_info = (
        images.describe() if images is not None else {"condition": "none", "synthetic": False}
    )
    for key in ("image_dir", "cache"):
        if image_info.get(key):
            image_info[key] = portable_path(image_info[key])
    metrics = {
        "model": cfg.model,
        "dataset": cfg.dataset,
        "condition": cfg.condition,
        "synthetic": bool(image_info.get("synthetic", False)),
        "backbone": cfg.backbone if cfg.condition != "none" else None,
        "text_encoder": getattr(best, "encoder_name", None),
        "seed": cfg.seed,
        "max_train": cfg.max_train,
        "max_eval": cfg.max_eval,
        "train_tweets": len(dataset.train),
        "vocab_words": len(best.vocab.words),
        "glove_added_words": getattr(model, "glove_added", 0),
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "dev": evaluate([t.tags for t in dataset.dev], dev_pred),
        "test": evaluate([t.tags for t in dataset.test], test_pred),
        "images": image_info,
        "commit": git_commit(),
        "environment": environment_info(device),
        "wall_seconds": time.time()
        - wall_start,  # this call (a resumed run counts from its restart)
        "train_seconds": train_seconds,
        "train_tweets_per_second": train_tweets / max(train_seconds, 1e-9),
        "inference_tweets_per_second": (len(dataset.dev) + len(dataset.test))
        / max(infer_seconds, 1e-9),
        "config": portable_config(cfg),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if last_path.exists():
        last_path.unlink()
    return TrainResult(out, metrics, best, history, images)


def load_run(run_dir: str | Path, map_location: str = "cpu") -> tuple[Tagger, dict[str, Any]]:
    """The best model of a run folder and its config (the folder alone is enough)."""
    run_dir = Path(run_dir)
    model_path = run_dir / "model.pt"
    if not model_path.exists():
        raise FileNotFoundError(f"no model.pt in run folder {run_dir}")
    config = json.loads((run_dir / "config.json").read_text())
    return Tagger.load(model_path, map_location), config
