"""The replication campaign (issue 15): its plan, its job queue and its report.

The plan is the one place that says what the campaign runs: each :class:`Row` is an experiment
folder under ``results/``, a model, datasets, conditions, seeds and the ``train`` arguments that
differ from the model's paper settings. ``python -m mner_lib campaign jobs`` prints the queue
(highest priority first) that ``benchmarks/campaign.sh`` works through with two single-thread
workers; ``python -m mner_lib report`` (no ``--experiments``) writes ``results/report_campaign.md``
from whatever has finished, and says which rows have not, with what they would cost.

Protocol: full training, dev and test sets. Small models: the epochs of their specs (the paper's
where it gives them, else 30) with early stopping on dev F1 (the trainer keeps the best dev
epoch). BERT-based models, first round (``campaign``, ``captions_bert``): 3 epochs, the same for
every condition; in 32 of 39 such runs the best dev epoch was the last. Second round
(``converged``, issue 27): the specs' epochs as a ceiling with early stopping (:data:`PATIENCE`).
The ``training`` column of every table says which.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import pandas as pd

SEEDS = (0, 1, 2)
BOTH = ("twitter2015", "twitter2017")
CAPTION, SHUFFLED = "caption:blip2", "caption-shuffled:blip2"
#: the training deviations the budget protocol established (results/report_budget.md): CWI's
#: paper lr 8e-5 and TriMod's SGD with 9-batch accumulation stayed near F1 0 in short runs
ADAM = ("--optimizer", "adam", "--lr", "1e-3", "--schedule", "constant", "--grad-accum", "1")
BERT_EPOCHS = ("--epochs", "3")
KNOWLEDGE, KNOWLEDGE_SHUFFLED = "knowledge:pgim", "knowledge-shuffled:pgim"
#: the convergence protocol of the BERT side (issue 27): each spec's epochs (the paper's: GMF 30
#: on Twitter-2015, 50 on Twitter-2017; BERT-CRF 10) as the ceiling, linear warm-up and decay
#: over that ceiling (the specs' schedule), early stopping after this many epochs without a
#: better dev F1; the best dev epoch is kept
PATIENCE = ("--patience", "5")
#: TriMod's learned hashtag segmenter (sec. IV-C: char CNN + BiLSTM, self-supervised on the
#: training text of both datasets, a seeded tenth held out for its scores), committed with the
#: command that trained it (results/hashtags/learned/README.md); the campaign's TriMod rows use
#: wordsegment as a stand-in
LEARNED_SEGMENTER = "results/hashtags/learned/segmenter_seed0.pt"


@dataclass(frozen=True)
class Row:
    """One row of the plan: ``experiment/model/dataset/condition/seed<k>`` run folders."""

    experiment: str
    model: str
    datasets: tuple[str, ...]
    conditions: tuple[str, ...]
    seeds: tuple[int, ...] = SEEDS
    args: tuple[str, ...] = ()
    kind: str = (
        "main"  # main | probe | text-gap | ablation | converge-probe | optimiser | segmenter
    )
    why: str = ""
    # ``--length-buckets`` of its runs: the first round ran without (the trainer's default then;
    # since issue 27 the default is 20), so its rows keep 0 and stay paired with what ran
    length_buckets: int = 0


def _probe(name: str, *args: str) -> Row:
    budget = ("--max-train", "1000", "--max-eval", "500", "--epochs", "3", "--batch-size", "16")
    why = "GMF's tagging head at its own learning rate (budget protocol, seed 0)"
    return Row(f"probe_gmf_{name}", "gmf", ("twitter2017",), ("blank",), (0,), budget + args,
               "probe", why)  # fmt: skip


def _text_gap(name: str, args: tuple[str, ...]) -> list[Row]:
    why = (
        "one change at a time on the baseline rows more than 2 F1 from the paper: the two below"
        " it at 12 epochs, and BiLSTM-CRF on Twitter-2017, above it at 30"
    )
    rows = (
        ("bilstm-crf", "twitter2015"),
        ("hbilstm-crf", "twitter2017"),
        ("bilstm-crf", "twitter2017"),
    )
    return [
        Row(f"campaign_text_{name}", m, (d,), ("none",), SEEDS, args, "text-gap", why)
        for m, d in rows
    ]


def _options(**options: object) -> tuple[str, ...]:
    return tuple(x for k, v in options.items() for x in ("--option", f"{k}={v}"))


PLAN: tuple[Row, ...] = (
    _probe("head-lr-none", "--head-lr", "5e-5"),  # = the paper's lr (recorded as none)
    _probe("head-lr5e-2", "--head-lr", "5e-2"),
    _probe("head-lr1e-3", "--head-lr", "1e-3"),
    # alpha of eq. 22, tuned on dev F1 as the paper asks, with captions (blank images give the
    # consistency loss nothing to match: every image is the same)
    *(
        Row(
            f"probe_gmf_alpha{a}",
            "gmf",
            ("twitter2017",),
            (CAPTION,),
            (0,),
            _probe("x").args + _options(alpha=a),
            "probe",
            "alpha of eq. 22, by dev F1",
        )  # fmt: skip
        for a in (0.3, 0.5, 0.7)
    ),
    # length-bucketed batches (pools of 20 batches sorted by length) train GMF ~1.8x faster
    # (benchmarks/speed_after.md); measured on real tweets, paired by seed with alpha0.3's runs
    # (the same settings, buckets off). A one-seed CWI probe had suggested a cost in accuracy;
    # it did not hold over more seeds (benchmarks/speed_notes.md), and since issue 27 buckets
    # are the default. Rows of the first round keep Row.length_buckets=0, as they ran.
    Row(
        "probe_gmf_alpha0.3",
        "gmf",
        ("twitter2017",),
        (CAPTION,),
        (1, 2),
        _probe("x").args + _options(alpha=0.3),
        "probe",
        "the buckets-off side of the length-bucket probe (seed 0 is above)",
    ),
    Row(
        "probe_gmf_buckets20",
        "gmf",
        ("twitter2017",),
        (CAPTION,),
        SEEDS,
        _probe("x").args + _options(alpha=0.3),
        "probe",
        "length-bucketed batches against alpha0.3's runs, paired by seed",
        length_buckets=20,
    ),
    Row("campaign", "bilstm-crf", BOTH, ("none",)),
    Row("campaign", "hbilstm-crf", BOTH, ("none",)),
    # lowercase first: it is the measured candidate for BiLSTM-CRF's excess on Twitter-2017
    *_text_gap("lowercase", _options(lowercase="true")),
    Row(
        "campaign_text_lowercase",
        "hbilstm-crf",
        ("twitter2015",),
        ("none",),
        SEEDS,
        _options(lowercase="true"),
        "text-gap",
        "the fourth baseline row under the candidate change, so that all four are measured with it",
    ),
    *_text_gap("hidden200", _options(hidden=200)),
    *_text_gap("momentum0", ("--momentum", "0")),
    *_text_gap("adam", ("--optimizer", "adam", "--lr", "1e-3", "--schedule", "constant")),
    Row("campaign", "hsn", BOTH, ("blank", CAPTION, SHUFFLED)),
    Row("campaign", "cwi", BOTH, ("blank", CAPTION, SHUFFLED), args=ADAM),
    Row("campaign", "trimod", BOTH, ("blank", CAPTION, SHUFFLED), args=ADAM),
    # BERT-CRF: the captions experiment of issue 14 is this protocol (3 epochs, seeds 0-2)
    Row("captions_bert", "bert-crf", BOTH, ("none", CAPTION, SHUFFLED), args=BERT_EPOCHS),
    # the shuffled control goes beyond the table: GMF gains most from captions over blank
    # images (+2.05 on Twitter-2017 at two seeds), and only the control says whether from this
    # photo's caption or from caption text as such
    Row("campaign", "gmf", BOTH, ("blank", CAPTION, SHUFFLED), args=BERT_EPOCHS),
    Row(
        "campaign_hsn_wo-MI",
        "hsn",
        ("twitter2015",),
        (CAPTION,),
        args=_options(interaction="concat"),
        kind="ablation",
    ),  # fmt: skip
    Row(
        "campaign_hsn_wo-HA",
        "hsn",
        ("twitter2015",),
        (CAPTION,),
        args=_options(attention="luong"),
        kind="ablation",
    ),  # fmt: skip
    Row(
        "campaign_hsn_wo-MP",
        "hsn",
        ("twitter2015",),
        (CAPTION,),
        args=_options(heads=1),
        kind="ablation",
    ),  # fmt: skip
    Row(
        "campaign_trimod_wo-hashtags",
        "trimod",
        BOTH,
        (CAPTION,),
        args=ADAM + _options(use_hashtag="false"),
        kind="ablation",
    ),  # fmt: skip
    # Table 4 under captions: only w/o CM; the other three are refused there (NOT_RUN)
    Row(
        "campaign_gmf_wo-CM",
        "gmf",
        ("twitter2017",),
        (CAPTION,),
        args=BERT_EPOCHS + _options(use_cm="false"),
        kind="ablation",
    ),  # fmt: skip
)


# The converged BERT side (issue 27). Its first stage is the probe: seed 0 of BERT-CRF on each
# dataset, to see where dev F1 peaks before the grid is priced; those runs are also seed 0 of
# the grid's cells (the same settings). Then the papers' optimisers for CWI and TriMod at full
# data (one seed each, paired with campaign/'s seed 0 under captions, 0.1-0.3 h each), then the
# grid. GMF's peak is read from its seed 0 in the grid: it comes after BERT-CRF's seed 0, so that
# the first caption/control pairs with predictions (about 1 h each) land before GMF's (2-3 h).
_PEAK = "where dev F1 peaks under the convergence protocol (seed 0 of the grid)"
_OPTIMISER = "the paper's optimiser at full data, paired with campaign/'s Adam run of seed 0"
PLAN += (
    Row("converged", "bert-crf", BOTH, ("none",), (0,), PATIENCE, "converge-probe", _PEAK, 20),
    Row("campaign_paper-optimiser", "cwi", BOTH, (CAPTION,), (0,), (), "optimiser", _OPTIMISER),
    Row("campaign_paper-optimiser", "trimod", BOTH, (CAPTION,), (0,), (), "optimiser", _OPTIMISER),
    # TriMod's own segmenter beside the stand-in: campaign/'s TriMod caption rows with only the
    # segmenter changed (buckets off as they ran), paired by seed; 0.1-0.3 h each
    Row(
        "campaign_learned-segmenter",
        "trimod",
        BOTH,
        (CAPTION,),
        args=ADAM + _options(segmenter=LEARNED_SEGMENTER),
        kind="segmenter",
        why="TriMod's learned segmenter (sec. IV-C) in place of wordsegment, paired by seed",
    ),
    Row(
        "converged",
        "bert-crf",
        BOTH,
        ("none", CAPTION, SHUFFLED, KNOWLEDGE, KNOWLEDGE_SHUFFLED),
        args=PATIENCE,
        length_buckets=20,
    ),  # fmt: skip
    Row("converged", "gmf", BOTH, ("blank", CAPTION, SHUFFLED), args=PATIENCE, length_buckets=20),
)


#: rows of the issue's table that the plan leaves out, and why (the report prints them)
NOT_RUN: tuple[str, ...] = (
    "GMF w/o VCG, w/o CSA and w/o all (Table 4) on Twitter-2017 under BLIP-2 captions: VCG (the "
    "dynamic gate over CNN stages) and CSA (cross-scale attention) act on the image's pyramid; a "
    "caption has one scale, so under captions GMF bypasses both (`mner_lib/models/gmf.py`) and "
    "these runs would differ from the full model only in their random initialisation (the model "
    "refuses them). Under captions w/o all is w/o CM, which the plan runs. Measuring them needs the real "
    "images, which these machines cannot reach.",
)


@dataclass(frozen=True)
class Job:
    out: str  # the run folder, relative to the checkout
    row: Row
    dataset: str
    condition: str
    seed: int

    def line(self) -> str:
        """``out|model|dataset|condition|seed|args`` for benchmarks/campaign.sh."""
        fields = (self.out, self.row.model, self.dataset, self.condition, str(self.seed))
        args = (*self.row.args, "--length-buckets", str(self.row.length_buckets))
        return "|".join(fields + (" ".join(args),))


def jobs(plan: Sequence[Row] = PLAN, root: str = "results") -> Iterator[Job]:
    """Every run of the plan, in priority order.

    Consecutive rows of the same kind form a stage (probes, baselines, text-gap ablations, the
    main grid, the papers' ablations), taken in plan order. Within a stage the seeds go round by
    round: seed 0 of every row, then seed 1, then seed 2, so that a stopped grid has one seed of
    every row rather than three of a few. Within a round: row, dataset, then condition, so that
    the paired conditions of a seed finish together. A run folder two rows share (a probe that
    is also seed 0 of a grid cell) is listed once, at its first place."""
    seen: set[str] = set()
    for _, stage in groupby(plan, key=lambda row: row.kind):
        rows = list(stage)
        for seed in sorted({s for row in rows for s in row.seeds}):
            for row in rows:
                if seed not in row.seeds:
                    continue
                for dataset in row.datasets:
                    for condition in row.conditions:
                        folder = condition.replace(":", "-")
                        out = f"{root}/{row.experiment}/{row.model}/{dataset}/{folder}/seed{seed}"
                        if out not in seen:
                            seen.add(out)
                            yield Job(out, row, dataset, condition, seed)


def finished(job: Job, base: Path = Path(".")) -> bool:
    return (base / job.out / "metrics.json").is_file()


# ----------------------------------------------------------------------------- cost
#: the largest benchmark file read for recorded speeds
BENCH_CAP = 16 << 20
_TRAIN_SIZES = {"twitter2015": (4000, 1000, 3257), "twitter2017": (3373, 723, 1000)}


def _arg(args: Sequence[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args[:-1] else None


def job_hours(job: Job, speeds: dict[str, tuple[float, float]]) -> float | None:
    """Single-thread hours a job would take at the recorded speed of its model (training and
    inference tweets/s), at its planned epochs (an upper bound: early stopping may end sooner)."""
    from mner_lib.models import get_spec

    if job.row.model not in speeds:
        return None
    train_rate, infer_rate = speeds[job.row.model]
    if not (_positive(train_rate) and _positive(infer_rate)):
        return None  # never divided by
    n_train, n_dev, n_test = _TRAIN_SIZES.get(job.dataset, (0, 0, 0))
    cap = _arg(job.row.args, "--max-train")
    n_train = min(n_train, int(cap)) if cap else n_train
    if _arg(job.row.args, "--max-eval"):
        n_dev = n_test = min(n_dev, int(_arg(job.row.args, "--max-eval") or 0))
    epochs = (
        _arg(job.row.args, "--epochs") or get_spec(job.row.model).defaults(job.dataset)["epochs"]
    )
    seconds = int(epochs) * (n_train / train_rate + n_dev / infer_rate) + n_test / infer_rate
    return seconds / 3600


def recorded_speeds(
    bench: Path, runs: pd.DataFrame | None = None
) -> dict[str, tuple[float, float]]:
    """Tweets/s per model: the median over finished campaign runs where there are some (real
    conditions, this machine; the median, so that a run paused for a while, whose wall time
    includes the pause, does not move it), else ``benchmarks/bench_cpu.json`` (blank images,
    5 steps).

    No benchmark file (or none at ``bench``) means no recorded speeds; a file that is not a
    regular file, not JSON or not ``{"models": [{"model": ..., ...}, ...]}`` is a ValueError
    naming it. A model whose recorded speeds are not positive numbers (a benchmark that timed
    nothing records NaN) gets none from the file, with a warning naming it."""
    speeds: dict[str, tuple[float, float]] = {}
    if bench.exists():
        for name, rates in _bench_entries(bench):
            if all(_positive(r) for r in rates):
                speeds[name] = (float(rates[0]), float(rates[1]))
            else:
                warnings.warn(f"{bench}: model {name!r}: speeds {rates!r:.60} are not positive "
                              "numbers; its cost is not known", stacklevel=2)  # fmt: skip
    if runs is not None and not runs.empty:
        for model, group in runs.groupby("model"):
            train = group["train_tweets_per_second"].astype(float).median()
            infer = group["inference_tweets_per_second"].astype(float).median()
            if _positive(train) and _positive(infer):
                speeds[str(model)] = (float(train), float(infer))
    return speeds


def _positive(value: object) -> bool:
    """A finite number above 0 (not a bool, not a string)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e300


def _bench_entries(bench: Path) -> list[tuple[str, tuple[object, object]]]:
    """``(model, (train, inference tweets/s))`` of each entry of a benchmark file."""
    from mner_lib.io.safe_read import read_json

    data = read_json(bench, BENCH_CAP, what="benchmark file")
    models = data.get("models", []) if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise ValueError(f'{bench}: not a benchmark file ({{"models": [...]}} expected)')
    entries = []
    for k, m in enumerate(models):
        if not isinstance(m, dict) or not isinstance(m.get("model"), str):
            raise ValueError(f"{bench}: models[{k}] is {m!r:.40}, not an entry naming its model")
        rates = (m.get("train_tweets_per_second"), m.get("inference_tweets_per_second"))
        entries.append((m["model"], rates))
    return entries
