"""GMF's figures (gates, prefix attention, consistency similarities, embeddings), the image
gallery and the results bars; importable from :mod:`mner_lib.plots` like the others. Every
function returns a :class:`mner_lib.figure.BookFigure` with a caption and an alt text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mner_lib.figure import literal, short, wrap
from mner_lib.plots import _array, _cap, _figure, caption_attention, colour_bar, weight_scale


@literal
def layer_gates(
    gates: Any, stages: Sequence[str] = ("F1", "F2", "F3", "F4"), title: str = ""
) -> Figure:
    """GMF's gate g(l) over the backbone stages per text-encoder layer ((L, S) or (B, L, S),
    averaged over the batch): eq. 7-8."""
    g = _array(gates)
    if g.ndim == 3:
        g = g.mean(axis=0)
    names = list(stages)[: g.shape[1]]
    fig, axes = _figure(1.2 * g.shape[1] + 2.5, 0.4 * g.shape[0] + 1.6)
    sns.heatmap(
        g,
        ax=axes[0, 0],
        annot=True,
        fmt=".2f",
        cmap="rocket_r",
        vmin=0,
        vmax=1,
        xticklabels=names,
        yticklabels=[f"layer {i + 1}" for i in range(g.shape[0])],
        cbar_kws=colour_bar("gate weight"),
    )
    heading = title or "dynamic gate per layer (eq. 8)"
    axes[0, 0].set(xlabel="backbone stage", title=heading)
    axes[0, 0].tick_params(axis="y", rotation=0)
    top = [names[int(k)] for k in g.argmax(axis=1)]
    return fig.describe(
        f"{_cap(heading)}: the weight each text-encoder layer (row) gives each backbone stage "
        "(column); a row sums to 1.",
        f"Heat map, {g.shape[0]} layers by {g.shape[1]} stages ({', '.join(names)}), each cell "
        f"annotated, colours from 0 to 1. Weights range from {g.min():.2f} to {g.max():.2f}; "
        f"the stage with the most weight per layer, from the first: {', '.join(top)}.",
    )


def _prefix_maps(prefix: Sequence[Any]) -> list[np.ndarray]:
    maps = []
    for layer in prefix:
        a = _array(layer)
        if a.ndim == 4:
            a = a[0]
        maps.append(a.mean(axis=(0, 1)))
    return maps


def _grid_part(m: np.ndarray) -> np.ndarray | None:
    """The square grid among the prefix positions (all of them, or all but a first global one)."""
    for grid in (m, m[1:]):
        side = int(round(math.sqrt(grid.size)))
        if grid.size > 1 and side * side == grid.size:
            return grid.reshape(side, side)
    return None


@literal
def prefix_attention(
    prefix: Sequence[Any],
    image: Any | None = None,
    title: str = "",
    caption_tokens: Sequence[str] | None = None,
) -> Figure:
    """Attention of the text tokens on the visual prefix, per layer (GMF eq. 11-13).

    ``prefix`` holds one array per layer of shape (heads, T, P) (or (B, heads, T, P): the first
    tweet). Averaged over heads and tokens; when P - 1 or P is a square number the grid part is
    drawn over ``image`` (every layer on one colour scale, one colour bar), else one bar per
    prefix position. With ``caption_tokens`` (a text condition: the prefix is the caption's
    words) a heat map, one row per layer, one column per caption word
    (:func:`mner_lib.plots.caption_attention`)."""
    maps = _prefix_maps(prefix)
    if caption_tokens is not None:
        return caption_attention(
            [f"layer {k + 1}" for k in range(len(maps))],
            caption_tokens,
            np.stack([m[: len(caption_tokens)] for m in maps]),
            title or "text-to-caption attention per layer (the prefix is the caption)",
        )
    n = len(maps)
    rows = math.ceil(n / 4)  # at most 4 panels a row, rows as even as they come
    cols = math.ceil(n / rows)
    fig, axes = _figure(2.2 * cols + 0.8, 2.2 * rows, ncols=cols, nrows=rows)
    grids = [_grid_part(m) if image is not None else None for m in maps]
    scale = weight_scale(np.concatenate([g.ravel() for g in grids if g is not None] or [[1.0]]))
    shown = None
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_axis_off()
            continue
        if grids[k] is not None:
            img = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else _array(image)
            h, w = img.shape[:2]
            ax.imshow(img)
            shown = ax.imshow(grids[k], cmap="magma", alpha=0.55, extent=(0, w, h, 0), **scale)
            ax.set(xticks=[], yticks=[])
        else:
            ax.bar(range(maps[k].size), maps[k], color=sns.color_palette("mako", 1)[0])
            ax.set(xlabel="prefix position")
        ax.set_title(f"layer {k + 1}", fontsize=9)
    if shown is not None:
        bar = fig.colorbar(shown, ax=list(axes.flat), shrink=0.8, format=colour_bar("")["format"])
        bar.set_label("attention weight", fontsize=8)
        bar.locator = MaxNLocator(4)
    heading = title or "text-to-prefix attention per layer"
    fig.suptitle(heading)
    kind = "a grid laid over the image" if shown is not None else "bars over prefix positions"
    return fig.describe(
        f"{_cap(heading)}: the text tokens' attention on the visual prefix, averaged over heads "
        "and tokens, one panel per encoder layer.",
        f"{n} panels, one per layer, each {kind}. Share of the text tokens' attention that goes "
        "to the image prefix, per layer from the first: "
        + ", ".join(f"{float(m.sum()):.2f}" for m in maps)
        + f"; the largest single weight {max(float(m.max()) for m in maps):.3f}.",
    )


def similarity(text: Any, image: Any) -> np.ndarray:
    """Cosine similarity matrix (B, B) between text and image embeddings (consistency heads)."""
    t = _array(text)
    v = _array(image)
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return t @ v.T


@literal
def similarity_matrices(panels: Mapping[str, tuple[Any, Any]], title: str = "") -> Figure:
    """Batch similarity matrices of the consistency heads, e.g. ``{"before": (t, v), "after": ...}``:
    a matched pair sits on the diagonal (eq. 14-16)."""
    fig, axes = _figure(4 * len(panels) + 0.6, 3.6, ncols=len(panels))
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
        f"{_cap(title or 'similarity matrices')}: cosine similarity of every text (row) with "
        "every image (column) of a batch; matched pairs lie on the diagonal.",
        f"{len(panels)} heat maps of {n} by {n} cosine similarities, colours from -1 (blue) to "
        "1 (red). " + "; ".join(said) + ".",
    )


@literal
def embedding_pairs(text: Any, image: Any, title: str = "") -> Figure:
    """PCA of text and image embeddings (in one space) to 2-D; each matched pair joined."""
    t = _array(text)
    v = _array(image)
    both = np.concatenate([t, v])
    centred = both - both.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    n = len(t)
    fig, axes = _figure(4.6, 4.2)
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
        f"{_cap(heading)}: text (circles) and image (triangles) embeddings projected on their two "
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
    fig, axes = _figure(2.8 * cols, 3.0 * rows, ncols=cols, nrows=rows)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < len(images):
            image = images[k]
            ax.imshow(np.asarray(image.convert("RGB")) if hasattr(image, "convert") else image)
            ax.set_title(wrap(captions[k], 30), fontsize=8)
    if title:
        fig.suptitle(title)
    return fig.describe(
        f"{_cap(title or 'images')}.",
        f"A grid of {len(images)} images, titled: " + "; ".join(map(str, captions)) + ".",
    )


@literal
def compare_bars(
    table: Any,
    value: str = "f1_mean",
    error: str | None = "f1_std",
    label: str = "label",
    hue: str = "source_kind",
    title: str = "",
) -> Figure:
    """Horizontal bars of a results table (one row per bar), optional error bars (std over seeds)."""
    from matplotlib.patches import Patch

    frame = table.reset_index(drop=True)
    fig, axes = _figure(8, 0.35 * len(frame) + 1.5)
    ax = axes[0, 0]
    palette = dict(zip(sorted(frame[hue].unique()), sns.color_palette("Set2")))
    colours = [palette[h] for h in frame[hue]]
    errors = frame[error].fillna(0).to_numpy(float) if error and error in frame else None
    values = frame[value].to_numpy(float)
    ax.barh(range(len(frame)), values, xerr=errors, color=colours)
    ax.set_yticks(range(len(frame)), [short(x, 60) for x in frame[label]], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="test F1 (%)", title=title)
    ax.legend(
        handles=[Patch(color=c, label=h) for h, c in palette.items()], fontsize=8, loc="lower right"
    )
    bars = [f"{lab} {v:.1f}" for lab, v in zip(frame[label], values)]
    return fig.describe(
        f"{_cap(title or 'test F1')}: one bar per row of the table, coloured by {hue}.",
        f"Horizontal bar chart of {len(frame)} test F1 values in percent: " + "; ".join(bars) + ".",
    )
