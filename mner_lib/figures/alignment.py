"""Figures of images and their alignment with text: GMF's consistency similarities and embeddings, the probe gallery."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from mner_lib.figures.figure import literal, wrap
from mner_lib.figures.style import (
    as_array,
    cap,
    colour_bar,
    new_figure,
)


def similarity(text: Any, image: Any) -> np.ndarray:
    """Cosine similarity matrix (B, B) between text and image embeddings (consistency heads)."""
    t = as_array(text)
    v = as_array(image)
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return t @ v.T


@literal
def similarity_matrices(panels: Mapping[str, tuple[Any, Any]], title: str = "") -> Figure:
    """Batch similarity matrices of the consistency heads, e.g. ``{"before": (t, v), "after": ...}``:
    a matched pair sits on the diagonal (eq. 14-16)."""
    fig, axes = new_figure(4 * len(panels) + 0.6, 3.6, ncols=len(panels))
    said = []
    for k, (ax, (name, (t, v))) in enumerate(zip(axes[0], panels.items())):
        sim = similarity(t, v)
        sns.heatmap(
            sim,
            ax=ax,
            cmap="coolwarm",
            vmin=-1,
            vmax=1,
            square=True,
            xticklabels=False,
            yticklabels=False,
            cbar=k == len(panels) - 1,
            cbar_kws=colour_bar("cosine similarity"),
        )
        ax.set(title=name, xlabel="image", ylabel="text")
        off = sim[~np.eye(len(sim), dtype=bool)]
        said.append(
            f"{name}: mean {float(np.diag(sim).mean()):.2f} on the diagonal (matched pairs), "
            f"{float(off.mean()) if off.size else 0.0:.2f} off it"
        )
    if title:
        fig.suptitle(title)
    n = len(next(iter(panels.values()))[0]) if panels else 0
    return fig.describe(
        f"{cap(title or 'similarity matrices')}: cosine similarity of every text (row) with "
        "every image (column) of a batch; matched pairs lie on the diagonal.",
        f"{len(panels)} heat maps of {n} by {n} cosine similarities, colours from -1 (blue) to "
        "1 (red). " + "; ".join(said) + ".",
    )


@literal
def embedding_pairs(text: Any, image: Any, title: str = "") -> Figure:
    """PCA of text and image embeddings (in one space) to 2-D; each matched pair joined."""
    t = as_array(text)
    v = as_array(image)
    both = np.concatenate([t, v])
    centred = both - both.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    n = len(t)
    fig, axes = new_figure(4.6, 4.2)
    ax = axes[0, 0]
    for i in range(n):
        ax.plot([xy[i, 0], xy[n + i, 0]], [xy[i, 1], xy[n + i, 1]], color="0.75", lw=0.8, zorder=1)
    ax.scatter(xy[:n, 0], xy[:n, 1], label="text", zorder=2, s=18)
    ax.scatter(xy[n:, 0], xy[n:, 1], label="image", marker="^", zorder=2, s=18)
    heading = title or "text and image embeddings (PCA)"
    ax.set(xlabel="PC 1", ylabel="PC 2", title=wrap(heading, 48))
    ax.legend(fontsize=8)
    gap = float(np.linalg.norm(xy[:n] - xy[n:], axis=1).mean()) if n else 0.0
    spread = float(np.linalg.norm(xy - xy.mean(axis=0), axis=1).mean()) if n else 0.0
    return fig.describe(
        f"{cap(heading)}: text (circles) and image (triangles) embeddings projected on their two "
        "principal components; a grey line joins each matched pair.",
        f"Scatter plot of {n} text and {n} image points in two dimensions, matched pairs joined. "
        f"Mean distance within a pair {gap:.2f}, mean distance of a point from the centre "
        f"{spread:.2f}.",
    )


# ----------------------------------------------------------------------------- misc
@literal
def image_gallery(
    images: Sequence[Any], captions: Sequence[str], title: str = "", cols: int = 4
) -> Figure:
    """A grid of images with captions (the synthetic probe drawings, sample images)."""
    if len(images) != len(captions):
        raise ValueError(f"image_gallery: {len(images)} images but {len(captions)} captions")
    cols = max(1, min(cols, len(images)))
    rows = math.ceil(len(images) / cols)
    fig, axes = new_figure(2.8 * cols, 3.0 * rows, ncols=cols, nrows=rows)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < len(images):
            image = images[k]
            ax.imshow(np.asarray(image.convert("RGB")) if hasattr(image, "convert") else image)
            ax.set_title(wrap(captions[k], 30), fontsize=8)
    if title:
        fig.suptitle(title)
    return fig.describe(
        f"{cap(title or 'images')}.",
        f"A grid of {len(images)} images, titled: " + "; ".join(map(str, captions)) + ".",
    )
