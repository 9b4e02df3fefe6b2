"""Attention blocks: HSN's hierarchical attention (eqs. 8-15), Luong attention, modality attention."""

from __future__ import annotations

import pytest
import torch

from mner_lib.models.attention import (
    ModalityAttention,
    MultiHeadHierarchicalAttention,
    hierarchical_attention,
    luong_attention,
    masked_softmax,
)


def reference_hierarchical(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eqs. 8-13 for one unbatched example, written with loops over the paper's indices."""
    n_att, n_guide = x.shape[0], y.shape[0]
    m = torch.empty(n_att, n_guide)
    for i in range(n_att):
        for j in range(n_guide):
            m[i, j] = x[i] @ y[j]  # eq. 8
    a = torch.stack([torch.softmax(m[:, t], dim=0) for t in range(n_guide)], dim=1)  # eq. 9-10
    beta = sum(torch.softmax(m[i, :], dim=0) for i in range(n_att)) / n_att  # eq. 11-12
    return torch.stack([sum(a[k, t] * beta[t] for t in range(n_guide)) for k in range(n_att)])


def test_masked_softmax_zeroes_masked_positions_and_never_gives_nan():
    scores = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.1, 9.0]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    w = masked_softmax(scores, mask, dim=-1)
    assert torch.allclose(w[0, :2], torch.softmax(torch.tensor([1.0, 2.0]), 0))
    assert w[0, 2] == 0
    assert torch.equal(w[1], torch.zeros(3))  # fully masked row: zeros, not NaN


def test_hierarchical_attention_matches_the_equations():
    torch.manual_seed(0)
    x, y = torch.randn(2, 5, 4), torch.randn(2, 3, 4)
    s = hierarchical_attention(x, y)
    for b in range(2):
        assert torch.allclose(s[b], reference_hierarchical(x[b], y[b]), atol=1e-6)
    assert torch.allclose(s.sum(-1), torch.ones(2), atol=1e-6)


def test_hierarchical_attention_ignores_padding_on_both_sides():
    torch.manual_seed(1)
    x, y = torch.randn(1, 4, 6), torch.randn(1, 3, 6)
    alone = hierarchical_attention(x, y)
    # pad the guide (words) with junk: weights over x unchanged
    y_pad = torch.cat([y, 5 * torch.randn(1, 2, 6)], dim=1)
    y_mask = torch.tensor([[True, True, True, False, False]])
    assert torch.allclose(hierarchical_attention(x, y_pad, None, y_mask), alone, atol=1e-6)
    # pad the attended side: padded items get weight 0, real ones keep theirs
    x_pad = torch.cat([x, 5 * torch.randn(1, 3, 6)], dim=1)
    x_mask = torch.tensor([[True] * 4 + [False] * 3])
    s = hierarchical_attention(x_pad, y, x_mask, None)
    assert torch.allclose(s[0, :4], alone[0], atol=1e-6)
    assert torch.equal(s[0, 4:], torch.zeros(3))


def test_luong_attention_is_a_mean_of_per_word_distributions():
    torch.manual_seed(2)
    x, y, w = torch.randn(1, 5, 4), torch.randn(1, 3, 4), torch.randn(1, 4, 4)
    s = luong_attention(x, y, w)
    expected = torch.softmax((x[0] @ w[0]) @ y[0].T, dim=0).mean(dim=1)
    assert torch.allclose(s[0], expected, atol=1e-6)
    assert torch.allclose(s.sum(-1), torch.ones(1), atol=1e-6)


@pytest.mark.parametrize("kind", ["hierarchical", "luong"])
@pytest.mark.parametrize("head_softmax", [True, False])
def test_multi_head_weights_are_distributions_over_real_items(kind, head_softmax):
    torch.manual_seed(3)
    mha = MultiHeadHierarchicalAttention(
        6, 5, heads=3, head_dim=4, kind=kind, head_softmax=head_softmax
    )
    words, regions = torch.randn(2, 7, 6), torch.randn(2, 9, 5)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    weights, per_head = mha(words, regions, mask, None)
    assert weights.shape == (2, 7) and per_head.shape == (2, 3, 7)
    assert torch.allclose(weights.sum(-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(per_head.sum(-1), torch.ones(2, 3), atol=1e-5)
    assert torch.equal(weights[1, 4:], torch.zeros(3))
    if head_softmax:  # eq. 14: softmax on each head (over the real items), then the mean
        expected = torch.stack(
            [masked_softmax(per_head[b], mask[b].unsqueeze(0), dim=-1).mean(0) for b in range(2)]
        )
    else:
        expected = per_head.mean(dim=1)
    assert torch.allclose(weights, expected, atol=1e-6)


def test_head_softmax_flattens_each_head_as_eq_14_says():
    """softmax of a distribution: the largest ratio between two weights is at most e."""
    torch.manual_seed(4)
    mha = MultiHeadHierarchicalAttention(8, 8, heads=1, head_dim=8)
    with torch.no_grad():
        mha.attended_proj.weight.mul_(20)  # sharpen the head's own attention
    weights, per_head = mha(torch.randn(1, 10, 8), torch.randn(1, 4, 8))
    assert per_head.max() / per_head.min() > 10
    assert weights.max() / weights.min() <= torch.e + 1e-4


def test_multi_head_rejects_unknown_kind():
    with pytest.raises(ValueError, match="valid: hierarchical, luong"):
        MultiHeadHierarchicalAttention(4, 4, kind="bahdanau")


def test_modality_attention_weights_fused_sum_and_padding():
    torch.manual_seed(5)
    att = ModalityAttention([3, 5, 2], out_dim=4)
    feats = [torch.randn(2, 6, 3), torch.randn(2, 6, 5), torch.randn(2, 6, 2)]
    mask = torch.tensor([[True] * 6, [True] * 2 + [False] * 4])
    fused, weights = att(feats, mask)
    assert fused.shape == (2, 6, 4) and weights.shape == (2, 6, 3)
    assert torch.allclose(weights[mask].sum(-1), torch.ones(int(mask.sum())), atol=1e-6)
    assert torch.equal(weights[~mask], torch.zeros(int((~mask).sum()), 3))
    assert torch.equal(fused[~mask], torch.zeros(int((~mask).sum()), 4))
    projected = torch.stack([p(f) for p, f in zip(att.project, feats)], dim=2)
    assert torch.allclose(fused[mask], (weights.unsqueeze(-1) * projected).sum(2)[mask], atol=1e-6)


def test_modality_attention_checks_its_inputs():
    att = ModalityAttention([3, 5], out_dim=4)
    with pytest.raises(ValueError, match="expected 2 modality features"):
        att([torch.randn(1, 2, 3)])
    with pytest.raises(ValueError, match=r"modality 1: expected \(B, T, 5\)"):
        att([torch.randn(1, 2, 3), torch.randn(1, 2, 4)])
    with pytest.raises(ValueError, match="at least two"):
        ModalityAttention([3], out_dim=4)
