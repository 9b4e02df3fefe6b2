"""Every finding of the recorded runs as a keyed record: what the book's sentences cite.

The book's findings and discussions are written by people; their numbers are not. A sentence
names a record by its key and a field (``{finding}`first/bert-crf/twitter2015/caption:blip2/
caption-shuffled:blip2``` in the page's source, :mod:`mner_lib.book.sphinx_findings`), and the
build inserts the number and checks the verdict the sentence claims. A key is::

    <round>/<model>/<dataset>/<condition>/<baseline>

* ``round``: :data:`ROUNDS` (``first``: the campaign's first round, BERT side at 3 epochs;
  ``converged``: the BERT side trained to early stopping), or ``synthetic`` (the budget
  protocol's synthetic probe, :data:`SYNTHETIC`);
* a caption finding: the condition against its baseline (``caption:blip2/blank``,
  ``caption:blip2/caption-shuffled:blip2``, ``knowledge:pgim/none``, ...);
* our GloVe baseline against its paper: ``ours/paper``; a one-change ablation: ``<change>/
  baseline``; a paper's ablation: ``full/<ablation>``;
* the gap decomposition of a row against its paper (:class:`GapDecomposition`): ``<condition>/
  paper``.

:func:`book_records` reads ``results/`` once; a key two settings would share (two variants of
one model in one round) gets the variant appended, ``…@<variant>``, so no record hides another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from mner_lib.experiments.campaign import CAPTION, PLAN, finished, jobs
from mner_lib.experiments.cost import full_data
from mner_lib.reporting.campaign_report import (
    ablation_effects,
    load_campaign,
    text_baselines,
    text_gap_effects,
)
from mner_lib.reporting.findings import (
    Finding,
    ablation_findings,
    caption_findings,
    change_findings,
    paper_findings,
    segmenter_findings,
)
from mner_lib.reporting.gaps import GapDecomposition, decompose
from mner_lib.reporting.paired import paired_gaps, share_backbone
from mner_lib.reporting.report import experiment_dirs, gap_pairs, ordered_conditions
from mner_lib.reporting.results import load_runs, paper_table
from mner_lib.reporting.segmenter import segmenter_effects


@dataclass(frozen=True)
class Round:
    """A protocol whose runs the book reads as definitive, or (``synthetic``) as a probe."""

    key: str
    name: str
    experiments: tuple[str, ...]


#: the campaign's two rounds (full data, seeds 0-2; the plan in mner_lib/experiments/campaign.py)
ROUNDS: tuple[Round, ...] = (
    Round("first", "first round (BERT side at 3 epochs)", ("campaign", "captions_bert")),
    Round("converged", "converged (BERT side to early stopping)", ("converged",)),
)
#: the synthetic probe: per model, the budget protocol's experiment that holds its settled
#: setting (the papers' optimisers stayed near F1 0 there for CWI and TriMod; GMF's default
#: head learning rate came from budget_gmf_lr5e-5)
SYNTHETIC_EXPERIMENT = {
    "hsn": "budget",
    "cwi": "budget_cwi_lr1e-3",
    "gmf": "budget_gmf_lr5e-5",
    "trimod": "budget_trimod_adam1e-3",
}
SYNTHETIC = Round(
    "synthetic",
    "budget protocol, SYNTHETIC probe images",
    tuple(dict.fromkeys(SYNTHETIC_EXPERIMENT.values())),
)

Record = Finding | GapDecomposition


def round_runs(runs: pd.DataFrame, round_: Round) -> pd.DataFrame:
    """The full-data runs of ``round_``'s experiments (a capped probe is never definitive)."""
    if runs.empty:
        return runs
    return runs[runs["experiment"].isin(round_.experiments) & full_data(runs)]


def gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """The paired gaps (:func:`mner_lib.reporting.paired.paired_gaps`) of every condition pair
    the runs hold (:func:`mner_lib.reporting.report.gap_pairs`), with ``condition`` and
    ``baseline`` columns; empty without pairs."""
    if runs.empty:
        return pd.DataFrame()
    runs = share_backbone(runs)
    conditions = ordered_conditions(sorted(runs["condition"].unique()))
    frames = [
        paired_gaps(runs, a, b).assign(condition=a, baseline=b) for a, b in gap_pairs(conditions)
    ]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _with_round(findings: list[Finding], round_key: str) -> list[Finding]:
    return [replace(f, protocol=round_key) for f in findings]


