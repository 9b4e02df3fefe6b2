"""The campaign report: ``python -m mner_lib report`` writes ``results/report_campaign.md``.

Everything in it is computed from the finished runs of :data:`mner_lib.experiments.campaign.PLAN` and the
papers' rows in the model specs: per row mean ± std over seeds beside the paper's number, paired
gaps (caption minus blank, minus text, minus shuffled caption), the text baselines against their
papers with the measured one-change ablations, the papers' ablations against ours, a conclusion
in words, and the rows not finished yet with what they would cost on this machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mner_lib.experiments.campaign import CAPTION, KNOWLEDGE, NOT_RUN, PLAN, Row, finished, jobs
from mner_lib.experiments.cost import full_data, pending_lines
from mner_lib.io.escape import md_text as _m
from mner_lib.reporting.optimisers import deviation_words, optimiser_lines
from mner_lib.reporting.paired import paired_stats
from mner_lib.reporting.report import (
    PAIRING,
    caption_leak,
    check_inside,
    check_out,
    condition_name,
    report_tables,
    write_text,
)
from mner_lib.reporting.results import load_runs, mean_std, paper_table
from mner_lib.reporting.results import spread as results_spread
from mner_lib.reporting.segmenter import segmenter_lines
from mner_lib.reporting.words import conclusion, within_band


def _experiments(plan: Sequence[Row], kinds: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(r.experiment for r in plan if r.kind in kinds))


def _main_lines(tables: dict) -> list[str]:
    wide, conditions = tables["settings"], tables["conditions"]
    head = ["model", "dataset", "training"] + [condition_name(c) for c in conditions] + ["paper"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in wide.sort_values(["model", "dataset"]).iterrows():
        cells = [_m(_model_cell(r["model"], r["variant"]))]
        cells += [_m(r["dataset"]), _m(r["training"])]
        cells += [r[c] if isinstance(r.get(c), str) else "" for c in conditions]
        lines.append("| " + " | ".join(cells + [r["paper"]]) + " |")
    return lines


def _model_cell(model: str, variant: str) -> str:
    """``trimod, segmenter=wordsegment`` for a full model with a named setting, ``hsn w/o MI
    (interaction=concat)`` for an ablation, ``hsn`` for the plain full model."""
    if variant == "full":
        return model
    if variant.startswith("full (") and variant.endswith(")"):
        return f"{model}, {variant[len('full (') : -1]}"
    return f"{model} {variant}"


def _gap_lines(gaps: pd.DataFrame) -> list[str]:
    lines = ["| model | dataset | gap | paired F1 gap | seeds won |", "|---|---|---|---|---|"]
    for _, g in gaps.sort_values(["model", "dataset"]).iterrows():
        spread = results_spread(g["gap_std"], g["n_pairs"])
        lines.append(
            f"| {_m(g['model'])} | {_m(g['dataset'])} | {condition_name(g['condition'])} − "
            f"{condition_name(g['baseline'])} | {g['gap_mean']:+.2f}{spread} | "
            f"{g['wins']} of {g['n_pairs']} |"
        )
    return lines


#: the text conditions whose leak the report states, with how it names what the text is
LEAKS = (
    (CAPTION, "Caption leak, the share of test entities whose string occurs in their tweet's own "
     "BLIP-2 caption (read in the image or recognised: real visual signal, but not scene "
     "understanding)"),
    (KNOWLEDGE, "Knowledge leak, the share of test entities whose string occurs in their tweet's "
     "own PGIM paragraph (language-model knowledge, written by ChatGPT from the tweet's text and "
     "its BLIP-2 caption: not vision, and it may repeat the tweet's own words)"),
)  # fmt: skip


def _leak_lines(runs: pd.DataFrame) -> list[str]:
    """What part of a text condition's gain can be plain reading: per dataset, the share of
    test entities whose string occurs in their tweet's own caption or knowledge paragraph
    (recorded by the runs of that condition)."""
    if runs.empty or "caption_leak" not in runs.columns:
        return []
    lines = []
    for condition, words in LEAKS:
        recorded = runs[(runs["condition"] == condition) & runs["caption_leak"].notna()]
        parts = [
            f"{dataset}: {caption_leak(runs, dataset, condition)}"
            for dataset in sorted(recorded["dataset"].unique())
        ]
        if parts:
            lines += ["", f"{words}: " + "; ".join(parts) + "."]
    return lines


def text_baselines(runs: pd.DataFrame) -> pd.DataFrame:
    """The GloVe baselines of the campaign beside their papers' rows: ours, paper, gap."""
    papers = paper_table()
    rows = []
    base = runs[
        runs["model"].isin(["bilstm-crf", "hbilstm-crf"]) & (runs["experiment"] == "campaign")
    ]
    for (model, dataset), group in base.groupby(["model", "dataset"]):
        paper = papers[(papers["model"] == model) & (papers["dataset"] == dataset)]
        paper = paper[paper["variant"] == "full"]
        f1 = group["f1"].astype(float)
        p = float(paper["f1"].iloc[0]) if len(paper) else float("nan")
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "mean": f1.mean(),
                "std": f1.std(ddof=1) if len(f1) > 1 else 0.0,
                "n": len(f1),
                "paper": p,
                "table": paper["table"].iloc[0] if len(paper) else "",
                "gap": f1.mean() - p,
            }  # fmt: skip
        )
    return pd.DataFrame(rows)


