"""Figures of the recorded real-data runs (:mod:`mner_lib.book.realresults` reads them).

- :func:`recorded_curves`: small multiples, one panel per setting and condition, dev F1 per epoch
  from each run's committed ``history.jsonl``, one line per seed, the panel titled with its
  model, dataset, condition (SYNTHETIC spelled out) and protocol.
- :func:`paired_plot`: one panel per model, ours (mean ± std over seeds, per condition) beside
  the paper's number, per dataset; :func:`headline_settings` picks the protocol each panel shows.
- :func:`campaign_gap_plot`: what real-image captions add in the replication campaign, one dot
  per seed's paired gap (:func:`campaign_gaps`).
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mner_lib.book.realresults import (
    CONDITION_COLUMNS,
    _show,
    dataset_name,
    recorded_runs_html,
    recorded_settings,
)
from mner_lib.experiments.campaign import SHUFFLED
from mner_lib.figures.figure import BookFigure, literal
from mner_lib.io.plural import counted
from mner_lib.io.safe_read import read_regular_file
from mner_lib.reporting.results import MAX_METRICS_BYTES

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
    empty when the run has none. A line that is not JSON, or not an object with an integer
    ``epoch`` and a ``dev_f1`` from 0 to 100, is an error naming file and line; a history that
    is not a regular file (a FIFO, a device) or is over 16 MB is an error naming the file."""
    path = Path(metrics_file).with_name("history.jsonl")
    if not path.exists():
        return []
    text = read_regular_file(path, MAX_METRICS_BYTES, what="run history").decode("utf-8", "replace")
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                lines.append((number, json.loads(line)))
            except (ValueError, RecursionError) as err:
                raise ValueError(f"{path}:{number}: not valid JSON ({_reason(err)})") from None
    for number, h in lines:
        epoch, dev_f1 = (h.get("epoch"), h.get("dev_f1")) if isinstance(h, dict) else (None, None)
        if not (type(epoch) is int and 0 <= epoch < 10**6 and type(dev_f1) in (int, float)):
            raise ValueError(f"{path}:{number}: not an object with an integer epoch and a dev_f1")
        if not 0 <= dev_f1 <= 100:  # NaN and infinities too
            raise ValueError(f"{path}:{number}: dev_f1 {dev_f1!r:.40} is not from 0 to 100")
    return [h for _, h in lines]


def _reason(err: BaseException) -> str:
    return err.msg if isinstance(err, json.JSONDecodeError) else str(err) or "nested too deep"


def short_training(training: str) -> str:
    """The optimiser and learning rate of a ``training`` string, and ``training words only``
    where it says so: what tells two runs of the same protocol apart."""
    head = training.split(", ")[0].replace(" (encoder ", "\n(encoder ")
    return head + ("\ntraining words only" if "training words only" in training else "")


#: the widest panel title line (characters at 6.5 pt) that fits a panel of three to a row
TITLE_CHARS = 38


def panel_title(row: pd.Series) -> str:
    """``hsn w/o MI`` over ``Twitter-2015 · blank`` over ``budget protocol · adam lr=0.003``."""
    from mner_lib.models.spec import paper_variant

    model = str(row["model"]) + (
        "" if row["variant"] == "full" else f" {paper_variant(str(row['variant']))}"
    )
    condition = "SYNTHETIC images" if bool(row["synthetic"]) else str(row["condition"])
    condition = "text only" if condition == "none" else condition
    training = short_training(str(row["training"])).split("\n")
    lines = [model, f"{dataset_name(str(row['dataset']))} · {condition}"]
    lines.append(f"{row['protocol']} · {training[0]}")
    lines += [" ".join(training[1:])] if len(training) > 1 else []
    # a line wider than a panel of three to a row would run into its neighbour (or off the figure)
    return "\n".join(part for line in lines for part in textwrap.wrap(line, TITLE_CHARS) or [""])


