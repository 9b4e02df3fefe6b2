"""The image side: robust loading, backbones by name, the feature cache, conditions, probe, crops,
and text written from the real images (captions, PGIM knowledge: :mod:`mner_lib.images.text`).

Models use only :class:`ImageFeatures` and :class:`ImageBatch` (the contract in
:mod:`mner_lib.images.api`).
"""

from mner_lib.images.api import CONDITIONS, ImageBatch
from mner_lib.images.backbones import (
    BACKBONES,
    ImageBackbone,
    build_image_backbone,
    imagenet_class_names,
)
from mner_lib.images.captions import CaptionEncoder, CaptionProvider, derangement, leak_share
from mner_lib.images.conditions import is_text_condition, parse_condition
from mner_lib.images.features import ImageFeatures
from mner_lib.images.loading import LoadReport, blank_image, open_rgb
from mner_lib.images.probe import draw_probe, probe_types
from mner_lib.images.text import coverage, dataset_coverage, load_image_text

__all__ = [
    "BACKBONES",
    "CONDITIONS",
    "CaptionEncoder",
    "CaptionProvider",
    "coverage",
    "dataset_coverage",
    "derangement",
    "leak_share",
    "load_image_text",
    "ImageBackbone",
    "ImageBatch",
    "ImageFeatures",
    "LoadReport",
    "blank_image",
    "build_image_backbone",
    "draw_probe",
    "imagenet_class_names",
    "is_text_condition",
    "open_rgb",
    "parse_condition",
    "probe_types",
]
