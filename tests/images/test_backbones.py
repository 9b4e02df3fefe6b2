"""Backbones by name: the four stage maps, ImageNet logits and clear offline errors."""

from __future__ import annotations

import copy

import pytest
import torch

from mner_lib.images.backbones import (
    BACKBONES,
    STAGE_CHANNELS,
    build_image_backbone,
    imagenet_class_names,
)
from mner_lib.images.folding import fold_batch_norms, inline_symmetric_padding


def random_batch_norm_statistics(model: torch.nn.Module) -> None:
    """Seeded running statistics and affine weights for every batch norm (fresh ones are the
    identity map, which folding would keep whatever it got wrong)."""
    g = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
            module.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=g) * 0.2)


def assert_folding_keeps_the_function(model: torch.nn.Module, size: int) -> None:
    """Every batch norm folded, symmetric pads inlined: the same stages and logits within 1e-5
    of the largest value, at an input size other than the one the static pads were made for."""
    random_batch_norm_statistics(model)
    folded = copy.deepcopy(model)
    fold_batch_norms(folded)
    inline_symmetric_padding(folded)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        before, after = model(x), folded(x)
    for a, b in zip([*before.stages, before.logits], [*after.stages, after.logits], strict=True):
        assert (a - b).abs().max() <= 1e-5 * a.abs().max()


@pytest.mark.parametrize("name,size", [("inception_v3", 80)])
def test_torchvision_backbones_with_random_weights(name, size):
    model = build_image_backbone(name, pretrained=False, fold=False)
    with torch.inference_mode():
        out = model(torch.randn(1, 3, size, size))
    assert [s.shape[1] for s in out.stages] == list(STAGE_CHANNELS[name])
    assert out.logits.shape == (1, 1000)
    # shallow to deep: every stage is at most as large as the one before
    sides = [s.shape[-1] for s in out.stages]
    assert sides == sorted(sides, reverse=True)
    assert_folding_keeps_the_function(model, size)


def test_efficientnet_is_built_folded_and_keeps_its_asymmetric_pads():
    """The default build folds all 49 batch norms and the 12 symmetric pads; the stride-2 pads
    that are wider on one side stay (a convolution's own padding is the same on both)."""
    model = build_image_backbone("efficientnet-lite0", pretrained=False, fold=False)
    built = build_image_backbone("efficientnet-lite0", pretrained=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in built.modules())
    pads = [m.static_padding for m in built.modules() if hasattr(m, "static_padding")]
    left = [p.padding for p in pads if isinstance(p, torch.nn.ZeroPad2d)]
    assert left and all(p[0] != p[1] for p in left)
    assert_folding_keeps_the_function(model, 96)
    assert fold_batch_norms(copy.deepcopy(built)) == 0  # folding twice changes nothing


def test_folding_refuses_a_model_in_training_mode():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    with pytest.raises(ValueError, match="training mode"):
        fold_batch_norms(model)
    assert fold_batch_norms(model.eval()) == 1 and isinstance(model[1], torch.nn.Identity)


@pytest.mark.slow
@pytest.mark.parametrize("name,size", [("resnet50", 64), ("vgg16", 64)])
def test_the_largest_torchvision_backbones_with_random_weights(name, size):
    """ResNet-50 and VGG16 draw 25M and 138M random weights (3.5 to 4.5 s each on 2 cores);
    ResNet-50's 53 batch norms fold into its convolutions (VGG16 has none).

    Fast sibling: :func:`test_torchvision_backbones_with_random_weights` (InceptionV3)."""
    test_torchvision_backbones_with_random_weights(name, size)


def test_random_weights_are_seeded():
    a = build_image_backbone("efficientnet-lite0", pretrained=False, seed=1).net._fc.weight
    b = build_image_backbone("efficientnet-lite0", pretrained=False, seed=1).net._fc.weight
    c = build_image_backbone("efficientnet-lite0", pretrained=False, seed=2).net._fc.weight
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert STAGE_CHANNELS["resnet152"] == STAGE_CHANNELS["resnet50"]  # same stages, deeper


def test_pretrained_torchvision_offline_says_how_to_get_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("MNER_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(FileNotFoundError, match="MNER_ALLOW_DOWNLOAD") as err:
        build_image_backbone("resnet50", pretrained=True)
    assert "efficientnet-lite0" in str(err.value) and str(tmp_path) in str(err.value)


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(ValueError, match="resnet152") as err:
        build_image_backbone("resnet18")
    assert "efficientnet-lite0" in str(err.value) and set(BACKBONES) == set(STAGE_CHANNELS)


def test_efficientnet_lite0_pretrained_recognises_a_sample(need_data):
    from mner_lib.images.features import ImageFeatures

    feats = ImageFeatures("twitter2015", need_data, condition="real", cache_dir=None)
    model = feats.model
    from mner_lib.images.loading import open_rgb

    image = open_rgb(need_data / "samples" / "images" / "70560.jpg").image
    with torch.inference_mode():
        logits = model(feats._tensor([image])).logits
    names = imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench"
    top = [names[i] for i in logits.topk(3).indices[0]]
    assert "sunglass" in top or "sunglasses" in top  # the photo shows sunglasses
