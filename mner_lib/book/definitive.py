"""A model chapter's definitive table: the replication campaign only (issue 28).

One row per campaign round (:data:`mner_lib.reporting.records.ROUNDS`: the first round, and the
converged BERT side), dataset and variant; the paper's row beside ours under each condition the
campaign ran (text only or blank images, the real-image caption and its shuffled control, PGIM's
language-model knowledge and its control), each cell the mean ± std of test F1 over seeds with n.
Only full-data runs of the campaign's experiments reach it; every other protocol (budget, probes,
quick runs, superseded defaults) is in the reproducibility appendix, labelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mner_lib.book.realresults import dataset_name, recorded_settings, seeds_cell
from mner_lib.book.tables import STYLE, html_table
from mner_lib.io.escape import Markup, html_text

if TYPE_CHECKING:
    import pandas as pd

#: the campaign's conditions, in column order, with their headings
CONDITIONS = {
    "none": "text only",
    "blank": "blank image",
    "caption:blip2": "real-image caption (BLIP-2)",
    "caption-shuffled:blip2": "shuffled caption (control)",
    "knowledge:pgim": "PGIM knowledge (language model)",
    "knowledge-shuffled:pgim": "shuffled knowledge (control)",
}
#: the paper rows a definitive table quotes: the full model, and HSN's "without visual features"
PAPER_VARIANTS = ("full", "w/o VF")
#: seeds per cell the campaign plans
SEEDS = 3


def campaign_settings(models: Sequence[str], results_dir: str | Path = "results") -> pd.DataFrame:
    """The recorded settings (:func:`mner_lib.book.realresults.recorded_settings`) of ``models``
    that belong to a campaign round: its experiments, full data, the full model (no ablation),
    with a ``round`` column."""
    from mner_lib.reporting.records import ROUNDS

    settings = recorded_settings(models, results_dir)
    if settings.empty:
        return settings
    where = {e: r.key for r in ROUNDS for e in r.experiments}
    keep = (
        settings["experiment"].isin(list(where))
        & (settings["max_train"].astype(int) == 0)
        & (settings["max_eval"].astype(int) == 0)
        & settings["variant"].astype(str).str.startswith("full")
        & settings["condition"].isin(list(CONDITIONS))
    )
    settings = settings[keep].copy()
    settings["round"] = settings["experiment"].map(where)
    return settings


def _paper(model: str, dataset: str) -> Markup:
    from mner_lib.reporting.results import paper_table

    papers = paper_table()
    rows = papers[
        (papers["model"] == model)
        & (papers["dataset"] == dataset)
        & papers["variant"].isin(PAPER_VARIANTS)
    ]
    if rows.empty:
        return Markup("—")
    return Markup(
        "<br>".join(
            f"{float(r['f1']):.2f} <small>{html_text(r['variant'])}, {html_text(r['table'])}</small>"
            for _, r in rows.iterrows()
        )
    )


def _protocol(round_key: str, training: str) -> Markup:
    name = {"first": "campaign", "converged": "converged (early stopping)"}.get(
        round_key, round_key
    )
    return Markup(f"<b>{html_text(name)}</b><br><small>{html_text(training)}</small>")


def definitive_table(models: Sequence[str], results_dir: str | Path = "results") -> pd.DataFrame:
    """One row per round, model, variant, dataset and training settings; cells are HTML
    (:class:`mner_lib.io.escape.Markup`). Columns: ``model``, ``dataset``, ``protocol``,
    ``paper``, one per condition run, ``n`` (seeds per cell; ``n of 3`` while a round is
    unfinished). Also ``round`` and ``experiments`` (plain text) for the tests and the CSV."""
    import pandas as pd

    settings = campaign_settings(models, results_dir)
    if settings.empty:
        return pd.DataFrame()
    present = [c for c in CONDITIONS if c in set(settings["condition"])]
    order = {"first": 0, "converged": 1}
    settings = settings.assign(
        _m=settings["model"].map({m: i for i, m in enumerate(models)}),
        _r=settings["round"].map(order),
    ).sort_values(["_m", "dataset", "_r"])
    rows = []
    keys = ["model", "variant", "dataset", "round", "training"]
    for (model, variant, dataset, round_key, training), part in settings.groupby(keys, sort=False):
        label = (
            str(model) if variant == "full" else f"{model}<br><small>{html_text(variant)}</small>"
        )
        row: dict[str, Any] = {
            "model": Markup(label) if variant != "full" else label,
            "dataset": dataset_name(str(dataset)),
            "protocol": _protocol(str(round_key), str(training)),
            "paper": _paper(str(model), str(dataset)),
        }
        ns = []
        for condition in present:
            cell = part[part["condition"] == condition]
            if cell.empty:
                row[CONDITIONS[condition]] = ""
                continue
            r = cell.iloc[0]
            ns.append(int(r["n_seeds"]))
            row[CONDITIONS[condition]] = seeds_cell(r["f1_mean"], r["f1_std"], int(r["n_seeds"]))
        low, high = min(ns), max(ns)
        n = str(low) if low == high else f"{low}–{high}"
        row["n"] = n if low >= SEEDS else f"{n} of {SEEDS}"
        row["round"] = str(round_key)
        row["experiments"] = ",".join(sorted(set(part["experiment"])))
        rows.append(row)
    return pd.DataFrame(rows, dtype=object)


def definitive_html(models: Sequence[str], results_dir: str | Path = "results") -> str:
    """:func:`definitive_table` as the book's fixed-layout table, with a line on what it holds;
    a sentence when the campaign has no finished run of ``models``."""
    table = definitive_table(models, results_dir)
    if table.empty:
        listed = html_text(", ".join(models))
        return f"<p>No finished campaign run of {listed} under {html_text(results_dir)}/ yet.</p>"
    shown = table.drop(columns=["round", "experiments"])
    widths = {"model": 9, "dataset": 10, "protocol": 20, "paper": 14, "n": 6}
    texts = ["The caption is text BLIP-2 wrote from the real photo"]
    if CONDITIONS["knowledge:pgim"] in shown.columns:
        texts.append("PGIM's knowledge text a language model wrote from the tweet and that caption")
    said = (
        (
            ", ".join(texts)
            + (": neither meets a paper row" if len(texts) > 1 else ": it meets no paper row")
            + ", whose models read pixels. "
        )
        if CONDITIONS["caption:blip2"] in shown.columns
        else ""
    )
    note = (
        '<p style="font-size:0.8em;margin:0.2em 0">Test F1, mean ± standard deviation over '
        f"seeds (n seeds; the campaign plans {SEEDS}). Full training, dev and test sets. {said}"
        "Other protocols are in the reproducibility appendix.</p>"
    )
    return STYLE + html_table(shown, widths) + note


def show_definitive(
    models: Sequence[str],
    results_dir: str | Path = "results",
    show: Callable[[Any], None] | None = None,
) -> None:
    """Display a chapter's definitive table (:func:`definitive_html`)."""
    from IPython.display import HTML, display

    (show or display)(HTML(definitive_html(models, results_dir)))


