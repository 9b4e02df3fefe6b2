"""HSN (mner_lib.models.hsn): shapes, masks, gradients, ablation switches, save/load, the probe."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mner_lib.images.api import ImageBatch
from mner_lib.models import build_model, get_model_class
from mner_lib.models.base import Tagger
from mner_lib.models.hsn import HSN, HSNConfig
from mner_lib.text.data import Tweet
from tests.probes import train_probe

FEAT = 8  # tiny backbone region size
TINY = dict(
    use_glove=False,
    word_dim=8,
    char_dim=6,
    char_filters=6,
    pos_dim=4,
    hidden=12,
    image_feature_dim=FEAT,
    image_dim=10,
    heads=2,
)


def images_for(n: int, seed: int = 0, regions: int = 49) -> ImageBatch:
    g = torch.Generator().manual_seed(seed)
    return ImageBatch(
        global_vec=torch.randn(n, FEAT, generator=g),
        regions=torch.randn(n, regions, FEAT, generator=g),
        pyramid=[],
        labels=[[("tench", 0.5)] * 5 for _ in range(n)],
        flags=[""] * n,
    )


def make(demo, **options) -> HSN:
    torch.manual_seed(0)
    model = build_model("hsn", demo.train, {**TINY, **options})
    model.eval()
    return model


def test_registered_and_defaults_are_the_papers():
    assert get_model_class("hsn") is HSN and HSN.uses_images
    c = HSNConfig()
    assert (c.char_dim, c.pos_dim, c.image_dim, c.hidden, c.heads) == (50, 50, 400, 400, 8)
    assert (c.interaction, c.attention, c.dropout) == ("gate", "hierarchical", 0.5)
    assert c.resolved_head_dim == 50


def test_shapes_and_attention_outputs(demo):
    model = make(demo)
    tweets = demo.train[:3]
    batch = model.collate(tweets, images_for(3))
    out = model(batch, decode=True, return_attention=True)
    b, t = batch["mask"].shape
    assert out.emissions.shape == (b, t, 9)
    assert out.loss is not None and out.loss.dim() == 0
    assert [len(p) for p in out.predictions] == [len(tw.tokens) for tw in tweets]
    a = out.attentions
    assert a["text_to_image"].shape == (b, 49) and a["text_to_image_heads"].shape == (b, 2, 49)
    assert a["image_to_text"].shape == (b, t) and a["image_to_text_heads"].shape == (b, 2, t)
    assert a["gate"].shape == (b, t) and a["gate_full"].shape == (b, t, 12)
    # distributions where the equations say so: s_img over regions, s_sen over real words
    assert torch.allclose(a["text_to_image"].sum(-1), torch.ones(b), atol=1e-5)
    assert torch.allclose(a["image_to_text"].sum(-1), torch.ones(b), atol=1e-5)
    assert torch.equal(a["image_to_text"][~batch["mask"]], torch.zeros(int((~batch["mask"]).sum())))
    real_gate = a["gate"][batch["mask"]]
    assert bool(((real_gate > 0) & (real_gate < 1)).all())
    # POS classes 1..10 on real tokens, 0 on padding
    pos = batch["pos"]
    assert bool((pos[batch["mask"]] >= 1).all() and (pos[batch["mask"]] <= 10).all())
    assert bool((pos[~batch["mask"]] == 0).all())


def test_padding_never_changes_a_real_tokens_scores(demo):
    model = make(demo)
    short = min(demo.train[:40], key=len)
    long = max(demo.train[:40], key=len)
    assert len(long) > len(short)
    img = images_for(2, seed=3)
    alone_imgs = dataclasses.replace(
        img, regions=img.regions[:1], global_vec=img.global_vec[:1], flags=[""]
    )
    alone_imgs.labels = img.labels[:1]
    with torch.no_grad():
        alone = model(model.collate([short], alone_imgs), return_attention=True)
        both = model(model.collate([short, long], img), return_attention=True)
    n = len(short)
    assert torch.allclose(alone.emissions[0, :n], both.emissions[0, :n], atol=1e-5)
    assert torch.allclose(
        alone.attentions["text_to_image"][0], both.attentions["text_to_image"][0], atol=1e-6
    )


def test_gradients_reach_every_parameter(demo):
    model = make(demo)
    model.train()
    out = model(model.collate(demo.train[:4], images_for(4)))
    out.loss.backward()
    missing = [
        n for n, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)
    ]
    assert missing == []


def _shared_state(source: Tagger, target: Tagger) -> None:
    """Copy every parameter whose name and shape match from source into target."""
    own = target.state_dict()
    same = {k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape}
    target.load_state_dict(same, strict=False)


def _parts(model: HSN, batch) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        out = model(batch, return_attention=True)
        return {"H": model.text_features(batch), **out.attentions, "emissions": out.emissions}


def test_without_mi_concatenates_and_changes_nothing_else(demo):
    base, concat = make(demo), make(demo, interaction="concat")
    _shared_state(base, concat)
    only_base = set(base.state_dict()) - set(concat.state_dict())
    assert only_base and all(k.startswith("integration.") for k in only_base)
    assert set(concat.state_dict()) <= set(base.state_dict())
    assert concat.emit.in_features == 2 * base.emit.in_features
    batch = base.collate(demo.train[:3], images_for(3))
    p, q = _parts(base, batch), _parts(concat, batch)
    for key in ("H", "text_to_image", "image_to_text"):
        assert torch.allclose(p[key], q[key])
    assert "gate" in p and "gate" not in q


def test_without_ha_swaps_only_the_attention(demo):
    base, luong = make(demo), make(demo, attention="luong")
    _shared_state(base, luong)
    only_luong = set(luong.state_dict()) - set(base.state_dict())
    assert only_luong == {"text_to_image.luong_weight", "image_to_text.luong_weight"}
    assert set(base.state_dict()) <= set(luong.state_dict())
    batch = base.collate(demo.train[:3], images_for(3))
    p, q = _parts(base, batch), _parts(luong, batch)
    assert torch.allclose(p["H"], q["H"])
    assert not torch.allclose(p["text_to_image"], q["text_to_image"])
    assert torch.allclose(q["text_to_image"].sum(-1), torch.ones(3), atol=1e-5)


def test_without_mp_has_one_head(demo):
    base, single = make(demo), make(demo, heads=1)
    assert set(base.state_dict()) == set(single.state_dict())
    changed = {k for k, v in base.state_dict().items() if single.state_dict()[k].shape != v.shape}
    # head_dim defaults to hidden // heads, so e * head_dim (the projections' size) is unchanged
    assert changed == set()
    assert (single.text_to_image.heads, single.text_to_image.head_dim) == (1, 12)
    assert (base.text_to_image.heads, base.text_to_image.head_dim) == (2, 6)
    _shared_state(base, single)
    batch = base.collate(demo.train[:3], images_for(3))
    p, q = _parts(base, batch), _parts(single, batch)
    assert torch.allclose(p["H"], q["H"])
    assert q["text_to_image_heads"].shape[1] == 1 and p["text_to_image_heads"].shape[1] == 2


def test_image_features_reach_the_scores(demo):
    """w/o VF is the image condition, not a switch: a different image changes the scores."""
    model = make(demo)
    tweets = demo.train[:2]
    with torch.no_grad():
        a = model(model.collate(tweets, images_for(2, seed=1))).emissions
        b = model(model.collate(tweets, images_for(2, seed=2))).emissions
    # at initialisation the effect is tiny (G = s_img V is about V / 49, and eq. 14 flattens the
    # heads), but it is there
    assert not torch.equal(a, b)


def test_config_and_input_errors_name_the_parameter(demo):
    with pytest.raises(ValueError, match="interaction.*valid: gate, concat"):
        HSNConfig(interaction="sum")
    with pytest.raises(ValueError, match="attention.*valid: hierarchical, luong"):
        HSNConfig(attention="dot")
    with pytest.raises(ValueError, match="unknown option"):
        build_model("hsn", demo.train, {"heads_count": 2})
    model = make(demo)
    with pytest.raises(ValueError, match="needs image features"):
        model.collate(demo.train[:1], None)
    wrong = images_for(1)
    wrong.regions = torch.randn(1, 49, FEAT + 1)
    with pytest.raises(ValueError, match=f"image_feature_dim={FEAT + 1}"):
        model.collate(demo.train[:1], wrong)


def test_save_load_round_trip_gives_identical_predictions(demo, tmp_path):
    model = make(demo)
    tweets = demo.test[:5] + [Tweet("x", ["Unseen", "wordz", "!"], ["O", "O", "O"])]
    imgs = images_for(len(tweets), seed=7)
    path = tmp_path / "hsn.pt"
    model.save(path)
    loaded = Tagger.load(path)
    assert isinstance(loaded, HSN) and loaded.config == model.config
    assert loaded.predict(tweets, imgs) == model.predict(tweets, imgs)
    loaded.eval()
    with torch.no_grad():
        b = model.collate(tweets, imgs)
        assert torch.equal(model(b).emissions, loaded(b).emissions)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=(
        "finding, not a bug: in HSN as published the image reaches the tags only as one scalar "
        "weight per token (F = s_sen * H, eqs. 16-18), and at the start G = s_img * V is about "
        "V / 49, so s_sen is nearly uniform; on the type-blind probe synthetic and blank images "
        "give the same F1 (also with head_softmax=False and after 20 epochs). strict: if HSN "
        "ever passes, this test fails and the note must change."
    ),
)
def test_synthetic_probe_beats_blank_images(tmp_path, probe_cache):
    """The probe (see :func:`type_blind`): HSN with the synthetic images should beat HSN with
    blank images. It does not: see the xfail reason and the model's docstring. The finding holds
    for every seed, not only this one: over seeds 0-5, synthetic, blank and reshuffled
    (shuffled:synthetic) images gave the same test F1 to 0.1 (benchmarks/probe_seeds.md).

    Fast sibling: :func:`test_image_features_reach_the_scores`."""
    options = {**TINY, "image_feature_dim": 1280, "hidden": 32, "image_dim": 32}
    scores = train_probe("hsn", options, tmp_path, epochs=4, lr=0.01)
    assert scores["synthetic"] > scores["blank"] + 10, scores


def test_shared_images_are_projected_once_with_the_same_scores(demo):
    model = make(demo)
    tweets = demo.train[:4]
    imgs = images_for(4, seed=9)
    imgs.regions[2] = imgs.regions[0]  # tweets 0 and 2 share an image (e.g. the blank one)
    keyed = dataclasses.replace(imgs, meta={"keys": ["a", "b", "a", "c"]})
    deduped = model.collate(tweets, keyed)
    assert deduped["regions"].shape[0] == 3
    assert deduped["region_index"].tolist() == [0, 1, 0, 2]
    with torch.no_grad():
        a = model(deduped, return_attention=True)
        b = model(model.collate(tweets, imgs), return_attention=True)
    assert torch.allclose(a.emissions, b.emissions, atol=1e-6)
    assert torch.allclose(a.attentions["text_to_image"], b.attentions["text_to_image"], atol=1e-6)


def test_projected_once_equals_the_papers_order_of_operations(demo):
    """Projecting V (and G through linearity) per distinct image gives the scores of eqs. 7-16
    computed on every tweet's own copy."""
    model = make(demo).eval()
    tweets = demo.train[:4]
    batch = model.collate(tweets, images_for(4, seed=3))
    with torch.no_grad():
        out = model(batch, return_attention=True)
        text = model.text_features(batch)
        mask = batch["mask"]
        regions = torch.relu(model.image_proj(batch["regions"]))
        if batch.get("region_index") is not None:
            regions = regions[batch["region_index"]]
        s_img, _ = model.text_to_image(regions, text, None, mask)  # eqs. 8-15
        s_sen, _ = model.image_to_text(text, s_img.unsqueeze(-1) * regions, mask, None)
    assert torch.allclose(out.attentions["text_to_image"], s_img, atol=1e-6)
    assert torch.allclose(out.attentions["image_to_text"], s_sen, atol=1e-6)


