"""Figures of the recorded real-data runs (:mod:`mner_lib.book.realresults` reads them).

- :func:`recorded_curves`: small multiples, one panel per setting and condition, dev F1 per epoch
  from each run's committed ``history.jsonl``, one line per seed, the panel titled with its
  model, dataset, condition (SYNTHETIC spelled out) and protocol.
- :func:`paired_plot`: one panel per model, ours (mean ± std over seeds, per condition) beside
  the paper's number, per dataset; :func:`headline_settings` picks the protocol each panel shows.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mner_lib.book.realresults import CONDITION_COLUMNS, dataset_name
from mner_lib.figure import BookFigure

#: colours of the paired plot: the paper and ours per condition group
COLOURS = {
    "paper": "#4d4d4d",
    "plain": "#4c72b0",
    "caption": "#55a868",
    "caption-shuffled": "#b5dcb9",
    "synthetic": "#dd8452",
}
LEGEND = {
    "paper": "paper (its table)",
    "plain": "ours: text only or blank images",
    "caption": "ours: real-image caption",
    "caption-shuffled": "ours: shuffled caption (control)",
    "synthetic": "ours: SYNTHETIC images",
}


def read_history(metrics_file: str | Path) -> list[dict[str, Any]]:
    """The per-epoch lines of the run whose ``metrics.json`` is given (its ``history.jsonl``);
    empty when the run has none. A line that is not JSON is an error naming file and line."""
    path = Path(metrics_file).with_name("history.jsonl")
    if not path.is_file():
        return []
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not valid JSON ({err.msg})") from err
    return lines


def short_training(training: str) -> str:
    """The optimiser and learning rate of a ``training`` string, and ``training words only``
    where it says so: what tells two runs of the same protocol apart."""
    head = training.split(", ")[0].replace(" (encoder ", "\n(encoder ")
    return head + ("\ntraining words only" if "training words only" in training else "")


def panel_title(row: pd.Series) -> str:
    """``hsn w/o MI`` over ``Twitter-2015 · blank`` over ``budget protocol · adam lr=0.003``."""
    from mner_lib.spec import paper_variant

    model = str(row["model"]) + (
        "" if row["variant"] == "full" else f" {paper_variant(str(row['variant']))}"
    )
    condition = "SYNTHETIC images" if bool(row["synthetic"]) else str(row["condition"])
    condition = "text only" if condition == "none" else condition
    training = short_training(str(row["training"])).split("\n")
    lines = [model, f"{dataset_name(str(row['dataset']))} · {condition}"]
    lines.append(f"{row['protocol']} · {training[0]}")
    return "\n".join(lines + [" ".join(training[1:])] if len(training) > 1 else lines)


def recorded_curves(settings: pd.DataFrame, ncols: int = 3) -> Figure | None:
    """Dev F1 per epoch of every run of ``settings`` (rows of
    :func:`mner_lib.book.realresults.recorded_settings`), one panel per row, one line per seed.
    None when no run has a history."""
    panels = []
    for _, row in settings.iterrows():
        runs = [(Path(s), read_history(s)) for s in str(row["sources"]).split("; ")]
        runs = [(p, h) for p, h in runs if h]
        if runs:
            panels.append((row, runs))
    if not panels:
        return None
    nrows = math.ceil(len(panels) / ncols)
    fig = BookFigure(figsize=(7.2, 2.3 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    for ax, (row, runs) in zip(axes.flat, panels):
        for path, history in runs:
            seed = path.parent.name.replace("seed", "seed ")
            ax.plot([h["epoch"] for h in history], [h["dev_f1"] for h in history], marker="o",
                    markersize=3, linewidth=1.2, label=seed)  # fmt: skip
        ax.set_title(panel_title(row), fontsize=6.5)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=6, loc="lower right")
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("dev F1 (%)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("epoch", fontsize=8)
    fig.suptitle("Recorded real-data runs: dev F1 per epoch, one line per seed", fontsize=10)
    best = [
        f"{row['model']} {row['dataset']} {row.get('condition', '')}: best "
        f"{max(h['dev_f1'] for _, hist in runs for h in hist):.1f}"
        for row, runs in panels
    ]
    return fig.describe(
        "Dev F1 per epoch of the recorded real-data runs, one panel per setting (its protocol in "
        "the panel title), one line per seed, read from each run's committed history.jsonl.",
        f"{len(panels)} panels of dev-F1 curves. " + "; ".join(best) + ".",
    )


# ----------------------------------------------------------------------------- ours vs the paper
def headline_settings(settings: pd.DataFrame) -> pd.DataFrame:
    """Per model and dataset, the full model's rows of one protocol, training and variant (a
    deviation from the paper's full model is named in it): one with a spread (two seeds or more)
    before one without, then the uncapped or larger training set (a full-data replication with
    two seeds before a capped budget run with three), then the most seeds, then the current
    vocabulary rule (not ``training words only``), then the most conditions, then the most
    epochs. Quick (smoke) runs only when nothing else was run."""
    from mner_lib.spec import paper_variant

    # the full model, also under a named deviation: ``full (gate=dimension,oov_init=uniform)``
    full = settings[[paper_variant(str(v)) == "full" for v in settings["variant"]]]
    if full.empty:
        return full
    picked = []
    for _, part in full.groupby(["model", "dataset"], sort=True):
        candidates = []
        keys = ["protocol", "training", "max_train", "variant"]
        for key, group in part.groupby(keys, sort=True):
            protocol, training, max_train, _variant = key
            rank = (
                protocol != "quick (smoke)",
                min(int(group["n_seeds"].max()), 2),  # a spread at all
                not max_train,
                int(max_train or 0),
                int(group["n_seeds"].max()),
                "training words only" not in str(training),
                group["group"].nunique(),
                _epochs(str(training)),  # then the longer training (the campaign's 30 epochs)
            )
            candidates.append((rank, group))
        picked.append(max(candidates, key=lambda c: c[0])[1])
    return pd.concat(picked, ignore_index=True)


def _epochs(training: str) -> int:
    found = re.search(r"(\d+) epochs", training)
    return int(found.group(1)) if found else 0


def _panel(ax, part: pd.DataFrame, groups: list[str]) -> None:
    """One model's bars: per dataset, the paper's F1, then ours per condition group."""
    datasets = sorted(part["dataset"].unique())
    slots = ["paper", *groups]
    width = 0.8 / len(slots)
    for x, dataset in enumerate(datasets):
        rows = part[part["dataset"] == dataset]
        plain = rows[rows["group"] == "plain"]
        paper = plain["paper_f1"].dropna()
        values = {"paper": (float(paper.iloc[0]), 0.0) if len(paper) else None}
        paper_row = str(plain["paper_variant"].dropna().iloc[0]) if len(paper) else "full"
        for g in groups:
            r = rows[rows["group"] == g]
            values[g] = (
                (float(r["f1_mean"].iloc[0]), float(r["f1_std"].iloc[0])) if len(r) else None
            )
        for i, slot in enumerate(slots):
            pos = x - 0.4 + width * (i + 0.5)
            if values[slot] is None:
                if slot == "paper":
                    ax.text(
                        pos, 2, "no paper number", rotation=90, fontsize=6, ha="center", va="bottom"
                    )
                continue
            mean, std = values[slot]
            ax.bar(
                pos,
                mean,
                width,
                yerr=std or None,
                color=COLOURS.get(slot, "#999999"),
                hatch="//" if slot == "synthetic" else None,
                edgecolor="white",
                capsize=2,
            )
            text = f"{mean:.1f}" + (
                f" {paper_row}" if slot == "paper" and paper_row != "full" else ""
            )
            ax.text(pos, mean + std + 1, text, rotation=90, fontsize=6, ha="center", va="bottom")
        protocol = rows["protocol"].iloc[0]
        ax.text(
            x,
            -0.16,
            f"{protocol}\n{short_training(str(rows['training'].iloc[0]))}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=6,
        )
    ax.set_xticks(range(len(datasets)), [dataset_name(d) for d in datasets], fontsize=8)
    ax.set_ylim(0, 105)
    ax.tick_params(axis="y", labelsize=7)


def paired_plot(settings: pd.DataFrame, models: list[str] | None = None, ncols: int = 3) -> Figure:
    """Ours beside the paper, one panel per model (full model, the protocol of
    :func:`headline_settings`): per dataset the paper's test F1 and ours per condition (mean ±
    std over seeds; SYNTHETIC images hatched). One shared legend of at most five entries."""
    picked = headline_settings(settings)
    picked = picked[picked["protocol"] != "quick (smoke)"] if not picked.empty else picked
    if picked.empty:
        raise ValueError("paired_plot: no recorded run of a full model to plot")
    order = [m for m in (models or sorted(picked["model"].unique())) if m in set(picked["model"])]
    groups = [g for g in CONDITION_COLUMNS if g in set(picked["group"])]
    nrows = math.ceil(len(order) / ncols)
    fig = BookFigure(figsize=(7.2, 2.7 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    for ax, model in zip(axes.flat, order):
        part = picked[picked["model"] == model]
        _panel(ax, part, groups)
        named = sorted({str(v).partition(" (")[2].rstrip(")") for v in part["variant"]} - {""})
        ax.set_title(model + (f"\n({'; '.join(named)})" if named else ""), fontsize=8)
    for ax in axes.flat[len(order) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("test F1 (%)", fontsize=8)
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=COLOURS[k], hatch="//" if k == "synthetic" else None, label=LEGEND[k])
        for k in ["paper", *groups]
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3), fontsize=7)
    fig.suptitle("Test F1: ours (mean ± std over seeds) beside the paper's number", fontsize=10)
    return fig.describe(
        "Test F1 per model: the paper's number beside ours per condition (mean ± std over seeds, "
        "the protocol under each dataset); bars on SYNTHETIC images are hatched and meet no paper.",
        f"Bar panels for {len(order)} models ({', '.join(order)}); conditions shown: "
        f"{', '.join(LEGEND[g] for g in groups)}.",
    )
