"""GMF: shapes, masks, gradients, the ablation switches, the prefix, save/load, the probe."""

from __future__ import annotations

import pytest
import torch

from mner_lib.images.api import ImageBatch
from mner_lib.models import Tagger, build_model
from mner_lib.models.gmf import GMF, GMFConfig
from mner_lib.text.data import Tweet
from mner_lib.training.config import resolve_config
from tests.fakes import make_images

TINY = dict(pretrained=False, encoder_layers=2, hidden=32, heads=4, visual_dim=16, cm_dim=16)


@pytest.fixture(scope="module")
def tweets(demo) -> list[Tweet]:
    by_len = sorted(demo.train[:40], key=len)
    return [by_len[0], by_len[-1], by_len[10], by_len[20]]  # short and long: padding matters


def tiny(demo, seed: int = 0, **options) -> GMF:
    torch.manual_seed(seed)
    return build_model("gmf", demo.train[:50], {**TINY, **options})


def test_outputs_for_the_notebooks(demo, tweets):
    model = tiny(demo).eval()
    batch = model.collate(tweets, make_images(4))
    out = model(batch, decode=True, return_attention=True)
    t = batch["mask"].shape[1]
    s = batch["input_ids"].shape[1]
    assert out.emissions.shape == (4, t, 9)
    gates = out.attentions["gates"]
    assert gates.shape == (4, 2, 4)
    torch.testing.assert_close(gates.sum(-1), torch.ones(4, 2))
    prefix = out.attentions["prefix"]
    assert len(prefix) == 2 and prefix[0].shape == (4, 4, s, 49 + 3)
    assert float(prefix[0][0, ..., -1].detach().abs().max()) == 0.0  # a missing crop: no weight
    assert out.extras["text_embedding"].shape == out.extras["image_embedding"].shape == (4, 16)
    cm, crf = out.extras["cm_loss"], out.extras["crf_loss"]
    torch.testing.assert_close(out.loss.detach(), 0.7 * cm + 0.3 * crf)  # eq. 22, alpha = 0.3
    assert [len(p) for p in out.predictions] == [len(tw.tokens) for tw in tweets]


def test_padding_never_changes_a_real_token(demo, tweets):
    model = tiny(demo).eval()
    images = make_images(4)
    together = model(model.collate(tweets, images)).emissions
    for i in range(4):
        one = ImageBatch(
            images.global_vec[i : i + 1],
            images.regions[i : i + 1],
            [p[i : i + 1] for p in images.pyramid],
            images.labels[i : i + 1],
            images.flags[i : i + 1],
            images.crops[i : i + 1],
            images.crop_mask[i : i + 1],
        )
        alone = model(model.collate(tweets[i : i + 1], one)).emissions[0]
        n = len(tweets[i].tokens)
        torch.testing.assert_close(alone[:n], together[i, :n], atol=1e-5, rtol=1e-5)


def test_masked_prefix_leaves_the_encoder_unchanged(demo, tweets):
    model = tiny(demo).eval()
    batch = model.collate(tweets, make_images(4))
    plain = model.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    p = 49 + 3
    with torch.no_grad():
        off = model.encode(batch, prefix_mask=torch.zeros(4, p, dtype=torch.bool))["hidden"]
        on = model.encode(batch)["hidden"]
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(off[real], plain.last_hidden_state[real], atol=1e-6, rtol=0)
    assert (on[real] - plain.last_hidden_state[real]).abs().max() > 1e-4


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"use_vcg": False},
        {"use_csa": False},
        {"use_vcg": False, "use_csa": False, "use_cm": False},
    ],
)
def test_gradients_reach_every_parameter(demo, tweets, options):
    model = tiny(demo, **options).train()
    out = model(model.collate(tweets, make_images(4)))
    out.loss.backward()
    unused = "encoder.pooler." if not model.config.use_cm else "-"
    # the bias of the layer right before a training-mode BatchNorm (eqs. 3-4: f_3 and the MLP's
    # last layer) has an analytically zero gradient: BN subtracts the batch mean, bias included;
    # its float gradient is 0 or rounding noise, so it is not asked for here
    before_norm = (".spatial.out.bias", ".channel.mlp.2.bias")
    missing = [
        n
        for n, p in model.named_parameters()
        if not n.startswith(unused)
        and not n.endswith(before_norm)
        and (p.grad is None or float(p.grad.abs().sum()) == 0.0)
    ]
    assert missing == []


def _params(model) -> set[str]:
    return {n.split(".")[0] for n, _ in model.named_parameters()}


def test_w_o_cm_drops_the_heads_and_the_contrastive_loss_only(demo, tweets):
    full, no_cm = tiny(demo), tiny(demo, use_cm=False)
    result = no_cm.load_state_dict(full.state_dict(), strict=False)
    assert result.missing_keys == []
    assert {k.split(".")[0] for k in result.unexpected_keys} == {"heads"}
    batch = full.collate(tweets, make_images(4))
    full.eval(), no_cm.eval()
    a, b = full(batch), no_cm(batch)
    torch.testing.assert_close(a.emissions, b.emissions)  # CM never touches the emissions
    assert "cm_loss" not in b.extras and "text_embedding" not in b.extras
    torch.testing.assert_close(b.loss, b.extras["crf_loss"])


