"""The contract between the image side and the models.

A model never opens an image itself: it asks an :class:`ImageFeatures` object for the features
of a list of tweets and gets an :class:`ImageBatch`. Which image a tweet gets (its own, a blank,
a synthetic probe, another tweet's) is decided by the *condition*; the backbone decides which
numbers come out. Both are named in every result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

CONDITIONS = ("real", "blank", "synthetic", "shuffled", "missing:<p>")


@dataclass
class ImageBatch:
    """Image features for a batch of B tweets (float32 tensors on the CPU).

    global_vec: (B, D) pooled last-stage feature (the image vector).
    regions:    (B, K, D) region grid of the last stage, K = 7x7 = 49 regions.
    pyramid:    four tensors (B, C_s, 7, 7): each backbone stage pooled to 7x7 (GMF's F_1..F_4).
    crops:      (B, M, D) global vectors of up to M object crops (GMF), zero where absent;
                crop_mask (B, M) bool says which crops exist. None when no crops were asked for.
    labels:     per tweet, the top-k ImageNet class names with probabilities (CWI's image words).
    flags:      per tweet, "" when the image was used as is, else why it was replaced
                ("missing", "zero-byte", "truncated", "undecodable", "too-large", "blank",
                "synthetic", "shuffled", "dropped" ...).
    """

    global_vec: torch.Tensor
    regions: torch.Tensor
    pyramid: list[torch.Tensor]
    labels: list[list[tuple[str, float]]]
    flags: list[str]
    crops: torch.Tensor | None = None
    crop_mask: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)  # backbone, condition, synthetic: bool, ...
