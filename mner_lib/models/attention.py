"""Shared attention blocks: HSN's multi-head hierarchical attention, Luong attention, and modality
attention over a set of modality features (CWI + attention, TriMod).

Shapes: ``B`` tweets, ``T`` words, ``K`` image regions, ``M`` modalities, ``e`` heads. Masks are
boolean, True where a position is real.

Hierarchical attention (HSN, Tian et al. 2021, eqs. 8-13), for *attended* items ``X`` (N of them:
the image regions V in the text-to-image unit) guided by items ``Y`` (the words H)::

    M = X Y^T                           (eq. 8)   scores, (N, n)
    A[:, t] = softmax_N(M[:, t])        (eq. 9-10) column-wise: each word's distribution over X
    beta(i) = softmax_n(M[i, :])        (eq. 11)  row-wise: each item's distribution over words
    beta = mean_i beta(i)               (eq. 12)  averaged text-level attention, (n,)
    s = A beta                          (eq. 13)  final attention over X, (N,), sums to 1

(eq. 13 prints ``A^T beta`` with A stored one way round; the product that gives one weight per
attended item is ``A beta`` with A as (N, n), which is what the text describes.) The image-to-text
unit is the same function with the roles swapped: X = the words H, Y = the guided image G.

Multi-head process (eqs. 14-15): head i runs the hierarchical attention on ``X W_i^x`` and
``Y W_i^y``; each head's weights go through a softmax, and the heads are averaged::

    s_final = 1/e sum_i softmax(head_i)

Read literally (the default, ``head_softmax=True``), the softmax is applied to ``head_i``, which is
already a distribution, so it flattens each head towards uniform (the largest possible ratio
between two weights is ``e``). ``head_softmax=False`` averages the heads' distributions directly.

Luong attention (the HSN ablation "w/o HA"): the "general" score ``M = X W_a Y^T`` (Luong et al.
2015) with a column-wise softmax, each word's distribution over X, averaged uniformly over the
words: the hierarchical text-level attention beta is replaced by a plain mean.

Modality attention (Moon et al. 2018; TriMod eqs. 11-12): every modality feature ``f_m`` is
projected to one size, ``p_m = W_m f_m + b_m``; ``a_m = u^T tanh(W p_m + b)``;
``w = softmax_m(a)``; the fused feature is ``sum_m w_m p_m`` (``= sum gamma_m p_m / sum gamma_m``
with ``gamma_m = exp(a_m)``). Computed per token.
"""

from __future__ import annotations

import torch
from torch import nn

ATTENTION_KINDS = ("hierarchical", "luong")


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, dim: int) -> torch.Tensor:
    """Softmax over ``dim`` that gives masked positions weight 0 (a fully masked slice gives
    zeros, never NaN). ``mask`` broadcasts against ``scores``; True = real."""
    if mask is None:
        return torch.softmax(scores, dim=dim)
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=dim)
    return weights * mask.to(weights.dtype)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor | None, dim: int) -> torch.Tensor:
    """Mean of ``x`` over ``dim`` counting only real positions (mask broadcasts against x)."""
    if mask is None:
        return x.mean(dim=dim)
    m = mask.to(x.dtype)
    return (x * m).sum(dim=dim) / m.sum(dim=dim).clamp_min(1.0)