def _keyed(records: list[tuple[str, str, Record]]) -> dict[str, Record]:
    """``(key, variant, record)`` triples as a dict; a key held by more than one variant is
    spelled ``key@variant`` for each of them."""
    count: dict[str, int] = {}
    for key, _, _ in records:
        count[key] = count.get(key, 0) + 1
    return {
        (key if count[key] == 1 else f"{key}@{variant}"): record for key, variant, record in records
    }


def _synthetic_runs(root: Path) -> pd.DataFrame:
    frames = []
    for model, experiment in SYNTHETIC_EXPERIMENT.items():
        if not (root / experiment).is_dir():
            continue
        for folder in experiment_dirs(root, [experiment]):
            frame = load_runs(folder, relative_to=root.parent)
            if not frame.empty:
                frames.append(frame[frame["model"] == model].assign(experiment=experiment))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def book_records(
    root: str | Path = "results", campaign: pd.DataFrame | None = None
) -> dict[str, Record]:
    """Every keyed record of the results under ``root`` (see the module docstring);
    ``campaign``: the campaign's runs under ``root`` when the caller has read them already."""
    root = Path(root)
    campaign = load_campaign(root, PLAN) if campaign is None else campaign
    out: list[tuple[str, str, Record]] = []

    def add_gaps(frame: pd.DataFrame, round_key: str) -> None:
        for f, variant in zip(
            _with_round(caption_findings(frame, campaign), round_key),
            frame["variant"] if "variant" in frame else [""] * len(frame),
        ):
            key = f"{round_key}/{f.model}/{f.dataset}/{f.condition}/{f.baseline}"
            out.append((key, str(variant), f))

    papers = paper_table()
    for round_ in ROUNDS:
        runs = round_runs(campaign, round_)
        if runs.empty:
            continue
        add_gaps(gaps(runs), round_.key)
        for d in decompose(runs, papers, CAPTION):
            out.append((f"{round_.key}/{d.model}/{d.dataset}/{d.condition}/paper", "", d))
    if not campaign.empty:
        base = text_baselines(campaign)
        if not base.empty:
            for f in _with_round(paper_findings(base), "first"):
                out.append((f"first/{f.model}/{f.dataset}/ours/paper", "", f))
        effects = text_gap_effects(campaign)
        for f in _with_round(change_findings(effects), "first") if not effects.empty else []:
            out.append((f"first/{f.model}/{f.dataset}/{f.condition}/baseline", "", f))
        ablations = ablation_effects(campaign)
        for f in _with_round(ablation_findings(ablations), "first") if not ablations.empty else []:
            out.append((f"first/{f.model}/{f.dataset}/full/{f.baseline}", "", f))
        segmenters = segmenter_effects(campaign)
        for f, condition in zip(
            _with_round(segmenter_findings(segmenters, campaign), "first")
            if not segmenters.empty
            else [],
            segmenters.get("condition", []),
        ):  # a second condition would be told apart by its variant (key@condition)
            out.append((f"first/{f.model}/{f.dataset}/{f.condition}/{f.baseline}", condition, f))
    synthetic = gaps(_synthetic_runs(root))
    if not synthetic.empty:
        synthetic = synthetic[synthetic["baseline"] == "blank"]
        synthetic = synthetic[synthetic["condition"] == "synthetic"]
        add_gaps(synthetic, SYNTHETIC.key)
    return _keyed(out)


def leak_shares(runs: pd.DataFrame) -> dict[str, float]:
    """Per dataset, the share of test entities whose string occurs in the tweet's own BLIP-2
    caption (recorded by the caption runs of ``runs``, ``caption_leak`` of ``metrics.json``)."""
    if runs.empty or "caption_leak" not in runs.columns:
        return {}
    rows = runs[(runs["condition"] == CAPTION) & runs["caption_leak"].notna()]
    return {
        str(dataset): float(group["caption_leak"].astype(float).iloc[0])
        for dataset, group in rows.groupby("dataset")
    }


