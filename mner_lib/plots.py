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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from mner_lib.metrics import extract_entities

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")
TYPE_COLOURS = {"PER": "#d62728", "LOC": "#2ca02c", "ORG": "#1f77b4", "MISC": "#ff7f0e"}


def _array(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    return np.asarray(values, dtype=float)


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kwargs):
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


# ----------------------------------------------------------------------------- training
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
    for ax in axes[0]:
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    return fig


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
    return fig


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
    return fig


# ----------------------------------------------------------------------------- attention
def region_attention(
    image: Any, weights: Any, title: str = "text-to-image attention", grid: int | None = None
) -> Figure:
    """Weights over the K = g x g region grid (HSN's s_img, eq. 13-15) drawn over the image."""
    w = _array(weights).reshape(-1)
    grid = grid or int(round(math.sqrt(w.size)))
    if grid * grid != w.size:
        raise ValueError(f"region_attention: {w.size} weights do not form a square grid")
    fig, axes = _figure(7, 3.4, ncols=2)
    img = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else _array(image)
    height, width = img.shape[:2]
    axes[0, 0].imshow(img)
    axes[0, 0].imshow(
        w.reshape(grid, grid),
        cmap="magma",
        alpha=0.55,
        extent=(0, width, height, 0),
        interpolation="nearest",
    )
    axes[0, 0].set(title="over the image", xticks=[], yticks=[])
    fig.suptitle(title)
    sns.heatmap(
        w.reshape(grid, grid),
        ax=axes[0, 1],
        cmap="magma",
        cbar=True,
        square=True,
        xticklabels=False,
        yticklabels=False,
    )
    axes[0, 1].set(title=f"the {grid}x{grid} weights")
    return fig


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
    labels = list(caption_tokens)
    if w.ndim == 1:
        fig, axes = _figure(max(5, 0.42 * k + 2), 2.8)
        axes[0, 0].bar(range(k), w, color=sns.color_palette("magma", 1)[0])
        axes[0, 0].set_xticks(range(k), labels, rotation=60, ha="right", fontsize=8)
        axes[0, 0].set(ylabel="weight", xlabel="caption word", title=title)
        return fig
    rows = list(tokens) if tokens is not None else [str(i + 1) for i in range(w.shape[0])]
    if len(rows) < w.shape[0]:
        w = w[: len(rows)]
    rows = rows[: w.shape[0]]
    fig, axes = _figure(max(5, 0.42 * k + 2.5), max(2.4, 0.3 * len(rows) + 1.6))
    sns.heatmap(
        w,
        ax=axes[0, 0],
        cmap="magma",
        cbar=True,
        xticklabels=labels,
        yticklabels=rows,
    )
    axes[0, 0].tick_params(axis="x", rotation=60, labelsize=8)
    axes[0, 0].tick_params(axis="y", rotation=0, labelsize=8)
    axes[0, 0].set(xlabel="caption word", title=title)
    return fig


def token_weights(
    tokens: Sequence[str], weights: Mapping[str, Any] | Any, title: str = ""
) -> Figure:
    """One bar per token, one panel per named weight vector (e.g. HSN ``image_to_text`` s_sen and
    the gate gamma; a gate of shape (T, d) is averaged over d)."""
    if not isinstance(weights, Mapping):
        weights = {"weight": weights}
    n = len(weights)
    fig, axes = _figure(max(6, 0.45 * len(tokens) + 2), 2.4 * n, nrows=n, sharex=True)
    for ax, (name, values) in zip(axes[:, 0], weights.items()):
        v = _array(values)
        if v.ndim == 2:
            v = v.mean(axis=1)
        v = v[: len(tokens)]
        ax.bar(range(len(v)), v, color=sns.color_palette("crest", 1)[0])
        ax.set(ylabel=name)
    axes[-1, 0].set_xticks(range(len(tokens)), tokens, rotation=60, ha="right", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


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
        xticklabels=list(tokens),
        yticklabels=list(modalities),
        cbar=True,
    )
    axes[0, 0].tick_params(axis="x", rotation=60, labelsize=8)
    axes[0, 0].set(title=title or "modality attention per token")
    return fig


def image_words(
    image: Any, labels: Sequence[tuple[str, float]], title: str = "the image's top-5 words"
) -> Figure:
    """The image beside its top-k class names and probabilities (CWI's image words)."""
    fig, axes = _figure(8, 3, ncols=2)
    axes[0, 0].imshow(
        np.asarray(image.convert("RGB")) if hasattr(image, "convert") else _array(image)
    )
    axes[0, 0].set(xticks=[], yticks=[], title="image")
    names = [name for name, _ in labels][::-1]
    probs = [float(p) for _, p in labels][::-1]
    axes[0, 1].barh(range(len(names)), probs, color=sns.color_palette("flare", 1)[0])
    axes[0, 1].set_yticks(range(len(names)), names, fontsize=8)
    axes[0, 1].set(xlabel="probability", title=title)
    return fig


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
    return fig