def text_gap_effects(runs: pd.DataFrame) -> pd.DataFrame:
    """Each one-change baseline ablation minus the campaign's baseline, paired by seed."""
    base = runs[runs["experiment"] == "campaign"][["model", "dataset", "seed", "f1"]]
    changed = runs[runs["experiment"].str.startswith("campaign_text_")]
    pairs = changed.merge(base, on=["model", "dataset", "seed"], suffixes=("", "_base"))
    rows = []
    for (exp, model, dataset), g in pairs.groupby(["experiment", "model", "dataset"]):
        diff = g["f1"].astype(float) - g["f1_base"].astype(float)
        rows.append(
            {
                "change": exp.removeprefix("campaign_text_"),
                "model": model,
                "dataset": dataset,
                **paired_stats(diff),
                "f1": g["f1"].astype(float).mean(),
            }  # fmt: skip
        )
    return pd.DataFrame(rows)


def ablation_effects(runs: pd.DataFrame) -> pd.DataFrame:
    """Full model minus each ablation under the same condition and seed (ours), beside the
    paper's full minus the same ablation row (the paper's images; ours: BLIP-2 captions)."""
    papers = paper_table()
    full = runs[runs["experiment"] == "campaign"][["model", "dataset", "condition", "seed", "f1"]]
    abl = runs[runs["experiment"].str.match(r"campaign_(hsn|gmf|trimod)_")]
    pairs = abl.merge(full, on=["model", "dataset", "condition", "seed"], suffixes=("", "_full"))
    rows = []
    for (_exp, model, dataset, variant), g in pairs.groupby(
        ["experiment", "model", "dataset", "variant"]
    ):
        name = variant.split(" (", 1)[0]
        diff = g["f1_full"].astype(float) - g["f1"].astype(float)
        mine = papers[(papers["model"] == model) & (papers["dataset"] == dataset)]
        p_full = mine[mine["variant"] == "full"]["f1"]
        p_abl = mine[mine["variant"] == name]["f1"]
        paper = float(p_full.iloc[0] - p_abl.iloc[0]) if len(p_full) and len(p_abl) else None
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "ablation": name,
                **paired_stats(diff),  # wins: seeds where the full model beat the ablation
                "paper": paper,
            }  # fmt: skip
        )
    return pd.DataFrame(rows)


def _encoder_words(runs: pd.DataFrame) -> str:
    """The text encoders the BERT-based runs used, against the papers' bert-base-uncased: a paper
    number beside such a row is not like for like."""
    if runs.empty or "text_encoder" not in runs.columns:
        return ""
    used = sorted({str(e) for e in runs["text_encoder"].dropna() if e not in ("none", "")})
    if not used or used == ["bert-base-uncased"]:
        return ""
    bert = runs[runs["text_encoder"].isin(used) & full_data(runs)]
    experiment = bert["experiment"] if "experiment" in bert else pd.Series("", index=bert.index)
    converged = experiment.isin(PROTOCOLS["converged (BERT side to early stopping)"])
    said = []
    for rows, name in ((bert[~converged], "first-round"), (bert[converged], "converged")):
        last = rows[rows["best_epoch"].notna() & (rows["best_epoch"] == rows["epochs_run"])]
        if len(rows):
            said.append(f"in {len(last)} of {len(rows)} {name} runs")
    return (
        f" The BERT-based rows ran on the text encoder {', '.join(used)}, where the papers use "
        "bert-base-uncased (not reachable here), so their paper numbers are not like for like"
        + (f"; their best dev epoch was the last one {' and '.join(said)}." if said else ".")
    )


