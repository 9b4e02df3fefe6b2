"""Training the learned hashtag segmenter on self-supervised phrases (cross-entropy over
eq. 10), seeded, in length-bucketed batches."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from mner_lib.hashtags.evaluation import evaluate_segmenter
from mner_lib.hashtags.examples import JoinedExample
from mner_lib.hashtags.model import HashtagSegmenter, HashtagSegmenterConfig


@dataclass
class TrainConfig:
    """Adam, a few epochs (all ours: the paper says only "cross-entropy")."""

    epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    max_length: int = 40  # longer phrases are dropped from training


@dataclass
class TrainHistory:
    epoch_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    dev: list[dict[str, float]] = field(default_factory=list)


def train_segmenter(
    train: Sequence[JoinedExample],
    config: HashtagSegmenterConfig | None = None,
    train_config: TrainConfig | None = None,
    dev: Sequence[JoinedExample] | None = None,
    meta: dict[str, Any] | None = None,
    log: Any = None,
) -> tuple[HashtagSegmenter, TrainHistory]:
    """Train a :class:`HashtagSegmenter` on joined phrases (cross-entropy over eq. 10).

    Seeded (``torch.manual_seed`` and the batch order). The character vocabulary is every
    character of the training texts. ``dev`` (optional) is scored after each epoch.
    """
    tc = train_config or TrainConfig()
    if tc.epochs < 1 or tc.batch_size < 1 or tc.lr <= 0:
        raise ValueError(f"bad TrainConfig {tc}: epochs, batch_size and lr must be positive")
    data = [ex for ex in train if len(ex.text) <= tc.max_length]
    if not data:
        raise ValueError(
            f"no training phrases (got {len(train)}, none of at most {tc.max_length} characters)"
        )
    torch.manual_seed(tc.seed)
    chars = sorted({c for ex in data for c in ex.text})
    meta = dict(meta or {})
    meta.setdefault("train", dataclasses.asdict(tc))
    meta.setdefault("train_phrases", len(data))
    model = HashtagSegmenter(config, chars, meta)
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr)
    rng = random.Random(tc.seed)
    history = TrainHistory()
    for epoch in range(tc.epochs):
        model.train()
        start, total, count = time.perf_counter(), 0.0, 0
        for batch_ids in _length_buckets(data, tc.batch_size, rng):
            batch = [data[i] for i in batch_ids]
            ids, lengths = model.encode([ex.text for ex in batch])
            labels = torch.zeros_like(ids)
            for row, ex in enumerate(batch):
                labels[row, : len(ex.text)] = torch.tensor(ex.labels)
            loss = model(ids, lengths, labels).loss
            assert loss is not None
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        history.epoch_loss.append(total / count)
        history.epoch_seconds.append(time.perf_counter() - start)
        if dev:
            history.dev.append(evaluate_segmenter(model, dev))
        if log is not None:
            dev_note = f" dev exact {history.dev[-1]['exact_match']:.3f}" if dev else ""
            log(f"epoch {epoch + 1}/{tc.epochs} loss {history.epoch_loss[-1]:.4f}{dev_note}")
    model.eval()
    return model, history


def _length_buckets(
    data: Sequence[JoinedExample], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Batches of similar length (less padding), in a shuffled order: shuffle, sort chunks of
    50 batches by length, cut into batches, shuffle the batches."""
    order = list(range(len(data)))
    rng.shuffle(order)
    pool = 50 * batch_size
    batches: list[list[int]] = []
    for p in range(0, len(order), pool):
        chunk = sorted(order[p : p + pool], key=lambda i: len(data[i].text))
        batches.extend(chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches
