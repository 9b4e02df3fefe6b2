"""The synthetic visual-clue probe: an image drawn for a tweet from its gold entity types.

What it encodes
---------------
For every entity of the tweet (counted the conlleval way, :func:`mner_lib.text.data.entity_starts`)
one icon whose shape *and* colour name the entity's type:

=====  ==================  ===========
type   shape               colour
=====  ==================  ===========
PER    filled disc         red
LOC    filled triangle     green
ORG    filled square       blue
MISC   filled 5-point star orange
=====  ==================  ===========

Icons sit in distinct cells of a 4 x 4 grid, chosen at random, with a small random jitter of
position and size. Free cells may get *distractors* (ring, cross, diamond, hexagon outlines in
grey, purple, cyan or brown: never one of the icon shape/colour pairs), and the background is
light random noise.

What it cannot tell a model
---------------------------
Only the *multiset of types* (how many PER, LOC, ORG, MISC the tweet has). It holds no word,
no span, no token position, no entity order (cells are random), nothing about O tokens. A model
can use it only as a per-tweet prior over which types occur; it still has to find the words in
the text. It is a probe of whether a fusion module uses visual evidence, not a stand-in for real
photos: every result that uses it is labelled ``synthetic``. It needs the tweet's gold tags
(:attr:`mner_lib.text.data.Tweet.tags`), so it leaks gold *types* into the input by construction.

The drawing is a pure function of (tweet id, types, seed, size): the same arguments always give
the same pixels.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from mner_lib.text.data import entity_starts

PROBE_VERSION = 1
GRID = 4
ICON_COLOURS: dict[str, tuple[int, int, int]] = {
    "PER": (220, 30, 30),
    "LOC": (20, 160, 40),
    "ORG": (30, 60, 220),
    "MISC": (245, 150, 0),
}
ICON_SHAPES: dict[str, str] = {"PER": "disc", "LOC": "triangle", "ORG": "square", "MISC": "star"}
DISTRACTOR_SHAPES = ("ring", "cross", "diamond", "hexagon")
DISTRACTOR_COLOURS = ((110, 110, 110), (140, 60, 170), (0, 170, 190), (120, 80, 40))


@dataclass
class ProbeDrawing:
    image: Image.Image
    boxes: list[tuple[str, tuple[int, int, int, int]]]  # (type, (x0, y0, x1, y1)) per icon


def probe_types(tags: Sequence[str]) -> list[str]:
    """Entity types of a tweet, one per entity (conlleval starts), in text order."""
    return [etype for _, etype in entity_starts(tags)]


def probe_seed(tweet_id: str, seed: int) -> int:
    digest = hashlib.sha256(f"probe|{tweet_id}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def probe_key(tweet_id: str, types: Sequence[str], seed: int, size: int) -> str:
    """Content key of a probe image: the drawing is a pure function of these arguments."""
    text = f"probe-v{PROBE_VERSION}|{tweet_id}|{','.join(types)}|{seed}|{size}"
    return "probe-" + hashlib.sha1(text.encode()).hexdigest()


def _polygon(cx: float, cy: float, radius: float, sides: int, turn: float) -> list[tuple]:
    return [
        (cx + radius * math.cos(turn + 2 * math.pi * k / sides),
         cy + radius * math.sin(turn + 2 * math.pi * k / sides))
        for k in range(sides)
    ]  # fmt: skip


def _star(cx: float, cy: float, radius: float) -> list[tuple]:
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.45
        angle = -math.pi / 2 + math.pi * k / 5
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return points


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, colour):
    width = max(2, int(r / 5))
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "disc":
        draw.ellipse(box, fill=colour)
    elif shape == "triangle":
        draw.polygon(_polygon(cx, cy + r * 0.15, r * 1.1, 3, -math.pi / 2), fill=colour)
    elif shape == "square":
        s = r * 0.85
        draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=colour)
    elif shape == "star":
        draw.polygon(_star(cx, cy, r * 1.1), fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=width)
    elif shape == "cross":
        draw.line((cx - r, cy - r, cx + r, cy + r), fill=colour, width=width)
        draw.line((cx - r, cy + r, cx + r, cy - r), fill=colour, width=width)
    elif shape == "diamond":
        draw.polygon(_polygon(cx, cy, r, 4, 0.0), outline=colour, width=width)
    elif shape == "hexagon":
        draw.polygon(_polygon(cx, cy, r, 6, 0.0), outline=colour, width=width)
    else:
        raise ValueError(f"unknown probe shape {shape!r}")


def draw_probe(
    tweet_id: str, types: Sequence[str], seed: int = 0, size: int = 224, distractors: int = 3
) -> ProbeDrawing:
    """Draw the probe image of a tweet with entity ``types`` (see the module docstring).

    At most ``GRID * GRID`` icons are drawn (a tweet with more entities keeps the first 16).
    """
    unknown_types = sorted(set(types) - set(ICON_COLOURS))
    if unknown_types:
        raise ValueError(
            f"probe: unknown entity types {unknown_types}; valid: {list(ICON_COLOURS)}"
        )
    rng = np.random.default_rng(probe_seed(tweet_id, seed))
    noise = rng.normal(0.0, 12.0, size=(size, size, 1)) + rng.normal(0.0, 6.0, size=(size, size, 3))
    base = rng.uniform(200, 240, size=3)
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    cell = size / GRID
    cells = rng.permutation(GRID * GRID)
    icons = list(types)[: GRID * GRID]
    boxes = []
    for etype, cell_index in zip(icons, cells):
        row, col = divmod(int(cell_index), GRID)
        r = cell * rng.uniform(0.30, 0.40)
        cx = (col + 0.5) * cell + rng.uniform(-0.08, 0.08) * cell
        cy = (row + 0.5) * cell + rng.uniform(-0.08, 0.08) * cell
        _draw_shape(draw, ICON_SHAPES[etype], cx, cy, r, ICON_COLOURS[etype])
        box = (int(cx - r * 1.1), int(cy - r * 1.1), int(cx + r * 1.1) + 1, int(cy + r * 1.1) + 1)
        boxes.append((etype, tuple(max(0, min(size, v)) for v in box)))
    free = cells[len(icons) :]
    for cell_index in free[: int(rng.integers(0, distractors + 1))]:
        row, col = divmod(int(cell_index), GRID)
        r = cell * rng.uniform(0.22, 0.36)
        cx = (col + 0.5) * cell + rng.uniform(-0.1, 0.1) * cell
        cy = (row + 0.5) * cell + rng.uniform(-0.1, 0.1) * cell
        shape = DISTRACTOR_SHAPES[int(rng.integers(len(DISTRACTOR_SHAPES)))]
        colour = DISTRACTOR_COLOURS[int(rng.integers(len(DISTRACTOR_COLOURS)))]
        _draw_shape(draw, shape, cx, cy, r, colour)
    return ProbeDrawing(image, boxes)
