"""What the campaign has left to run, and what it would cost on this machine: the "Not finished
yet" section of the campaign report (:mod:`mner_lib.reporting.campaign_report`).

Two prices per row: the planned epochs at the recorded tweets/s (:func:`mner_lib.experiments.campaign.job_hours`)
and the median wall time of the finished full-data runs of the same model (early stopping included).
Both use medians over runs: a run paused for a while (its wall time includes the pause) does not
move them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mner_lib.experiments.campaign import PLAN, Job, Row, finished, job_hours, jobs, recorded_speeds
from mner_lib.io.plural import counted, noun


def full_data(runs: pd.DataFrame) -> pd.Series:
    """True for the runs that trained on the whole training set (``max_train`` 0 or missing);
    False for capped probes."""
    return runs["max_train"].fillna(0) == 0


def pending_lines(
    root: Path, runs: pd.DataFrame, bench: Path, plan: Sequence[Row] = PLAN
) -> list[str]:
    """The plan's rows with unfinished runs, and what those would cost on this machine."""
    speeds = recorded_speeds(bench, runs)
    rows: dict[tuple, list[Job]] = {}
    for job in jobs(plan, root=root.name):
        rows.setdefault((job.row.experiment, job.row.model, job.dataset), []).append(job)
    lines = [
        "| experiment | model | dataset | finished | left | cost left (single-thread h) "
        "| at the median wall time of finished runs (h) |",
        "|---|---|---|---|---|---|---|",
    ]
    total, unknown, walls = 0.0, 0, []
    for (exp, model, dataset), js in rows.items():
        left = [j for j in js if not finished(j, root.parent)]
        if not left:
            continue
        hours = [job_hours(j, speeds) for j in left]
        known = sum(h for h in hours if h is not None)
        total += known
        unknown += sum(h is None for h in hours)
        cost = f"{known:.1f}" if all(h is not None for h in hours) else "unknown"
        wall = _wall_hours(runs, model, dataset)
        walls.append(None if wall is None else wall * len(left))
        lines.append(
            f"| {exp} | {model} | {dataset} | {len(js) - len(left)} | {len(left)} | {cost} | "
            f"{'unknown' if wall is None else f'{wall * len(left):.1f}'} |"
        )
    if len(lines) == 2:
        return ["Every run of the plan has finished."]
    their = noun(unknown, "its", "their")
    known_part = (
        f" for the runs with a recorded speed; {counted(unknown, 'run')} "
        f"{noun(unknown, 'has', 'have')} none (no finished run of {their} model and no "
        f"benchmark file), so {their} cost is not known"
        if unknown
        else ""
    )
    said = [f"In all about {total:.1f} single-thread hours left (two workers: about "
            f"{total / 2:.1f} h){known_part}: training and evaluation at the planned epochs "
            "(early stopping shortens it; loading and set-up are not counted)."]  # fmt: skip
    if walls and None not in walls:
        wall = sum(walls)
        said.append(
            f"At the median wall time of the finished full-data runs of the same model (early "
            f"stopping included; the same dataset where it has one), about {wall:.1f} hours "
            f"(two workers: about {wall / 2:.1f} h)."
        )
    return lines + ["", " ".join(said)]


def _wall_hours(runs: pd.DataFrame, model: str, dataset: str) -> float | None:
    """Median wall hours of the finished full-data runs of ``model`` on ``dataset`` (on any
    dataset when it has none there); None without any."""
    if runs.empty or "wall_seconds" not in runs.columns:
        return None
    full = runs[(runs["model"] == model) & full_data(runs) & runs["wall_seconds"].notna()]
    same = full[full["dataset"] == dataset]
    pick = same if not same.empty else full
    return float(pick["wall_seconds"].astype(float).median()) / 3600 if not pick.empty else None
