"""Comparisons paired by seed: two runs of one setting that differ only in their condition
(a caption against a blank image, the full model against an ablation) and share a seed, so that
what the seed decides (initialisation, shuffle order) cancels in their difference.

:func:`paired_differences` lists the pairs, :func:`paired_gaps` summarises them per setting, and
:func:`paired_stats` is what every paired effect of the reports states: seeds, mean difference,
its sample spread and the seeds won. :func:`share_backbone` makes text-only runs pair with the
pixel runs of their setting."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mner_lib.images.conditions import is_text_condition
from mner_lib.reporting.results import GROUP_KEYS


def paired_stats(diff: pd.Series) -> dict[str, Any]:
    """What a paired effect reports of its per-seed differences: ``n``, ``mean``, the sample
    ``std`` (0 for one seed) and ``wins``, the seeds whose difference is above 0."""
    return {
        "n": len(diff),
        "mean": diff.mean(),
        "std": diff.std(ddof=1) if len(diff) > 1 else 0.0,
        "wins": int((diff > 0).sum()),
    }


def share_backbone(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the backbone of text-only runs (conditions ``none``, ``caption:*``,
    ``knowledge:*``) made comparable. Those runs read no pixels, so the backbone they record
    (the command line's default) means nothing: each takes the backbone of the pixel runs of
    its setting (same model, variant, dataset, training, caps and experiment, where that column
    is present) when those used exactly one, so that a caption row sits beside its blank row and
    pairs with it by seed; otherwise ``none``, so that it pairs with text-only runs."""
    if runs.empty:
        return runs
    runs = runs.copy()
    text = runs["condition"].map(is_text_condition).astype(bool) | (runs["condition"] == "none")
    runs.loc[text, "backbone"] = "none"
    keys = [k for k in GROUP_KEYS if k not in ("condition", "synthetic", "backbone")]
    keys += ["experiment"] if "experiment" in runs.columns else []
    for _, index in runs.groupby(keys, dropna=False, sort=False).groups.items():
        pixels = runs.loc[index][~text.loc[index]]["backbone"].unique()
        if len(pixels) == 1:
            runs.loc[[i for i in index if text.loc[i]], "backbone"] = pixels[0]
    return runs


def paired_differences(
    runs: pd.DataFrame, condition: str = "synthetic", baseline: str = "blank"
) -> pd.DataFrame:
    """One row per seed that has both runs of a setting: its keys, ``seed``, ``f1`` (under
    ``condition``), ``f1_base`` (under ``baseline``) and ``diff`` (the first minus the second)."""
    keys = [k for k in GROUP_KEYS if k not in ("condition", "synthetic")]
    columns = keys + ["seed", "f1", "f1_base", "diff"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    a = runs[runs["condition"] == condition]
    b = runs[runs["condition"] == baseline]
    pairs = a.merge(b, on=keys + ["seed"], suffixes=("", "_base"))
    pairs["f1"] = pairs["f1"].astype(float)
    pairs["f1_base"] = pairs["f1_base"].astype(float)
    pairs["diff"] = pairs["f1"] - pairs["f1_base"]
    return pairs[columns].reset_index(drop=True)


def paired_gaps(
    runs: pd.DataFrame, condition: str = "synthetic", baseline: str = "blank"
) -> pd.DataFrame:
    """Per setting, test F1 under ``condition`` minus test F1 under ``baseline`` for the same
    seed (what such a pair shares: :data:`mner_lib.reporting.report.PAIRING`): mean ± std of the differences,
    the number of seeds with both runs, and how many of them ``condition`` won."""
    keys = [k for k in GROUP_KEYS if k not in ("condition", "synthetic")]
    columns = keys + ["n_pairs", "gap_mean", "gap_std", "wins", "seeds"]
    pairs = paired_differences(runs, condition, baseline)
    rows = []
    for key, group in pairs.groupby(keys, dropna=False, sort=True):
        stats = paired_stats(group["diff"])
        row = dict(zip(keys, key))
        row["n_pairs"] = stats["n"]
        row["gap_mean"] = float(stats["mean"])
        row["gap_std"] = float(stats["std"])
        row["wins"] = stats["wins"]
        row["seeds"] = ",".join(str(x) for x in sorted(group["seed"]))
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)
