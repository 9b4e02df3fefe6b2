"""TriMod's own hashtag segmenter against the stand-in the campaign uses (issue 27).

The campaign's TriMod rows split hashtags with ``wordsegment``. The plan's ``segmenter`` row
(experiment ``campaign_learned-segmenter``) runs the same settings with the learned char
CNN+BiLSTM segmenter of the paper's section IV-C (:data:`~mner_lib.experiments.campaign.
LEARNED_SEGMENTER`); :func:`segmenter_effects` pairs each of its runs with the campaign run of the
same dataset, condition and seed.
"""

from __future__ import annotations

import pandas as pd

from mner_lib.io.escape import md_text as _m
from mner_lib.reporting.paired import paired_stats
from mner_lib.reporting.results import mean_std

#: the experiment of the plan's segmenter row, and the one it is paired with
LEARNED, STAND_IN = "campaign_learned-segmenter", "campaign"


def segmenter_effects(runs: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and condition: the learned segmenter's test F1 minus the stand-in's, paired
    by seed (mean, sample std, n, seeds won), beside both means. A run without its twin is left
    out, not guessed."""
    keys = ["model", "dataset", "condition", "seed"]
    if runs.empty or "experiment" not in runs:
        return pd.DataFrame()
    learned = runs[(runs["experiment"] == LEARNED) & (runs["model"] == "trimod")]
    stand_in = runs[
        (runs["experiment"] == STAND_IN)
        & (runs["model"] == "trimod")
        & (runs["variant"].astype(str) == "full (segmenter=wordsegment)")
    ]
    if learned.empty or stand_in.empty:
        return pd.DataFrame()
    pairs = learned.merge(stand_in[keys + ["f1"]], on=keys, suffixes=("", "_stand_in"))
    rows = []
    for (dataset, condition), g in pairs.groupby(["dataset", "condition"]):
        diff = g["f1"].astype(float) - g["f1_stand_in"].astype(float)
        rows.append(
            {
                "model": "trimod",
                "dataset": dataset,
                "condition": condition,
                **paired_stats(diff),  # wins: seeds where the learned segmenter did better
                "seeds": ",".join(str(x) for x in sorted(g["seed"])),
                "learned_f1": g["f1"].astype(float).mean(),
                "stand_in_f1": g["f1_stand_in"].astype(float).mean(),
            }  # fmt: skip
        )
    return pd.DataFrame(rows)


def segmenter_lines(runs: pd.DataFrame) -> list[str]:
    """The report's table of :func:`segmenter_effects` (nothing before a pair has finished)."""
    effects = segmenter_effects(runs)
    if effects.empty:
        return []
    lines = [
        "| dataset | condition | learned segmenter | wordsegment (campaign) | learned − wordsegment | seeds the learned one won |",
        "|---|---|---|---|---|---|",
    ]
    for _, e in effects.iterrows():
        lines.append(
            f"| {_m(e['dataset'])} | {_m(e['condition'])} | {e['learned_f1']:.2f} | "
            f"{e['stand_in_f1']:.2f} | {mean_std(e['mean'], e['std'], e['n'], signed=True)} | "
            f"{e['wins']} of {e['n']} |"
        )
    return lines + [
        "",
        "TriMod under BLIP-2 captions with Adam (the campaign's settings), only the hashtag "
        "segmenter changed; test F1, means over the paired seeds. The learned segmenter's own "
        "held-out scores are in `results/hashtags/learned/`.",
    ]