@literal
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
    # a fixed grid in inches (a constrained layout of 39 panels took seconds at every drawing):
    # above each panel its title of up to five lines, below it the tick labels, at the left the
    # shared y axis; the panels take what is left, about 1.5 inches high
    width, height = 7.2, 2.3 * nrows + 0.4
    top, bottom, left, right, row_gap, col_gap = 0.85, 0.45, 0.55, 0.1, 0.8, 0.15
    panel = (height - top - bottom - row_gap * (nrows - 1)) / nrows
    fig = BookFigure(figsize=(width, height))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True, gridspec_kw={
        "left": left / width, "right": 1 - right / width, "top": 1 - top / height,
        "bottom": bottom / height, "hspace": row_gap / panel,
        "wspace": col_gap / ((width - left - right - col_gap * (ncols - 1)) / ncols),
    })  # fmt: skip
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
    fig.suptitle(
        "Recorded real-data runs: dev F1 per epoch, one line per seed",
        fontsize=10, y=1 - 0.1 / height, va="top",
    )  # fmt: skip
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
    epochs. Quick (smoke) runs only when nothing else was run; a baseline ablation (one
    deliberate change to the campaign's baseline, e.g. Adam) only when nothing else was."""
    from mner_lib.models.spec import paper_variant

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
                not str(protocol).startswith("baseline ablation"),  # a deliberate change
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


@literal
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


#: the campaign's caption gaps: (label, baselines in order of preference), one marker row each
CAPTION_GAPS = (
    ("caption − blank images (BERT-CRF: − text only)", ("blank", "none")),
    ("caption − shuffled caption (the control)", (SHUFFLED,)),
)
GAP_COLOURS = ("#55a868", "#8c8c8c")


def campaign_gaps(
    results_dir: str | Path = "results", plan: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Per seed, what the real-image BLIP-2 caption adds in the campaign's main grid: the caption
    run minus the same seed's run on blank images (text only for a model without an image
    input) and minus the shuffled-caption control. Columns: model, dataset, gap (a label of
    :data:`CAPTION_GAPS`), baseline, seed, diff. ``plan``: the campaign's (default
    :data:`mner_lib.experiments.campaign.PLAN`); only its main grid is read."""
    from mner_lib.experiments.campaign import CAPTION, PLAN
    from mner_lib.reporting.campaign_report import load_campaign
    from mner_lib.reporting.paired import paired_differences, share_backbone

    plan = PLAN if plan is None else plan
    main = {row.experiment for row in plan if row.kind == "main"}
    runs = load_campaign(Path(results_dir), [row for row in plan if row.experiment in main])
    columns = ["model", "dataset", "gap", "baseline", "seed", "diff"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    runs = share_backbone(runs)
    frames = []
    for label, baselines in CAPTION_GAPS:
        for (_model, _dataset), part in runs.groupby(["model", "dataset"], sort=True):
            for baseline in baselines:  # the first baseline the setting has
                pairs = paired_differences(part, CAPTION, baseline)
                if not pairs.empty:
                    frames.append(pairs.assign(gap=label, baseline=baseline))
                    break
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


@literal
def campaign_gap_plot(
    results_dir: str | Path = "results", plan: Sequence[Any] | None = None
) -> Figure | None:
    """What real-image captions add, per model and dataset (the replication campaign, full
    data): each seed's paired F1 gap as a dot, their mean as a bar, caption minus blank images
    and caption minus the shuffled caption side by side; ``None`` before any pair has finished."""
    gaps = campaign_gaps(results_dir, plan)
    if gaps.empty:
        return None
    order = ["bert-crf", "hsn", "cwi", "trimod", "gmf"]
    models = [m for m in order if m in set(gaps["model"])]
    models += sorted(set(gaps["model"]) - set(models))
    datasets = sorted(gaps["dataset"].unique())
    fig = BookFigure(figsize=(7.2, 0.55 * len(models) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(datasets), squeeze=False, sharey=True, sharex=True)[0]
    offsets = (-0.17, 0.17)
    for ax, dataset in zip(axes, datasets):
        part = gaps[gaps["dataset"] == dataset]
        for (label, _), colour, dy in zip(CAPTION_GAPS, GAP_COLOURS, offsets):
            for y, model in enumerate(models):
                diffs = part[(part["model"] == model) & (part["gap"] == label)]["diff"]
                if diffs.empty:
                    continue
                ax.barh(y + dy, diffs.mean(), height=0.3, color=colour, alpha=0.45)
                ax.scatter(diffs, [y + dy] * len(diffs), s=14, color=colour, zorder=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(dataset_name(dataset), fontsize=9)
        ax.set_xlabel("paired test F1 gap (points)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    axes[0].set_yticks(range(len(models)), models)
    axes[0].invert_yaxis()
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=label) for (label, _), c in zip(CAPTION_GAPS, GAP_COLOURS)]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=7)
    fig.suptitle(
        "What real-image BLIP-2 captions add (replication campaign, paired by seed)", fontsize=10
    )
    means = gaps.groupby(["model", "dataset", "gap"])["diff"].agg(["mean", "size"]).reset_index()
    control = means[means["gap"] == CAPTION_GAPS[1][0]]
    best = control.loc[control["mean"].idxmax()] if not control.empty else None
    alt = (
        f"Dot and bar chart of {counted(len(gaps), 'paired gap')} over "
        f"{counted(len(models), 'model')} and {counted(len(datasets), 'dataset')}; "
        + (
            f"the largest mean gain over the shuffled caption is {best['model']} on "
            f"{dataset_name(best['dataset'])}: {best['mean']:+.2f} F1 over "
            f"{counted(best['size'], 'seed')}."
            if best is not None
            else "no shuffled-caption control has finished yet."
        )
    )
    return fig.describe(
        "Real-image BLIP-2 captions, paired by seed (full data): each dot is one seed's test F1 "
        "with the caption minus the same seed's run on blank images (text only for BERT-CRF) or "
        "with another tweet's caption (the control); bars are the means. Captions are text an "
        "image model wrote from the real photos, not pixels.",
        alt,
    )


def show_recorded_runs(
    models: Sequence[str],
    results_dir: str | Path = "results",
    show: Callable[[Any], None] | None = None,
) -> None:
    """The chapter's "Recorded runs": the training curves of the recorded runs (dev F1 per epoch,
    one line per seed, from their ``history.jsonl``), then :func:`recorded_runs_html`."""
    from IPython.display import HTML

    show = _show(show)
    settings = recorded_settings(models, results_dir)
    if not settings.empty:
        figure = recorded_curves(settings[settings["protocol"] != "quick (smoke)"])
        if figure is not None:
            show(figure)
    show(HTML(recorded_runs_html(models, results_dir, name="_".join(models))))
