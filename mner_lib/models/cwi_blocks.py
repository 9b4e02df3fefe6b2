"""CWI's character feature extractor and its parts (Asgari-Chenaghlu et al., arXiv 2001.06888).

* :class:`SineReLU`: ``x`` for ``x > 0``, else ``eps * (sin x - cos x)``. No dead units: the
  gradient below zero is ``eps * (cos x + sin x)``, not 0. ``eps`` is not given in the paper; the
  default 0.0025 is the Keras-contrib ``SineReLU`` default the authors' Keras code most likely used.
* :class:`TargetedDropout`: "randomly drops neurons whose output is over a threshold" (the
  paper's words): in training, each unit whose value exceeds ``threshold`` is zeroed with
  probability ``rate``; units at or below the threshold pass unchanged; kept targeted units are
  scaled by ``1 / (1 - rate)`` (inverted dropout) when ``rescale``. Identity in eval mode.
  (Gomez et al.'s original targeted dropout ranks weights by magnitude; the CWI text describes
  this output-threshold variant, which is what we build.)
* :class:`ConvUnit`: Conv1d -> GroupNorm -> SineReLU -> TargetedDropout ("TD + GN + SineReLU";
  the paper names the three, not their order: we normalise first so that the dropout threshold is
  on a known scale).
* :class:`CWICharEncoder`: char ids (fixed length k per word) -> uniform-initialised embedding
  -> block 1: convs with kernels 2, 3, 4 and 16, 32, 64 filters, then 1-D max pooling -> block 2:
  kernels 4, 3, 2 and 64, 32, 16 filters -> each block max-pooled over the word's positions and
  the two concatenated (the paper's circled-x) -> (B, T, 64 + 16).

The paper's layer tables are lost (TABREF); filter counts and kernels are the text's, the rest
(embedding size 30, same-padding, pooling size 2, GroupNorm groups 4, dropout rate 0.5 over
threshold 1.0) are our choices, all config fields.
"""

from __future__ import annotations

import torch
from torch import nn


class SineReLU(nn.Module):
    """SineReLU(x) = x if x > 0 else eps * (sin x - cos x)."""

    def __init__(self, eps: float = 0.0025):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > 0, x, self.eps * (torch.sin(x) - torch.cos(x)))

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


class TargetedDropout(nn.Module):
    """Zero, with probability ``rate``, units whose value is over ``threshold`` (training only)."""

    def __init__(self, rate: float = 0.5, threshold: float = 1.0, rescale: bool = True):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"TargetedDropout rate must be in [0, 1), got {rate}")
        self.rate, self.threshold, self.rescale = rate, threshold, rescale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        targeted = x > self.threshold
        drop = targeted & (torch.rand_like(x) < self.rate)
        out = x.masked_fill(drop, 0.0)
        if self.rescale:
            keep_scale = torch.where(targeted & ~drop, 1.0 / (1.0 - self.rate), 1.0)
            out = out * keep_scale.to(out.dtype)
        return out

    def extra_repr(self) -> str:
        return f"rate={self.rate}, threshold={self.threshold}, rescale={self.rescale}"


class ConvUnit(nn.Module):
    """Conv1d (same length) -> GroupNorm -> SineReLU -> TargetedDropout."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        groups: int = 4,
        eps: float = 0.0025,
        td_rate: float = 0.5,
        td_threshold: float = 1.0,
    ):
        super().__init__()
        if out_channels % groups:
            raise ValueError(
                f"GroupNorm: {out_channels} channels do not split into {groups} groups"
            )
        # 'same' padding for even kernels too: pad (k-1)//2 left, k//2 right
        self.pad = nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0.0)
        self.conv = nn.Conv1d(in_channels, out_channels, kernel)
        self.norm = nn.GroupNorm(groups, out_channels)
        self.act = SineReLU(eps)
        self.drop = TargetedDropout(td_rate, td_threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.act(self.norm(self.conv(self.pad(x)))))


class CWICharEncoder(nn.Module):
    """CWI's two convolution blocks over a word's characters; see the module docstring.

    Input (B, T, k) char ids (0 = padding); ``k`` must be the same for every batch (the model's
    collate pads or cuts each word to exactly ``k``), since GroupNorm normalises over the word's
    positions. Output (B, T, out_dim) with ``out_dim = filters1[-1] + filters2[-1]``.
    """

    def __init__(
        self,
        num_chars: int,
        emb_dim: int = 30,
        kernels1: tuple[int, ...] = (2, 3, 4),
        filters1: tuple[int, ...] = (16, 32, 64),
        kernels2: tuple[int, ...] = (4, 3, 2),
        filters2: tuple[int, ...] = (64, 32, 16),
        pool: int = 2,
        groups: int = 4,
        eps: float = 0.0025,
        td_rate: float = 0.5,
        td_threshold: float = 1.0,
    ):
        super().__init__()
        if len(kernels1) != len(filters1) or len(kernels2) != len(filters2):
            raise ValueError("each block needs one kernel size per filter count")
        self.embedding = nn.Embedding(num_chars, emb_dim, padding_idx=0)
        nn.init.uniform_(self.embedding.weight, -0.25, 0.25)  # "uniform distribution"
        with torch.no_grad():
            self.embedding.weight[0].zero_()

        def block(in_ch: int, kernels, filters) -> nn.Sequential:
            units = []
            for k, f in zip(kernels, filters):
                units.append(ConvUnit(in_ch, f, k, groups, eps, td_rate, td_threshold))
                in_ch = f
            return nn.Sequential(*units)

        self.block1 = block(emb_dim, kernels1, filters1)
        self.pool = nn.MaxPool1d(pool, ceil_mode=True)
        self.block2 = block(filters1[-1], kernels2, filters2)
        self.out_dim = filters1[-1] + filters2[-1]

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        b, t, k = chars.shape
        flat = chars.reshape(b * t, k)
        real = (flat != 0).any(dim=-1)  # padding tokens of the batch: skipped, feature 0
        x = self.embedding(flat[real]).transpose(1, 2)  # (N, emb, k)
        first = self.pool(self.block1(x))  # (N, 64, ceil(k/2))
        second = self.block2(first)  # (N, 16, ceil(k/2))
        words = torch.cat([first.max(dim=-1).values, second.max(dim=-1).values], dim=-1)
        out = words.new_zeros((b * t, self.out_dim))
        out[real] = words
        return out.view(b, t, self.out_dim)