def test_w_o_csa_drops_only_the_cross_scale_attention(demo, tweets):
    full, no_csa = tiny(demo), tiny(demo, use_csa=False)
    result = no_csa.load_state_dict(full.state_dict(), strict=False)
    assert result.missing_keys == []
    assert {k.split(".")[0] for k in result.unexpected_keys} == {"csa"}
    batch = full.collate(tweets, make_images(4))
    full.eval(), no_csa.eval()
    assert (full(batch).emissions - no_csa(batch).emissions).abs().max() > 1e-5


def test_w_o_vcg_uses_the_last_stage_only_with_fixed_gates(demo, tweets):
    images, changed = make_images(4), make_images(4)
    changed.pyramid = [torch.randn_like(p) for p in images.pyramid[:3]] + [images.pyramid[3]]
    for use_vcg in (True, False):
        model = tiny(demo, use_vcg=use_vcg).eval()
        a = model(model.collate(tweets, images), return_attention=True)
        b = model(model.collate(tweets, changed), return_attention=True)  # the same kernels
        diff = float((a.emissions - b.emissions).detach().abs().max())
        if use_vcg:
            assert diff > 1e-5 and "gate" in _params(model)
        else:
            assert diff == 0.0 and "gate" not in _params(model)
            expect = torch.zeros(4, 2, 4)
            expect[..., -1] = 1.0
            torch.testing.assert_close(a.attentions["gates"], expect)


def test_images_reach_the_tags(demo, tweets):
    model = tiny(demo).eval()
    a = model(model.collate(tweets, make_images(4, seed=0))).emissions
    b = model(model.collate(tweets, make_images(4, seed=1))).emissions
    assert (a - b).abs().max() > 1e-5


def test_save_load_round_trip(demo, tweets, tmp_path):
    model = tiny(demo, use_csa=False, temperature=0.174).eval()
    batch = model.collate(tweets, make_images(4))
    model.save(tmp_path / "gmf.pt")
    loaded = Tagger.load(tmp_path / "gmf.pt").eval()
    assert isinstance(loaded, GMF) and loaded.config == model.config
    torch.testing.assert_close(loaded(batch).emissions, model(batch).emissions)


def test_config_and_image_errors(demo, tweets):
    with pytest.raises(ValueError, match="cm_text"):
        GMFConfig(cm_text="both")
    with pytest.raises(ValueError, match="pretrained=False"):
        build_model("gmf", demo.train[:5], {"encoder_layers": 1})
    model = tiny(demo)
    with pytest.raises(ValueError, match="backbone"):
        model.collate(
            tweets,
            ImageBatch(
                torch.zeros(4, 512),
                torch.zeros(4, 49, 512),
                [torch.zeros(4, c, 7, 7) for c in (128, 256, 512, 512)],
                [[]] * 4,
                [""] * 4,
            ),
        )
    with pytest.raises(ValueError, match="image features"):
        model.collate(tweets, None)


