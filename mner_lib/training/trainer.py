"""One trainer for every model: ``run_training(cfg)`` = prepare -> fit -> finish.

* :func:`prepare`: the data (caps, refusal of empty splits), the image features, the seed, the
  model (vocabularies from the training tweets, pretrained parts loaded).
* :func:`fit`: the epoch loop (Adam / AdamW / SGD and the papers' schedules, gradient
  accumulation, early stopping on dev F1 with patience), with a :class:`Progress` that is
  checkpointed after every epoch so a killed run resumes where it stopped, on the data files
  it started on (their SHA-256 are in the checkpoint and in ``metrics.json``).
* :func:`finish`: the best model's dev and test predictions and ``metrics.json``.

The run folder (:class:`mner_lib.training.runfolder.RunFolder`) is the only writer, and the run holds its
lock from start to end (a second process is refused); it refuses to touch a finished run without
``overwrite``, writes every file atomically, stores weights as safetensors and everything else as
JSON, so loading a run never runs code. Layout in ``results/README.md``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from mner_lib.io.allocator import tune_allocator
from mner_lib.io.plural import counted
from mner_lib.models import Tagger, build_model, get_model_class
from mner_lib.text.data import Dataset, format_tweets, load_dataset, seeded_subset
from mner_lib.text.metrics import evaluate
from mner_lib.text.predictions import format_tags, split_keys, tweet_keys
from mner_lib.training.config import (
    FIELDS,
    TrainConfig,
    command_line,
    portable_config,
    portable_path,
)
from mner_lib.training.optim import HEAD_PREFIXES, build_optimizer, build_schedule  # noqa: F401
from mner_lib.training.runfolder import CONFIG, RunFolder, RunFolderError, rng_state, set_rng_state
from mner_lib.training.runstate import (
    RunStateError,
    code_label,
    data_changes,
    data_hashes,
    is_code_label,
)
from mner_lib.training.runtime import autocast, environment_info, pick_device, provenance, set_seed


class TrainingError(RuntimeError):
    """A run cannot go on (a non-finite loss, an empty split); the message says why."""


@dataclass
class Prepared:
    """Everything a run trains and evaluates with."""

    cfg: TrainConfig
    dataset: Dataset
    images: Any | None
    model: Tagger
    device: torch.device
    # the code that runs, read when the run starts (a checkout changed mid-run cannot relabel it)
    code: dict[str, Any] = field(default_factory=lambda: provenance())
    # split -> (imgid, occurrence) of each dev / test tweet in its data file (tags_<split>.tsv)
    keys: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # role -> file and SHA-256 of each data file the run reads (runstate.data_hashes)
    data: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Progress:
    """The state of the epoch loop; saved with every checkpoint, restored on resume."""

    epoch: int = 0
    best_f1: float = -1.0
    best_epoch: int = -1
    bad_epochs: int = 0
    train_seconds: float = 0.0
    train_tweets: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    # commits its epochs trained under: more than one when resumed from another checkout
    commits: list[str] = field(default_factory=list)


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    model: Tagger
    history: list[dict[str, Any]]
    images: Any | None = None


def run_training(
    cfg: TrainConfig, dataset: Dataset | None = None, stop_after_epochs: int | None = None
) -> TrainResult:
    """Train ``cfg.model`` and write its run folder. ``stop_after_epochs`` ends the call early
    (as a kill would) after that many epochs of this call, leaving the resumable checkpoint."""
    cfg.validate()
    wall_start = time.time()
    folder = RunFolder(cfg.out, command=command_line(cfg))
    # the folder's lock, held by this process until the run finishes or fails: a second writer
    # (another train, an --overwrite of this one) is refused, naming this process
    mode = folder.open(
        portable_config(cfg), NOT_IDENTITY, overwrite=cfg.overwrite, resume=cfg.resume
    )
    try:
        try:
            prepared = prepare(cfg, dataset)
        except BaseException:  # nothing trained: the folder must not hold this run's config,
            if mode == "new":  # or the same command with a corrected value would be refused
                (folder.path / CONFIG).unlink(missing_ok=True)
            raise
        progress = fit(prepared, folder, stop_after_epochs)
        return finish(prepared, folder, progress, wall_start)
    finally:
        folder.close()


#: config fields a resumed run may change (where and how it runs, not what it is)
NOT_IDENTITY = tuple(n for n, f in FIELDS.items() if not f.metadata.get("identity", True))


# ----------------------------------------------------------------------------- prepare
def prepare(cfg: TrainConfig, dataset: Dataset | None = None) -> Prepared:
    tune_allocator()  # freed tensors' memory kept for the next ones (mner_lib.io.allocator)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    dataset, keys = load_data(cfg, dataset)
    images = make_image_features(cfg, dataset)
    # Seeded after the features: a feature cache miss builds a backbone (random init draws from
    # torch's generator), so the run must not depend on whether the cache was warm.
    set_seed(cfg.seed)
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
    # one tweet collated before anything trains: a setting the model cannot take with these
    # inputs (TriMod's word_dim under captions) fails here, as a failed start, not mid-epoch
    model.batch(dataset.train[:1], images, device)
    data = data_hashes(data_files(dataset, images))
    return Prepared(cfg, dataset, images, model, device, keys=keys, data=data)


def data_files(dataset: Dataset, images: Any | None) -> dict[str, str]:
    """The files a run reads, by role: its splits' files (a dataset given in memory has none)
    and the caption or knowledge files of a text condition (``image_text/<source>/<file>``)."""
    paths = getattr(dataset, "paths", None) or {}
    files = {s: str(paths[s]) for s in ("train", "dev", "test") if paths.get(s)}
    table = getattr(getattr(images, "captions", None), "table", None)
    for path in getattr(table, "paths", None) or []:
        files[f"image_text/{Path(path).parent.name}/{Path(path).name}"] = str(path)
    return files


def load_data(
    cfg: TrainConfig, dataset: Dataset | None
) -> tuple[Dataset, dict[str, list[tuple[str, int]]]]:
    """The run's tweets: the dataset (given or read), its seeded training cap and the fixed dev
    and test sample of ``max_eval``; an empty split is an error naming its file. With them, the
    key of each dev and test tweet in its whole split (:mod:`mner_lib.text.predictions`)."""
    if dataset is None:
        dataset = load_dataset(
            cfg.dataset, cfg.data_dir, cfg.orphan_policy, cfg.max_train, cfg.seed
        )
    elif cfg.max_train is not None:
        dataset = dataclasses.replace(
            dataset, train=seeded_subset(dataset.train, cfg.max_train, cfg.seed)
        )
    whole = {split: getattr(dataset, split) for split in ("dev", "test")}
    if cfg.max_eval is not None:
        dataset = cap_eval(dataset, cfg.max_eval, seed=0)  # the same sample for every seed
    keys = {split: split_keys(getattr(dataset, split), whole[split]) for split in whole}
    paths = getattr(dataset, "paths", {}) or {}
    for split in ("train", "dev", "test"):
        if not getattr(dataset, split):
            where = paths.get(split, f"the {split} split of {cfg.dataset}")
            raise TrainingError(f"{where}: no {split} tweets; a run needs tweets in every split")
    return dataset, keys


def cap_eval(dataset: Dataset, max_eval: int, seed: int) -> Dataset:
    """The dataset with a seeded sample (file order kept) of at most ``max_eval`` dev and test tweets."""
    if max_eval < 1:
        raise ValueError(f"max_eval must be a positive number of tweets, got {max_eval}")
    return dataclasses.replace(
        dataset,
        dev=seeded_subset(dataset.dev, max_eval, seed),
        test=seeded_subset(dataset.test, max_eval, seed),
    )


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
    with torch.random.fork_rng(devices=[]):
        feats.prepare(dataset.train + dataset.dev + dataset.test)
    return feats


# ----------------------------------------------------------------------------- fit
def fit(prepared: Prepared, folder: RunFolder, stop_after_epochs: int | None = None) -> Progress:
    """The epoch loop, resumed from the folder's checkpoint when there is one."""
    cfg, model = prepared.cfg, prepared.model
    optimizer = build_optimizer(model, cfg)
    steps = math.ceil(len(prepared.dataset.train) / (cfg.batch_size * cfg.grad_accum))
    scheduler = build_schedule(optimizer, cfg, steps)
    progress = resume(prepared, folder, optimizer, scheduler)
    if progress.commits[-1:] != [code_label(prepared.code)]:  # a start, or resumed elsewhere
        progress.commits.append(code_label(prepared.code))
    epochs_this_call = 0
    for epoch in range(progress.epoch, cfg.epochs):
        if progress.bad_epochs >= cfg.patience:
            break
        record = train_epoch(prepared, optimizer, scheduler, epoch)
        dev_pred = predict(prepared, prepared.dataset.dev)
        dev = evaluate([t.tags for t in prepared.dataset.dev], dev_pred)
        record.update(dev_precision=dev["precision"], dev_recall=dev["recall"], dev_f1=dev["f1"])
        progress.epoch = epoch + 1
        progress.history.append(record)
        progress.train_seconds += record["seconds"]
        progress.train_tweets += len(prepared.dataset.train)
        folder.append_history(record)
        if cfg.progress:
            print(
                f"epoch {epoch + 1}: loss {record['loss']:.4f} dev F1 {dev['f1']:.2f} "
                f"({record['seconds']:.1f}s)",
                file=sys.stderr,
            )
        if dev["f1"] > progress.best_f1:
            progress.best_f1, progress.best_epoch, progress.bad_epochs = dev["f1"], epoch + 1, 0
            folder.save_model(*model.to_state())
        else:
            progress.bad_epochs += 1
        save_checkpoint(folder, model, optimizer, scheduler, progress, prepared.data)
        epochs_this_call += 1
        stop = stop_after_epochs is not None and epochs_this_call >= stop_after_epochs
        if stop and epoch + 1 < cfg.epochs:
            raise KeyboardInterrupt(
                f"stopped after {counted(epochs_this_call, 'epoch')} on request"
            )
    return progress


