"""The recorded real-data runs of a chapter's models, as a reader at 1280 px can read them.

A chapter opens with :func:`show_real_results`: one compact table per chapter, one row per
setting (model, variant, dataset, protocol, training settings), the paper's number for it (quoted
with its table), and ours per image condition side by side (text only or blank images, the
real-image caption and its shuffled control where they were run, SYNTHETIC images), each cell the
mean ± std of test F1 over seeds with the number of seeds. The protocol says what each row
measured: the budget protocol (capped training and test sets, few epochs), a captions run, the
full data, or a smoke-level quick run.

:func:`show_recorded_runs` (the chapters' "Recorded runs" section) shows the training curves of
those runs (from their ``history.jsonl``, :func:`mner_lib.book.realplots.recorded_curves`), every
setting in a collapsed block and the complete table, every column, as a CSV link.

Every table is a :func:`mner_lib.book.tables.html_table`: no table is wider than the page. A
cell built here is :class:`mner_lib.io.escape.Markup` around values escaped by
:func:`mner_lib.io.escape.html_text`; anything else in a table is escaped by the table itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mner_lib.book.tables import STYLE, TABLE_CLASS, csv_link, html_table
from mner_lib.images.conditions import is_text_condition
from mner_lib.io.escape import Markup, html_text

if TYPE_CHECKING:  # pandas and the results readers (they import torch) load when a table is made
    import pandas as pd

#: the column groups of conditions, in table order: key -> heading
CONDITION_COLUMNS = {
    "plain": "text only or blank images",
    "caption": "real-image caption",
    "caption-shuffled": "shuffled caption (control)",
    "synthetic": "SYNTHETIC images",
}
#: what identifies a row of the compact table (the conditions are its columns)
ROW_KEYS = ["model", "variant", "dataset", "protocol", "training", "backbone"]
DIRTY_MARK = "†"


# ----------------------------------------------------------------------------- reading
def protocol_name(experiment: str, max_train: int, max_eval: int) -> str:
    """What an experiment folder measured, in words: ``replication campaign`` (``campaign`` and
    its model ablations, issue 15), ``baseline ablation: <change>`` (``campaign_text_<change>``,
    one change to a GloVe baseline), ``budget protocol``, ``captions run``, ``quick (smoke)``,
    ``full data`` (no caps) or the folder's name."""
    if experiment.startswith("campaign_text_"):
        return f"baseline ablation: {experiment.removeprefix('campaign_text_')}"
    if experiment == "campaign" or experiment.startswith("campaign_"):
        return "replication campaign"
    if experiment.startswith("budget"):
        return "budget protocol"
    if experiment.startswith("captions"):
        return "captions run"
    if "quick" in experiment:
        return "quick (smoke)"
    if not max_train and not max_eval:
        return "full data"
    return experiment


def condition_group(condition: str) -> str:
    """The column of :data:`CONDITION_COLUMNS` a condition falls in (others: their own name)."""
    kind = condition.partition(":")[0]
    if condition in ("none", "blank"):
        return "plain"
    if kind in ("caption", "caption-shuffled") or condition == "synthetic":
        return kind
    return condition


def recorded_settings(
    models: Sequence[str] | None, results_dir: str | Path = "results"
) -> pd.DataFrame:
    """The recorded runs of ``models`` (all models: None) under ``results_dir``, aggregated over
    seeds per setting and protocol (:func:`mner_lib.reporting.results.aggregate`) and set beside the paper
    row each meets (:func:`mner_lib.reporting.results.compare`), with ``experiment``, ``protocol`` and
    ``group`` (its condition column). Empty when there are none."""
    import pandas as pd

    from mner_lib.reporting.paired import share_backbone
    from mner_lib.reporting.results import aggregate, compare, load_runs

    root = Path(results_dir)
    runs = load_runs(root, relative_to=root)
    if models is not None:
        runs = runs[runs["model"].isin(list(models))]
    if runs.empty:
        return pd.DataFrame()
    runs = runs.copy()
    runs["experiment"] = [Path(s).parts[0] for s in runs["source"]]
    runs["source"] = [str(root / s) for s in runs["source"]]
    # a caption run records a backbone it never used: it shares its setting's (as the reports do)
    runs = share_backbone(runs)
    frames = []
    for experiment, group in runs.groupby("experiment", sort=True):
        table = aggregate(group)
        table["experiment"] = experiment
        table["protocol"] = [
            protocol_name(str(experiment), int(t), int(e))
            for t, e in zip(table["max_train"], table["max_eval"])
        ]
        frames.append(table)
    table = compare(pd.concat(frames, ignore_index=True))
    table["group"] = table["condition"].map(condition_group)
    return table