def hierarchical_attention(
    attended: torch.Tensor,
    guide: torch.Tensor,
    attended_mask: torch.Tensor | None = None,
    guide_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """HSN eqs. 8-13 for one head: the final attention over ``attended`` (B, N, d) guided by
    ``guide`` (B, n, d). Returns (B, N) weights that sum to 1 over the real attended items."""
    scores = attended @ guide.transpose(1, 2)  # M, (B, N, n)  eq. 8
    am = attended_mask.unsqueeze(2) if attended_mask is not None else None  # (B, N, 1)
    gm = guide_mask.unsqueeze(1) if guide_mask is not None else None  # (B, 1, n)
    image_level = masked_softmax(scores, am, dim=1)  # A: column-wise over N   eq. 9-10
    text_level = masked_softmax(scores, gm, dim=2)  # beta(i): row-wise over n   eq. 11
    beta = _masked_mean(text_level, am, dim=1)  # (B, n)   eq. 12
    return (image_level @ beta.unsqueeze(2)).squeeze(2)  # s = A beta, (B, N)   eq. 13


def luong_attention(
    attended: torch.Tensor,
    guide: torch.Tensor,
    weight: torch.Tensor,
    attended_mask: torch.Tensor | None = None,
    guide_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Luong "general" attention, pooled over the guide: ``score = X W_a Y^T``, softmax over
    the attended items for each guide item, then a plain mean over the real guide items.
    ``weight`` is W_a (d, d). Returns (B, N) weights summing to 1 over the real attended items."""
    scores = (attended @ weight) @ guide.transpose(1, 2)  # (B, N, n)
    am = attended_mask.unsqueeze(2) if attended_mask is not None else None
    per_guide = masked_softmax(scores, am, dim=1)  # each guide item's distribution over N
    gm = guide_mask.unsqueeze(1) if guide_mask is not None else None
    return _masked_mean(per_guide, gm, dim=2)  # (B, N)


class MultiHeadHierarchicalAttention(nn.Module):
    """HSN's multi-head hierarchical attention (MHA, eqs. 8-15) or, with ``kind="luong"``, the
    same multi-head process around Luong attention (the "w/o HA" ablation).

    ``attended_dim`` / ``guide_dim``: input sizes; ``heads`` e; ``head_dim``: the size each head
    projects to (W_i^v, W_i^h are ``dim x head_dim``, no bias).

    forward(attended (B, N, da), guide (B, n, dg), attended_mask, guide_mask) ->
    (weights (B, N), per_head (B, e, N)): ``weights`` is s_final (eq. 14), a distribution over the
    real attended items; ``per_head`` are the heads' own attentions s_i before the eq.-14 softmax.
    """

    def __init__(
        self,
        attended_dim: int,
        guide_dim: int,
        heads: int = 8,
        head_dim: int = 50,
        kind: str = "hierarchical",
        head_softmax: bool = True,
    ):
        super().__init__()
        if kind not in ATTENTION_KINDS:
            raise ValueError(
                f"unknown attention kind {kind!r}; valid: {', '.join(ATTENTION_KINDS)}"
            )
        if heads < 1 or head_dim < 1:
            raise ValueError(
                f"heads and head_dim must be >= 1, got heads={heads}, head_dim={head_dim}"
            )
        self.heads, self.head_dim, self.kind, self.head_softmax = (
            heads,
            head_dim,
            kind,
            head_softmax,
        )
        self.attended_proj = nn.Linear(attended_dim, heads * head_dim, bias=False)  # W_i^v, eq. 15
        self.guide_proj = nn.Linear(guide_dim, heads * head_dim, bias=False)  # W_i^h, eq. 15
        if kind == "luong":
            # W_a of Luong's "general" score, one per head
            self.luong_weight = nn.Parameter(torch.empty(heads, head_dim, head_dim))
            nn.init.xavier_uniform_(self.luong_weight)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape  # (B, n, e*dh) -> (B*e, n, dh)
        return (
            x.view(b, n, self.heads, self.head_dim).transpose(1, 2).reshape(b * self.heads, n, -1)
        )

    @staticmethod
    def _repeat(mask: torch.Tensor | None, heads: int) -> torch.Tensor | None:
        return None if mask is None else mask.repeat_interleave(heads, dim=0)

    def forward(
        self,
        attended: torch.Tensor,
        guide: torch.Tensor,
        attended_mask: torch.Tensor | None = None,
        guide_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.attend(
            self.attended_proj(attended), self.guide_proj(guide), attended_mask, guide_mask
        )

    def attend(
        self,
        attended_projected: torch.Tensor,
        guide_projected: torch.Tensor,
        attended_mask: torch.Tensor | None = None,
        guide_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` on inputs already projected by ``attended_proj`` and ``guide_proj``
        (B, N, e*dh) and (B, n, e*dh). Both projections are linear without bias, so a caller can
        project each distinct image once and index or scale the result (HSN does)."""
        b, n_att, _ = attended_projected.shape
        x = self._split(attended_projected)  # (B*e, N, dh)
        y = self._split(guide_projected)  # (B*e, n, dh)
        am = self._repeat(attended_mask, self.heads)
        gm = self._repeat(guide_mask, self.heads)
        if self.kind == "hierarchical":
            per_head = hierarchical_attention(x, y, am, gm)
        else:
            w = self.luong_weight.repeat(b, 1, 1)  # (B*e, dh, dh), head-major within a tweet
            per_head = luong_attention(x, y, w, am, gm)
        per_head = per_head.view(b, self.heads, n_att)  # s_i, (B, e, N)
        if self.head_softmax:
            head_mask = attended_mask.unsqueeze(1) if attended_mask is not None else None
            weights = masked_softmax(per_head, head_mask, dim=2).mean(dim=1)  # eq. 14
        else:
            weights = per_head.mean(dim=1)
        return weights, per_head


class ModalityAttention(nn.Module):
    """Attention over a set of modality features, per token (Moon et al. 2018; TriMod eq. 11-12).

    ``dims``: the size of each modality's feature; ``out_dim``: the common size they are projected
    to. forward(features: list of (B, T, d_i), mask (B, T) bool or None) ->
    (fused (B, T, out_dim), weights (B, T, M)). The weights are a softmax over the M modalities at
    every real position; at padded positions weights and fused features are 0.
    """

    def __init__(self, dims: list[int], out_dim: int, attn_dim: int | None = None):
        super().__init__()
        if len(dims) < 2:
            raise ValueError(f"ModalityAttention needs at least two modalities, got dims={dims}")
        self.dims, self.out_dim = list(dims), out_dim
        self.project = nn.ModuleList(nn.Linear(d, out_dim) for d in dims)  # p_m = W_m f_m + b_m
        attn_dim = attn_dim or out_dim
        self.score_hidden = nn.Linear(out_dim, attn_dim)  # W, b
        self.score = nn.Linear(attn_dim, 1, bias=False)  # u

    def forward(
        self, features: list[torch.Tensor], mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if len(features) != len(self.dims):
            raise ValueError(f"expected {len(self.dims)} modality features, got {len(features)}")
        for i, (f, d) in enumerate(zip(features, self.dims)):
            if f.dim() != 3 or f.shape[-1] != d:
                raise ValueError(f"modality {i}: expected (B, T, {d}), got {tuple(f.shape)}")
        projected = torch.stack([p(f) for p, f in zip(self.project, features)], dim=2)  # (B,T,M,o)
        scores = self.score(torch.tanh(self.score_hidden(projected))).squeeze(-1)  # a_m, (B,T,M)
        weights = torch.softmax(scores, dim=-1)  # gamma_m / sum gamma
        if mask is not None:
            weights = weights * mask.unsqueeze(-1).to(weights.dtype)
        fused = (weights.unsqueeze(-1) * projected).sum(dim=2)
        return fused, weights
