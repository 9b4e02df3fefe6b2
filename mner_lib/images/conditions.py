"""Image conditions: what a tweet is given in place of (or as) its image.

Pixel conditions (:mod:`mner_lib.images.features`): ``real``, ``blank``, ``synthetic``,
``shuffled[:real|synthetic]``, ``missing:<p>[:real|synthetic]``.

Text conditions (text written from the real image, :mod:`mner_lib.images.text`); the pixels are
then the blank image:

``caption:<src>``           the tweet's own caption, ``<src>`` in ``blip2 | catr | owl``
``caption-shuffled:<src>``  another tweet's caption (a seeded derangement: never its own), the
                            control that tells a gain from *this* image from one of captions
``knowledge:pgim``          PGIM's ChatGPT paragraphs (language-model knowledge, not vision)
``knowledge-shuffled:pgim`` another tweet's paragraph, the same control
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mner_lib.text.data import UnknownNameError

PIXEL_KINDS = ("real", "blank", "synthetic", "shuffled", "missing")
CAPTION_SOURCES = ("blip2", "catr", "owl")
KNOWLEDGE_SOURCES = ("pgim",)
TEXT_KINDS = {
    "caption": CAPTION_SOURCES,
    "caption-shuffled": CAPTION_SOURCES,
    "knowledge": KNOWLEDGE_SOURCES,
    "knowledge-shuffled": KNOWLEDGE_SOURCES,
}
CONDITION_KINDS = PIXEL_KINDS + tuple(TEXT_KINDS)
BASES = ("auto", "real", "synthetic")
VALID = (
    "real, blank, synthetic, shuffled[:real|synthetic], missing:<p>[:real|synthetic], "
    "caption:<blip2|catr|owl>, caption-shuffled:<blip2|catr|owl>, knowledge:pgim, "
    "knowledge-shuffled:pgim"
)


@dataclass(frozen=True)
class Condition:
    kind: str
    p: float = 0.0
    base: str = "auto"
    source: str = ""  # text conditions: the image text source

    @property
    def text(self) -> str:
        if self.source:
            return f"{self.kind}:{self.source}"
        out = self.kind if self.kind != "missing" else f"missing:{self.p:g}"
        return out if self.base == "auto" else f"{out}:{self.base}"

    @property
    def is_text(self) -> bool:
        """True for caption / knowledge conditions (the image comes as text)."""
        return self.kind in TEXT_KINDS

    @property
    def shuffled_text(self) -> bool:
        return self.kind.endswith("-shuffled")


def is_text_condition(text: str) -> bool:
    """True when ``text`` names a caption or knowledge condition (no parsing errors raised)."""
    return str(text).split(":")[0] in TEXT_KINDS


def _parse_text(text: str, parts: list[str]) -> Condition:
    kind = parts[0]
    valid = TEXT_KINDS[kind]
    if len(parts) != 2 or parts[1] not in valid:
        raise UnknownNameError(
            f"image condition {text!r}: {kind} needs a source, one of {', '.join(valid)} "
            f"(e.g. {kind}:{valid[0]}); valid conditions: {VALID}"
        )
    return Condition(kind, source=parts[1])


def parse_condition(text: str) -> Condition:
    """Parse a condition (see the module docstring); an error lists the valid ones."""
    parts = str(text).split(":")
    kind = parts[0]
    if kind not in CONDITION_KINDS:
        raise UnknownNameError(f"unknown image condition {text!r}; valid: {VALID}")
    if kind in TEXT_KINDS:
        return _parse_text(text, parts)
    if kind in ("real", "blank", "synthetic"):
        if len(parts) != 1:
            raise UnknownNameError(f"image condition {text!r} takes no argument; valid: {VALID}")
        return Condition(kind)
    if kind == "shuffled":
        base = parts[1] if len(parts) > 1 else "auto"
        if len(parts) > 2 or base not in BASES:
            raise UnknownNameError(f"bad image condition {text!r}; valid: {VALID}")
        return Condition(kind, 0.0, base)
    if len(parts) < 2 or len(parts) > 3:
        raise UnknownNameError(f"image condition {text!r} needs a fraction; valid: {VALID}")
    try:
        p = float(parts[1])
    except ValueError as err:
        raise UnknownNameError(f"image condition {text!r}: {parts[1]!r} is not a number") from err
    if not 0.0 <= p <= 1.0:
        raise UnknownNameError(f"image condition {text!r}: fraction must be in [0, 1]")
    base = parts[2] if len(parts) > 2 else "auto"
    if base not in BASES:
        raise UnknownNameError(f"bad image condition {text!r}; valid: {VALID}")
    return Condition(kind, p, base)


def unit_hash(*parts: object) -> float:
    """A number in [0, 1) that depends only on ``parts`` (seeded choices without a generator)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2**64
