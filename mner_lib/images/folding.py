"""A frozen backbone rewritten for inference: the same function in fewer operations.

The image backbones only ever predict (their features are computed once and cached), so two
rewrites that change nothing but rounding are made when one is built
(:func:`mner_lib.images.backbones.build_image_backbone`):

* :func:`fold_batch_norms`: an eval-mode ``BatchNorm2d`` after a ``Conv2d`` is an affine map per
  channel, ``y = (x - mean) / sqrt(var + eps) * gamma + beta``; it is folded into the
  convolution's weights and bias (``torch.nn.utils.fusion.fuse_conv_bn_eval``) and replaced by
  ``Identity``.
* :func:`inline_symmetric_padding`: EfficientNet-Lite's "same" padding pads with a separate
  ``ZeroPad2d`` before each convolution; where it pads every side alike, the convolution's own
  ``padding`` does it without copying the feature map. Asymmetric pads (stride 2 on an even
  side) stay.

One thread, a batch of 16 (benchmarks/backbone_folding.md): EfficientNet-Lite0 runs 1.18x
faster per image so, ResNet and InceptionV3 1.02 to 1.06x (their batch norms are a smaller
share of the work; VGG16 has none), with the logits within 2e-6 of the unfolded network's,
relative to the largest.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batch_norms(model: nn.Module) -> int:
    """Fold, in place, each ``BatchNorm2d`` into the ``Conv2d`` registered just before it in the
    same parent module (the order every backbone here applies them in: conv, then its norm);
    the number folded. ``model`` must be in eval mode: training-mode batch norms use the batch's
    statistics, which no weight can hold."""
    if model.training:
        raise ValueError("fold_batch_norms: the model is in training mode; call .eval() first")
    folded = 0
    for parent in list(model.modules()):
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = parent._modules[first], parent._modules[second]
            if (
                type(norm) is nn.BatchNorm2d
                and isinstance(conv, nn.Conv2d)
                and norm.track_running_stats
                and norm.num_features == conv.out_channels
            ):
                parent._modules[first] = fuse_conv_bn_eval(conv, norm)
                parent._modules[second] = nn.Identity()
                folded += 1
    return folded


def inline_symmetric_padding(model: nn.Module) -> int:
    """Move, in place, each symmetric ``static_padding`` (a ``ZeroPad2d`` that a same-padding
    convolution applies first) into the convolution's ``padding``; the number moved."""
    moved = 0
    for module in model.modules():
        pad = getattr(module, "static_padding", None)
        if not (isinstance(module, nn.Conv2d) and isinstance(pad, nn.ZeroPad2d)):
            continue
        left, right, top, bottom = pad.padding
        if left == right == top == bottom and left > 0 and module.padding == (0, 0):
            module.padding = (left, left)
            module.static_padding = nn.Identity()
            moved += 1
    return moved
