"""GMF's building blocks (``papers/gmf.txt``, section 3.4-3.5), one class or function per equation.

==================  =================================================  ============================
paper               what                                               here
==================  =================================================  ============================
eq. 1-2             F' = F + F (.) sigmoid(M_c(F) + M_s(F))            :class:`CrossScaleAttention`
eq. 3               channel branch: BN(MLP(AvgPool(F)))                :class:`ChannelAttention`
eq. 4               spatial branch: BN(f1x1(f3x3(f3x3(f1x1(F)))))      :class:`SpatialAttention`
eq. 5-6             structured mapping: Pool + 1x1 conv to one size    :class:`StructuredMapping`
eq. 7-8             dynamic gating g(l) = softmax(LeakyReLU(W_p ...))  :class:`DynamicGate`
eq. 9               V_gated(l) = sum_i g_i(l) V_i                      :func:`gated_sum`
eq. 11-13           visual prefix keys/values in BERT self-attention   :func:`prefix_self_attention`,
                                                                       :class:`PrefixProjection`,
                                                                       :func:`encode_with_prefix`
eq. 14-16           consistency heads + symmetric InfoNCE              :class:`ConsistencyHeads`,
                                                                       :func:`symmetric_info_nce`
==================  =================================================  ============================

Readings where the paper is vague (ours, stated in :mod:`mner_lib.models.gmf` too):

* The MLP of the channel branch has a ReLU between its two layers and the spatial branch ReLUs
  after its first three convolutions (the BAM design the CSA module follows); the dilation is 2
  (the maps are 7x7 here, BAM's 4 would mostly read padding).
* The hidden width C / r of both CSA branches is at least 8: EfficientNet's first stage has 24
  channels, and one or two ReLU units at random init are easily all dead, which silences the
  branch (its BN then normalises a constant to 0).
* BatchNorm on a training batch of one tweet uses the running statistics (a lone tweet has no
  batch statistics; PyTorch would raise).
* The prefix keys and values are used as they come out of W_phi (eq. 12): they are *not* passed
  through BERT's key/value projections (eq. 13 prepends phi_k, phi_v to K_l, V_l).
* W_phi keeps PyTorch's default initialisation (the paper gives none). Measured on 8 demo
  tweets with the untrained model, the 49 prefix keys then take 18-65% of the attention of every
  encoder layer (27-55% even with the key half at std 0.02 and the value half at zero: 49 keys
  at logit ~0 dilute the text's attention), so the pretrained encoder starts perturbed.
* What that costs depends on the learning rate of the new layers. The paper trains everything at
  5e-5, and so does our default now (``GMF_SPEC.training`` in :mod:`mner_lib.models.gmf`). Our first default trained
  the new layers (W_phi, CSA, gates, heads, emissions, CRF) at 1e-3 and BERT at 5e-5; on
  Twitter-2015 with 1000 training tweets and 3 epochs (189 updates) GMF then stayed at dev and
  test F1 0 (``results/budget_gmf_default-prefix-init/``), and removing the consistency loss did
  not help (one epoch, dev F1 0). At the paper's 5e-5 for every parameter the same GMF learns
  (``results/budget_gmf_lr5e-5/``, 3 seeds, with its ablations in ``budget_gmf_lr5e-5_wo-*``):
  the step size of the new layers, not the paper's design, kept GMF at 0 here. Which of them
  matters (likely W_phi, which writes into every layer's attention) is not isolated.
  ``GMFConfig.prefix_logit_bias`` (off by default; not the paper's) adds one learned offset per
  layer to the prefix logits, starting low so that the prefix opens as training finds it useful;
  it was our first answer (``results/budget_gmf_prefix-bias/``, at 1e-3: unstable across seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

STAGES = 4  # ResNet's four blocks (b = 4 in eq. 5-6)
MIN_HIDDEN = 8  # narrowest hidden width of the CSA branches (C / r is 1 for a 24-channel stage)


def _batch_norm(norm: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """``norm(x)``, but a training batch of one sample uses the running statistics."""
    if norm.training and x.shape[0] == 1:
        return F.batch_norm(
            x, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps
        )
    return norm(x)


# ----------------------------------------------------------------------------- eq. 1-4
class ChannelAttention(nn.Module):
    """Eq. 3: M_c(F) = BN(W_1 (W_0 AvgPool(F) + b_0) + b_1), a (B, C, 1, 1) map."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(MIN_HIDDEN, channels // reduction)
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
        )
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = features.mean(dim=(2, 3))  # AvgPool -> (B, C)
        return _batch_norm(self.norm, self.mlp(pooled))[:, :, None, None]


