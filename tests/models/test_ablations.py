"""Every paper ablation changes what its model computes, under every visual input the model takes.

An ablation whose switch only changes the random initialisation would measure seed noise and
report it as the paper's component: GMF's w/o VCG and w/o CSA under captions did (a caption has
one scale, so GMF bypasses both there) until its config refused them. Here each model is built
with and without each ablation of its spec, under image features and under captions, and the
parameters the loss reaches (by name and shape) must differ, or, where they are the same, the
scores with the same weights must; the combinations a model refuses must be refused with the
reason."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mner_lib.images.captions import CaptionEncoder
from mner_lib.models import build_model, get_spec
from tests.fakes import CAPTION_TINY as TINY
from tests.fakes import caption_batch, emissions, make_images

#: the models whose visual input is a config field (the others read the caption from the batch)
VISUAL_INPUT = {"hsn", "gmf"}
#: (model, ablation) pairs a caption condition refuses, with the words of the refusal
REFUSED = {("gmf", name): "bypassed" for name in ("w/o VCG", "w/o CSA", "w/o all")}
CASES = [
    (model, ablation.name, visual)
    for model in ("hsn", "gmf", "trimod")
    for ablation in get_spec(model).ablations
    if ablation.options  # the condition ablations (w/o VF: blank images) change the input
    for visual in ("pixels", "caption")
]


@pytest.fixture(scope="module")
def encoder() -> CaptionEncoder:
    return CaptionEncoder()


def _options(model: str, visual: str, extra: dict) -> dict:
    options = {**TINY[model], **extra}
    if model in VISUAL_INPUT:
        options["visual_input"] = visual
    if model == "hsn" and visual == "pixels":
        options["image_feature_dim"] = 1280  # efficientnet-lite0's regions (make_images)
    return options


def reached(model, tweets, images) -> set[tuple[str, tuple[int, ...]]]:
    """The parameters one training step's loss sends a nonzero gradient to."""
    model.train()
    model.zero_grad(set_to_none=True)
    model(model.collate(tweets, dataclasses.replace(images, _encoded=None))).loss.backward()
    return {
        (name, tuple(p.shape))
        for name, p in model.named_parameters()
        if p.grad is not None and float(p.grad.abs().sum()) > 0.0
    }


@pytest.mark.parametrize("model, name, visual", CASES)
def test_every_ablation_changes_what_the_model_computes(model, name, visual, demo, encoder):
    ablation = next(a for a in get_spec(model).ablations if a.name == name)
    tweets = demo.train[:4]
    if visual == "caption":
        captions = ["a man holding a trophy", "a red car", "", "two dogs on a beach"]
        images = caption_batch(captions, encoder)
    else:
        images = make_images(len(tweets), crops=0)
    if visual == "caption" and (model, name) in REFUSED:
        with pytest.raises(ValueError, match=REFUSED[model, name]):
            build_model(model, demo.train[:30], _options(model, visual, ablation.options))
        return
    torch.manual_seed(0)
    full = build_model(model, demo.train[:30], _options(model, visual, {}))
    torch.manual_seed(0)
    ablated = build_model(model, demo.train[:30], _options(model, visual, ablation.options))
    if reached(full, tweets, images) != reached(ablated, tweets, images):
        return  # the ablation removes (or adds) parameters the loss uses
    # the same parameters (w/o MP: one head over the same projections): with the same weights,
    # the scores must still differ
    ablated.load_state_dict(full.state_dict())
    full.eval()  # no dropout: the same weights give the same scores
    ablated.eval()
    assert not torch.allclose(
        emissions(full, tweets, images), emissions(ablated, tweets, images)
    ), (
        f"{model} {name} under {visual}: the same parameters and, with the same weights, the same "
        "scores, so the ablation would measure only a different initialisation"
    )