def test_pretrained_minilm_loads_and_masked_prefix_is_plain_minilm(demo, tweets):
    from mner_lib.text.encoders import build_text_encoder

    model = build_model("gmf", demo.train[:20], {"visual_dim": 16, "cm_dim": 16}).eval()
    reference = build_text_encoder("minilm-l6", pretrained=True).model.eval()
    batch = model.collate(tweets[:2], make_images(2))
    with torch.no_grad():
        ours = model.encode(batch, prefix_mask=torch.zeros(2, 52, dtype=torch.bool))["hidden"]
        theirs = reference(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(ours[real], theirs[real], atol=1e-5, rtol=0)


# ----------------------------------------------------------------------------- the probe
# The probe data (entity types that only the synthetic image reveals) and its feature cache are
# shared with the TriMod tests; see tests/models/test_trimod.py.
from tests.probes import (  # noqa: E402
    GMF_PROBE,
    blind_ceiling,
    gmf_matching,
    run_probe,
    type_blind_probe,
)

#: the probe's stated seeds: the claim must hold for every one of them (issue 25)
PROBE_SEEDS = (0, 1, 2)


@pytest.mark.slow
@pytest.mark.parametrize("seed", PROBE_SEEDS)
def test_probe_synthetic_beats_every_image_blind_tagger_and_heads_match_images(
    probe_cache, tmp_path, seed
):
    """The visual path works: on the type-blind probe, GMF trained with the synthetic images
    beats :func:`tests.probes.blind_ceiling` on the dev split (53.0 F1 on its 60 tweets), which a
    tagger that does not see the image passes by chance at most once in 10,000 runs, and its
    contrastive heads match a tweet to its own image more often than not (chance: 1 in 4), for
    every seed of :data:`PROBE_SEEDS`.

    Measured with these settings (tests.probes.GMF_PROBE, the unit tests' tiny GMF) over seeds
    0-5 (benchmarks/probe_seeds.md): synthetic 96.7 to 98.3, never bimodal, matching 40 to 47 of
    48; blank images 25.0 to 32.7 and the reshuffled-images control (shuffled:synthetic) 23.3 to
    38.3, under the ceiling.

    Fast sibling: :func:`test_images_reach_the_tags`; the ceiling's
    own: :func:`tests/test_probes.py::test_the_blind_ceiling_holds_what_guessing_the_type_scores`."""
    data = type_blind_probe()
    synthetic = run_probe("gmf", "synthetic", tmp_path / "synthetic", data, seed, GMF_PROBE)
    f1, ceiling = synthetic.metrics["dev"]["f1"], blind_ceiling(data.dev)
    assert f1 > ceiling, (seed, f1, ceiling)
    # groups of four dev/test tweets with four different entity types: their images differ in
    # what the text can know, so the matched image is identifiable (chance: 1 in 4)
    hits, total = gmf_matching(synthetic, data)
    assert hits / total > 0.5, (hits, total)


def test_prefix_logit_bias_starts_the_prefix_nearly_closed_and_learns(demo, tweets):
    """The option (not the paper's) moves attention mass off the prefix and gets a gradient;
    off, the model is the paper's (the same output as without the option)."""
    images = make_images(len(tweets))
    plain, off, low = (
        tiny(demo),
        tiny(demo, prefix_logit_bias=None),
        tiny(demo, prefix_logit_bias=-6.0),
    )
    assert plain.prefix_bias is None and off.prefix_bias is None
    for m in (plain, off, low):
        m.eval()
    batch = plain.collate(tweets, images)
    with torch.no_grad():
        a = plain(batch, return_attention=True)
        b = off(batch, return_attention=True)
        c = low(batch, return_attention=True)
    assert torch.equal(a.emissions, b.emissions)
    mass = [float(p.sum(-1).mean()) for p in c.attentions["prefix"]]
    before = [float(p.sum(-1).mean()) for p in a.attentions["prefix"]]
    assert all(x < 0.05 for x in mass) and all(x > y for x, y in zip(before, mass))
    low.train()
    low(low.collate(tweets, images)).loss.backward()
    assert low.prefix_bias.grad is not None and low.prefix_bias.grad.abs().sum() > 0


def test_the_papers_learning_rate_and_ours_for_the_tagging_head(demo):
    """The paper trains GMF at 5e-5 (Twitter-2015 batch 16, Twitter-2017 batch 32); the new visual
    layers at 1e-3 kept it at F1 0 on Twitter-2015 (mner_lib/models/gmf_blocks.py). The paper is
    silent on the tagging head: ours trains the emission layer and CRF at 5e-2 (HVPNeT's rate)."""
    from mner_lib.training import build_optimizer, resolve_config

    cfg = resolve_config("gmf", dataset="twitter2015")
    model = tiny(demo)
    optimizer = build_optimizer(model, cfg)
    assert [group["lr"] for group in optimizer.param_groups] == [5e-5, 5e-5, 5e-2]
    head = {id(p) for p in optimizer.param_groups[2]["params"]}
    assert head == {id(p) for n, p in model.named_parameters() if n.startswith(("emit.", "crf."))}
    assert cfg.batch_size == 16
    assert resolve_config("gmf", dataset="twitter2017").batch_size == 32
    assert resolve_config("gmf", lr=1e-3).encoder_lr == 5e-5  # --lr moves the new layers only


@pytest.mark.parametrize("off", [{"use_vcg": False}, {"use_csa": False},
                                 {"use_vcg": False, "use_csa": False, "use_cm": False}])  # fmt: skip
def test_a_caption_condition_refuses_the_switches_it_would_bypass(off):
    """Under captions VCG and CSA are bypassed: switching them off would change nothing but the
    random initialisation, so the config refuses it, with the reason and what to do instead."""
    with pytest.raises(ValueError, match="bypassed.*only in its random initialisation.*use_cm"):
        GMFConfig(visual_input="caption", **off)
    GMFConfig(visual_input="pixels", **off)  # an image condition keeps every ablation
    GMFConfig(visual_input="caption", use_cm=False)  # w/o CM means something under captions
    with pytest.raises(ValueError, match="w/o VCG"):  # what the command line says
        resolve_config("gmf", condition="caption:blip2", model_options=off)


@pytest.mark.parametrize("options", [{}, {"prefix_logit_bias": -6.0}])
def test_the_fused_attention_of_training_equals_the_one_that_draws_maps(demo, tweets, options):
    """Without attention maps (training, issue 27's speed) the prefixed self-attention runs as
    PyTorch's fused kernel: the same emissions and losses as the path that returns the maps, with
    and without the prefix logit bias, and gradients that agree."""
    model = tiny(demo, **options).eval()
    batch = model.collate(tweets, make_images(4))
    fused = model(batch)
    drawn = model(batch, return_attention=True)
    assert fused.attentions == {} and len(drawn.attentions["prefix"]) == 2
    torch.testing.assert_close(fused.emissions, drawn.emissions, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fused.loss, drawn.loss, atol=1e-5, rtol=1e-5)
    grads = []
    for return_attention in (False, True):
        model.zero_grad()
        model(batch, return_attention=return_attention).loss.backward()
        grads.append(model.prefix_bias.grad if options else model.emit.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-4)
