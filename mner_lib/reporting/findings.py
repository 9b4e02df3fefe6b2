"""Findings as records: what a comparison of runs found, before any sentence is written.

A :class:`Finding` is one comparison (a caption against its control, our row against its paper,
a one-change ablation against its baseline, a paper's ablation against the full model): the
effect, its spread over seeds, how many seeds it won, a :class:`Verdict` and the runs behind it.
Tables, the conclusion's sentences, the book's findings and the tests all read these records;
a verdict is tested as a verdict, never through its wording.

The rule of :func:`judge` (said once, in the methods box of the comparison chapter): a gain or a
loss needs every seed to agree and the mean to exceed the seed-to-seed spread; two seeds that
agree are tentative (two seeds agree in sign half the time by chance); one seed measures no
spread and gets no verdict; anything else is within seed-to-seed variation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

import pandas as pd

from mner_lib.reporting.segmenter import LEARNED, STAND_IN

#: F1: a row "replicates" its paper when within this of the paper's number
WITHIN = 2.0


class Verdict(StrEnum):
    """What a paired effect says, by :func:`judge`."""

    GAIN = "gain"
    LOSS = "loss"
    TENTATIVE_GAIN = "tentative gain"
    TENTATIVE_LOSS = "tentative loss"
    NOISE = "within noise"
    ONE_SEED = "one seed"

    @property
    def words(self) -> str:
        """The verdict in a sentence of the reports."""
        return _WORDS[self]

    @property
    def is_consistent(self) -> bool:
        return self in (Verdict.GAIN, Verdict.LOSS)


_WORDS = {
    Verdict.GAIN: "a consistent gain",
    Verdict.LOSS: "a consistent loss",
    Verdict.TENTATIVE_GAIN: "a gain in both seeds, tentative at two",
    Verdict.TENTATIVE_LOSS: "a loss in both seeds, tentative at two",
    Verdict.NOISE: "within seed-to-seed variation",
    Verdict.ONE_SEED: "one seed: no verdict yet",
}


def judge(mean: float, std: float, n: int, wins: int) -> Verdict:
    """The verdict of a paired effect: ``mean`` and ``std`` over ``n`` seeds, ``wins`` of them
    above zero."""
    if n < 2:
        return Verdict.ONE_SEED
    if wins == n and mean > std:
        return Verdict.GAIN if n > 2 else Verdict.TENTATIVE_GAIN
    if wins == 0 and -mean > std:
        return Verdict.LOSS if n > 2 else Verdict.TENTATIVE_LOSS
    return Verdict.NOISE


class Kind(StrEnum):
    """What a finding compares."""

    CAPTION = "caption"  # a text condition against blank images / text only / its shuffled control
    PAPER = "paper"  # our row against the paper's number (no seeds are paired: a distance)
    TEXT_CHANGE = "text change"  # one change on a GloVe baseline against the baseline
    ABLATION = "ablation"  # the full model minus a paper's ablation
    SEGMENTER = "segmenter"  # TriMod's own learned hashtag segmenter against its stand-in


class Band(StrEnum):
    """Where our row sits against its paper's number (:data:`WITHIN`)."""

    WITHIN = "within"
    ABOVE = "above"
    BELOW = "below"


def band(gap: float) -> Band:
    if abs(gap) <= WITHIN:
        return Band.WITHIN
    return Band.ABOVE if gap > 0 else Band.BELOW


@dataclass(frozen=True)
class Finding:
    """One comparison. ``effect`` is ``condition`` minus ``baseline`` in test F1 (for
    :attr:`Kind.PAPER`: ours minus the paper's; for :attr:`Kind.ABLATION`: the full model minus
    the ablation); ``reference`` is the paper's own number for the same comparison, if any."""

    kind: Kind
    model: str
    dataset: str
    condition: str
    baseline: str
    effect: float
    spread: float
    n: int
    wins: int
    verdict: Verdict
    reference: float | None = None
    seeds: tuple[int, ...] = ()
    runs: tuple[str, ...] = field(default=(), compare=False)
    protocol: str = ""  # the round of mner_lib.reporting.records (first, converged, synthetic)

    @property
    def against_control(self) -> bool:
        """A caption or knowledge condition against another tweet's text (the shuffled control)."""
        return "-shuffled" in self.baseline


def _std(values: pd.Series) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _seeds(text: object) -> tuple[int, ...]:
    return tuple(int(s) for s in str(text).split(",") if s.strip().isdigit())


def sources(runs: pd.DataFrame, model: str, dataset: str, conditions: Iterable[str],
            seeds: Iterable[int], experiments: Iterable[str] | None = None) -> tuple[str, ...]:  # fmt: skip
    """The run folders behind a finding (the ``source`` column of :func:`mner_lib.reporting.results.load_runs`)."""
    if runs.empty or "source" not in runs.columns:
        return ()
    mask = (
        (runs["model"] == model)
        & (runs["dataset"] == dataset)
        & runs["condition"].isin(list(conditions))
        & runs["seed"].isin(list(seeds))
    )
    if experiments is not None and "experiment" in runs.columns:
        mask &= runs["experiment"].isin(list(experiments))
    return tuple(sorted(str(s) for s in runs.loc[mask, "source"]))


