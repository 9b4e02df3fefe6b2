"""Opening tweet images robustly: by content, never by extension, and never crashing a run.

:func:`open_rgb` turns whatever a file holds into an RGB :class:`PIL.Image.Image`:

* the format is detected from the bytes (a ``.jpg`` may be a PNG with alpha);
* RGBA / LA / palette-with-transparency images are composited on white;
* CMYK, grayscale, 1-bit, 16-bit (``I;16``) and 32-bit (``I``, ``F``) images are scaled to 8-bit
  RGB;
* the EXIF orientation tag is applied (a phone photo comes out upright);
* an animated GIF/WebP/PNG gives its first frame.

What cannot be used gives ``None`` and a *flag* saying why: ``missing``, ``zero-byte``,
``truncated``, ``undecodable`` or ``too-large`` (more pixels than ``max_pixels``: a decompression
bomb is refused from its header, before any pixel is decoded). The caller then uses the blank
constant image (HSN's rule for tweets without an image), never another tweet's image.
:class:`LoadReport` counts the replacements so that a run prints one summary line.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

LOGGER = logging.getLogger("mner_lib.images")

#: Default pixel limit (width x height): 40 megapixels, far above any tweet image.
DEFAULT_MAX_PIXELS = 40_000_000
#: The blank constant image's colour (mid grey).
BLANK_RGB = (128, 128, 128)
FAILURE_FLAGS = ("missing", "zero-byte", "truncated", "undecodable", "too-large")


@dataclass
class LoadResult:
    image: Image.Image | None  # RGB, or None when unusable
    flag: str  # "" when usable, else one of FAILURE_FLAGS
    detail: str = ""


def blank_image(size: int) -> Image.Image:
    """The blank constant image (HSN: posts without an image get a blank constant image)."""
    return Image.new("RGB", (size, size), BLANK_RGB)


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(array.max()), 1.0)
        if mode == "F":
            low = float(array.min())
            array = array - low
            top = max(float(array.max()), 1e-12)
        array = np.clip(array / top * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(array, "L").convert("RGB")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def open_rgb(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadResult:
    """Open ``path`` as an RGB image, or say why it cannot be used (see the module docstring)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except (FileNotFoundError, NotADirectoryError):
        return LoadResult(None, "missing", str(path))
    except OSError as err:
        return LoadResult(None, "undecodable", f"{path}: {err}")
    if size == 0:
        return LoadResult(None, "zero-byte", str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    return LoadResult(
                        None, "too-large", f"{path}: {width}x{height} > {max_pixels} pixels"
                    )
                if getattr(image, "is_animated", False):
                    image.seek(0)
                image.load()
                image = ImageOps.exif_transpose(image)
                return LoadResult(_to_rgb(image).copy(), "")
    except Image.DecompressionBombError as err:
        return LoadResult(None, "too-large", f"{path}: {err}")
    except UnidentifiedImageError as err:
        return LoadResult(None, "undecodable", f"{path}: {err}")
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        text = str(err)
        flag = "truncated" if ("truncated" in text or isinstance(err, EOFError)) else "undecodable"
        return LoadResult(None, flag, f"{path}: {text}")


@dataclass
class LoadReport:
    """Counts of replaced images by reason, with a few examples, for one summary line per run."""

    total: int = 0
    reasons: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, tweet_id: str, flag: str) -> None:
        self.total += 1
        if flag in FAILURE_FLAGS:
            self.reasons[flag] += 1
            shown = self.examples.setdefault(flag, [])
            if len(shown) < 3:
                shown.append(tweet_id)

    @property
    def replaced(self) -> int:
        return sum(self.reasons.values())

    def summary(self) -> str:
        if not self.replaced:
            return f"images: all {self.total} images usable"
        parts = ", ".join(
            f"{reason} {count} (e.g. {', '.join(self.examples[reason])})"
            for reason, count in sorted(self.reasons.items())
        )
        return (
            f"images: {self.replaced} of {self.total} tweets got the blank image instead of "
            f"their own: {parts}"
        )

    def warn(self) -> None:
        """Log the one-line summary as a warning when anything was replaced."""
        if self.replaced:
            LOGGER.warning(self.summary())
