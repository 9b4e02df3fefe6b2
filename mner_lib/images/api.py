"""The contract between the image side and the models.

A model never opens an image itself: it asks an :class:`ImageFeatures` object for the features
of a list of tweets and gets an :class:`ImageBatch`. Which image a tweet gets (its own, a blank,
a synthetic probe, another tweet's, or text written from its real image) is decided by the
*condition*; the backbone decides which numbers come out. Both are named in every result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

CONDITIONS = (
    "real",
    "blank",
    "synthetic",
    "shuffled",
    "missing:<p>",
    "caption:<blip2|catr|owl>",
    "caption-shuffled:<source>",
    "knowledge:pgim",
    "knowledge-shuffled:pgim",
)


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
    captions:   under a text condition (``caption:*``, ``knowledge:*``), per tweet the text from
                its real image ("" when missing or empty), else None; the pixels are then blank.
    caption_flags: per tweet, "" or why the caption is not the tweet's own ("empty", "missing",
                "shuffled").
    caption_kind: "real-image caption" or "language-model knowledge" (PGIM), else "".
    """

    global_vec: torch.Tensor
    regions: torch.Tensor
    pyramid: list[torch.Tensor]
    labels: list[list[tuple[str, float]]]
    flags: list[str]
    crops: torch.Tensor | None = None
    crop_mask: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)  # backbone, condition, synthetic: bool, ...
    captions: list[str] | None = None
    caption_flags: list[str] | None = None
    caption_kind: str = ""
    caption_encoder: Callable | None = field(default=None, repr=False)
    _encoded: tuple | None = field(default=None, repr=False)

    @property
    def has_captions(self) -> bool:
        return self.captions is not None

    def caption_tokens(self) -> list[list[str]]:
        """Per tweet, the labels of its caption vectors (its words, ``(no caption)`` when
        empty): what an attention plot names instead of grid cells."""
        from mner_lib.images.captions import caption_tokens

        _, mask = self.encoded_captions()  # a long caption may be cut by the encoder
        lengths = mask.sum(dim=1).tolist()
        return [caption_tokens(c)[: int(n)] for c, n in zip(self._require_captions(), lengths)]

    def encoded_captions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(vectors (B, L, D), mask (B, L) bool)``: each caption word as a frozen text-encoder
        vector (:class:`mner_lib.images.captions.CaptionEncoder`); computed once per batch."""
        captions = self._require_captions()
        if self._encoded is None:
            if self.caption_encoder is None:
                from mner_lib.images.captions import CaptionEncoder

                self.caption_encoder = CaptionEncoder()
            self._encoded = self.caption_encoder(captions)
        return self._encoded

    def _require_captions(self) -> list[str]:
        if self.captions is None:
            raise ValueError(
                "this image batch carries no captions: use a text condition "
                "(caption:blip2, caption:catr, caption:owl, knowledge:pgim, ...)"
            )
        return self.captions
