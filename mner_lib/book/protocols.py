"""The protocols the replication campaign superseded, as data, and one labelled table for each.

The chapters' definitive tables show the replication campaign: the experiment folders of
:data:`mner_lib.experiments.campaign.PLAN` that train on the full data (:func:`campaign_folders`).
Every other experiment folder under ``results/`` belongs to exactly one :class:`Protocol` of
:data:`PROTOCOLS`: what it measured and why it was superseded, each reason with the commit or file
it comes from. The reproducibility appendix shows one block per protocol
(:func:`superseded_html`): a label, the reason, and the table of its runs, built by the chapters'
own table builder (:func:`mner_lib.book.realresults.recorded_settings` and
:func:`~mner_lib.book.realresults.compact_table`). A folder that no protocol names is never
dropped: it appears in a last block, :data:`UNCLASSIFIED`, until it is added here
(``tests/test_protocols.py`` fails on it). Every value is escaped where it is put into HTML
(:func:`mner_lib.io.escape.html_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mner_lib.book.realresults import STYLE, WIDTHS, compact_table, notes, recorded_settings
from mner_lib.book.tables import html_table
from mner_lib.io.escape import html_text

if TYPE_CHECKING:  # pandas and the campaign's plan load when a table is made
    import pandas as pd


@dataclass(frozen=True)
class Protocol:
    """A way of running experiments that the replication campaign replaced.

    ``folders``: the experiment folders under ``results/`` it covers, by exact name (a new folder
    matches no protocol until it is named here); ``measured``: what it measured, in one sentence;
    ``reason``: why it was superseded (or, with ``superseded`` false, why a folder that is no
    protocol of tagger runs is listed); ``evidence``: the commits and files the reason comes
    from."""

    key: str
    name: str
    folders: tuple[str, ...]
    measured: str
    reason: str
    evidence: tuple[str, ...] = ()
    superseded: bool = True


PROTOCOLS: tuple[Protocol, ...] = (
    Protocol(
        "baselines-train-vocab",
        "Text baselines, training words only",
        ("baselines",),
        "BiLSTM-CRF and HBiLSTM-CRF on the full data of both datasets, 3 seeds, 12 epochs at the "
        "papers' SGD settings, with a vocabulary of the training words only.",
        "The vocabulary rule (augment_vocab, the default since) adds the dev and test words GloVe "
        "knows to the vocabulary, as Lample et al. do; these runs, from before it, are kept to "
        "show what the rule is worth. The same runs under the rule are the next table.",
        ("results/README.md", "results/report_baselines.md", "commit ce3dda1"),
    ),
    Protocol(
        "baselines-12-epochs",
        "Text baselines at 12 epochs",
        ("baselines_glove-vocab",),
        "BiLSTM-CRF and HBiLSTM-CRF under the vocabulary rule: full data, both datasets, 3 seeds, "
        "12 epochs at the papers' SGD settings.",
        "The replication campaign trains both baselines at the epochs of their specs (30: the GMF "
        "paper, whose tables quote them, gives none) with early stopping on dev F1. At 12 epochs "
        "these rows chose two of the three rows that the campaign's one-change ablations address.",
        ("mner_lib/experiments/campaign.py", "notebooks/02_foundations.py", "commit 2cbb93a"),
    ),
    Protocol(
        "budget",
        "The budget protocol",
        (
            "budget",
            "budget_bert-crf",
            "budget_cwi_lr1e-3",
            "budget_hsn_train-vocab",
            "budget_hsn_wo-HA",
            "budget_hsn_wo-MI",
            "budget_hsn_wo-MP",
            "budget_trimod_adam1e-3",
            "budget_trimod_adam1e-3_wo-hashtags",
        ),
        "HSN, CWI, TriMod and BERT-CRF side by side under one small budget on 2 CPU cores "
        "(training capped at 2000 tweets and 5 epochs, dev and test at 1000 tweets, the same for "
        "every run; BERT-CRF at 1000, 3 and 500), 3 seeds, blank against synthetic images, "
        "HSN's ablations, TriMod without hashtags, and HSN before the vocabulary rule.",
        "Capped training and test sets and few epochs make each row a measurement of this budget, "
        "not a replication. The campaign reran every model on the full data at its spec's epochs, "
        "and under real-image BLIP-2 captions where this protocol had only blank and synthetic "
        "images. Its HSN runs also predate HSN's per-token gate and Gaussian rows for unknown "
        "words, hence their names (gate=dimension, oov_init=uniform). What it settled stays: CWI "
        "and TriMod train with Adam at 1e-3 in the campaign too, because their papers' optimisers "
        "stayed near F1 0 in short runs.",
        (
            "results/report_budget.md",
            "benchmarks/budget_runs.sh",
            "commit ba19fcb",
            "mner_lib/experiments/campaign.py (ADAM)",
        ),
    ),
    Protocol(
        "budget-gmf",
        "The budget protocol: GMF's learning rate",
        (
            "budget_gmf_default-prefix-init",
            "budget_gmf_prefix-bias",
            "budget_gmf_lr5e-5",
            "budget_gmf_lr5e-5_wo-CM",
            "budget_gmf_lr5e-5_wo-CSA",
            "budget_gmf_lr5e-5_wo-VCG",
            "budget_gmf_lr5e-5_wo-all",
        ),
        "GMF under the budget caps (1000 training tweets, 3 epochs, 500 dev and test tweets): "
        "first with its new layers at 1e-3, then with the prefix_logit_bias option (not the "
        "paper's), then at the paper's 5e-5 for every parameter on both datasets, blank against "
        "synthetic images, with its four ablations on Twitter-2015 under synthetic images.",
        "With the new layers at 1e-3 GMF stayed at F1 0 (mner_lib/models/gmf_blocks.py says why), "
        "and the prefix_logit_bias option, which is not the paper's, made it learn unevenly "
        "across seeds. The paper's 5e-5 for every parameter became the default; then the GMF "
        "probes (next table) moved the tagging head to 5e-2 and alpha to 0.3, so these runs, at "
        "alpha 0.5, are named alpha=0.5. The campaign runs GMF on the full data with those "
        "defaults. The w/o VCG, w/o CSA and w/o all rows here remain the only runs of those "
        "ablations: under captions GMF bypasses VCG and CSA, so the campaign does not run them.",
        (
            "commit cbec62e",
            "commit 3b0df74",
            "benchmarks/budget_runs.sh",
            "mner_lib/experiments/campaign.py (NOT_RUN)",
        ),
    ),
    Protocol(
        "gmf-probes",
        "GMF probes",
        (
            "probe_gmf_head-lr-none",
            "probe_gmf_head-lr1e-3",
            "probe_gmf_head-lr5e-2",
            "probe_gmf_alpha0.3",
            "probe_gmf_alpha0.5",
            "probe_gmf_alpha0.7",
            "probe_gmf_buckets20",
        ),
        "GMF settings chosen before its campaign rows, under the budget caps on Twitter-2017: the "
        "tagging head's learning rate (blank images, seed 0), alpha of eq. 22 by dev F1 (BLIP-2 "
        "captions, seed 0), and length-bucketed batches against plain ones (3 seeds, paired with "
        "the runs at alpha 0.3).",
        "Each probe chose a setting rather than measured the model: the head at 5e-2 won, and "
        "alpha 0.3 won on dev F1 as the paper asks (the table shows test F1, which does not rank "
        "the three alphas the same way); both became GMF's defaults, which its campaign rows use "
        "on the full data. Length buckets cost no F1 here and have been the default since issue "
        "27.",
        (
            "commit 1857b51",
            "commit e8ce313",
            "commit 7cb7ca0",
            "commit 9577bcf",
            "benchmarks/gmf_bucket_probe.txt",
        ),
    ),
    Protocol(
        "quick",
        "Quick (smoke) runs",
        (
            "baselines_bert_quick",
            "multimodal_quick",
            "multimodal_quick_cwi_lr1e-3",
            "multimodal_quick_trimod_adam1e-3",
            "hsn_ablation_quick_wo-HA",
            "hsn_ablation_quick_wo-MI",
            "hsn_ablation_quick_wo-MP",
        ),
        "Single-seed runs with capped training sets (600 to 2000 tweets), 2 to 4 epochs and capped "
        "dev and test sets: HSN and its three ablations, TriMod, CWI-attention and GMF on "
        "Twitter-2015 (blank against synthetic images), BERT-CRF on both datasets.",
        "They are smoke tests of the pipeline: they check that each model trains end to end on the "
        "real data, not how well it does; the budget protocol followed with 3 seeds, then the "
        "campaign. They also showed TriMod at its paper's SGD settings stuck at F1 0, which is why "
        "TriMod has trained with Adam since.",
        ("commit 02c86ce", "commit 187f4cd", "benchmarks/budget_runs.sh"),
    ),
    Protocol(
        "not-runs",
        "Folders that hold no tagger run",
        ("hashtags", "images_demo", "book"),
        "The hashtag segmenter against wordsegment and wordninja (hashtags), the image pipeline on "
        "the 6 sample images (images_demo) and a screenshot of a rendered chapter (book).",
        "No protocol of tagger runs: these folders hold no tagger's test F1, so there is nothing "
        "of theirs for the campaign to replace and no table to show; they are listed so that "
        "every folder under results/ is accounted for.",
        ("results/README.md",),
        superseded=False,
    ),
)

#: the block of folders that no protocol names (shown last, only when there are some)
UNCLASSIFIED = Protocol(
    "unclassified",
    "Not yet classified",
    (),
    "Experiment folders under results/ that neither the campaign's plan nor any protocol of "
    "mner_lib/book/protocols.py names.",
    "Unknown until the folder is classified: add it to a protocol of mner_lib/book/protocols.py "
    "(or to the campaign's plan), with what it measured and why it was superseded.",
    superseded=False,
)


# ----------------------------------------------------------------------------- classifying
def campaign_folders(plan: Sequence[Any] | None = None) -> frozenset[str]:
    """The experiment folders of the replication campaign: those of the plan's rows that train
    on the full data (no ``--max-train`` or ``--max-eval``); the plan's capped probes are not
    among them (they belong to a protocol)."""
    from mner_lib.experiments.campaign import PLAN

    rows = PLAN if plan is None else plan
    capped = {"--max-train", "--max-eval"}
    full = {row.experiment for row in rows if not capped & set(row.args)}
    probes = {row.experiment for row in rows if capped & set(row.args)}
    return frozenset(full - probes)


def experiment_folders(results_dir: str | Path = "results") -> list[str]:
    """The folders directly under ``results_dir`` (hidden ones and links left out), sorted."""
    root = Path(results_dir)
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    )


def protocols_of(folder: str, protocols: Sequence[Protocol] = PROTOCOLS) -> list[Protocol]:
    """Every protocol that names ``folder`` (exactly one for a classified folder)."""
    return [p for p in protocols if folder in p.folders]


def classify(
    folders: Iterable[str],
    protocols: Sequence[Protocol] = PROTOCOLS,
    campaign: Iterable[str] | None = None,
) -> list[tuple[Protocol, list[str]]]:
    """Each protocol with those of ``folders`` it names (in the protocols' order; a protocol
    with none left out), then :data:`UNCLASSIFIED` with the folders no protocol names, if any.
    Campaign folders (:func:`campaign_folders` by default) are never listed. A folder that two
    protocols name is a ValueError naming both."""
    skip = campaign_folders() if campaign is None else frozenset(campaign)
    named: dict[str, list[str]] = {p.key: [] for p in protocols}
    unclassified = []
    for folder in sorted(set(folders) - skip):
        found = protocols_of(folder, protocols)
        if len(found) > 1:
            names = ", ".join(p.key for p in found)
            raise ValueError(f"experiment folder {folder!r} is named by several protocols: {names}")
        if found:
            named[found[0].key].append(folder)
        else:
            unclassified.append(folder)
    listed = [(p, named[p.key]) for p in protocols if named[p.key]]
    if unclassified:
        listed.append((UNCLASSIFIED, unclassified))
    return listed


# ----------------------------------------------------------------------------- tables
def protocol_tables(
    results_dir: str | Path = "results",
    protocols: Sequence[Protocol] = PROTOCOLS,
    campaign: Iterable[str] | None = None,
    settings: pd.DataFrame | None = None,
) -> list[tuple[Protocol, list[str], pd.DataFrame]]:
    """Per protocol present under ``results_dir`` (:func:`classify`): its folders and the
    chapters' compact table of their runs (:func:`mner_lib.book.realresults.compact_table`,
    quick smoke runs included; empty for folders without a training run). ``settings``: the
    recorded settings of every model, read from ``results_dir`` when not given."""
    import pandas as pd

    if settings is None:
        settings = recorded_settings(None, results_dir)
    tables = []
    for protocol, folders in classify(experiment_folders(results_dir), protocols, campaign):
        part = settings[settings["experiment"].isin(folders)] if len(settings) else settings
        table = compact_table(part, smoke=True) if len(part) else pd.DataFrame()
        tables.append((protocol, folders, table))
    return tables


def _anchor(key: str) -> str:
    return "protocol-" + "".join(c if c.isalnum() else "-" for c in key)


def protocol_html(protocol: Protocol, folders: Sequence[str], table: pd.DataFrame) -> str:
    """One protocol as an HTML block: its name as a heading-like label, what it measured, why
    it was superseded (its sources in small type), its folders and the table of its runs; every
    value escaped."""
    why = "Why superseded." if protocol.superseded else "Why it is listed."
    paragraphs = [
        f'<p role="heading" aria-level="3" id="{html_text(_anchor(protocol.key))}" '
        f'style="font-weight:600;font-size:1.05em;margin:1.4em 0 0.3em">'
        f"{html_text(protocol.name)}</p>",
        f'<p style="margin:0.2em 0"><b>What it measured.</b> {html_text(protocol.measured)}</p>',
        f'<p style="margin:0.2em 0"><b>{why}</b> {html_text(protocol.reason)}'
        + (
            f" <small>(sources: {html_text('; '.join(protocol.evidence))})</small>"
            if protocol.evidence
            else ""
        )
        + "</p>",
        '<p style="margin:0.2em 0;font-size:0.85em">Folders: '
        + ", ".join(f"<code>results/{html_text(f)}/</code>" for f in folders)
        + "</p>",
    ]
    if table.empty:
        paragraphs.append('<p style="margin:0.2em 0"><i>No training run in these folders.</i></p>')
        return "".join(paragraphs)
    return "".join(paragraphs) + html_table(table, WIDTHS)


def superseded_html(
    results_dir: str | Path = "results",
    protocols: Sequence[Protocol] = PROTOCOLS,
    campaign: Iterable[str] | None = None,
) -> str:
    """Every protocol present under ``results_dir`` as one HTML block each
    (:func:`protocol_html`), then the notes on the tables' cells
    (:func:`mner_lib.book.realresults.notes`) over all their runs; a sentence when there is
    none."""
    settings = recorded_settings(None, results_dir)
    tables = protocol_tables(results_dir, protocols, campaign, settings)
    if not tables:
        return (
            "<p>No experiment folder outside the replication campaign under "
            f"{html_text(results_dir)}/.</p>"
        )
    blocks = [protocol_html(p, folders, table) for p, folders, table in tables]
    shown = {f for _, folders, _ in tables for f in folders}
    runs = settings[settings["experiment"].isin(shown)] if len(settings) else settings
    if len(runs):
        blocks.append(
            '<div style="font-size:0.8em;line-height:1.35;margin-top:1em">'
            + "".join(f'<p style="margin:0.2em 0">{line}</p>' for line in notes(runs))
            + "</div>"
        )
    return STYLE + "".join(blocks)


def show_superseded(
    results_dir: str | Path = "results", show: Callable[[Any], None] | None = None
) -> None:
    """Display :func:`superseded_html` (the appendix's "Superseded protocols" section)."""
    from IPython.display import HTML

    if show is None:
        from IPython.display import display as show
    show(HTML(superseded_html(results_dir)))