def _source_lines(models: Sequence[str]) -> list[str]:
    """Which paper each model's paper numbers quote (the tables' cells name only row and table):
    the baselines' numbers are the GMF paper's, for instance."""
    papers = paper_table()
    quoted: dict[str, list[str]] = {}
    for model in sorted(set(models)):
        for source in dict.fromkeys(papers.loc[papers["model"] == model, "paper"]):
            quoted.setdefault(str(source), []).append(model)
    if not quoted:
        return []
    parts = [f"{', '.join(ms)}: {source}" for source, ms in quoted.items()]
    return ["", "Paper numbers quote, per model: " + "; ".join(parts) + "."]


def _baseline_lines(base: pd.DataFrame, effects: pd.DataFrame) -> list[str]:
    lines = ["| model | dataset | ours | paper | gap | within 2 F1 |", "|---|---|---|---|---|---|"]
    for _, r in base.iterrows():
        lines.append(
            f"| {_m(r['model'])} | {_m(r['dataset'])} | {mean_std(r['mean'], r['std'], r['n'])} | "
            f"{r['paper']:.2f} ({_m(r['table'])}) | {r['gap']:+.2f} | {within_band(r['gap'])} |"
        )
    lines += _source_lines(base["model"])
    if not effects.empty:
        lines += ["", "One change at a time against the baseline above, paired by seed:", ""]
        lines += ["| change | model | dataset | F1 with it | change in F1 | seeds better |"]
        lines += ["|---|---|---|---|---|---|"]
        for _, e in effects.iterrows():
            lines.append(
                f"| {_m(e['change'])} | {_m(e['model'])} | {_m(e['dataset'])} | {e['f1']:.2f} | "
                f"{mean_std(e['mean'], e['std'], e['n'], signed=True)} | {e['wins']} of {e['n']} |"
            )
        lines += change_legend(effects["change"])
    return lines


def change_legend(changes: Sequence[str]) -> list[str]:
    """What each one-change name means: the ``train`` arguments its plan row adds to the
    baseline's (SGD, lr 0.015, momentum 0.9, inverse-time decay, batch 10, cased words)."""
    args = {
        r.experiment.removeprefix("campaign_text_"): " ".join(r.args)
        for r in PLAN
        if r.kind == "text-gap"
    }
    named = [f"{c}: `{args[c]}`" for c in dict.fromkeys(changes) if c in args]
    if not named:
        return []
    return ["", "Each change is the baseline's command plus: " + "; ".join(named) + "."]


def _ablation_lines(effects: pd.DataFrame) -> list[str]:
    lines = [
        "| model | dataset | ablation | ours: full − ablation (BLIP-2 captions) | paper: full − ablation |"
    ]
    lines += ["|---|---|---|---|---|"]
    for _, e in effects.iterrows():
        paper = "no row" if e["paper"] is None or pd.isna(e["paper"]) else f"{e['paper']:+.2f}"
        lines.append(
            f"| {_m(e['model'])} | {_m(e['dataset'])} | {_m(e['ablation'])} | "
            f"{mean_std(e['mean'], e['std'], e['n'], signed=True)} | {paper} |"
        )
    return lines


#: the protocols whose rows the gap decomposition reads: first round (3 epochs for the BERT
#: side) and the converged BERT side (issue 27)
PROTOCOLS = {
    "first round (BERT side at 3 epochs)": ("campaign", "captions_bert"),
    "converged (BERT side to early stopping)": ("converged",),
}