def caption_findings(gaps: pd.DataFrame, runs: pd.DataFrame | None = None) -> list[Finding]:
    """One finding per paired gap of a text condition (:func:`mner_lib.reporting.paired.paired_gaps`
    rows with ``condition`` and ``baseline``)."""
    out = []
    runs = runs if runs is not None else pd.DataFrame()
    for _, g in gaps.iterrows():
        seeds = _seeds(g.get("seeds", ""))
        n, wins = int(g["n_pairs"]), int(g["wins"])
        mean, std = float(g["gap_mean"]), float(g["gap_std"])
        conditions = (g["condition"], g["baseline"])
        out.append(
            Finding(
                Kind.CAPTION,
                str(g["model"]),
                str(g["dataset"]),
                str(g["condition"]),
                str(g["baseline"]),
                mean,
                std,
                n,
                wins,
                judge(mean, std, n, wins),
                None,
                seeds,
                sources(runs, g["model"], g["dataset"], conditions, seeds),
            )  # fmt: skip
        )
    return out


def paper_findings(base: pd.DataFrame) -> list[Finding]:
    """Our rows against their papers' (the campaign's ``text_baselines`` frame: ``mean``, ``std``,
    ``n``, ``paper``, ``gap``). No seeds are paired, so the verdict says where the mean sits:
    within :data:`WITHIN` of the paper is noise-like (:attr:`Verdict.NOISE`), else a gain (above)
    or a loss (below)."""
    out = []
    for _, r in base.iterrows():
        side = band(float(r["gap"]))
        verdict = {Band.WITHIN: Verdict.NOISE, Band.ABOVE: Verdict.GAIN, Band.BELOW: Verdict.LOSS}
        out.append(
            Finding(
                Kind.PAPER,
                str(r["model"]),
                str(r["dataset"]),
                "ours",
                "paper",
                float(r["gap"]),
                float(r["std"]),
                int(r["n"]),
                0,
                verdict[side],
                _finite(r["paper"]),
            )  # fmt: skip
        )
    return out


def _paired(frame: pd.DataFrame, kind: Kind, sides, reference: str | None) -> list[Finding]:
    """One finding per row of a paired-effect frame (``mean``, ``std``, ``n``, ``wins``):
    ``sides(row)`` gives its condition and baseline, ``reference`` the column of the paper's
    number for it (None: the paper has none)."""
    out = []
    for _, row in frame.iterrows():
        mean, std, n, wins = float(row["mean"]), float(row["std"]), int(row["n"]), int(row["wins"])
        condition, baseline = sides(row)
        out.append(
            Finding(
                kind,
                str(row["model"]),
                str(row["dataset"]),
                condition,
                baseline,
                mean,
                std,
                n,
                wins,
                judge(mean, std, n, wins),
                _finite(row.get(reference)) if reference else None,
            )  # fmt: skip
        )
    return out


def change_findings(effects: pd.DataFrame) -> list[Finding]:
    """Each one-change ablation of a GloVe baseline against the baseline, paired by seed (the
    reference: F1 with the change)."""
    return _paired(effects, Kind.TEXT_CHANGE, lambda e: (str(e["change"]), "baseline"), "f1")


def ablation_findings(ablations: pd.DataFrame) -> list[Finding]:
    """The full model minus each paper ablation (ours, paired by seed), with the paper's own
    full minus ablation as the reference."""
    return _paired(ablations, Kind.ABLATION, lambda a: ("full", str(a["ablation"])), "paper")


def segmenter_findings(effects: pd.DataFrame, runs: pd.DataFrame | None = None) -> list[Finding]:
    """TriMod with its learned segmenter minus TriMod with ``wordsegment``, paired by seed
    (:func:`mner_lib.reporting.segmenter.segmenter_effects`); the paper prints no such row.
    ``runs``: the campaign's runs, to name the runs behind each finding."""
    runs = runs if runs is not None else pd.DataFrame()
    found = _paired(effects, Kind.SEGMENTER, lambda e: ("learned-segmenter", "wordsegment"), None)
    out = []
    for f, (_, row) in zip(found, effects.iterrows()):
        seeds = _seeds(row.get("seeds", ""))
        behind = sources(runs, f.model, f.dataset, [row["condition"]], seeds, [LEARNED, STAND_IN])
        out.append(replace(f, seeds=seeds, runs=behind))
    return out


def agrees_with_paper(finding: Finding) -> bool | None:
    """Whether a consistent effect has the paper's sign; None where ours has no sign to compare
    (not consistent) or the paper has no such row."""
    if finding.reference is None or not finding.verdict.is_consistent:
        return None
    return (finding.effect > 0) == (finding.reference > 0)


def as_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """The records as a table (one row each; ``verdict`` and ``kind`` as their values)."""
    rows = []
    for f in findings:
        rows.append(
            {
                "kind": f.kind.value,
                "model": f.model,
                "dataset": f.dataset,
                "condition": f.condition,
                "baseline": f.baseline,
                "effect": f.effect,
                "spread": f.spread,
                "n": f.n,
                "wins": f.wins,
                "verdict": f.verdict.value,
                "reference": f.reference,
                "runs": len(f.runs),
            }  # fmt: skip
        )
    return pd.DataFrame(rows)
