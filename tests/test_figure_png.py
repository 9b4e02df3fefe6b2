"""The PNG a figure of the book becomes (mner_lib.figures.figure.png_bytes): drawn once and cut
to the box ``savefig(bbox_inches="tight")`` would keep, or matplotlib's own tight save when
something lies outside the figure."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from mner_lib.figures.figure import DPI, BookFigure, png_bytes, read_png_text, tight_pixels


def saved_tight(fig: Figure) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return np.asarray(Image.open(buf).convert("RGBA"))


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def curves(layout: str | None = None) -> Figure:
    fig = BookFigure(figsize=(6, 3), layout=layout)
    for i, ax in enumerate(fig.subplots(1, 2)):
        ax.plot([1, 2, 3], [3, 1, 2 + i], marker="o", label=f"seed {i}")
        ax.set_title(f"panel {i}")
        ax.legend()
    fig.suptitle("a figure")
    return fig


def mismatch(got: np.ndarray, want: np.ndarray) -> float:
    """The share of pixels that differ strongly, at the best alignment within a pixel (savefig
    draws the cut at a fraction of a pixel; anti-aliased edges differ a little there)."""
    best = 1.0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            a, b = got[max(dy, 0) :, max(dx, 0) :], want[max(-dy, 0) :, max(-dx, 0) :]
            h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
            diff = np.abs(a[:h, :w].astype(int) - b[:h, :w].astype(int)).max(axis=-1)
            best = min(best, float((diff > 128).mean()))
    return best


@pytest.mark.parametrize("layout", [None, "constrained"])
def test_the_cut_is_the_tight_save_drawn_once(layout):
    want = saved_tight(curves(layout))
    got = tight_pixels(curves(layout))
    assert got is not None
    # the same box to a pixel of rounding, and the same drawing in it: under 1% of the pixels
    # differ, where one line drawn elsewhere differs in 3%
    assert abs(got.shape[0] - want.shape[0]) <= 1 and abs(got.shape[1] - want.shape[1]) <= 1
    assert mismatch(got, want) < 0.01
    other = curves(layout)
    other.axes[0].lines[0].set_ydata([1, 3, 2])
    assert mismatch(tight_pixels(other), want) > 0.01
    # white padding all round, as savefig's pad_inches
    assert (got[:5] == 255).all() and (got[:, -5:] == 255).all()


def test_a_legend_outside_the_figure_is_kept_by_matplotlibs_own_tight_save():
    fig = curves()
    fig.axes[1].legend(loc="upper left", bbox_to_anchor=(1.3, 1.0))  # past the right edge
    assert tight_pixels(fig) is None
    width = pixels(png_bytes(fig, "c", "a")).shape[1]
    assert width > fig.get_size_inches()[0] * DPI  # wider than the figure: the legend is in
    assert width == saved_tight(fig).shape[1]


def test_the_figure_keeps_its_canvas_and_dpi():
    fig = curves()
    fig.set_dpi(72)
    canvas = fig.canvas
    png_bytes(fig, "c", "a")
    assert fig.canvas is canvas and fig.dpi == 72


def test_caption_and_alt_text_in_any_script_reach_the_png(tmp_path):
    fig = curves()
    caption, alt = "F1 ≥ 60 · Zürich", "línea por semilla; 种子"
    path = tmp_path / "fig.png"
    path.write_bytes(png_bytes(fig, caption, alt))
    assert read_png_text(path) == {"caption": caption, "alt": alt}
    assert Image.open(path).info["dpi"] == pytest.approx((DPI, DPI), abs=0.01)


def test_a_plain_figure_draws_its_texts_literally():
    fig = Figure(figsize=(3, 2))
    fig.subplots().set_title(r"blank $\undefinedmacro$")
    assert png_bytes(fig).startswith(b"\x89PNG")  # mathtext would raise on the title
