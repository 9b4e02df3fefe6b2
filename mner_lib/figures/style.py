"""Shared drawing rules of the book's figures: new figures, arrays, colour scales, cut labels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mner_lib.figures.figure import BookFigure

TYPE_COLOURS = {"PER": "#d62728", "LOC": "#2ca02c", "ORG": "#1f77b4", "MISC": "#ff7f0e"}


def as_array(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    return np.asarray(values, dtype=float)


def new_figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kwargs):
    fig = BookFigure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def weight_scale(values: Any) -> dict[str, float]:
    """The colour range of attention weights: from 0 to the largest weight rounded up to two
    significant digits (at most 1 for weights that are probabilities), so a near-uniform map is
    drawn as one flat colour instead of a scale spanning 0.02040 +- 0.00001."""
    v = as_array(values)
    top = float(np.nanmax(v)) if v.size else 1.0
    if not np.isfinite(top) or top <= 0:
        return {"vmin": 0.0, "vmax": 1.0}
    step = 10.0 ** (math.floor(math.log10(top)) - 1)
    vmax = math.ceil(round(top / step, 6)) * step
    return {"vmin": 0.0, "vmax": min(vmax, 1.0) if top <= 1.0 else vmax}


def colour_bar(label: str) -> dict[str, Any]:
    """``cbar_kws`` of a heat map: a labelled colour bar with at most 5 short tick labels."""
    return {
        "label": label,
        "format": FuncFormatter(lambda v, _: f"{v:.2g}"),
        "ticks": MaxNLocator(4),
    }


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def argmax_at(values: np.ndarray, labels: Sequence[str]) -> str:
    k = int(np.argmax(values))
    return f"{labels[k]!r} ({values[k]:.2f})" if k < len(labels) else f"position {k + 1}"
