"""What decides image features, and the sizes a caller may ask for.

:func:`check_feature_settings` refuses, before any work, a size whose cost has no bound: the
image side (square) at most :data:`MAX_IMAGE_SIZE` pixels, a backbone batch of at most
:data:`MAX_BATCH_PIXELS` pixels (``batch_size x image_size^2``: the memory of one backbone pass
grows with it; ``features --image-size 100000`` allocated until the machine's out-of-memory
killer fired), at most :data:`mner_lib.images.crops.MAX_CROPS` crops per image. Each refusal is
one ``ValueError`` naming the setting, the limit and the value.

:func:`feature_identity` is everything that decides the numbers a feature cache holds: the
backbone, its weights (package version or file, or random with seed and torch version), the
image size, resampling, normalisation, the pooled grid, the code's feature version, and what
decides which images are replaced by the blank one (the pixel and byte limits, the blank colour,
the decodable formats). The cache folder is named by its hash (:func:`mner_lib.images.cache.
store_name`), so two settings that would give different features never share a store.
"""

from __future__ import annotations

from typing import Any

#: The largest image side (pixels, square) the backbone is run on (the papers use 224).
MAX_IMAGE_SIZE = 1024
#: The smallest one (the backbones' pooling needs at least 32).
MIN_IMAGE_SIZE = 32
#: The most pixels in one backbone batch: batch_size x image_size^2 (16 images of 512 px, 83 of
#: 224 px). One batch's activations take memory in proportion.
MAX_BATCH_PIXELS = 16 * 512 * 512
#: The code's feature version: raised whenever the same settings would give other numbers.
#: 2: stores keyed by the whole identity, with verified shards.
FEATURE_VERSION = 2


def check_feature_settings(
    image_size: Any, batch_size: Any, crops: str, max_crops: Any, top_k: Any, max_pixels: Any
) -> None:
    """A ``ValueError`` naming the first setting out of its range (see the module docstring)."""
    from mner_lib.images.crops import MAX_CROPS

    for name, value in (
        ("image_size", image_size),
        ("batch_size", batch_size),
        ("max_crops", max_crops),
        ("top_k", top_k),
        ("max_pixels", max_pixels),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} pixels (MAX_IMAGE_SIZE), "
            f"got {image_size}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1 image, got {batch_size}")
    if batch_size * image_size * image_size > MAX_BATCH_PIXELS:
        most = MAX_BATCH_PIXELS // (image_size * image_size)
        raise ValueError(
            f"batch_size {batch_size} of {image_size}-pixel images is over the limit of "
            f"{MAX_BATCH_PIXELS} pixels per batch (MAX_BATCH_PIXELS): at most {most} at this size"
        )
    if crops != "none" and not 1 <= max_crops <= MAX_CROPS:
        raise ValueError(
            f"crops={crops!r} needs max_crops from 1 to {MAX_CROPS} (MAX_CROPS), got {max_crops}"
        )
    if crops == "none" and not 0 <= max_crops <= MAX_CROPS:
        raise ValueError(f"max_crops must be 0 to {MAX_CROPS} (MAX_CROPS), got {max_crops}")
    if not 1 <= top_k <= 1000:
        raise ValueError(f"top_k must be in 1..1000, got {top_k}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, got {max_pixels}")


def feature_identity(
    backbone: str, pretrained: bool, seed: int, image_size: int, max_pixels: int
) -> dict[str, Any]:
    """Everything that decides a feature store's numbers (see the module docstring)."""
    from mner_lib.images.backbones import NORMALISATION, weights_label
    from mner_lib.images.compute import GRID, RESAMPLING
    from mner_lib.images.loading import BLANK_RGB, IMAGE_FORMATS, MAX_IMAGE_BYTES

    mean, std = NORMALISATION[backbone]
    return {
        "feature_version": FEATURE_VERSION,
        "backbone": backbone,
        "weights": weights_label(backbone, pretrained, seed),
        "image_size": image_size,
        "resampling": RESAMPLING,
        "mean": list(mean),
        "std": list(std),
        "grid": GRID,
        "max_pixels": max_pixels,
        "max_image_bytes": MAX_IMAGE_BYTES,
        "blank_rgb": list(BLANK_RGB),
        "formats": list(IMAGE_FORMATS),
    }
