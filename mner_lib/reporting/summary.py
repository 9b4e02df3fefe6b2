"""A sweep's summary: ``results/summary_<experiment>.md`` and ``.json``, mean ± std over seeds of
every setting of one experiment folder beside the paper's F1 (``python -m mner_lib sweep``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mner_lib.experiments.sweep import experiment_lock
from mner_lib.reporting.results import aggregate, compare, label, load_runs, mean_std


def summary_table(root: Path, experiment: str) -> pd.DataFrame:
    """Mean ± std over seeds of every setting under ``root/experiment``, beside the paper's F1
    (:func:`mner_lib.reporting.results.compare`: synthetic rows get no paper number)."""
    runs = load_runs(root / experiment, relative_to=root.parent)
    return compare(aggregate(runs))


def markdown_table(table: pd.DataFrame) -> str:
    lines = [
        "| model | dataset | setting | variant | training | train cap | eval cap | test F1 "
        "| paper F1 (row, source) | gap | note | source files |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        has_paper = r["paper_f1"] is not None and not pd.isna(r["paper_f1"])
        paper = (
            f"{r['paper_f1']:.2f} ({r['paper_variant']}; {r['paper_source']}, {r['paper_table']})"
            if has_paper
            else "—"
        )
        gap = f"{r['f1_mean'] - r['paper_f1']:+.2f}" if has_paper else "—"
        lines.append(
            f"| {r['model']} | {r['dataset']} | {label(r)} | {r['variant']} | {r['training']} | "
            f"{r['max_train'] or 'all'} | {r['max_eval'] or 'all'} | "
            f"{mean_std(r['f1_mean'], r['f1_std'], r['n_seeds'])} | "
            f"{paper} | {gap} | {r['note']} | {r['sources']} |"
        )
    return "\n".join(lines)


def write_summary(root: Path, experiment: str) -> Path:
    """``root/summary_<experiment>.json`` and ``.md`` (each written atomically); the ``.md``."""
    with experiment_lock(root, experiment):
        return _write_summary(root, experiment)


def _write_summary(root: Path, experiment: str) -> Path:
    from mner_lib.io.atomicfile import atomic_write_text

    table = summary_table(root, experiment)
    atomic_write_text(
        root / f"summary_{experiment}.json", table.to_json(orient="records", indent=2)
    )
    md = root / f"summary_{experiment}.md"
    atomic_write_text(
        md,
        f"# {experiment}: test F1 over seeds\n\nWritten by `python -m mner_lib sweep` from the "
        f"`metrics.json` files under `{root}/{experiment}/`; paper numbers from "
        "`mner_lib.reporting.results.paper_table` (each names its paper and table).\n\n"
        + markdown_table(table)
        + "\n",
    )
    return md