# ----------------------------------------------------------------------------- GMF
def layer_gates(
    gates: Any, stages: Sequence[str] = ("F1", "F2", "F3", "F4"), title: str = ""
) -> Figure:
    """GMF's gate g(l) over the backbone stages per text-encoder layer ((L, S) or (B, L, S),
    averaged over the batch): eq. 7-8."""
    g = _array(gates)
    if g.ndim == 3:
        g = g.mean(axis=0)
    fig, axes = _figure(1.2 * g.shape[1] + 2.5, 0.4 * g.shape[0] + 1.6)
    sns.heatmap(
        g,
        ax=axes[0, 0],
        annot=True,
        fmt=".2f",
        cmap="rocket_r",
        vmin=0,
        vmax=1,
        xticklabels=list(stages)[: g.shape[1]],
        yticklabels=[f"layer {i + 1}" for i in range(g.shape[0])],
    )
    axes[0, 0].set(xlabel="backbone stage", title=title or "dynamic gate per layer (eq. 8)")
    return fig


def prefix_attention(
    prefix: Sequence[Any],
    image: Any | None = None,
    title: str = "",
    caption_tokens: Sequence[str] | None = None,
) -> Figure:
    """Attention of the text tokens on the visual prefix, per layer (GMF eq. 11-13).

    ``prefix`` holds one array per layer of shape (heads, T, P) (or (B, heads, T, P): the first
    tweet). Averaged over heads and tokens; when P - 1 or P is a square number the grid part is
    drawn over ``image``, else one bar per prefix position. With ``caption_tokens`` (a text
    condition: the prefix is the caption's words) a heat map, one row per layer, one column per
    caption word (:func:`caption_attention`)."""
    maps = []
    for layer in prefix:
        a = _array(layer)
        if a.ndim == 4:
            a = a[0]
        maps.append(a.mean(axis=(0, 1)))
    if caption_tokens is not None:
        return caption_attention(
            [f"layer {k + 1}" for k in range(len(maps))],
            caption_tokens,
            np.stack([m[: len(caption_tokens)] for m in maps]),
            title or "text-to-caption attention per layer (the prefix is the caption)",
        )
    n = len(maps)
    cols = min(n, 6)
    rows = math.ceil(n / cols)
    fig, axes = _figure(2.2 * cols, 2.2 * rows, ncols=cols, nrows=rows)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_axis_off()
            continue
        m = maps[k]
        side = int(round(math.sqrt(m.size)))
        side_minus = int(round(math.sqrt(max(m.size - 1, 0))))
        if (
            image is not None
            and (side * side == m.size or side_minus * side_minus == m.size - 1)
            and m.size > 1
        ):
            grid = m if side * side == m.size else m[1:]
            side = int(round(math.sqrt(grid.size)))
            img = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else _array(image)
            h, w = img.shape[:2]
            ax.imshow(img)
            ax.imshow(grid.reshape(side, side), cmap="magma", alpha=0.55, extent=(0, w, h, 0))
            ax.set(xticks=[], yticks=[])
        else:
            ax.bar(range(m.size), m, color=sns.color_palette("mako", 1)[0])
            ax.set(xlabel="prefix position")
        ax.set_title(f"layer {k + 1}", fontsize=9)
    fig.suptitle(title or "text-to-prefix attention per layer")
    return fig


def similarity(text: Any, image: Any) -> np.ndarray:
    """Cosine similarity matrix (B, B) between text and image embeddings (consistency heads)."""
    t = _array(text)
    v = _array(image)
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return t @ v.T


def similarity_matrices(panels: Mapping[str, tuple[Any, Any]], title: str = "") -> Figure:
    """Batch similarity matrices of the consistency heads, e.g. ``{"before": (t, v), "after": ...}``:
    a matched pair sits on the diagonal (eq. 14-16)."""
    fig, axes = _figure(4 * len(panels), 3.6, ncols=len(panels))
    for ax, (name, (t, v)) in zip(axes[0], panels.items()):
        sns.heatmap(
            similarity(t, v),
            ax=ax,
            cmap="coolwarm",
            vmin=-1,
            vmax=1,
            square=True,
            xticklabels=False,
            yticklabels=False,
        )
        ax.set(title=name, xlabel="image", ylabel="text")
    if title:
        fig.suptitle(title)
    return fig


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
    ax.set(xlabel="PC 1", ylabel="PC 2", title=title or "text and image embeddings (PCA)")
    ax.legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------- misc
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
            ax.set_title(captions[k], fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def compare_bars(
    table: Any,
    value: str = "f1_mean",
    error: str | None = "f1_std",
    label: str = "label",
    hue: str = "source_kind",
    title: str = "",
) -> Figure:
    """Horizontal bars of a results table (one row per bar), optional error bars (std over seeds)."""
    frame = table.reset_index(drop=True)
    fig, axes = _figure(8, 0.35 * len(frame) + 1.5)
    ax = axes[0, 0]
    palette = dict(zip(sorted(frame[hue].unique()), sns.color_palette("Set2")))
    colours = [palette[h] for h in frame[hue]]
    errors = frame[error].fillna(0).to_numpy(float) if error and error in frame else None
    ax.barh(range(len(frame)), frame[value].to_numpy(float), xerr=errors, color=colours)
    ax.set_yticks(range(len(frame)), frame[label], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="test F1 (%)", title=title)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(color=c, label=h) for h, c in palette.items()], fontsize=8, loc="lower right"
    )
    return fig