@pytest.mark.parametrize(("gate", "width"), [("token", 1), ("dimension", 12)])
def test_the_gate_is_one_scalar_per_token_as_the_paper_says_or_per_dimension(demo, gate, width):
    """Eq. 17: "the integration gamma consists n scalars" (the default); the per-dimension gate
    is the named other reading. The returned gate_full is gamma as it multiplies H (B, T, d)."""
    model = make(demo, gate=gate)
    assert model.integration.text_weight.out_features == width
    assert model.integration.fusion_weight.out_features == width
    batch = model.collate(demo.train[:3], images_for(3))
    with torch.no_grad():
        a = model(batch, return_attention=True).attentions
    full = a["gate_full"][batch["mask"]]
    spread = (full.max(-1).values - full.min(-1).values).max()
    if gate == "token":
        assert float(spread) == 0.0  # one value per token, the same in every dimension
    else:
        assert float(spread) > 0.0
    assert torch.allclose(a["gate"][batch["mask"]], full.mean(-1))


def test_unknown_gate_or_oov_rule_is_refused():
    with pytest.raises(ValueError, match="gate.*valid: token, dimension"):
        HSNConfig(gate="scalar")
    with pytest.raises(ValueError, match="oov_init.*valid: uniform, gaussian"):
        HSNConfig(oov_init="zeros")
    assert (HSNConfig().gate, HSNConfig().oov_init) == ("token", "gaussian")
