"""The optimiser and the learning-rate schedules of the papers, built from a run's config:
Adam, AdamW or SGD over the model, its pretrained encoder and its tagging head, and a constant,
linear warm-up then decay, or inverse-decay schedule (:func:`mner_lib.training.trainer.fit` steps them)."""

from __future__ import annotations

from typing import Any

import torch

from mner_lib.models import Tagger
from mner_lib.training.config import TrainConfig

#: parameter names of the tagging head: the emission layer and the CRF (``head_lr``)
HEAD_PREFIXES = ("emit.", "crf.")


def build_optimizer(model: Tagger, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam/AdamW/SGD over three groups: the model (``lr``), a pretrained encoder
    (``encoder_lr``) and, when ``head_lr`` is set, the tagging head (emission layer and CRF)."""
    encoder, head, other = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("encoder."):
            encoder.append(p)
        elif cfg.head_lr is not None and name.startswith(HEAD_PREFIXES):
            head.append(p)
        else:
            other.append(p)
    groups: list[dict[str, Any]] = [{"params": other, "lr": cfg.lr}]
    if encoder:
        groups.append({"params": encoder, "lr": cfg.encoder_lr or cfg.lr})
    if head:
        groups.append({"params": head, "lr": cfg.head_lr})
    # fused kernels (torch >= 2.4, CPU and CUDA): the same update, 3-4x less optimiser time
    # (benchmarks/speed_notes.md)
    fused = all(p.is_floating_point() for g in groups for p in g["params"])
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, weight_decay=cfg.weight_decay, fused=fused)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, weight_decay=cfg.weight_decay, fused=fused)
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