def train_epoch(prepared: Prepared, optimizer, scheduler, epoch: int) -> dict[str, Any]:
    """One pass over the training tweets in a seeded order; the epoch's history record."""
    cfg, model, train = prepared.cfg, prepared.model, prepared.dataset.train
    model.train()
    order = torch.randperm(
        len(train), generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    ).tolist()
    batches = epoch_batches(order, [len(t.tokens) for t in train], cfg, epoch)
    t0, total_loss, parts = time.time(), 0.0, {}
    optimizer.zero_grad(set_to_none=True)
    iterator: Any = batches
    if cfg.progress:
        from tqdm.auto import tqdm

        iterator = tqdm(
            batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, file=sys.stderr
        )
    for step, idx in enumerate(iterator):
        batch = model.batch([train[i] for i in idx], prepared.images, prepared.device)
        with autocast(prepared.device, cfg.precision):
            output = model(batch)
        if not torch.isfinite(output.loss.detach()):
            raise TrainingError(non_finite_message(cfg, epoch, step, float(output.loss.detach())))
        (output.loss / cfg.grad_accum).backward()
        if (step + 1) % cfg.grad_accum == 0 or step + 1 == len(batches):
            if cfg.clip_grad:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        total_loss += float(output.loss.detach())
        for name, value in output.extras.items():  # a model's parts of its loss (GMF: crf, cm)
            if name.endswith("_loss") and isinstance(value, torch.Tensor) and value.dim() == 0:
                parts[name] = parts.get(name, 0.0) + float(value)
    seconds = time.time() - t0
    return {
        "epoch": epoch + 1,
        "loss": total_loss / max(1, len(batches)),
        **{name: value / max(1, len(batches)) for name, value in sorted(parts.items())},
        "lr": optimizer.param_groups[0]["lr"],
        "seconds": seconds,
        "tweets_per_second": len(order) / max(seconds, 1e-9),
    }


