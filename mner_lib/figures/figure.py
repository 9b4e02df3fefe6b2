"""Figures that carry their caption and alt text.

A :class:`BookFigure` (what every function of :mod:`mner_lib.figures` returns) has a ``caption``
(what the figure shows, in one or two sentences) and an ``alt`` text (what a reader who cannot see
it needs: the kind of chart and what the data say, computed from the data). Displayed in a notebook
it is a PNG whose text chunks hold both (``Title``: the caption, ``Description``: the alt text);
the book's Sphinx extension :mod:`mner_lib.figures.sphinx_figures` reads them back and makes each such
output a numbered figure with that caption and alt text. A figure drawn with pyplot in a notebook
gets the same through :func:`captioned`.

Every text of such a figure is drawn as it is (:func:`literal_text`): a title, label or tick
made from data (a condition, a token, a model name) with ``$...$`` in it is not mathtext, so it
can neither fail the drawing nor show as a formula.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.colors
import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

CAPTION_KEY = "Title"  # PNG text chunk names (the PNG specification's own keywords)
ALT_KEY = "Description"
DPI = 100
#: the settings under which a figure of the book draws: texts made while drawing (tick labels)
#: are literal too
LITERAL = {"text.parse_math": False, "text.usetex": False}


def literal_text(fig: Figure) -> Figure:
    """Every text of ``fig`` (titles, labels, tick labels, legends, annotations) drawn as it is:
    no mathtext (``$...$``), no TeX; returns ``fig``."""
    for text in fig.findobj(Text):
        text.set_parse_math(False)
        text.set_usetex(False)
    return fig


def literal(build: Callable[..., Any]) -> Callable[..., Any]:
    """A function that builds a figure, run with every text it makes literal: seaborn measures
    tick labels while it builds, before any drawing (:meth:`BookFigure.draw` keeps them literal
    afterwards). Marked ``literal`` (a test finds every figure function without it)."""

    @functools.wraps(build)
    def literally(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(LITERAL):
            return build(*args, **kwargs)

    literally.literal = True  # type: ignore[attr-defined]
    return literally


def png_bytes(fig: Figure, caption: str = "", alt: str = "") -> bytes:
    """``fig`` as PNG bytes, cut to its drawn content as ``savefig(bbox_inches="tight")`` cuts it,
    its caption and alt text in the PNG's text chunks; its texts drawn literally
    (:func:`literal_text`). Drawn once (:func:`tight_pixels`), where ``savefig`` draws twice."""
    metadata = {"Software": "mner_lib"}
    if caption:
        metadata[CAPTION_KEY] = caption
    if alt:
        metadata[ALT_KEY] = alt
    with matplotlib.rc_context(LITERAL):
        # a BookFigure makes its texts literal as it draws; any other figure, here
        pixels = tight_pixels(fig if isinstance(fig, BookFigure) else literal_text(fig))
        if pixels is None:  # something lies outside the figure: matplotlib's own tight box
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata=metadata)
            return buf.getvalue()
    return _png(pixels, metadata)


def tight_pixels(fig: Figure, dpi: float = DPI) -> np.ndarray | None:
    """``fig`` drawn once at ``dpi`` (its layout engine run once), as RGBA pixels cut to its tight
    box (:meth:`~matplotlib.figure.Figure.get_tightbbox`) and ``savefig.pad_inches`` around it,
    the padding in the figure's face colour; None when the box reaches past the figure's edges
    (a legend placed outside), which a cut cannot show. The figure keeps its canvas and dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas, old_dpi = fig.canvas, fig.dpi
    try:
        fig.dpi = dpi
        agg = FigureCanvasAgg(fig)
        agg.draw()
        box = fig.get_tightbbox(agg.get_renderer())
        rgba = np.asarray(agg.buffer_rgba())
    finally:
        fig.dpi = old_dpi
        fig.set_canvas(canvas)
    width, height = fig.get_size_inches()
    if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
        return None
    pad = matplotlib.rcParams["savefig.pad_inches"]
    pad = 0.0 if pad == "layout" else float(pad)
    rows, cols = rgba.shape[:2]
    # inches from the bottom-left corner -> pixel rows from the top, within the canvas
    left, right = max(math.floor(box.x0 * dpi), 0), min(math.ceil(box.x1 * dpi), cols)
    top, bottom = max(rows - math.ceil(box.y1 * dpi), 0), min(rows - math.floor(box.y0 * dpi), rows)
    margin = round(pad * dpi)
    face = np.round(np.asarray(matplotlib.colors.to_rgba(fig.get_facecolor())) * 255)
    out = np.empty((bottom - top + 2 * margin, right - left + 2 * margin, 4), np.uint8)
    out[...] = face.astype(np.uint8)
    out[margin : margin + bottom - top, margin : margin + right - left] = rgba[
        top:bottom, left:right
    ]
    return out


