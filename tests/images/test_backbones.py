"""Backbones by name: the four stage maps, ImageNet logits and clear offline errors."""

from __future__ import annotations

import pytest
import torch

from mner_lib.images.backbones import (
    BACKBONES,
    STAGE_CHANNELS,
    build_image_backbone,
    imagenet_class_names,
)


@pytest.mark.parametrize("name,size", [("inception_v3", 80)])
def test_torchvision_backbones_with_random_weights(name, size):
    model = build_image_backbone(name, pretrained=False)
    with torch.inference_mode():
        out = model(torch.randn(1, 3, size, size))
    assert [s.shape[1] for s in out.stages] == list(STAGE_CHANNELS[name])
    assert out.logits.shape == (1, 1000)
    # shallow to deep: every stage is at most as large as the one before
    sides = [s.shape[-1] for s in out.stages]
    assert sides == sorted(sides, reverse=True)


@pytest.mark.slow
@pytest.mark.parametrize("name,size", [("resnet50", 64), ("vgg16", 64)])
def test_the_largest_torchvision_backbones_with_random_weights(name, size):
    """ResNet-50 and VGG16 draw 25M and 138M random weights (3.5 to 4.5 s each on 2 cores).

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