def epoch_batches(
    order: list[int], lengths: list[int], cfg: TrainConfig, epoch: int
) -> list[list[int]]:
    """The epoch's batches from its seeded ``order``: with ``length_buckets`` = k, each run of
    k batches' tweets is sorted by length and cut (batches of similar lengths, less padding),
    and the batches are shuffled with the epoch's seed; every tweet once per epoch either way."""
    size, pool = cfg.batch_size, cfg.length_buckets
    if pool <= 1:
        return [order[i : i + size] for i in range(0, len(order), size)]
    batches = []
    for start in range(0, len(order), pool * size):
        chunk = sorted(order[start : start + pool * size], key=lambda i: lengths[i])
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    perm = torch.randperm(
        len(batches), generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch + 7)
    )
    return [batches[i] for i in perm.tolist()]


def non_finite_message(cfg: TrainConfig, epoch: int, step: int, loss: float) -> str:
    return (
        f"{cfg.out}: the training loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
        f"the run is stopped. Likely cause: a learning rate too high for this model "
        f"(lr={cfg.lr:g}, encoder_lr={cfg.encoder_lr}) or bf16 overflow (precision="
        f"{cfg.precision}); try a lower --lr or --precision fp32."
    )


def predict(prepared: Prepared, tweets, model: Tagger | None = None) -> list[list[str]]:
    model = model or prepared.model
    out = model.run(
        tweets, prepared.images, prepared.cfg.eval_batch_size, precision=prepared.cfg.precision
    )
    return out.predictions


