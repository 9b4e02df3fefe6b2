"""GMF building blocks: cross-scale attention, mapping, gating, the visual prefix, InfoNCE."""

from __future__ import annotations

import math

import pytest
import torch

from mner_lib.models.gmf_blocks import (
    ChannelAttention,
    CrossScaleAttention,
    DynamicGate,
    PrefixProjection,
    SpatialAttention,
    StructuredMapping,
    encode_with_prefix,
    gated_sum,
    prefix_self_attention,
    symmetric_info_nce,
)


@pytest.fixture(scope="module")
def tiny_bert():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    config._attn_implementation = "eager"
    return BertModel(config).eval()


def test_cross_scale_attention_is_residual_with_a_map_in_unit_interval():
    torch.manual_seed(0)
    csa = CrossScaleAttention(32, reduction=4).eval()
    f = torch.randn(3, 32, 7, 7)
    m = csa.attention_map(f)
    assert m.shape == f.shape
    assert bool((m > 0).all() and (m < 1).all())
    torch.testing.assert_close(csa(f), f + f * m)  # eq. 1
    assert ChannelAttention(32, 4)(f).shape == (3, 32, 1, 1)  # eq. 3
    assert SpatialAttention(32, 4).eval()(f).shape == (3, 1, 7, 7)  # eq. 4


def test_cross_scale_attention_trains_on_a_batch_of_one():
    csa = CrossScaleAttention(8, reduction=4).train()
    out = csa(torch.randn(1, 8, 7, 7))  # plain BatchNorm would raise here
    assert out.shape == (1, 8, 7, 7) and torch.isfinite(out).all()


def test_structured_mapping_pools_every_stage_to_one_size():
    mapping = StructuredMapping([4, 6, 8, 10], dim=5, grid=2)
    stages = [torch.randn(2, c, s, s) for c, s in zip([4, 6, 8, 10], [28, 14, 7, 7])]
    tokens = mapping(stages)
    assert tokens.shape == (2, 4, 4, 5)
    # the 1x1 conv after average pooling: token 0 of stage 3 = conv(mean of its top-left 4x4 block)
    pooled = torch.nn.functional.adaptive_avg_pool2d(stages[3], 2)
    expect = mapping.convs[3](pooled)[:, :, 0, 0]
    torch.testing.assert_close(tokens[:, 3, 0], expect)


def test_dynamic_gate_is_a_distribution_per_layer_and_gated_sum_weights_stages():
    torch.manual_seed(0)
    gate = DynamicGate(dim=5, num_layers=3)
    tokens = torch.randn(2, 4, 6, 5)
    g = gate(tokens)
    assert g.shape == (2, 3, 4)
    torch.testing.assert_close(g.sum(-1), torch.ones(2, 3))
    fused = gated_sum(g, tokens)
    manual = sum(g[:, 1, i, None, None] * tokens[:, i] for i in range(4))
    torch.testing.assert_close(fused[:, 1], manual)


def test_prefix_projection_shapes():
    proj = PrefixProjection(visual_dim=5, hidden=16, num_layers=2, num_heads=4)
    visual = torch.randn(3, 2, 7, 5)
    k, v = proj(visual)
    assert k.shape == v.shape == (3, 2, 4, 7, 4)
    # eq. 12 per layer: [phi_k, phi_v] = V W_phi^l, each split into heads (B, heads, P, head_dim)
    for layer in range(2):
        phi = proj.proj[layer](visual[:, layer]).view(3, 7, 2, 4, 4)
        torch.testing.assert_close(k[:, layer], phi[:, :, 0].transpose(1, 2))
        torch.testing.assert_close(v[:, layer], phi[:, :, 1].transpose(1, 2))
    with pytest.raises(ValueError, match="multiple of"):
        PrefixProjection(5, 18, 2, 4)


def test_prefix_attention_without_prefix_is_bert_self_attention(tiny_bert):
    torch.manual_seed(1)
    attn = tiny_bert.encoder.layer[0].attention.self
    hidden = torch.randn(2, 5, 16)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    additive = (1.0 - mask.float())[:, None, None, :] * torch.finfo(torch.float32).min
    with torch.no_grad():
        ours, probs = prefix_self_attention(attn, hidden, mask)
        theirs, _ = attn(hidden, attention_mask=additive)
    torch.testing.assert_close(ours, theirs)
    assert float(probs[1, :, :, 3:].abs().max()) == 0.0  # padding gets no weight


