"""Opening tweet images robustly: by content, never by extension, and never crashing a run.

:func:`open_rgb` turns whatever a file holds into an RGB :class:`PIL.Image.Image`:

* the format is detected from the bytes (a ``.jpg`` may be a PNG with alpha), among
  :data:`IMAGE_FORMATS` only: Pillow's other decoders (PostScript runs Ghostscript, ...) are
  never tried on a stranger's file;
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

Hostile files and ids
---------------------
The path of a tweet's image comes from its IMGID, which comes from the data file. An IMGID is
used as a file name only when it is safe (:func:`is_safe_id`: letters, digits, ``_``, ``-`` and
``.``, never ``..``, ``/`` or ``\\``); otherwise the tweet gets the blank image flagged
``unsafe-id`` (the tweet itself loads: the data reader keeps it). The path, symlinks resolved,
must stay inside the image folder, else ``outside-folder``. A file is opened only when ``stat``
says it is a regular file (:func:`mner_lib.io.safe_read.read_regular_file`): a FIFO named
``<id>.jpg`` (``open`` would hang), a device such as ``/dev/zero`` or a folder is ``not-a-file``;
a file over :data:`MAX_IMAGE_BYTES` is ``too-large`` before a byte is decoded; a file that
cannot be read (permission denied) is ``unreadable``, the reason in ``detail``. All of these get
the blank image; none stops or hangs a run.

:func:`read_tweet_image` gives the checked bytes of a tweet's image (for content keys) and
:func:`open_tweet_image` the decoded image; :func:`open_rgb` opens a path the same way.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mner_lib.io.safe_read import RefusedFileError, read_regular_file

LOGGER = logging.getLogger("mner_lib.images")

#: Default pixel limit (width x height): 40 megapixels, far above any tweet image (Twitter keeps
#: at most 4096 x 4096). Checked from the header, before any pixel is decoded.
DEFAULT_MAX_PIXELS = 40_000_000
#: The formats a tweet image may be decoded from (Pillow's names).
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")  # JPEG opens MPO too
#: The blank constant image's colour (mid grey).
BLANK_RGB = (128, 128, 128)
#: Default file size limit, checked before the file is opened: 20 MB, far above a tweet image.
MAX_IMAGE_BYTES = 20 * 2**20
FAILURE_FLAGS = (
    "missing",
    "zero-byte",
    "truncated",
    "undecodable",
    "too-large",
    "unsafe-id",
    "outside-folder",
    "not-a-file",
    "unreadable",
)
_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass
class LoadResult:
    image: Image.Image | None  # RGB, or None when unusable
    flag: str  # "" when usable, else one of FAILURE_FLAGS
    detail: str = ""


@dataclass
class ImageFile:
    """The checked bytes of an image file, or None and the flag saying why there are none."""

    path: Path | None  # None when the IMGID was not a safe file name
    data: bytes | None
    flag: str
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


def is_safe_id(tweet_id: str) -> bool:
    """True when ``tweet_id`` can name a file: letters, digits, ``_ - .``, and no ``..``."""
    return bool(_SAFE_ID.fullmatch(tweet_id)) and ".." not in tweet_id


def tweet_image_path(
    image_dir: str | os.PathLike, tweet_id: str, suffix: str = ".jpg"
) -> Path | None:
    """``<image_dir>/<tweet_id><suffix>``, or None when the IMGID is not a safe file name."""
    return Path(image_dir) / f"{tweet_id}{suffix}" if is_safe_id(tweet_id) else None


def read_image_file(
    path: str | os.PathLike,
    max_bytes: int = MAX_IMAGE_BYTES,
    root: str | os.PathLike | None = None,
) -> ImageFile:
    """The bytes of an image file, checked (see the module docstring); never raises for a bad
    file. With ``root``, the path with its symlinks resolved must lie inside ``root``."""
    path = Path(path)
    target = path
    if root is not None:
        try:
            target = path.resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            return ImageFile(path, None, "missing", str(path))
        except (OSError, RuntimeError) as err:  # a symlink loop, a folder without permission
            return ImageFile(path, None, "unreadable", f"{path}: {err}")
        folder = Path(root).resolve()
        if not target.is_relative_to(folder):
            return ImageFile(
                path, None, "outside-folder", f"{path} leads to {target}, outside {folder}"
            )
    try:
        data = read_regular_file(target, max_bytes, "image")
    except FileNotFoundError:
        return ImageFile(path, None, "missing", str(path))
    except RefusedFileError as err:
        return ImageFile(path, None, err.reason, str(err))
    if not data:
        return ImageFile(path, None, "zero-byte", str(path))
    return ImageFile(path, data, "")


def read_tweet_image(
    image_dir: str | os.PathLike, tweet_id: str, max_bytes: int = MAX_IMAGE_BYTES
) -> ImageFile:
    """The checked bytes of tweet ``tweet_id``'s image ``<image_dir>/<id>.jpg``: None and a flag
    when the IMGID is unsafe, the file leads outside ``image_dir``, or is not a usable file."""
    path = tweet_image_path(image_dir, tweet_id)
    if path is None:
        detail = (
            f"IMGID {tweet_id!r} is not a safe file name "
            "(letters, digits, '_', '-', '.'; no '..', '/' or '\\')"
        )
        return ImageFile(None, None, "unsafe-id", detail)
    return read_image_file(path, max_bytes, root=image_dir)


def decode_rgb(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadResult:
    """Decode image bytes (``name`` is for messages) to RGB, or say why they cannot be used."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                width, height = image.size
                if width * height > max_pixels:
                    return LoadResult(
                        None, "too-large", f"{name}: {width}x{height} > {max_pixels} pixels"
                    )
                if getattr(image, "is_animated", False):
                    image.seek(0)
                image.load()
                image = ImageOps.exif_transpose(image)
                return LoadResult(_to_rgb(image).copy(), "")
    except Image.DecompressionBombError as err:
        return LoadResult(None, "too-large", f"{name}: {err}")
    except UnidentifiedImageError as err:
        return LoadResult(None, "undecodable", f"{name}: {err}")
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        text = str(err)
        flag = "truncated" if ("truncated" in text or isinstance(err, EOFError)) else "undecodable"
        return LoadResult(None, flag, f"{name}: {text}")


def open_rgb(
    path: str | os.PathLike,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = MAX_IMAGE_BYTES,
    root: str | os.PathLike | None = None,
) -> LoadResult:
    """Open ``path`` as an RGB image, or say why it cannot be used (see the module docstring)."""
    found = read_image_file(path, max_bytes, root)
    if found.data is None:
        return LoadResult(None, found.flag, found.detail)
    return decode_rgb(found.data, str(path), max_pixels)


def open_tweet_image(
    image_dir: str | os.PathLike,
    tweet_id: str,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = MAX_IMAGE_BYTES,
) -> LoadResult:
    """Tweet ``tweet_id``'s image from ``image_dir`` as RGB, or None and the flag saying why."""
    found = read_tweet_image(image_dir, tweet_id, max_bytes)
    if found.data is None:
        return LoadResult(None, found.flag, found.detail)
    return decode_rgb(found.data, str(found.path), max_pixels)


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