def _decomposition_lines(runs: pd.DataFrame) -> list[str]:
    """Paper − ours per row, split into the text side, the paper's image gain and the rest
    (:mod:`mner_lib.reporting.gaps`), per protocol; rows under BLIP-2 captions."""
    from mner_lib.reporting.gaps import decompose

    if runs.empty:
        return []
    lines = [
        "| protocol | model | dataset | ours | n | paper | paper − ours | text side | "
        "paper's image gain | remainder |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    cell = lambda v: "" if v is None else f"{v:+.2f}"  # noqa: E731
    found = False
    for name, experiments in PROTOCOLS.items():
        mine = runs[runs["experiment"].isin(experiments) & full_data(runs)]
        for d in decompose(mine, paper_table(), CAPTION):
            found = True
            lines.append(
                f"| {name} | {_m(d.model)} | {_m(d.dataset)} | {d.ours:.2f} ({condition_name(d.condition)})"
                f" | {d.n} | {d.paper:.2f} | {d.total:+.2f} | {cell(d.text_side)} | "
                f"{cell(d.image_gain)} | {cell(d.remainder)} |"
            )
    if not found:
        return []
    return [
        *lines,
        "",
        "Text side: the paper's text-only row minus ours (GMF and BERT-CRF: the paper's BERT-CRF "
        'against our MiniLM-L6 BERT-CRF; HSN: its "w/o VF" row against our HSN with blank '
        "images). Paper's image gain: its full model minus that text-only row, pixels we do not "
        "have. Remainder: the rest, which is minus what our caption gained over our text-only "
        "row, plus whatever else differs. TriMod and CWI print no text-only row: total only.",
    ]


def default_bench(root: Path) -> Path:
    """The recorded speeds that price what is left: ``benchmarks/bench_cpu.json`` beside the
    results folder ``root``."""
    return Path(root).resolve().parent / "benchmarks" / "bench_cpu.json"


def load_campaign(root: Path, plan: Sequence[Row] = PLAN) -> pd.DataFrame:
    """Every finished run of the plan's experiments, with an ``experiment`` column."""
    frames = []
    for exp in dict.fromkeys(r.experiment for r in plan):
        if (root / exp).is_dir():  # a linked folder is refused by name (report.check_inside)
            frame = load_runs(check_inside(root, root / exp), relative_to=root.parent)
            if not frame.empty:
                frames.append(frame.assign(experiment=exp))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _reference_lines() -> list[str]:
    from mner_lib.models.spec import FIELD_REFERENCES, ITA_PAPER, PGIM_PAPER

    lines = [
        "The caption rows meet no paper row. Of the four papers only TriMod reads a caption, from "
        "its own captioner (a ResNet-50 encoder and an RNN decoder, over real images: the setting "
        "of its Table III row, not ours); the others read pixels. The field's reference for text "
        "written from the image:",
        "",
    ]
    for r in FIELD_REFERENCES:
        by = r.source.short if r.source else "its paper"
        lines.append(
            f"- {r.system} ({ITA_PAPER.short}: captions, OCR text and object tags given to a "
            f"language model): {r.f1:.2f} F1 on {_m(r.dataset)}, as {by} prints it ({r.table})."
        )
    lines.append(
        f"- PGIM ({PGIM_PAPER.short}): ChatGPT's knowledge written from the tweet and its BLIP-2 "
        "caption (`knowledge:pgim` here); its numbers are in its own paper, not among the texts "
        "here, so none is quoted."
    )
    return lines


def write_campaign_report(
    root: Path, out: Path, bench: Path | None = None, plan: Sequence[Row] = PLAN
) -> Path:
    """``results/report_campaign.md`` from whatever has finished (see the module docstring);
    an ``out`` inside a run folder is refused before anything is read (:func:`check_out`)."""
    check_out(out)
    return write_text(out, campaign_markdown(root, bench, plan))


def baselines_markdown(root: Path, plan: Sequence[Row] = PLAN) -> str:
    """The campaign's GloVe baselines against their papers, their one-change ablations and what
    the report concludes of them (the sections of :func:`campaign_markdown` on the baselines), for
    the Foundations chapter; ``""`` before any baseline run has finished."""
    runs = load_campaign(Path(root), plan)
    base = text_baselines(runs) if not runs.empty else pd.DataFrame()
    if base.empty:
        return ""
    effects = text_gap_effects(runs)
    said = conclusion(pd.DataFrame(), base, effects, pd.DataFrame())
    return "\n".join([*_baseline_lines(base, effects), "", *said]) + "\n"


def campaign_markdown(
    root: Path,
    bench: Path | None = None,
    plan: Sequence[Row] = PLAN,
    depth: int = 1,
    title: bool = True,
) -> str:
    """The campaign report in Markdown: its title at heading ``depth`` (left out without
    ``title``), its sections one level below (the book's comparison chapter nests it in its own
    section). ``bench``: recorded speeds for pricing what is left (default: the checkout's
    ``benchmarks/bench_cpu.json`` beside ``root``)."""
    root = Path(root)
    bench = bench or default_bench(root)
    runs = load_campaign(root, plan)
    main = [e for e in _experiments(plan, ["main"]) if (root / e).is_dir()]
    tables = report_tables(root, main) if main and not runs.empty else None
    gaps = tables["gaps"] if tables is not None else pd.DataFrame()
    base = text_baselines(runs) if not runs.empty else pd.DataFrame()
    effects = text_gap_effects(runs) if not runs.empty else pd.DataFrame()
    ablations = ablation_effects(runs) if not runs.empty else pd.DataFrame()
    n_planned = sum(1 for _ in jobs(plan, root=root.name))
    n_done = sum(1 for j in jobs(plan, root=root.name) if finished(j, root.parent))
    h = "#" * (depth + 1)
    lines = [f"{'#' * depth} The replication campaign", ""] if title else []
    lines += [
        "Written by `python -m mner_lib report` from the finished runs of the campaign's plan "
        f"(`mner_lib/experiments/campaign.py`): {n_done} of {n_planned} planned runs. Full training, dev and "
        "test sets; small models at the epochs of their specs (`mner_lib/models/`: the paper's "
        "where it gives them, else 30) with early stopping on dev F1; BERT-based models at 3 "
        "epochs for every condition in the first round, and in the converged round (experiment "
        "`converged`) up to their specs' epochs with early stopping (patience 5) and length-"
        "bucketed batches; every table's training column says which. Test F1, mean ± std over seeds (sample std). Captions are "
        "BLIP-2's, written from the real images (the only real visual signal here); `blank` meets "
        'HSN\'s "w/o VF" row (the other papers have none). The budget-protocol results stay in '
        "`report_budget.md`, labelled as such." + deviation_words(plan) + _encoder_words(runs),
        "",
        f"{h} Test F1 per row",
        "",
        *(_main_lines(tables) if tables is not None else ["No run has finished yet."]),
        *(_source_lines(tables["settings"]["model"]) if tables is not None else []),
        "",
        *_reference_lines(),
    ]
    decomposition = _decomposition_lines(runs)
    if decomposition:
        lines += ["", f"{h} How far each row is from its paper, and why", "", *decomposition]
    if not gaps.empty:
        lines += [
            "",
            f"{h} Paired gaps (same seed)",
            "",
            PAIRING,
            "",
            *_gap_lines(gaps),
            *_leak_lines(runs),
        ]
    if not base.empty:
        lines += [
            "",
            f"{h} The GloVe text baselines against their papers",
            "",
            *_baseline_lines(base, effects),
        ]
    if not ablations.empty:
        lines += ["", f"{h} Ablations against the papers'", "", *_ablation_lines(ablations)]
    optimisers = optimiser_lines(runs) if not runs.empty else []
    if optimisers:
        lines += ["", f"{h} The papers' optimisers at full data", "", *optimisers]
    segmenter = segmenter_lines(runs)
    if segmenter:
        lines += ["", f"{h} TriMod's own hashtag segmenter", "", *segmenter]
    not_run = NOT_RUN if plan is PLAN else ()  # the reasons are the plan's, not a test plan's
    if not_run:
        lines += ["", f"{h} Not run, and why", "", *(f"- {why}" for why in not_run)]
    lines += ["", f"{h} What the campaign says", "", "Generated from the tables above.", ""]
    lines += conclusion(gaps, base, effects, ablations)
    lines += ["", f"{h} Not finished yet", "", *pending_lines(root, runs, bench, plan)]
    lines += _provenance_lines(runs, h)
    return "\n".join(lines) + "\n"


def _capped_words(runs: pd.DataFrame) -> str:
    """How many of the runs are capped probes (the plan's probe rows), which no table above
    shows: the tables are full-data runs."""
    capped = runs[~full_data(runs)]
    if capped.empty:
        return ""
    names = (
        ", ".join(_m(e) for e in sorted(capped["experiment"].unique()))
        if "experiment" in capped
        else ""
    )
    return (
        f", {len(capped)} of them capped probes that no table above shows ({names}: at most "
        f"{int(capped['max_train'].max())} training tweets)"
    )


def _provenance_lines(runs: pd.DataFrame, h: str = "##") -> list[str]:
    if runs.empty:
        return []
    commits = sorted(
        {
            str(c)[:10] + ("+dirty" if str(c).endswith("+dirty") else "")
            for c in runs["commit"].dropna()
        }
    )
    hardware = sorted({f"{_m(d)}, {_m(c)} CPUs" for d, c in zip(runs["device"], runs["cpu_count"])})
    return [
        "",
        f"{h} The runs",
        "",
        f"- {len(runs)} runs{_capped_words(runs)}; seeds "
        f"{', '.join(map(str, sorted(runs['seed'].unique())))}; "
        f"{runs['wall_seconds'].astype(float).sum() / 3600:.1f} h of wall time in all.",
        f"- Commits: {', '.join(_m(c) for c in commits)}. Hardware: {'; '.join(hardware)}.",
        "- Each run's config, per-epoch history and metrics are in its folder under `results/`.",
    ]