class SpatialAttention(nn.Module):
    """Eq. 4: M_s(F) = BN(f_3^1x1(f_2^3x3(f_1^3x3(f_0^1x1(F))))), a (B, 1, H, W) map.

    f_0 reduces C to C/r, f_1 and f_2 are dilated 3x3 convolutions, f_3 maps to one channel.
    """

    def __init__(self, channels: int, reduction: int = 16, dilation: int = 2):
        super().__init__()
        hidden = max(MIN_HIDDEN, channels // reduction)
        self.reduce = nn.Conv2d(channels, hidden, 1)  # f_0
        self.dilated = nn.ModuleList(
            nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation) for _ in range(2)
        )  # f_1, f_2
        self.out = nn.Conv2d(hidden, 1, 1)  # f_3
        self.norm = nn.BatchNorm2d(1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.reduce(features))
        for conv in self.dilated:
            x = F.relu(conv(x))
        return _batch_norm(self.norm, self.out(x))


class CrossScaleAttention(nn.Module):
    """Eq. 1-2: F' = F + F (.) sigmoid(M_c(F) + M_s(F)), the two maps broadcast to (C, H, W)."""

    def __init__(self, channels: int, reduction: int = 16, dilation: int = 2):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(channels, reduction, dilation)

    def attention_map(self, features: torch.Tensor) -> torch.Tensor:
        """M(F) of eq. 2, (B, C, H, W) in (0, 1)."""
        return torch.sigmoid(self.channel(features) + self.spatial(features))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features + features * self.attention_map(features)


# ----------------------------------------------------------------------------- eq. 5-6
class StructuredMapping(nn.Module):
    """Eq. 5-6: every stage pooled to ``grid`` x ``grid`` and mapped by a 1x1 conv to ``dim``
    channels; returns (B, S, grid*grid, dim) visual tokens V_1..V_S (S = 4 stages in GMF)."""

    def __init__(self, stage_channels: Sequence[int], dim: int, grid: int = 7):
        super().__init__()
        if not stage_channels:
            raise ValueError("StructuredMapping needs at least one stage")
        self.grid = grid
        self.convs = nn.ModuleList(nn.Conv2d(c, dim, 1) for c in stage_channels)

    def forward(self, stages: Sequence[torch.Tensor]) -> torch.Tensor:
        out = []
        for conv, stage in zip(self.convs, stages):
            if stage.shape[-2:] != (self.grid, self.grid):
                stage = F.adaptive_avg_pool2d(stage, self.grid)  # Pool (eq. 6)
            out.append(conv(stage).flatten(2).transpose(1, 2))  # (B, grid*grid, dim)
        return torch.stack(out, dim=1)


# ----------------------------------------------------------------------------- eq. 7-9
class DynamicGate(nn.Module):
    """Eq. 7-8: per encoder layer l, g(l) = softmax(LeakyReLU(W_p^(l) mean_i P(V_i))) over the
    4 stages. Returns (B, L, 4); every row sums to 1."""

    def __init__(self, dim: int, num_layers: int, stages: int = STAGES):
        super().__init__()
        self.num_layers, self.stages = num_layers, stages
        self.proj = nn.Linear(dim, num_layers * stages)  # W_p^(l) for every l at once

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pooled = tokens.mean(dim=2).mean(dim=1)  # P(V_i) (global average), then mean over i
        logits = F.leaky_relu(self.proj(pooled))  # gamma(l), eq. 7
        return logits.view(-1, self.num_layers, self.stages).softmax(dim=-1)  # eq. 8