# ----------------------------------------------------------------------------- cells
def seeds_cell(mean: float, std: float, n: int, dirty: int = 0) -> Markup:
    """``66.57`` over ``± 0.46, n=3`` (HTML; narrow enough for four condition columns),
    :data:`DIRTY_MARK` when a run came from a tree with uncommitted changes."""
    mark = f" {DIRTY_MARK}" if dirty else ""
    spread = f"± {std:.2f}, " if n > 1 else ""
    return Markup(f"<b>{mean:.2f}</b>{mark}<br><small>{spread}n={int(n)}</small>")


def paper_cell(row: pd.Series) -> Markup:
    """The paper's F1 a row meets, with the paper's row name and table, or a dash."""
    import pandas as pd

    if row is None or pd.isna(row.get("paper_f1")):
        return Markup("—")
    real = row.get("condition") == "blank" and row["paper_variant"] != "w/o VF"
    return Markup(
        f"{float(row['paper_f1']):.2f}<br><small>{html_text(row['paper_variant'])}, "
        f"{html_text(row['paper_table'])}{'; real images there' if real else ''}</small>"
    )


def _caps(max_train: Any, max_eval: Any) -> str:
    if not max_train and not max_eval:
        return "full training, dev and test sets"
    train = f"{int(max_train)} train" if max_train else "all train"
    evaluation = f"{int(max_eval)} dev/test" if max_eval else "all dev/test"
    return f"{train} / {evaluation} tweets"


def protocol_cell(row: pd.Series) -> Markup:
    """The protocol in three short lines: its name, the caps, the training settings (the image
    backbone is in the notes under the table)."""
    lines = [
        f"<b>{html_text(row['protocol'])}</b>",
        html_text(_caps(row["max_train"], row["max_eval"])),
    ]
    lines.append(html_text(row["training"]))
    return Markup("<br>".join(lines[:2]) + "<br><small>" + "<br>".join(lines[2:]) + "</small>")


def setting_cell(model: str, variant: str, dataset: str) -> Markup:
    """The model, its variant (the paper's short name, the options in small type) and the
    dataset."""
    from mner_lib.models.spec import paper_variant

    head = f"<b>{html_text(model)}</b><br>{html_text(dataset_name(dataset))}"
    if variant == "full":
        return Markup(head)
    short = paper_variant(variant)
    rest = variant[len(short) :].strip()  # paper_variant keeps the start of the name
    return Markup(
        f"{head}<br>{html_text(short)}" + (f"<br><small>{html_text(rest)}</small>" if rest else "")
    )


def dataset_name(dataset: str) -> str:
    """``twitter2015`` -> ``Twitter-2015``."""
    if dataset.startswith("twitter") and dataset[7:].isdigit():
        return f"Twitter-{dataset[7:]}"
    return dataset


# ----------------------------------------------------------------------------- tables
#: the order of a model's rows: the best replication first, smoke runs last (others between)
PROTOCOL_ORDER = ("replication campaign", "full data", "captions run", "budget protocol")


def _row_order(settings: pd.DataFrame, models: Sequence[str] | None) -> list:
    order = list(models or sorted(settings["model"].unique()))
    rank = {p: i for i, p in enumerate(PROTOCOL_ORDER)}
    last = len(PROTOCOL_ORDER)
    return [
        (
            order.index(m) if m in order else len(order),
            rank.get(p, last if p != "quick (smoke)" else last + 1),
            p,
            v != "full",
            v,
            d,
            t,
            b,
        )
        for m, v, d, p, t, b in zip(*(settings[k] for k in ROW_KEYS))
    ]