def _png(pixels: np.ndarray, metadata: dict[str, str], dpi: float = DPI) -> bytes:
    """RGBA ``pixels`` as PNG bytes with ``metadata`` as text chunks (iTXt where not Latin-1)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in metadata.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buf, format="png", pnginfo=info, dpi=(dpi, dpi))
    return buf.getvalue()


def read_png_text(path: str | Path) -> dict[str, str]:
    """The caption and alt text a PNG written by :func:`png_bytes` carries (``{}`` for another
    PNG, or a file that is not one)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            text = dict(getattr(image, "text", {}) or {})
    except (OSError, ValueError):
        return {}
    out = {}
    if text.get(CAPTION_KEY):
        out["caption"] = text[CAPTION_KEY]
    if text.get(ALT_KEY):
        out["alt"] = text[ALT_KEY]
    return out


def _mimebundle(fig: Figure, caption: str, alt: str) -> tuple[dict, dict]:
    data = png_bytes(fig, caption, alt)
    plain = f"<Figure: {caption}>" if caption else "<Figure>"
    return {"image/png": base64.b64encode(data).decode("ascii"), "text/plain": plain}, {}


class BookFigure(Figure):
    """A matplotlib figure with a ``caption`` and an ``alt`` text (see the module docstring)."""

    caption: str = ""
    alt: str = ""

    def describe(self, caption: str | None = None, alt: str | None = None) -> BookFigure:
        """Set the caption and/or alt text; returns the figure (to chain)."""
        if caption is not None:
            self.caption = caption
        if alt is not None:
            self.alt = alt
        return self

    def draw(self, renderer: Any) -> None:
        """Draw with every text literal (:func:`literal_text`), however the figure is drawn
        (``savefig``, ``canvas.draw``, a notebook's inline backend)."""
        with matplotlib.rc_context(LITERAL):
            literal_text(self)
            super().draw(renderer)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        return _mimebundle(self, self.caption, self.alt)


class Captioned:
    """Any matplotlib figure shown with a caption and alt text (see :func:`captioned`)."""

    def __init__(self, fig: Figure, caption: str, alt: str):
        if not caption.strip() or not alt.strip():
            raise ValueError("captioned: a figure needs a non-empty caption and alt text")
        self.figure, self.caption, self.alt = fig, caption, alt

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        return _mimebundle(self.figure, self.caption, self.alt)


def register_ipython(shell: Any = None) -> bool:
    """Make IPython's PNG of a :class:`BookFigure` the captioned one. The inline backend registers
    its own PNG printer for every matplotlib ``Figure``, and a printer registered for a type wins
    over ``_repr_mimebundle_``; one registered for ``BookFigure`` itself wins over that. Done on
    import inside IPython; returns whether a shell was found."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    png = shell.display_formatter.formatters["image/png"]
    png.for_type(BookFigure, lambda fig: png_bytes(fig, fig.caption, fig.alt))
    return True


def captioned(fig: Figure, caption: str, alt: str) -> Captioned:
    """``display(captioned(fig, caption, alt))`` shows a figure made with pyplot as a numbered,
    captioned figure of the book (and closes it in pyplot, so the cell shows it once)."""
    import matplotlib.pyplot as plt

    if plt.fignum_exists(getattr(fig, "number", -1)):
        plt.close(fig)
    return Captioned(fig, caption, alt)


HTML_CAPTION = "data-mner-caption"


class HTMLFigure:
    """HTML (e.g. cards of images with their captions) shown as one numbered figure of the book:
    its outer element carries the caption (see :func:`html_figure`)."""

    def __init__(self, body: str, caption: str):
        if not caption.strip():
            raise ValueError("html_figure: a figure needs a non-empty caption")
        self.body, self.caption = body, caption

    def _repr_html_(self) -> str:
        import html

        return (
            f'<div class="mner-html-figure" {HTML_CAPTION}="{html.escape(self.caption)}">'
            f"{self.body}</div>"
        )


def html_figure(content: Any, caption: str) -> Any:
    """``content`` (an IPython ``HTML`` object or an HTML string) as a numbered figure with
    ``caption``; anything else (a ``Markdown`` note saying why there is nothing to show) is
    returned as it is. The images inside keep their own alt text."""
    body = content if isinstance(content, str) else getattr(content, "_repr_html_", None)
    if body is None:
        return content
    return HTMLFigure(body if isinstance(body, str) else body(), caption)


def short(label: Any, width: int = 14) -> str:
    """A tick label cut to ``width`` characters (a URL or a long hashtag would overlap)."""
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def wrap(text: str, width: int = 28) -> str:
    """A title or panel caption broken into lines of at most ``width`` characters."""
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def quote(tokens: Any, limit: int = 12) -> str:
    """Tokens as a quoted phrase for alt text (the first ``limit``, then an ellipsis)."""
    tokens = [str(t) for t in tokens]
    more = " …" if len(tokens) > limit else ""
    return "“" + " ".join(tokens[:limit]) + more + "”"


register_ipython()
