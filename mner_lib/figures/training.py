"""Figures of a run's results: training curves, per-type F1, entity confusion, ours beside the papers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator

from mner_lib.figures.figure import literal, short
from mner_lib.figures.style import (
    cap,
    new_figure,
)
from mner_lib.text.data import ENTITY_TYPES
from mner_lib.text.metrics import extract_entities


# ----------------------------------------------------------------------------- training
@literal
def training_curves(
    histories: Mapping[str, Sequence[Mapping[str, float]]], title: str = ""
) -> Figure:
    """Loss and dev F1 per epoch, one line per run (``{label: history}``)."""
    if not histories:
        raise ValueError("training_curves needs at least one history")
    fig, axes = new_figure(9, 3.2, ncols=2)
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
                f"{label}: {len(f1)} epoch{'' if len(f1) == 1 else 's'}, dev F1 {f1[0]:.1f} after the first, "
                f"best {f1[best]:.1f} after epoch {history[best]['epoch']}"
            )
    return fig.describe(
        f"{cap(title) if title else 'Training loss (left) and dev F1 (right) per epoch'}, one "
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
    fig, axes = new_figure(max(5, 1.2 * len(scores) + 3), 3.2)
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
        f"{cap(title)}, one bar per run: {', '.join(labels)}.",
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
    fig, axes = new_figure(4.6, 3.8)
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
    fig, axes = new_figure(8, 0.35 * len(frame) + 1.5)
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
        f"{cap(title or 'test F1')}: one bar per row of the table, coloured by {hue}.",
        f"Horizontal bar chart of {len(frame)} test F1 values in percent: " + "; ".join(bars) + ".",
    )