def book_values(
    root: str | Path = "results", records: dict[str, Record] | None = None
) -> dict[str, str]:
    """Named numbers the book's text cites (``{value}`NAME```), as the page shows them:
    ``leak/<dataset>`` (the caption leak share); per round, ``<round>/caption-vs-control/rows``,
    ``…/consistent`` and ``…/largest`` (the caption and knowledge findings against their
    shuffled control: how many, how many a consistent gain or loss, the largest |effect|); ``campaign/finished`` and ``campaign/planned``
    (runs of the plan), ``converged/runs`` and ``converged/best-before-last`` (converged runs
    whose best dev epoch came before their last)."""
    root = Path(root)
    campaign = load_campaign(root, PLAN)
    values = {f"leak/{d}": f"{share:.1%}" for d, share in leak_shares(campaign).items()}
    planned = list(jobs(PLAN, root=root.name))
    values["campaign/planned"] = str(len(planned))
    values["campaign/finished"] = str(sum(finished(j, root.parent) for j in planned))
    records = book_records(root, campaign) if records is None else records
    for round_ in ROUNDS:
        against = [
            f
            for key, f in records.items()
            if key.startswith(f"{round_.key}/") and isinstance(f, Finding) and f.against_control
        ]
        if against:
            name = f"{round_.key}/caption-vs-control"
            values[f"{name}/rows"] = str(len(against))
            values[f"{name}/consistent"] = str(sum(f.verdict.is_consistent for f in against))
            values[f"{name}/largest"] = f"{max(abs(f.effect) for f in against):.2f}"
    values.update(per_tweet_values(root))
    converged = round_runs(campaign, ROUNDS[1])
    if not converged.empty:
        best, last = converged["best_epoch"].astype(float), converged["epochs_run"].astype(float)
        values["converged/runs"] = str(len(converged))
        values["converged/best-before-last"] = str(int((best < last).sum()))
    return values


def per_tweet_values(root: str | Path = "results") -> dict[str, str]:
    """From ``caption_per_tweet.json`` (counts only), per setting
    ``tweets/<experiment>/<model>/<dataset>/<condition>/<field>``: ``pairs``, ``caption-only``,
    ``control-only``, ``net``, ``named`` (test entities the tweet's own caption names),
    ``net-named`` and ``net-unnamed`` (the net among those it names and among the rest),
    ``named-share`` and ``net-named-share`` (named entities among all, and among the net), and
    ``named-vs-rest``: whether the net per named entity is above the net per other entity, in
    words a sentence can take ("more often than", "less often than", "as often as")."""
    from mner_lib.reporting.per_tweet_file import read_counts

    path = Path(root) / "caption_per_tweet.json"
    if not path.is_file():
        return {}
    values = {}
    for g in read_counts(path).groups:
        c = g.counts["all"]
        key = f"tweets/{g.experiment}/{g.model}/{g.dataset}/{g.condition}"
        gold = c.caption_only + c.control_only + c.both + c.neither
        values |= {
            f"{key}/pairs": str(len(g.seeds)),
            f"{key}/caption-only": str(c.caption_only),
            f"{key}/control-only": str(c.control_only),
            f"{key}/net": f"{c.net:+d}",
            f"{key}/named": str(c.named),
            f"{key}/net-named": f"{c.net_named:+d}",
            f"{key}/net-unnamed": f"{c.net_unnamed:+d}",
            f"{key}/named-share": f"{c.named / gold:.1%}" if gold else "n/a",
            f"{key}/net-named-share": f"{c.net_named / c.net:.0%}" if c.net else "n/a",
            f"{key}/named-vs-rest": _rate_words(
                c.net_named, c.named, c.net_unnamed, gold - c.named
            ),
        }
    return values


def _rate_words(net_a: int, n_a: int, net_b: int, n_b: int) -> str:
    """``net_a / n_a`` against ``net_b / n_b`` as ``more often than`` / ``less often than`` /
    ``as often as`` (no entity on a side: ``as often as``)."""
    if not n_a or not n_b or net_a * n_b == net_b * n_a:
        return "as often as"
    return "more often than" if net_a * n_b > net_b * n_a else "less often than"