def test_prefix_attention_attends_to_real_prefix_only():
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertSelfAttention

    config = BertConfig(hidden_size=8, num_attention_heads=2)
    attn = BertSelfAttention(config).eval()
    hidden = torch.randn(1, 3, 8)
    pk, pv = torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4)
    pmask = torch.tensor([[True, False, True, False]])
    with torch.no_grad():
        _, probs = prefix_self_attention(
            attn, hidden, torch.ones(1, 3, dtype=torch.bool), pk, pv, pmask
        )
    assert probs.shape == (1, 2, 3, 7)
    torch.testing.assert_close(probs.sum(-1), torch.ones(1, 2, 3))
    assert float(probs[..., [1, 3]].abs().max()) == 0.0 and float(probs[..., [0, 2]].min()) > 0


def test_encode_with_masked_prefix_equals_plain_bert(tiny_bert):
    torch.manual_seed(2)
    ids = torch.randint(1, 50, (2, 6))
    att = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    plain = tiny_bert(input_ids=ids, attention_mask=att).last_hidden_state
    none, _ = encode_with_prefix(tiny_bert, ids, att)
    keys, values = torch.randn(2, 2, 4, 3, 4), torch.randn(2, 2, 4, 3, 4)
    off = torch.zeros(2, 3, dtype=torch.bool)
    masked, maps = encode_with_prefix(tiny_bert, ids, att, keys, values, off)
    real = att.bool()
    torch.testing.assert_close(none[real], plain[real], atol=1e-6, rtol=0)
    torch.testing.assert_close(masked[real], plain[real], atol=1e-6, rtol=0)
    assert len(maps) == 2 and maps[0].shape == (2, 4, 6, 9)
    live, _ = encode_with_prefix(tiny_bert, ids, att, keys, values, ~off)
    assert (live[real] - plain[real]).abs().max() > 1e-3  # the prefix does change the text


def _hand_info_nce(text, image, tau, lam):
    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(
            sum(x * x for x in a) * sum(y * y for y in b)
        )

    n = len(text)
    total = 0.0
    for i in range(n):
        i2t = -math.log(
            math.exp(cos(image[i], text[i]) / tau)
            / sum(math.exp(cos(image[i], text[k]) / tau) for k in range(n))
        )  # eq. 14
        t2i = -math.log(
            math.exp(cos(text[i], image[i]) / tau)
            / sum(math.exp(cos(text[i], image[k]) / tau) for k in range(n))
        )  # eq. 15
        total += lam * i2t + (1 - lam) * t2i
    return total / n  # eq. 16


def test_info_nce_equals_hand_computation():
    text = [[1.0, 0.0, 2.0], [0.5, -1.0, 0.0], [0.0, 1.0, 1.0]]
    image = [[0.2, 0.1, 1.0], [1.0, 1.0, -1.0], [-0.3, 0.8, 0.5]]
    for tau, lam in ((0.21, 0.7), (0.174, 0.7), (1.0, 0.0), (0.5, 1.0)):
        got = symmetric_info_nce(torch.tensor(text), torch.tensor(image), tau, lam)
        assert float(got) == pytest.approx(_hand_info_nce(text, image, tau, lam), rel=1e-5)
    # lambda weights the two directions: they differ on this asymmetric batch
    a = symmetric_info_nce(torch.tensor(text), torch.tensor(image), 0.21, 1.0)
    b = symmetric_info_nce(torch.tensor(text), torch.tensor(image), 0.21, 0.0)
    assert abs(float(a) - float(b)) > 1e-3


def test_info_nce_falls_when_matched_pairs_are_made_similar():
    torch.manual_seed(3)
    text, image = torch.randn(8, 16), torch.randn(8, 16)
    before = symmetric_info_nce(text, image)
    closer = symmetric_info_nce(text, 0.5 * image + 0.5 * text)
    matched = symmetric_info_nce(text, text.clone())
    assert float(matched) < float(closer) < float(before)
    assert float(matched) < 0.25  # near the floor: 8 random directions at tau = 0.21


def test_info_nce_rejects_bad_input():
    with pytest.raises(ValueError, match="batch, dim"):
        symmetric_info_nce(torch.randn(3, 4), torch.randn(2, 4))
    with pytest.raises(ValueError, match="temperature"):
        symmetric_info_nce(torch.randn(3, 4), torch.randn(3, 4), temperature=0.0)
