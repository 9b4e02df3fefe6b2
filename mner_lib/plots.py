"""Plots for the book (matplotlib + seaborn). Every function returns a new
:class:`matplotlib.figure.Figure` built without pyplot, so a notebook shows it exactly once
(``display(fig)`` or as a cell's last value) and tests can count its artists.

| plot                         | function                     | paper / key                         |
|------------------------------|------------------------------|-------------------------------------|
| training curves              | :func:`training_curves`      | ``history.jsonl`` of every run      |
| per-type F1 bars             | :func:`per_type_f1`          | ``metrics.json`` ``per_type``       |
| entity-type confusion        | :func:`entity_confusion`     | gold vs predicted tags              |
| text-to-image attention      | :func:`region_attention`     | HSN ``text_to_image`` (eq. 13-15)   |
| attention over a caption     | :func:`caption_attention`    | any of them under ``caption:<src>`` |
| weights over tokens          | :func:`token_weights`        | HSN ``image_to_text``, ``gate``     |
| modality attention           | :func:`modality_attention`   | CWI / TriMod ``modality`` (eq. 11)  |
| image's top-5 words          | :func:`image_words`          | CWI ``image_words``                 |
| segmented hashtags           | :func:`segmented_hashtags`   | TriMod ``hashtag_segments``         |
| gates per layer and stage    | :func:`layer_gates`          | GMF ``gates`` (eq. 7-8)             |
| prefix attention per layer   | :func:`prefix_attention`     | GMF ``prefix`` (eq. 11-13)          |
| batch similarity matrices    | :func:`similarity_matrices`  | GMF consistency heads (eq. 14-16)   |
| 2-D projection of pairs      | :func:`embedding_pairs`      | GMF ``text_embedding`` / ``image_embedding`` |
| synthetic probe gallery      | :func:`image_gallery`        | :mod:`mner_lib.images.probe`        |
| ours vs the papers           | :func:`compare_bars`         | :mod:`mner_lib.results`             |
| HSN's heads side by side     | :func:`head_attention`       | HSN ``text_to_image_heads`` (eq. 14) |

Each returns a :class:`mner_lib.figure.BookFigure`: a caption that says what it shows and an alt
text computed from the data, both carried into the book as a numbered figure
(:mod:`mner_lib.sphinx_figures`). Attention colour scales run from 0 to the largest weight
(:func:`weight_scale`) with a labelled colour bar; long tokens are cut on the tick labels.
A figure drawn with pyplot is shown the same way with :func:`captioned`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from mner_lib.figure import BookFigure, captioned, literal, quote, short, wrap  # noqa: F401
from mner_lib.metrics import extract_entities

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")
TYPE_COLOURS = {"PER": "#d62728", "LOC": "#2ca02c", "ORG": "#1f77b4", "MISC": "#ff7f0e"}


def _array(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    return np.asarray(values, dtype=float)


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kwargs):
    fig = BookFigure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def weight_scale(values: Any) -> dict[str, float]:
    """The colour range of attention weights: from 0 to the largest weight rounded up to two
    significant digits (at most 1 for weights that are probabilities), so a near-uniform map is
    drawn as one flat colour instead of a scale spanning 0.02040 +- 0.00001."""
    v = _array(values)
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


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _argmax_at(values: np.ndarray, labels: Sequence[str]) -> str:
    k = int(np.argmax(values))
    return f"{labels[k]!r} ({values[k]:.2f})" if k < len(labels) else f"position {k + 1}"


# ----------------------------------------------------------------------------- training
@literal
def training_curves(
    histories: Mapping[str, Sequence[Mapping[str, float]]], title: str = ""
) -> Figure:
    """Loss and dev F1 per epoch, one line per run (``{label: history}``)."""
    if not histories:
        raise ValueError("training_curves needs at least one history")
    fig, axes = _figure(9, 3.2, ncols=2)
    for label, history in histories.items():
        epochs = [h["epoch"] for h in history]
        axes[0, 0].plot(epochs, [h["loss"] for h in history], marker="o", label=label)
        axes[0, 1].plot(epochs, [h["dev_f1"] for h in history], marker="o", label=label)
    axes[0, 0].set(xlabel="epoch", ylabel="training loss", title="loss")
    axes[0, 1].set(xlabel="epoch", ylabel="dev F1 (%)", title="dev F1")
    axes[0, 1].legend(fontsize=8)
    last = max((h["epoch"] for history in histories.values() for h in history), default=1)
    best_f1 = max((h["dev_f1"] for history in histories.values() for h in history), default=0.0)
    axes[0, 1].set_ylim(0, min(100.0, max(10.0, 1.1 * float(best_f1))))  # F1 from 0, never -0.04
    for ax in axes[0]:  # whole epochs, even for a run of one epoch
        ax.set_xlim(0.5, last + 0.5)
        ax.xaxis.set_major_locator(MultipleLocator(max(1, math.ceil(last / 8))))
    if title:
        fig.suptitle(title)
    runs = []
    for label, history in histories.items():
        f1 = [float(h["dev_f1"]) for h in history]
        if f1:
            best = int(np.argmax(f1))
            runs.append(
                f"{label}: {len(f1)} epoch(s), dev F1 {f1[0]:.1f} after the first, "
                f"best {f1[best]:.1f} after epoch {history[best]['epoch']}"
            )
    return fig.describe(
        f"{_cap(title) if title else 'Training loss (left) and dev F1 (right) per epoch'}, one "
        f"line per run: {', '.join(histories)}.",
        "Two line charts against the epoch, one line per run: the training loss on the left, "
        "the F1 on the development set in percent on the right. " + "; ".join(runs) + ".",
    )


@literal
def per_type_f1(
    scores: Mapping[str, Mapping[str, Any]], title: str = "test F1 per entity type"
) -> Figure:
    """Bars of F1 per entity type, one group per run (``{label: evaluate(...) result}``)."""
    if not scores:
        raise ValueError("per_type_f1 needs at least one run's scores")
    rows = []
    for label, result in scores.items():
        for etype in ENTITY_TYPES:
            rows.append((label, etype, float(result["per_type"].get(etype, {}).get("f1", 0.0))))
    fig, axes = _figure(max(5, 1.2 * len(scores) + 3), 3.2)
    ax = axes[0, 0]
    labels = list(scores)
    width = 0.8 / len(labels)
    for k, label in enumerate(labels):
        values = [v for lab, _, v in rows if lab == label]
        ax.bar(
            np.arange(len(ENTITY_TYPES)) + k * width - 0.4 + width / 2, values, width, label=label
        )
    ax.set_xticks(range(len(ENTITY_TYPES)), ENTITY_TYPES)
    ax.set(ylabel="F1 (%)", ylim=(0, 100), title=title)
    ax.legend(fontsize=8)
    said = [
        f"{label}: " + ", ".join(f"{t} {v:.1f}" for lab, t, v in rows if lab == label)
        for label in labels
    ]
    return fig.describe(
        f"{_cap(title)}, one bar per run: {', '.join(labels)}.",
        "Grouped bar chart of the F1 in percent (0 to 100) for each entity type, PER, LOC, ORG "
        "and MISC, one bar per run. " + "; ".join(said) + ".",
    )


def confusion_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> np.ndarray:
    """Entity-level confusion: rows gold type + "none" (spurious), columns predicted type +
    "none" (missed). A predicted entity with the same span as a gold one is counted under its
    type; spans found in only one side count against "none"."""
    names = list(ENTITY_TYPES) + ["none"]
    index = {n: i for i, n in enumerate(names)}
    counts = np.zeros((len(names), len(names)), dtype=int)
    for g, p in zip(gold, pred):
        gold_spans = {(s, e): t for s, e, t in extract_entities(g)}
        pred_spans = {(s, e): t for s, e, t in extract_entities(p)}
        for span, gtype in gold_spans.items():
            counts[index.get(gtype, 4), index.get(pred_spans.get(span, "none"), 4)] += 1
        for span, ptype in pred_spans.items():
            if span not in gold_spans:
                counts[4, index.get(ptype, 4)] += 1
    return counts


@literal
def entity_confusion(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], title: str = ""
) -> Figure:
    """Heat map of :func:`confusion_counts` (span match, type confusion, misses, spurious)."""
    names = list(ENTITY_TYPES) + ["none"]
    counts = confusion_counts(gold, pred)
    fig, axes = _figure(4.6, 3.8)
    sns.heatmap(
        counts,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        ax=axes[0, 0],
        xticklabels=[n if n != "none" else "missed" for n in names],
        yticklabels=[n if n != "none" else "spurious" for n in names],
    )
    axes[0, 0].set(
        xlabel="predicted type (same span)", ylabel="gold type", title=title or "entity types"
    )
    right = int(np.trace(counts[:4, :4]))
    return fig.describe(
        (title or "Entity confusion")
        + ": gold entity type (rows) against the type predicted for the same span (columns); "
        "missed gold entities in the last column, spurious predictions in the last row.",
        f"Heat map of entity counts, 5 by 5, with the count in each cell. Of "
        f"{int(counts[:4].sum())} gold entities, {right} were found with the right span and "
        f"type, {int(counts[:4, :4].sum()) - right} with the right span but another type and "
        f"{int(counts[:4, 4].sum())} were missed; {int(counts[4].sum())} predictions match no "
        "gold span.",
    )


# ----------------------------------------------------------------------------- attention
@literal
def region_attention(
    image: Any, weights: Any, title: str = "text-to-image attention", grid: int | None = None
) -> Figure:
    """Weights over the K = g x g region grid (HSN's s_img, eq. 13-15) drawn over the image;
    the colours run from 0 to the largest weight (:func:`weight_scale`)."""
    w = _array(weights).reshape(-1)
    grid = grid or int(round(math.sqrt(w.size)))
    if grid * grid != w.size:
        raise ValueError(f"region_attention: {w.size} weights do not form a square grid")
    fig, axes = _figure(7, 3.4, ncols=2)
    img = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else _array(image)
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
    w = _array(weights)
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
        fig, axes = _figure(max(5, 0.42 * k + 2), 2.8)
        axes[0, 0].bar(range(k), w, color=sns.color_palette("magma", 1)[0])
        axes[0, 0].set_xticks(range(k), labels, rotation=60, ha="right", fontsize=8)
        axes[0, 0].set(ylabel="weight", xlabel="caption word", title=title)
        return fig.describe(
            caption + ".",
            f"Bar chart, one bar per word of the caption {quote(caption_tokens)}; the largest "
            f"weight is on {_argmax_at(w, list(caption_tokens))}.",
        )
    rows = list(tokens) if tokens is not None else [str(i + 1) for i in range(w.shape[0])]
    if len(rows) < w.shape[0]:
        w = w[: len(rows)]
    rows = rows[: w.shape[0]]
    fig, axes = _figure(max(5, 0.42 * k + 2.5), max(2.4, 0.3 * len(rows) + 1.6))
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
    top = [f"{r}: {_argmax_at(w[i], list(caption_tokens))}" for i, r in enumerate(rows[:8])]
    return fig.describe(
        caption + ", one row each.",
        f"Heat map, {len(rows)} rows by {k} caption words of {quote(caption_tokens)}. Largest "
        "weight per row: " + "; ".join(top) + ".",
    )


@literal
def head_attention(heads: Any, title: str = "text-to-image weights per head") -> Figure:
    """HSN's per-head region weights ((e, K), K = g x g) as small heat maps on one colour scale
    with one labelled colour bar, so heads can be compared (eq. 14, before the heads' mean)."""
    h = _array(heads)
    if h.ndim != 2 or round(math.sqrt(h.shape[1])) ** 2 != h.shape[1]:
        raise ValueError(f"head_attention: weights of shape {h.shape}, expected (heads, g*g)")
    grid = round(math.sqrt(h.shape[1]))
    scale = weight_scale(h)
    rows = math.ceil(len(h) / 4)  # at most 4 heads a row: 8 heads are 2 readable rows
    cols = math.ceil(len(h) / rows)
    fig, axes = _figure(1.9 * cols + 1.2, 2.0 * rows + 0.4, ncols=cols, nrows=rows)
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
        f"{_cap(title)}: each head's weights over the {grid}x{grid} region grid, "
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
    fig, axes = _figure(max(6, 0.45 * len(tokens) + 2), 2.4 * n, nrows=n, sharex=True)
    said = []
    for ax, (name, values) in zip(axes[:, 0], weights.items()):
        v = _array(values)
        if v.ndim == 2:
            v = v.mean(axis=1)
        v = v[: len(tokens)]
        ax.bar(range(len(v)), v, color=sns.color_palette("crest", 1)[0])
        ax.set(ylabel=name)
        if v.size:
            said.append(
                f"{name} from {v.min():.2f} to {v.max():.2f}, largest on "
                f"{_argmax_at(v, list(tokens))}"
            )
    axes[-1, 0].set_xticks(
        range(len(tokens)), [short(t) for t in tokens], rotation=60, ha="right", fontsize=8
    )
    if title:
        fig.suptitle(title)
    return fig.describe(
        f"{(title or 'Weights per token')[:1].upper()}{(title or 'weights per token')[1:]}: one "
        f"bar per token; panels: {', '.join(weights)}.",
        f"{n} bar chart(s), one bar per token of {quote(tokens)}: " + "; ".join(said) + ".",
    )


@literal
def modality_attention(
    tokens: Sequence[str],
    weights: Any,
    modalities: Sequence[str] = ("word", "char", "image"),
    title: str = "",
) -> Figure:
    """Per-token attention over the modalities (CWI / TriMod ``modality``, (T, M)), as a heat map."""
    w = _array(weights)[: len(tokens)]
    if w.ndim != 2 or w.shape[1] != len(modalities):
        raise ValueError(
            f"modality_attention: weights of shape {w.shape}, expected (T, {len(modalities)})"
        )
    fig, axes = _figure(max(6, 0.45 * len(tokens) + 2), 2.6)
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
    fig, axes = _figure(8, 3, ncols=2)
    axes[0, 0].imshow(
        np.asarray(image.convert("RGB")) if hasattr(image, "convert") else _array(image)
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
    fig, axes = _figure(7, 0.45 * max(1, len(segments)) + 0.8)
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


# GMF's figures, the gallery and the results bars live in mner_lib.plots_extra (this module's
# size); imported last, since they draw with the helpers above.
from mner_lib.plots_extra import (  # noqa: E402, F401
    compare_bars,
    embedding_pairs,
    image_gallery,
    layer_gates,
    prefix_attention,
    similarity,
    similarity_matrices,
)
