"""Regions of interest for GMF: up to m object crops per image.

GMF feeds the global image plus the top-m salient objects found by a visual grounding toolkit.
No grounding model reaches these machines, so the providers are:

* ``none``: no crops.
* ``saliency`` (offline): the m most active cells of the backbone's last 7x7 map (channel L2
  norm), kept apart by non-maximum suppression (no two picked cells touch), each grown to a
  square of ``CROP_CELLS`` x ``CROP_CELLS`` cells around its centre and clipped to the image.
* ``boxes``: boxes from a file: the Pascal-VOC xml of Twitter10000 (``<data>/twitter10000/xml/
  <id>.xml``), scaled to the image when its size differs from the xml's; for synthetic probe
  images, the icons' own boxes (oracle boxes: they say where the type icons are).

Boxes are ``(x0, y0, x1, y1)`` in pixels of the image they crop. At most :data:`MAX_CROPS`
crops per image (each is one more backbone pass, and stored); an annotation file is read only
when it is a regular file of at most :data:`MAX_XML_BYTES` (a FIFO never hangs a run).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

CROP_MODES = ("none", "saliency", "boxes")
CROP_CELLS = 3.0
#: The most object crops per image (GMF's m; the paper keeps a handful).
MAX_CROPS = 16
#: The largest Pascal-VOC annotation file read (a real one is under 2 KB).
MAX_XML_BYTES = 2**20

Box = tuple[int, int, int, int]


def saliency_boxes(energy: np.ndarray, width: int, height: int, m: int) -> list[Box]:
    """Top-``m`` boxes from an (h, w) activation energy map (see the module docstring)."""
    grid_h, grid_w = energy.shape
    order = np.argsort(-energy, axis=None, kind="stable")
    picked: list[tuple[int, int]] = []
    for flat in order:
        if len(picked) >= m:
            break
        r, c = divmod(int(flat), grid_w)
        if any(abs(r - pr) <= 1 and abs(c - pc) <= 1 for pr, pc in picked):
            continue
        picked.append((r, c))
    boxes = []
    for r, c in picked:
        cx, cy = (c + 0.5) / grid_w * width, (r + 0.5) / grid_h * height
        half_w, half_h = CROP_CELLS / grid_w * width / 2, CROP_CELLS / grid_h * height / 2
        x0, y0 = max(0, int(cx - half_w)), max(0, int(cy - half_h))
        x1, y1 = min(width, int(cx + half_w)), min(height, int(cy + half_h))
        boxes.append((x0, y0, x1, y1))
    return boxes


def read_voc_boxes(
    path: str | os.PathLike, data: bytes | None = None
) -> tuple[tuple[int, int] | None, list[tuple[str, Box]]]:
    """``((width, height) or None, [(name, box), ...])`` from a Pascal-VOC annotation file
    (``data``: its bytes, when already read)."""
    from mner_lib.io.safe_read import read_regular_file

    path = Path(path)
    if data is None:
        data = read_regular_file(path, MAX_XML_BYTES, "annotation file")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise ValueError(f"{path}: not a Pascal-VOC xml file ({err})") from None
    size = None
    size_node = root.find("size")
    if size_node is not None:
        try:
            size = (int(size_node.findtext("width")), int(size_node.findtext("height")))
        except (TypeError, ValueError):
            size = None
    boxes = []
    for obj in root.iter("object"):
        node = obj.find("bndbox")
        if node is None:
            continue
        try:
            box = tuple(int(float(node.findtext(k))) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: bad bndbox in object {obj.findtext('name')!r}") from err
        boxes.append((obj.findtext("name") or "", box))
    return size, boxes


def scale_boxes(
    boxes: list[Box], from_size: tuple[int, int] | None, to_size: tuple[int, int]
) -> list[Box]:
    """Scale boxes given for an image of ``from_size`` to ``to_size``; drop empty ones."""
    sx = to_size[0] / from_size[0] if from_size and from_size[0] else 1.0
    sy = to_size[1] / from_size[1] if from_size and from_size[1] else 1.0
    out = []
    for x0, y0, x1, y1 in boxes:
        box = (
            max(0, int(x0 * sx)),
            max(0, int(y0 * sy)),
            min(to_size[0], int(round(x1 * sx))),
            min(to_size[1], int(round(y1 * sy))),
        )
        if box[2] - box[0] >= 2 and box[3] - box[1] >= 2:
            out.append(box)
    return out