def compact_table(
    settings: pd.DataFrame, models: Sequence[str] | None = None, smoke: bool = False
) -> pd.DataFrame:
    """One row per setting of :func:`recorded_settings` (conditions side by side), its cells HTML:
    ``setting``, ``dataset``, ``protocol``, ``paper`` (the row the text-only or blank-image run
    meets: caption and synthetic runs meet none) and one column per condition group present.
    Quick (smoke) runs only with ``smoke`` or when nothing else was recorded."""
    import pandas as pd

    if settings.empty:
        return pd.DataFrame()
    if not smoke and (settings["protocol"] != "quick (smoke)").any():
        settings = settings[settings["protocol"] != "quick (smoke)"]
    settings = settings.assign(_order=_row_order(settings, models)).sort_values("_order")
    groups = [g for g in CONDITION_COLUMNS if g in set(settings["group"])]
    groups += sorted(set(settings["group"]) - set(groups))
    rows = []
    for _, part in settings.groupby(ROW_KEYS, sort=False, dropna=False):
        first = part.iloc[0]
        plain = part[part["group"] == "plain"]
        row = {
            "setting": setting_cell(
                str(first["model"]), str(first["variant"]), str(first["dataset"])
            ),
            "protocol": protocol_cell(first),
            "paper": paper_cell(plain.iloc[0] if len(plain) else None),
        }
        for group in groups:
            cells = [
                seeds_cell(r["f1_mean"], r["f1_std"], int(r["n_seeds"]), int(r["dirty_runs"]))
                + (
                    f"<br><small>{html_text(r['condition'])}</small>"
                    if group not in CONDITION_COLUMNS or group.startswith("caption")
                    else ""
                )
                for _, r in part[part["group"] == group].iterrows()
            ]
            row[CONDITION_COLUMNS.get(group, group)] = Markup("<br>".join(cells))
        rows.append(row)
    return pd.DataFrame(rows, dtype=object)  # object: the cells stay Markup


#: relative column widths of the compact table (the condition columns share what is left)
WIDTHS = {"setting": 16, "protocol": 22, "paper": 12}


#: the columns of the complete table (the CSV link), in order
FULL_COLUMNS = [
    "model", "variant", "dataset", "condition", "synthetic", "backbone", "experiment", "protocol",
    "training", "max_train", "max_eval", "n_seeds", "seeds", "f1_mean", "f1_std",
    "f1_PER_mean", "f1_LOC_mean", "f1_ORG_mean", "f1_MISC_mean", "paper_f1", "paper_variant",
    "paper_table", "paper_source", "note", "dirty_runs", "train_tweets_per_second",
    "inference_tweets_per_second", "sources",
]  # fmt: skip


def full_table(settings: pd.DataFrame) -> pd.DataFrame:
    """Every column of every setting (the CSV the tables link to); caps 0 read ``all``."""
    table = settings[FULL_COLUMNS].copy()
    for cap in ("max_train", "max_eval"):
        table[cap] = [int(v) if v else "all" for v in table[cap]]
    return table.reset_index(drop=True)


def robustness_html(settings: pd.DataFrame, conditions: Sequence[str]) -> str:
    """Each setting (quick smoke runs left out) under the image ``conditions`` that were run,
    one column per condition in the order given (test F1, mean ± std over seeds, n)."""
    import pandas as pd

    from mner_lib.reporting.report import condition_name

    if settings.empty:
        return "<p>No recorded runs.</p>"
    rows = settings[settings["condition"].isin(list(conditions))]
    rows = rows[rows["protocol"] != "quick (smoke)"]
    present = [c for c in conditions if c in set(rows["condition"])]
    if rows.empty:
        listed = html_text(", ".join(map(str, conditions)))
        return f"<p>No recorded run under any of the conditions {listed}.</p>"
    rows = rows.assign(_order=_row_order(rows, None)).sort_values("_order")
    table = []
    for _, part in rows.groupby(ROW_KEYS, sort=False, dropna=False):
        first = part.iloc[0]
        row = {
            "setting": setting_cell(
                str(first["model"]), str(first["variant"]), str(first["dataset"])
            ),
            "protocol": protocol_cell(first),
        }
        for c in present:
            r = part[part["condition"] == c]
            name = condition_name(c)  # synthetic and caption columns say what they are
            row[name] = "" if r.empty else seeds_cell(
                r["f1_mean"].iloc[0], r["f1_std"].iloc[0], int(r["n_seeds"].iloc[0]),
                int(r["dirty_runs"].iloc[0]),
            )  # fmt: skip
        table.append(row)
    frame = pd.DataFrame(table, dtype=object)  # object: the cells stay Markup
    return STYLE + html_table(frame, {"setting": 20, "protocol": 33})


