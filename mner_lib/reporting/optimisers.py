"""Where the campaign trains a model with other settings than its paper's, and whether that
deviation still holds at full data (issue 27).

CWI and TriMod train with Adam (lr 1e-3, constant) instead of their papers' optimisers, which
stayed near F1 0 in the budget protocol's short runs. The plan's ``optimiser`` rows (experiment
``campaign_paper-optimiser``) run each paper's own optimiser at full data, seed 0 under BLIP-2
captions; :func:`optimiser_effects` pairs each with the campaign's Adam run of the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mner_lib.experiments.campaign import ADAM, Row
from mner_lib.io.escape import md_text as _m

#: the experiment of the plan's optimiser rows, and the one it is paired with
PAPER_OPTIMISER, ADAM_EXPERIMENT = "campaign_paper-optimiser", "campaign"


def deviation_words(plan: Sequence[Row]) -> str:
    """The main rows that train with other settings than their paper's (the plan's ADAM rows)."""
    models = sorted({r.model for r in plan if r.kind == "main" and r.args == ADAM})
    if not models:
        return ""
    return (
        f" {' and '.join(models)} train with `{' '.join(ADAM)}` instead of their papers' "
        "optimiser settings, which stayed near F1 0 in the budget protocol's short runs."
    )


def optimiser_effects(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model, dataset, condition and seed: test F1 with the paper's optimiser and with the
    campaign's Adam, their difference, and the paper-optimiser run's best and last epoch."""
    keys = ["model", "dataset", "condition", "seed"]
    paper = runs[runs["experiment"] == PAPER_OPTIMISER]
    adam = runs[
        (runs["experiment"] == ADAM_EXPERIMENT) & runs["variant"].astype(str).str.startswith("full")
    ]
    if paper.empty or adam.empty:
        return pd.DataFrame()
    pairs = paper.merge(adam[keys + ["f1"]], on=keys, suffixes=("", "_adam"))
    return pd.DataFrame(
        {
            "model": pairs["model"],
            "dataset": pairs["dataset"],
            "condition": pairs["condition"],
            "seed": pairs["seed"],
            "paper_f1": pairs["f1"].astype(float),
            "adam_f1": pairs["f1_adam"].astype(float),
            "adam_minus_paper": pairs["f1_adam"].astype(float) - pairs["f1"].astype(float),
            "best_epoch": pairs["best_epoch"],
            "epochs_run": pairs["epochs_run"],
            "training": pairs["training"],
        }
    ).sort_values(["model", "dataset", "seed"])


def optimiser_lines(runs: pd.DataFrame) -> list[str]:
    """The report's table of :func:`optimiser_effects` (nothing before a pair has finished)."""
    effects = optimiser_effects(runs)
    if effects.empty:
        return []
    lines = [
        "| model | dataset | seed | the paper's optimiser | test F1 | best epoch | Adam (campaign) | Adam − paper's |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, e in effects.iterrows():
        lines.append(
            f"| {_m(e['model'])} | {_m(e['dataset'])} | {int(e['seed'])} | {_m(e['training'])} | "
            f"{e['paper_f1']:.2f} | {int(e['best_epoch'])} of {int(e['epochs_run'])} | "
            f"{e['adam_f1']:.2f} | {e['adam_minus_paper']:+.2f} |"
        )
    return lines + [
        "",
        "One seed each, under BLIP-2 captions, paired with the campaign's Adam run of the same "
        "seed: a check of the deviation, not a claim that rests on seeds.",
    ]