# ----------------------------------------------------------------------------- checkpoints
def save_checkpoint(
    folder: RunFolder, model, optimizer, scheduler, progress: Progress, data: dict | None = None
) -> None:
    state = {
        "progress": dataclasses.asdict(progress),
        "scheduler": scheduler.state_dict(),
        "rng": rng_state(),
        "data": data or {},
    }
    folder.save_checkpoint(model.state_dict(), optimizer.state_dict(), state)


def resume(prepared: Prepared, folder: RunFolder, optimizer, scheduler) -> Progress:
    """The progress of the folder's last checkpoint (model, optimiser, schedule and random
    state restored), or a fresh one."""
    loaded = folder.load_checkpoint()
    if loaded is None:
        return Progress()
    tensors, optimizer_state, state = loaded
    check_same_data(prepared, folder, state)
    try:  # a checkpoint whose hashes match but whose content is not this run's (a stranger's)
        prepared.model.load_state_dict(tensors)
        optimizer.load_state_dict(optimizer_state)
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        progress = Progress(**state["progress"])
        problems = [
            k
            for k in ("epoch", "best_epoch", "bad_epochs", "train_tweets")
            if type(getattr(progress, k)) is not int or getattr(progress, k) < -1
        ]
        if not (isinstance(progress.commits, list) and all(map(is_code_label, progress.commits))):
            problems.append("commits")
        if problems or progress.epoch < 0 or not isinstance(progress.history, list):
            raise ValueError(f"progress fields {', '.join(problems) or 'epoch, history'} invalid")
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
        why = f"not a checkpoint of this run ({type(exc).__name__}: {str(exc)[:200]})"
        raise folder.corrupt(folder.checkpoint_dir, why, in_checkpoint=True) from None
    if prepared.cfg.progress:
        print(f"resuming {folder.path} after epoch {progress.epoch}", file=sys.stderr)
    return progress


