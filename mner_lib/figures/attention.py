"""Figures of what a model attends to: regions, caption words, heads, tokens, modalities, image words, hashtags, GMF's gates and prefix."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mner_lib.figures.figure import literal, quote, short, wrap
from mner_lib.figures.style import (
    argmax_at,
    as_array,
    cap,
    colour_bar,
    new_figure,
    weight_scale,
)


# ----------------------------------------------------------------------------- attention
@literal
def region_attention(
    image: Any, weights: Any, title: str = "text-to-image attention", grid: int | None = None
) -> Figure:
    """Weights over the K = g x g region grid (HSN's s_img, eq. 13-15) drawn over the image;
    the colours run from 0 to the largest weight (:func:`weight_scale`)."""
    w = as_array(weights).reshape(-1)
    grid = grid or int(round(math.sqrt(w.size)))
    if grid * grid != w.size:
        raise ValueError(f"region_attention: {w.size} weights do not form a square grid")
    fig, axes = new_figure(7, 3.4, ncols=2)
    img = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else as_array(image)
    height, width = img.shape[:2]
    scale = weight_scale(w)
    axes[0, 0].imshow(img)
    axes[0, 0].imshow(
        w.reshape(grid, grid),
        cmap="magma",
        alpha=0.55,
        extent=(0, width, height, 0),
        interpolation="nearest",
        **scale,
    )
    axes[0, 0].set(title="over the image", xticks=[], yticks=[])
    fig.suptitle(title)
    sns.heatmap(
        w.reshape(grid, grid),
        ax=axes[0, 1],
        cmap="magma",
        cbar_kws=colour_bar("attention weight"),
        square=True,
        xticklabels=False,
        yticklabels=False,
        **scale,
    )
    axes[0, 1].set(title=f"the {grid}x{grid} weights")
    row, col = divmod(int(np.argmax(w)), grid)
    return fig.describe(
        f"{title[:1].upper()}{title[1:]}: one weight per cell of the {grid}x{grid} region grid, "
        "over the image (left) and as a heat map (right); brighter is more weight.",
        f"The image with a {grid} by {grid} heat map of attention weights laid over it, and the "
        f"same weights as a heat map with a colour bar from 0 to {scale['vmax']:.2g}. The "
        f"weights range from {w.min():.3f} to {w.max():.3f} (uniform would be {1 / w.size:.3f}); "
        f"the largest is in row {row + 1}, column {col + 1}.",
    )


@literal
def caption_attention(
    tokens: Sequence[str] | None,
    caption_tokens: Sequence[str],
    weights: Any,
    title: str = "attention over the caption's words",
) -> Figure:
    """Weights over a caption's words, labelled by the words (a text condition such as
    ``caption:blip2`` puts the caption where the region grid was).

    ``weights`` of shape (K,) give one bar per caption word (HSN's s_img); of shape (R, K) a heat
    map, one row per name in ``tokens`` (tweet tokens, heads, layers). Columns past
    ``len(caption_tokens)`` (the batch's padding) are dropped; fewer weights than words is an
    error, since the labels would not belong to the weights.
    """
    w = as_array(weights)
    k = len(caption_tokens)
    if w.ndim not in (1, 2) or w.shape[-1] < k or k == 0:
        raise ValueError(
            f"caption_attention: weights of shape {w.shape} for {k} caption tokens; expected "
            f"(K,) or (R, K) with K >= {k} >= 1"
        )
    w = w[..., :k]
    labels = [short(t) for t in caption_tokens]
    caption = f"{title[:1].upper()}{title[1:]}: the weight on each word of the caption"
    if w.ndim == 1:
        fig, axes = new_figure(max(5, 0.42 * k + 2), 2.8)
        axes[0, 0].bar(range(k), w, color=sns.color_palette("magma", 1)[0])
        axes[0, 0].set_xticks(range(k), labels, rotation=60, ha="right", fontsize=8)
        axes[0, 0].set(ylabel="weight", xlabel="caption word", title=title)
        return fig.describe(
            caption + ".",
            f"Bar chart, one bar per word of the caption {quote(caption_tokens)}; the largest "
            f"weight is on {argmax_at(w, list(caption_tokens))}.",
        )
    rows = list(tokens) if tokens is not None else [str(i + 1) for i in range(w.shape[0])]
    if len(rows) < w.shape[0]:
        w = w[: len(rows)]
    rows = rows[: w.shape[0]]
    fig, axes = new_figure(max(5, 0.42 * k + 2.5), max(2.4, 0.3 * len(rows) + 1.6))
    sns.heatmap(
        w,
        ax=axes[0, 0],
        cmap="magma",
        cbar_kws=colour_bar("attention weight"),
        xticklabels=labels,
        yticklabels=[short(r) for r in rows],
        **weight_scale(w),
    )
    axes[0, 0].tick_params(axis="x", rotation=60, labelsize=8)
    axes[0, 0].tick_params(axis="y", rotation=0, labelsize=8)
    axes[0, 0].set(xlabel="caption word", title=title)
    top = [f"{r}: {argmax_at(w[i], list(caption_tokens))}" for i, r in enumerate(rows[:8])]
    return fig.describe(
        caption + ", one row each.",
        f"Heat map, {len(rows)} rows by {k} caption words of {quote(caption_tokens)}. Largest "
        "weight per row: " + "; ".join(top) + ".",
    )


@literal
def head_attention(heads: Any, title: str = "text-to-image weights per head") -> Figure:
    """HSN's per-head region weights ((e, K), K = g x g) as small heat maps on one colour scale
    with one labelled colour bar, so heads can be compared (eq. 14, before the heads' mean)."""
    h = as_array(heads)
    if h.ndim != 2 or round(math.sqrt(h.shape[1])) ** 2 != h.shape[1]:
        raise ValueError(f"head_attention: weights of shape {h.shape}, expected (heads, g*g)")
    grid = round(math.sqrt(h.shape[1]))
    scale = weight_scale(h)
    rows = math.ceil(len(h) / 4)  # at most 4 heads a row: 8 heads are 2 readable rows
    cols = math.ceil(len(h) / rows)
    fig, axes = new_figure(1.9 * cols + 1.2, 2.0 * rows + 0.4, ncols=cols, nrows=rows)
    for k, ax in enumerate(axes.flat):
        if k >= len(h):
            ax.set_axis_off()
            continue
        mesh = ax.imshow(h[k].reshape(grid, grid), cmap="magma", **scale)
        ax.set(xticks=[], yticks=[])
        ax.set_title(f"head {k + 1}", fontsize=8)
    bar = fig.colorbar(mesh, ax=list(axes.flat), shrink=0.8, format=colour_bar("")["format"])
    bar.set_label("attention weight", fontsize=8)
    bar.locator = MaxNLocator(4)
    fig.suptitle(title)
    cells = [divmod(int(np.argmax(row)), grid) for row in h]
    return fig.describe(
        f"{cap(title)}: each head's weights over the {grid}x{grid} region grid, "
        "on one colour scale.",
        f"{len(h)} small heat maps, one per attention head, each a {grid} by {grid} grid, sharing "
        f"a colour bar from 0 to {scale['vmax']:.2g}. Brightest cell (row, column) per head: "
        + ", ".join(f"head {k + 1} ({r + 1}, {c + 1})" for k, (r, c) in enumerate(cells))
        + ".",
    )


@literal
def token_weights(
    tokens: Sequence[str], weights: Mapping[str, Any] | Any, title: str = ""
) -> Figure:
    """One bar per token, one panel per named weight vector (e.g. HSN ``image_to_text`` s_sen and
    the gate gamma; a gate of shape (T, d) is averaged over d)."""
    if not isinstance(weights, Mapping):
        weights = {"weight": weights}
    n = len(weights)
    fig, axes = new_figure(max(6, 0.45 * len(tokens) + 2), 2.4 * n, nrows=n, sharex=True)
    said = []
    for ax, (name, values) in zip(axes[:, 0], weights.items()):
        v = as_array(values)
        if v.ndim == 2:
            v = v.mean(axis=1)
        v = v[: len(tokens)]
        ax.bar(range(len(v)), v, color=sns.color_palette("crest", 1)[0])
        ax.set(ylabel=name)
        if v.size:
            said.append(
                f"{name} from {v.min():.2f} to {v.max():.2f}, largest on "
                f"{argmax_at(v, list(tokens))}"
            )
    axes[-1, 0].set_xticks(
        range(len(tokens)), [short(t) for t in tokens], rotation=60, ha="right", fontsize=8
    )
    if title:
        fig.suptitle(title)
    return fig.describe(
        f"{(title or 'Weights per token')[:1].upper()}{(title or 'weights per token')[1:]}: one "
        f"bar per token; panels: {', '.join(weights)}.",
        f"{n} bar chart{'' if n == 1 else 's'}, one bar per token of {quote(tokens)}: "
        + "; ".join(said)
        + ".",
    )


@literal
def modality_attention(
    tokens: Sequence[str],
    weights: Any,
    modalities: Sequence[str] = ("word", "char", "image"),
    title: str = "",
) -> Figure:
    """Per-token attention over the modalities (CWI / TriMod ``modality``, (T, M)), as a heat map."""
    w = as_array(weights)[: len(tokens)]
    if w.ndim != 2 or w.shape[1] != len(modalities):
        raise ValueError(
            f"modality_attention: weights of shape {w.shape}, expected (T, {len(modalities)})"
        )
    fig, axes = new_figure(max(6, 0.45 * len(tokens) + 2), 2.6)
    sns.heatmap(
        w.T,
        ax=axes[0, 0],
        cmap="viridis",
        vmin=0,
        vmax=1,
        annot=len(tokens) <= 20,
        fmt=".2f",
        annot_kws={"fontsize": 7},
        xticklabels=[short(t) for t in tokens],
        yticklabels=list(modalities),
        cbar_kws=colour_bar("weight"),
    )
    axes[0, 0].tick_params(axis="x", rotation=60, labelsize=8)
    axes[0, 0].tick_params(axis="y", rotation=0, labelsize=8)
    axes[0, 0].set(title=title or "modality attention per token")
    mean = w.mean(axis=0) if len(w) else np.zeros(len(modalities))
    heading = title or "modality attention per token"
    return fig.describe(
        f"{heading[:1].upper()}{heading[1:]}: each token's weights over "
        f"{', '.join(modalities)} (a column sums to 1).",
        f"Heat map, {len(modalities)} rows ({', '.join(modalities)}) by {len(w)} tokens of "
        f"{quote(tokens)}, colours from 0 to 1. Mean weight over the tokens: "
        + ", ".join(f"{m} {v:.2f}" for m, v in zip(modalities, mean))
        + ".",
    )


@literal
def image_words(
    image: Any, labels: Sequence[tuple[str, float]], title: str = "the image's top-5 words"
) -> Figure:
    """The image beside its top-k class names and probabilities (CWI's image words)."""
    fig, axes = new_figure(8, 3, ncols=2)
    axes[0, 0].imshow(
        np.asarray(image.convert("RGB")) if hasattr(image, "convert") else as_array(image)
    )
    axes[0, 0].set(xticks=[], yticks=[], title="image")
    names = [short(name, 24) for name, _ in labels][::-1]
    probs = [float(p) for _, p in labels][::-1]
    axes[0, 1].barh(range(len(names)), probs, color=sns.color_palette("flare", 1)[0])
    axes[0, 1].set_yticks(range(len(names)), names, fontsize=8)
    axes[0, 1].set(xlabel="probability", title=wrap(title, 40))
    return fig.describe(
        f"{title[:1].upper()}{title[1:]}: the image (left) and the classifier's most probable "
        "class names (right).",
        "An image beside a horizontal bar chart of class names and their probabilities: "
        + ", ".join(f"{name} {float(p):.2f}" for name, p in labels)
        + ".",
    )


@literal
def segmented_hashtags(
    segments: Mapping[str, Sequence[str]], title: str = "segmented hashtags"
) -> Figure:
    """Each hashtag and the words a segmenter split it into, one row each."""
    fig, axes = new_figure(7, 0.45 * max(1, len(segments)) + 0.8)
    ax = axes[0, 0]
    ax.set_axis_off()
    for row, (tag, words) in enumerate(segments.items()):
        y = 1 - (row + 0.5) / max(1, len(segments))
        ax.text(0.0, y, f"#{tag.lstrip('#')}", fontsize=10, family="monospace", va="center")
        ax.text(0.45, y, "→  " + " | ".join(words), fontsize=10, va="center")
    ax.set_title(title)
    return fig.describe(
        f"{title[:1].upper()}{title[1:]}: each hashtag and the words it was split into.",
        "A list of hashtags and their segmentations: "
        + "; ".join(
            f"#{tag.lstrip('#')} into {' | '.join(words)}" for tag, words in segments.items()
        )
        + ".",
    )


@literal
def layer_gates(
    gates: Any, stages: Sequence[str] = ("F1", "F2", "F3", "F4"), title: str = ""
) -> Figure:
    """GMF's gate g(l) over the backbone stages per text-encoder layer ((L, S) or (B, L, S),
    averaged over the batch): eq. 7-8."""
    g = as_array(gates)
    if g.ndim == 3:
        g = g.mean(axis=0)
    names = list(stages)[: g.shape[1]]
    fig, axes = new_figure(1.2 * g.shape[1] + 2.5, 0.4 * g.shape[0] + 1.6)
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
        f"{cap(heading)}: the weight each text-encoder layer (row) gives each backbone stage "
        "(column); a row sums to 1.",
        f"Heat map, {g.shape[0]} layers by {g.shape[1]} stages ({', '.join(names)}), each cell "
        f"annotated, colours from 0 to 1. Weights range from {g.min():.2f} to {g.max():.2f}; "
        f"the stage with the most weight per layer, from the first: {', '.join(top)}.",
    )


def _prefix_maps(prefix: Sequence[Any]) -> list[np.ndarray]:
    maps = []
    for layer in prefix:
        a = as_array(layer)
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
    fig, axes = new_figure(2.2 * cols + 0.8, 2.2 * rows, ncols=cols, nrows=rows)
    grids = [_grid_part(m) if image is not None else None for m in maps]
    scale = weight_scale(np.concatenate([g.ravel() for g in grids if g is not None] or [[1.0]]))
    shown = None
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_axis_off()
            continue
        if grids[k] is not None:
            img = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else as_array(image)
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
        f"{cap(heading)}: the text tokens' attention on the visual prefix, averaged over heads "
        "and tokens, one panel per encoder layer.",
        f"{n} panels, one per layer, each {kind}. Share of the text tokens' attention that goes "
        "to the image prefix, per layer from the first: "
        + ", ".join(f"{float(m.sum()):.2f}" for m in maps)
        + f"; the largest single weight {max(float(m.max()) for m in maps):.3f}.",
    )