def gated_sum(gates: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Eq. 9: V_gated(l) = sum_i g_i(l) V_i. gates (B, L, 4), tokens (B, 4, N, d) -> (B, L, N, d)."""
    return torch.einsum("bls,bsnd->blnd", gates, tokens)


# ----------------------------------------------------------------------------- eq. 11-13
class PrefixProjection(nn.Module):
    """Eq. 12: [phi_k^l, phi_v^l] = V~_gated(l) W_phi^l, one W_phi per encoder layer.

    Input (B, L, P, d_v); output two tensors (B, L, heads, P, head_dim).
    """

    def __init__(self, visual_dim: int, hidden: int, num_layers: int, num_heads: int):
        super().__init__()
        if hidden % num_heads:
            raise ValueError(f"hidden size {hidden} is not a multiple of {num_heads} heads")
        self.num_heads, self.head_dim = num_heads, hidden // num_heads
        self.proj = nn.ModuleList(nn.Linear(visual_dim, 2 * hidden) for _ in range(num_layers))

    def forward(self, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, p, _ = visual.shape
        keys, values = [], []
        # per layer, unbound rather than indexed: the backward of an index allocates and zeroes
        # a gradient the size of the whole input for each index (about 5% of a training step)
        for layer, proj in zip(visual.unbind(1), self.proj):
            kv = proj(layer).view(b, p, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            k, v = kv.unbind(0)
            keys.append(k)
            values.append(v)
        return torch.stack(keys, dim=1), torch.stack(values, dim=1)


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, K) bool (True = attend) -> (B, 1, 1, K) additive mask: 0 or the dtype's minimum."""
    return (1.0 - mask.to(dtype))[:, None, None, :] * torch.finfo(dtype).min


def prefix_self_attention(
    attention,
    hidden: torch.Tensor,
    text_mask: torch.Tensor,
    prefix_key: torch.Tensor | None = None,
    prefix_value: torch.Tensor | None = None,
    prefix_mask: torch.Tensor | None = None,
    prefix_bias: torch.Tensor | None = None,
    need_probs: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Eq. 11 and 13 with one transformers ``BertSelfAttention``'s own weights.

    Q_l, K_l, V_l = C W^Q, C W^K, C W^V (eq. 11); the prefix keys/values (B, heads, P, head_dim)
    are prepended: softmax(Q [phi_k; K]^T / sqrt(d)) [phi_v; V] (eq. 13). ``text_mask`` (B, S) and
    ``prefix_mask`` (B, P) are bool, True = may be attended to; a fully masked prefix gives
    exactly BERT's own self-attention. ``prefix_bias`` (a scalar tensor, not in the paper) is
    added to every prefix logit. Returns the context (B, S, hidden) and the attention
    probabilities (B, heads, S, P + S) (prefix positions first). Without ``need_probs`` (training:
    no attention map is drawn) the same softmax runs as PyTorch's fused scaled-dot-product kernel,
    which never materialises the probabilities, and None is returned in their place.
    """
    b, s, _ = hidden.shape
    heads, head_dim = attention.num_attention_heads, attention.attention_head_size

    def split(x: torch.Tensor) -> torch.Tensor:
        return x.view(b, s, heads, head_dim).transpose(1, 2)

    query = split(attention.query(hidden))
    key = split(attention.key(hidden))
    value = split(attention.value(hidden))
    mask = text_mask
    if prefix_key is not None:
        key = torch.cat([prefix_key.to(key.dtype), key], dim=2)
        value = torch.cat([prefix_value.to(value.dtype), value], dim=2)
        if prefix_mask is None:
            prefix_mask = text_mask.new_ones((b, prefix_key.shape[2]))
        mask = torch.cat([prefix_mask.to(text_mask.dtype), text_mask], dim=1)
    if not need_probs:
        bias = additive_mask(mask, query.dtype)  # (B, 1, 1, P + S)
        if prefix_key is not None and prefix_bias is not None:
            p = prefix_key.shape[2]
            bias = torch.cat([bias[..., :p] + prefix_bias.to(bias.dtype), bias[..., p:]], dim=-1)
        dropout = attention.dropout.p if attention.training else 0.0
        context = F.scaled_dot_product_attention(
            query, key, value, attn_mask=bias, dropout_p=dropout, scale=attention.scaling
        )
        return context.transpose(1, 2).reshape(b, s, heads * head_dim), None
    scores = torch.matmul(query, key.transpose(2, 3)) * attention.scaling
    if prefix_key is not None and prefix_bias is not None:
        p = prefix_key.shape[2]
        scores = torch.cat([scores[..., :p] + prefix_bias, scores[..., p:]], dim=-1)
    scores = scores + additive_mask(mask, scores.dtype)
    probs = scores.softmax(dim=-1)
    context = torch.matmul(attention.dropout(probs), value)
    return context.transpose(1, 2).reshape(b, s, heads * head_dim), probs


def encode_with_prefix(
    bert,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    prefix_keys: torch.Tensor | None = None,
    prefix_values: torch.Tensor | None = None,
    prefix_mask: torch.Tensor | None = None,
    prefix_bias: torch.Tensor | None = None,
    need_maps: bool = True,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run a transformers ``BertModel`` layer by layer, each self-attention with its own visual
    prefix (``prefix_keys``/``prefix_values``: (B, L, heads, P, head_dim), or None for plain BERT).

    The layer's weights are BERT's own (``attention.self`` for eq. 11, ``attention.output``, the
    feed-forward block), so pretrained weights load unchanged. Returns the last hidden states
    (B, S, hidden) and per layer the attention probabilities (B, heads, S, P + S). ``prefix_bias``
    (L,): one learned offset per layer on the prefix logits (an option, not the paper's).
    Without ``need_maps`` the maps are not computed (the fused kernel) and the list is empty.
    """
    hidden = bert.embeddings(input_ids=input_ids)
    text_mask = attention_mask.to(torch.bool)
    maps: list[torch.Tensor] = []
    layers = bert.encoder.layer
    keys = prefix_keys.unbind(1) if prefix_keys is not None else [None] * len(layers)
    values = prefix_values.unbind(1) if prefix_values is not None else [None] * len(layers)
    for index, layer in enumerate(layers):
        pk, pv = keys[index], values[index]
        bias = prefix_bias[index] if prefix_bias is not None else None
        context, probs = prefix_self_attention(
            layer.attention.self, hidden, text_mask, pk, pv, prefix_mask, bias, need_maps
        )
        attended = layer.attention.output(context, hidden)
        hidden = layer.feed_forward_chunk(attended)
        if probs is not None:
            maps.append(probs)
    return hidden, maps


# ----------------------------------------------------------------------------- eq. 14-16
class ConsistencyHeads(nn.Module):
    """Two independent MLPs mapping C_g (text) and P_g (image) into one d-dim space (sec. 3.5)."""

    def __init__(self, text_dim: int, image_dim: int, dim: int = 256):
        super().__init__()
        self.text = nn.Sequential(
            nn.Linear(text_dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim)
        )
        self.image = nn.Sequential(
            nn.Linear(image_dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim)
        )

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.text(text), self.image(image)


def cosine_similarity_matrix(text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """(B, d), (B, d) -> (B, B) cosine similarities, rows = texts, columns = images."""
    return F.normalize(text, dim=-1) @ F.normalize(image, dim=-1).T


def symmetric_info_nce(
    text: torch.Tensor, image: torch.Tensor, temperature: float = 0.21, lam: float = 0.7
) -> torch.Tensor:
    """Eq. 14-16: (1/N) sum_i [lambda L_i^(P->C) + (1 - lambda) L_i^(C->P)].

    L_i^(P->C) = -log exp(cos(P_i, C_i)/tau) / sum_k exp(cos(P_i, C_k)/tau) (image to text, eq. 14);
    L_i^(C->P) the same with the roles swapped (eq. 15). The matched pair of row i is column i.
    """
    if text.shape != image.shape or text.dim() != 2:
        raise ValueError(
            f"text and image embeddings must both be (batch, dim); got {tuple(text.shape)} "
            f"and {tuple(image.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logits = cosine_similarity_matrix(text, image) / temperature  # [i, k] = cos(C_i, P_k) / tau
    target = torch.arange(text.shape[0], device=text.device)
    text_to_image = F.cross_entropy(logits, target)  # eq. 15, averaged over i
    image_to_text = F.cross_entropy(logits.T, target)  # eq. 14
    return lam * image_to_text + (1.0 - lam) * text_to_image


# ----------------------------------------------------------------------------- builders
def stage_channels(backbone: str) -> tuple[int, ...]:
    """The channels of the four CNN stages ``backbone`` gives (the pyramid VCG maps)."""
    from mner_lib.images.backbones import STAGE_CHANNELS
    from mner_lib.text.data import unknown

    if backbone not in STAGE_CHANNELS:
        raise unknown("image backbone", backbone, STAGE_CHANNELS)
    return STAGE_CHANNELS[backbone]


def build_encoder(config: Any, pretrained: bool):
    """The text encoder of a :class:`mner_lib.models.gmf.GMFConfig` (architecture overrides
    only with random weights)."""
    from mner_lib.text.encoders import build_text_encoder

    overrides: dict[str, int] = {}
    if config.encoder_layers is not None:
        overrides["num_hidden_layers"] = config.encoder_layers
    if config.hidden is not None:
        overrides["hidden_size"] = config.hidden
        overrides["intermediate_size"] = 4 * config.hidden
    if config.heads is not None:
        overrides["num_attention_heads"] = config.heads
    if overrides and config.pretrained:
        raise ValueError(
            f"GMFConfig: encoder_layers/hidden/heads ({sorted(overrides)}) change the architecture "
            "and need pretrained=False"
        )
    return build_text_encoder(config.encoder, pretrained=pretrained, **overrides)