# ----------------------------------------------------------------------------- findings as tables
def _effect_cell(f) -> Markup:
    spread = f" ± {f.spread:.2f}" if f.n > 1 else ""
    return Markup(f"<b>{f.effect:+.2f}</b><small>{spread}</small>")


def changes_html(results_dir: str | Path = "results") -> str:
    """The one-change ablations of the GloVe baselines (the ``…/baseline`` findings of
    :func:`mner_lib.reporting.records.book_records`): F1 with the change, the paired change,
    seeds better, verdict; with what each change adds to the baseline's command."""
    import pandas as pd

    from mner_lib.reporting.campaign_report import change_legend
    from mner_lib.reporting.findings import Kind
    from mner_lib.reporting.records import book_records

    found = [
        f
        for f in book_records(results_dir).values()
        if getattr(f, "kind", None) == Kind.TEXT_CHANGE
    ]
    if not found:
        return "<p>No one-change run has finished yet.</p>"
    rows = [
        {
            "change": f.condition,
            "model": f.model,
            "dataset": dataset_name(f.dataset),
            "F1 with it": f"{f.reference:.2f}" if f.reference is not None else "",
            "change in F1": _effect_cell(f),
            "seeds better": f"{f.wins} of {f.n}",
            "verdict": f.verdict.value,
        }
        for f in sorted(found, key=lambda f: (f.condition, f.model, f.dataset))
    ]
    legend = " ".join(change_legend([f.condition for f in found])).strip()
    legend = legend.replace("`", "")
    return (
        STYLE
        + html_table(pd.DataFrame(rows, dtype=object), {"change": 12, "verdict": 14})
        + f'<p style="font-size:0.8em;margin:0.2em 0">{html_text(legend)}</p>'
    )


def show_changes(results_dir: str | Path = "results", show: Callable[[Any], None] | None = None):
    """Display :func:`changes_html`."""
    from IPython.display import HTML, display

    (show or display)(HTML(changes_html(results_dir)))