# ----------------------------------------------------------------------------- what a chapter shows
def notes(settings: pd.DataFrame) -> list[str]:
    """The lines under a table: where the paper numbers come from, what the marks mean."""
    lines = []
    sources = sorted(set(settings["paper_source"].dropna()))
    if sources:
        lines.append(
            "Paper: test F1 as the paper prints it (its row and table in the cell), quoted from "
            + "; ".join(html_text(s) for s in sources)
            + ". Only text-only and blank-image runs meet a paper row; a caption or synthetic "
            "run meets none."
        )
    lines.append(
        "Ours: test F1 (%), mean ± sample std over seeds, n = number of seeds. A capped training "
        "or test set, or few epochs, makes a row a measurement of its protocol, not a replication."
    )
    backbones = sorted(set(settings["backbone"]) - {"none"})
    if backbones:
        lines.append(
            f"Image columns (blank, synthetic): pixels through "
            f"{', '.join(map(html_text, backbones))}."
        )
    if any(map(is_text_condition, settings["condition"])):
        lines.append(
            "Caption columns read no pixels: text an image model wrote from the real photo "
            "(shuffled: from another tweet's photo) stands in for the image."
        )
    if settings["synthetic"].astype(bool).any():
        lines.append(
            "SYNTHETIC images are the probe images of mner_lib.images.probe: they test whether "
            "the fusion uses visual evidence and are not comparable with the papers' real photos."
        )
    if (settings["dirty_runs"] > 0).any():
        lines.append(
            f"{DIRTY_MARK} includes runs from a tree with uncommitted changes (their metrics.json "
            "commit ends in +dirty)."
        )
    return lines


def real_results_html(
    models: Sequence[str] | None, results_dir: str | Path = "results", smoke: bool = False
) -> str:
    """The compact table of :func:`compact_table` with its notes, as one HTML block; a sentence
    when nothing was recorded."""
    settings = recorded_settings(models, results_dir)
    if settings.empty:
        listed = html_text(", ".join(models or ["any model"]))
        return f"<p>No recorded runs of {listed} under {html_text(results_dir)}/.</p>"
    table = compact_table(settings, models, smoke=smoke)
    notes_html = (
        '<div style="font-size:0.8em;line-height:1.35">'
        + "".join(f'<p style="margin:0.2em 0">{line}</p>' for line in notes(settings))
        + "</div>"
    )
    return STYLE + html_table(table, WIDTHS) + notes_html


def _show(show: Callable[[Any], None] | None) -> Callable[[Any], None]:
    if show is None:
        from IPython.display import display as show
    return show


def show_real_results(
    models: Sequence[str],
    results_dir: str | Path = "results",
    show: Callable[[Any], None] | None = None,
) -> None:
    """Display a chapter's real-results table (:func:`real_results_html`): the recorded runs of
    ``models`` beside the papers' numbers, quick (smoke) runs left to "Recorded runs"."""
    from IPython.display import HTML

    _show(show)(HTML(real_results_html(models, results_dir)))


def recorded_runs_html(
    models: Sequence[str] | None,
    results_dir: str | Path = "results",
    name: str = "runs",
    collapsed: bool = True,
) -> str:
    """Every recorded setting of ``models`` (quick smoke runs too), in a collapsed block unless
    ``collapsed`` is false, and the complete table (every column, the metrics files averaged)
    as a CSV link."""
    settings = recorded_settings(models, results_dir)
    if settings.empty:
        return f"<p>No recorded runs of these models under {html_text(results_dir)}/.</p>"
    table = html_table(compact_table(settings, models, smoke=True), WIDTHS)
    what = f"All {len(settings)} recorded settings ({int(settings['n_seeds'].sum())} runs)"
    if collapsed:
        table = (
            f'<details class="{TABLE_CLASS}"><summary>{what}, quick (smoke) runs included'
            f"</summary>{table}</details>"
        )
    link = csv_link(full_table(settings), f"recorded_{name}.csv")
    notes_html = "".join(
        f'<p style="font-size:0.8em;margin:0.2em 0">{n}</p>' for n in notes(settings)
    )
    return (
        f"{STYLE}{table}{'' if collapsed else notes_html}<p>The complete table, every column "
        f"(per-type F1, speed, the paper row met, the metrics.json files averaged): {link}</p>"
    )


def recorded_runs(models: Sequence[str], results_dir: str | Path = "results") -> pd.DataFrame:
    """The recorded runs of ``models`` under ``results_dir`` as plain text: one row per setting
    with test F1 mean ± std over seeds beside the paper's row, the training settings and caps,
    and the metrics files averaged. Empty when there are none."""
    import pandas as pd

    from mner_lib.reporting.results import with_text

    settings = recorded_settings(models, results_dir)
    if settings.empty:
        return pd.DataFrame()
    table = with_text(settings)
    table["images"] = [
        "none" if c == "none" else f"{c} (SYNTHETIC)" if syn else c
        for c, syn in zip(table["condition"], table["synthetic"])
    ]
    for cap in ("max_train", "max_eval"):
        table[cap] = [int(v) if v else "all" for v in table[cap]]
    columns = ["model", "variant", "dataset", "images", "protocol", "training", "max_train",
               "max_eval", "test F1", "paper", "note", "sources"]  # fmt: skip
    return table[columns].reset_index(drop=True)