def check_same_data(prepared: Prepared, folder: RunFolder, state: Any) -> None:
    """A run resumes only on the data files it started on (their SHA-256 in the checkpoint);
    a checkpoint from before data hashes were recorded resumes with a warning."""
    if not isinstance(state, dict) or "data" not in state:
        print(
            f"warning: {folder.path}: its checkpoint records no data hashes (written by an older "
            "mner_lib); resuming without checking that the data files are the ones it started on",
            file=sys.stderr,
        )
        return
    try:
        changes = data_changes(state["data"], prepared.data)
    except RunStateError as exc:
        raise folder.corrupt(
            folder.checkpoint_dir, f"unusable: {exc}", in_checkpoint=True
        ) from None
    if changes:
        raise RunFolderError(
            f"{folder.path}: cannot resume on other data: {'; '.join(changes)}; a run trains on "
            "one data set: restore the files it started on, or start it again with --overwrite"
        )


# ----------------------------------------------------------------------------- finish
def finish(
    prepared: Prepared, folder: RunFolder, progress: Progress, wall_start: float
) -> TrainResult:
    """The best model's predictions and ``metrics.json``; the checkpoint removed."""
    dataset = prepared.dataset
    best = Tagger.from_state(*folder.load_model()).to(prepared.device)
    t0 = time.time()
    dev_pred = predict(prepared, dataset.dev, best)
    test_pred = predict(prepared, dataset.test, best)
    infer_seconds = time.time() - t0
    for split, tweets, pred in (("dev", dataset.dev, dev_pred), ("test", dataset.test, test_pred)):
        # the tweets with their predicted tags (kept locally: they repeat the dataset's text) and
        # the tags alone, keyed to the data file's tweets (committed with the run)
        folder.write_text(f"predictions_{split}.txt", format_tweets(tweets, pred))
        keys = prepared.keys.get(split) or tweet_keys(tweets)
        folder.write_text(f"tags_{split}.tsv", format_tags(tweets, pred, keys))
    metrics = run_metrics(prepared, progress, best, dev_pred, test_pred)
    metrics["wall_seconds"] = time.time() - wall_start  # this call (resumed: from its restart)
    metrics["inference_tweets_per_second"] = (len(dataset.dev) + len(dataset.test)) / max(
        infer_seconds, 1e-9
    )
    folder.finish(metrics)
    return TrainResult(folder.path, metrics, best, progress.history, prepared.images)


def run_metrics(prepared: Prepared, progress: Progress, best: Tagger, dev_pred, test_pred) -> dict:
    cfg, dataset, images = prepared.cfg, prepared.dataset, prepared.images
    image_info = (
        images.describe() if images is not None else {"condition": "none", "synthetic": False}
    )
    for key in ("image_dir", "cache"):
        if image_info.get(key):
            image_info[key] = portable_path(image_info[key])
    code = prepared.code
    return {
        "model": cfg.model,
        "variant": cfg.variant,
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
        "glove_added_words": getattr(prepared.model, "glove_added", 0),
        "epochs_run": len(progress.history),
        "best_epoch": progress.best_epoch,
        "dev": evaluate([t.tags for t in dataset.dev], dev_pred),
        "test": evaluate([t.tags for t in dataset.test], test_pred),
        "images": image_info,
        "commit": code_label(code),
        "provenance": {**code, "trained_under": progress.commits},
        "environment": environment_info(prepared.device, cfg.precision),
        "train_seconds": progress.train_seconds,
        "train_tweets_per_second": progress.train_tweets / max(progress.train_seconds, 1e-9),
        # steady state: the last epoch alone (the first pays for warm-up: allocator, caches)
        "last_epoch_tweets_per_second": (
            progress.history[-1]["tweets_per_second"] if progress.history else None
        ),
        "config": portable_config(cfg),
        "model_config": asdict(best.config),  # every model option, defaults too
        "data_hashes": prepared.data,  # the data files it trained and was scored on
    }
