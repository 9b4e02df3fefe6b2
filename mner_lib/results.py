"""Results as tables: our runs (``results/**/metrics.json``) and the papers' reported numbers.

:func:`load_runs` reads every ``metrics.json`` under a folder into one row per run (model,
dataset, image condition, synthetic flag, backbone, text encoder, seed, test and dev P/R/F1,
per-type F1, speed, hardware, and the file it came from). :func:`aggregate` groups runs that
differ only in their seed and reports mean ± std over seeds, keeping the synthetic flag and the
list of source files. :func:`paper_table` holds the numbers the papers print, one row per
(paper, table, model, dataset, variant), each row naming the paper file and table it quotes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from mner_lib.params import ABLATIONS as _ABLATION_SWITCHES

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")
#: columns that identify a setting; runs that share them differ only in their seed
GROUP_KEYS = (
    "model",
    "dataset",
    "condition",
    "synthetic",
    "backbone",
    "text_encoder",
    "max_train",
    "max_eval",
    "variant",
    "training",
)
RUN_COLUMNS = GROUP_KEYS + (
    "seed",
    "precision",
    "recall",
    "f1",
    "dev_f1",
    *(f"f1_{t}" for t in ENTITY_TYPES),
    "epochs_run",
    "train_tweets",
    "train_tweets_per_second",
    "inference_tweets_per_second",
    "wall_seconds",
    "device",
    "gpu",
    "cpu_count",
    "python",
    "torch",
    "commit",
    "source",
)


# model options that say which features a model is fed, not which variant of it is trained
_NOT_VARIANT = ("backbone", "image_feature_dim")

#: the papers' names for our ablation switches, (model, {option: value}, the paper's row name),
#: taken from the chapters' table of ablations (``w/o VF`` is an image condition, not a switch)
ABLATIONS: tuple[tuple[str, dict[str, Any], str], ...] = tuple(
    (model, options, name)
    for model, table in _ABLATION_SWITCHES.items()
    for name, options in table.items()
    if "condition" not in options
)


def variant_name(model: str, options: dict[str, Any], dataset: str | None = None) -> str:
    """``full``, the paper's name of an ablation with its switches (``w/o MI (interaction=concat)``),
    or the switches alone when the papers have no name for them. Options that are the paper's own
    setting for ``dataset`` (GMF's temperature 0.174 on Twitter-2017) are not switches."""
    from mner_lib.train import PAPER_DATASET_DEFAULTS

    papers = PAPER_DATASET_DEFAULTS.get((model, dataset or ""), {}).get("model_options", {})
    switches = {
        k: v
        for k, v in options.items()
        if k not in _NOT_VARIANT and not (k in papers and papers[k] == v)
    }
    if not switches:
        return "full"
    text = ",".join(f"{k}={v}" for k, v in sorted(switches.items()))
    for name, wanted, paper_name in ABLATIONS:
        if name == model and switches == wanted:
            return f"{paper_name} ({text})"
    return text


def paper_variant(variant: str) -> str:
    """The paper row a variant is compared with: ``w/o MI (interaction=concat)`` -> ``w/o MI``."""
    return variant.split(" (", 1)[0] if variant.startswith("w/o ") else variant


def training_name(config: dict[str, Any]) -> str:
    """The training settings that change a result besides the seed, in words:
    ``adam lr=0.001, batch 10, 5 epochs`` (``x9 accumulation`` where used)."""
    if not config or "optimizer" not in config:
        return "unknown"
    lr, encoder_lr = config.get("lr"), config.get("encoder_lr")
    head = str(config["optimizer"]) + (f" lr={lr:g}" if isinstance(lr, int | float) else "")
    parts = [head + (f" (encoder {encoder_lr:g})" if encoder_lr else "")]
    parts.append(f"batch {config.get('batch_size', '?')}")
    if (config.get("grad_accum") or 1) > 1:
        parts[-1] += f" x{config['grad_accum']} accumulation"
    parts.append(f"{config.get('epochs', '?')} epochs")
    if _uses_glove(config) and not config.get("augment_vocab", False):
        parts.append("training words only")  # runs from before the option existed, too
    return ", ".join(parts)


def _uses_glove(config: dict[str, Any]) -> bool:
    """Whether a run's model loaded GloVe (the vocabulary rule matters only then)."""
    from mner_lib.models import get_model_class

    try:
        default = getattr(get_model_class(config.get("model", "")).config_class, "use_glove", False)
    except (KeyError, ValueError):
        return False
    return bool((config.get("model_options") or {}).get("use_glove", default))


def _missing(value: Any) -> Any:
    return "none" if value is None else value


def run_row(metrics: dict[str, Any], source: str) -> dict[str, Any]:
    """One table row from one ``metrics.json`` (as written by :func:`mner_lib.train.run_training`)."""
    for key in ("model", "dataset", "test"):
        if key not in metrics:
            raise ValueError(f"{source}: metrics.json has no {key!r} field (not a training run?)")
    test = metrics["test"]
    env = metrics.get("environment", {}) or {}
    per_type = test.get("per_type", {})
    config = metrics.get("config") or {}
    options = config.get("model_options") or {}
    row = {
        "model": metrics["model"],
        "dataset": metrics["dataset"],
        "condition": metrics.get("condition", "none"),
        "synthetic": bool(metrics.get("synthetic", False)),
        "backbone": _missing(metrics.get("backbone")),
        "text_encoder": _missing(metrics.get("text_encoder")),
        "max_train": metrics.get("max_train") or 0,
        "max_eval": metrics.get("max_eval") or 0,  # 0: the full dev and test splits
        "variant": metrics.get("variant")
        or variant_name(metrics["model"], options, metrics["dataset"]),
        "training": training_name(config),
        "seed": metrics.get("seed", 0),
        "precision": test.get("precision"),
        "recall": test.get("recall"),
        "f1": test.get("f1"),
        "dev_f1": (metrics.get("dev") or {}).get("f1"),
        "epochs_run": metrics.get("epochs_run"),
        "train_tweets": metrics.get("train_tweets"),
        "train_tweets_per_second": metrics.get("train_tweets_per_second"),
        "inference_tweets_per_second": metrics.get("inference_tweets_per_second"),
        "wall_seconds": metrics.get("wall_seconds"),
        "device": env.get("device"),
        "gpu": env.get("gpu"),
        "cpu_count": env.get("cpu_count"),
        "python": env.get("python"),
        "torch": env.get("torch"),
        "commit": metrics.get("commit"),
        "source": source,
    }
    for t in ENTITY_TYPES:
        row[f"f1_{t}"] = (per_type.get(t) or {}).get("f1")
    return row


def find_metrics(root: str | Path) -> list[Path]:
    root = Path(root)
    if not root.exists():
        return []
    return sorted(root.rglob("metrics.json"))


def is_training_run(metrics: dict[str, Any]) -> bool:
    """Whether a ``metrics.json`` was written by a tagger's training run (other tools, e.g. the
    hashtag segmenter's benchmark, write files of the same name)."""
    return all(key in metrics for key in ("model", "dataset", "test"))


def load_runs(
    root: str | Path = "results", relative_to: str | Path | None = None, strict: bool = False
) -> pd.DataFrame:
    """Every training run under ``root`` as one row; ``source`` is the file path (relative to
    ``relative_to`` when given). Files that are not training runs are skipped and listed in
    ``frame.attrs["skipped"]`` (an error with ``strict``); unreadable JSON is an error naming
    the file and line."""
    rows, skipped = [], []
    for path in find_metrics(root):
        try:
            metrics = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
        source = path
        if relative_to is not None:
            try:
                source = path.resolve().relative_to(Path(relative_to).resolve())
            except ValueError:
                source = path
        if not isinstance(metrics, dict) or not is_training_run(metrics):
            if strict:
                run_row(metrics if isinstance(metrics, dict) else {}, str(source))
            skipped.append(str(source))
            continue
        rows.append(run_row(metrics, str(source)))
    frame = runs_frame(rows)
    frame.attrs["skipped"] = skipped
    return frame


def runs_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(RUN_COLUMNS))
    if not frame.empty:
        frame["synthetic"] = frame["synthetic"].astype(bool)
    return frame


def aggregate(runs: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    """Mean ± std of ``metric`` (and the per-type F1s, speed) over seeds per setting.

    std is the sample standard deviation (ddof=1); 0.0 with one seed, and ``n_seeds`` says how
    many runs were averaged. ``sources`` lists the metrics files of the group."""
    columns = list(GROUP_KEYS) + [
        f"{metric}_mean",
        f"{metric}_std",
        "n_seeds",
        "seeds",
        *(f"f1_{t}_mean" for t in ENTITY_TYPES),
        "train_tweets_per_second",
        "inference_tweets_per_second",
        "sources",
    ]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for key, group in runs.groupby(list(GROUP_KEYS), dropna=False, sort=True):
        values = group[metric].astype(float)
        row = dict(zip(GROUP_KEYS, key))
        row[f"{metric}_mean"] = values.mean()
        row[f"{metric}_std"] = values.std(ddof=1) if len(values) > 1 else 0.0
        row["n_seeds"] = int(group["seed"].nunique())
        row["seeds"] = ",".join(str(s) for s in sorted(group["seed"].unique()))
        for t in ENTITY_TYPES:
            row[f"f1_{t}_mean"] = group[f"f1_{t}"].astype(float).mean()
        row["train_tweets_per_second"] = group["train_tweets_per_second"].astype(float).mean()
        row["inference_tweets_per_second"] = (
            group["inference_tweets_per_second"].astype(float).mean()
        )
        row["sources"] = "; ".join(sorted(group["source"]))
        out.append(row)
    frame = pd.DataFrame(out, columns=columns)
    frame["synthetic"] = frame["synthetic"].astype(bool)
    return frame


def mean_std(mean: float, std: float, n: int) -> str:
    """``74.18 ± 0.31 (n=3)``; a single run prints without ±."""
    if n <= 1:
        return f"{mean:.2f} (n=1)"
    return f"{mean:.2f} ± {std:.2f} (n={n})"


def label(row: dict[str, Any] | pd.Series) -> str:
    """A row's setting in words, ``synthetic`` spelled out when the images were synthetic."""
    parts = [str(row["condition"])]
    if row["condition"] != "none":
        parts.append(str(row["backbone"]))
    if bool(row["synthetic"]):
        parts.append("SYNTHETIC images")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- paper numbers
_GMF = "GMF (visual clue guidance and consistency matching), papers/gmf.txt"
_HSN = "HSN (Tian et al., Neurocomputing 2021), papers/hsn.txt"
_TRI = "TriMod (Alfaqeeh, arXiv 2501.08267), papers/trimod.txt"

# (model, reported as, dataset, variant, P, R, F1, PER, LOC, ORG, MISC, paper, table)
# fmt: off
_PAPER_ROWS: tuple[tuple, ...] = (
    ("bilstm-crf", "BiLSTM-CRF", "twitter2015", "full", 68.14, 61.09, 64.42, 76.77, 72.56, 41.33, 26.8, _GMF, "Table 2"),
    ("hbilstm-crf", "HBiLSTM-CRF", "twitter2015", "full", 70.32, 68.05, 69.17, 82.34, 76.83, 51.59, 32.52, _GMF, "Table 2"),
    ("bert-crf", "BERT-CRF", "twitter2015", "full", 69.22, 74.59, 71.81, 84.74, 80.51, 60.27, 37.29, _GMF, "Table 2"),
    ("umt-bert-crf", "UMT-BERT-CRF", "twitter2015", "full", 71.67, 75.23, 73.41, 85.24, 81.58, 63.03, 39.45, _GMF, "Table 2"),
    ("debiascl", "DebiasCL", "twitter2015", "full", 74.45, 76.13, 75.28, 85.97, 81.84, 64.02, 43.38, _GMF, "Table 2"),
    ("gmf", "GMF (ours)", "twitter2015", "full", 75.47, 76.15, 75.81, 87.02, 82.51, 63.25, 45.2, _GMF, "Table 2"),
    ("bilstm-crf", "BiLSTM-CRF", "twitter2017", "full", 79.42, 73.43, 76.31, 85.12, 72.68, 72.5, 52.56, _GMF, "Table 3"),
    ("hbilstm-crf", "HBiLSTM-CRF", "twitter2017", "full", 82.69, 78.16, 80.37, 87.91, 78.57, 76.67, 59.32, _GMF, "Table 3"),
    ("bert-crf", "BERT-CRF", "twitter2017", "full", 83.32, 83.57, 83.44, 70.25, 83.05, 81.13, 62.21, _GMF, "Table 3"),
    ("umt-bert-crf", "UMT-BERT-CRF", "twitter2017", "full", 85.28, 85.34, 85.31, 91.56, 84.73, 82.24, 70.1, _GMF, "Table 3"),
    ("debiascl", "DebiasCL", "twitter2017", "full", 87.59, 86.11, 86.84, 93.46, 84.15, 84.42, 67.88, _GMF, "Table 3"),
    ("gmf", "GMF (ours)", "twitter2017", "full", 86.95, 87.27, 87.11, 93.42, 84.68, 84.83, 69.42, _GMF, "Table 3"),
    ("gmf", "w/o VCG", "twitter2015", "w/o VCG", 74.22, 75.96, 75.08, None, None, None, None, _GMF, "Table 4"),
    ("gmf", "w/o CSA", "twitter2015", "w/o CSA", 75.04, 75.42, 75.23, None, None, None, None, _GMF, "Table 4"),
    ("gmf", "w/o CM", "twitter2015", "w/o CM", 74.90, 74.99, 74.94, None, None, None, None, _GMF, "Table 4"),
    ("gmf", "w/o VCG + CSA + CM", "twitter2015", "w/o all", 73.47, 75.83, 74.63, None, None, None, None, _GMF, "Table 4"),
    ("gmf", "w/o VCG", "twitter2017", "w/o VCG", 85.57, 87.34, 86.45, None, None, None, None, _GMF, "Table 4"),
    ("gmf", "w/o CSA", "twitter2017", "w/o CSA", 86.10, 87.12, 86.61, None, None, None, None, _GMF, "Table 4"),
    ("gmf", "w/o CM", "twitter2017", "w/o CM", 85.49, 87.19, 86.33, None, None, None, None, _GMF, "Table 4"),
    ("gmf", "w/o VCG + CSA + CM", "twitter2017", "w/o all", 86.15, 86.08, 86.12, None, None, None, None, _GMF, "Table 4"),
    ("hsn", "HSN", "twitter2015", "full", 74.92, 73.45, 74.18, 85.87, 78.63, 61.93, 42.74, _HSN, "Tables 3 and 5 (TMN = Twitter-2015)"),
    ("hsn", "w/o MI", "twitter2015", "w/o MI", 73.49, 72.56, 73.02, None, None, None, None, _HSN, "Table 5"),
    ("hsn", "w/o HA", "twitter2015", "w/o HA", 73.25, 71.69, 72.46, None, None, None, None, _HSN, "Table 5"),
    ("hsn", "w/o MP", "twitter2015", "w/o MP", 74.53, 72.92, 73.71, None, None, None, None, _HSN, "Table 5"),
    ("hsn", "w/o VF", "twitter2015", "w/o VF", 72.25, 71.97, 72.11, None, None, None, None, _HSN, "Table 5"),
    ("trimod", "Our Model", "twitter2015", "full", 79.90, 79.44, 80.00, 79.5, 79.8, 80.3, 80.5, _TRI, "Tables III and V"),
)
# fmt: on


def paper_table() -> pd.DataFrame:
    """The papers' reported test numbers (percent). CWI reports none we can read: its result
    tables were lost from the text (SPEC.md). Every row names its paper file and table."""
    columns = [
        "model",
        "reported_as",
        "dataset",
        "variant",
        "precision",
        "recall",
        "f1",
        *(f"f1_{t}" for t in ENTITY_TYPES),
        "paper",
        "table",
    ]
    return pd.DataFrame(list(_PAPER_ROWS), columns=columns)


def compare(ours: pd.DataFrame, papers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our aggregated rows beside the paper's number for the same model, dataset and variant
    (an ablation meets the paper's row of the same name). A full model on blank images meets the
    paper's "w/o VF" row where the paper has one (HSN), else its full row with a note. Synthetic
    rows get no paper number: they are not comparable with real images."""
    papers = paper_table() if papers is None else papers
    rows = papers[["model", "dataset", "variant", "f1", "paper", "table"]].rename(
        columns={
            "variant": "paper_variant",
            "f1": "paper_f1",
            "paper": "paper_source",
            "table": "paper_table",
        }
    )
    have = set(zip(rows["model"], rows["dataset"], rows["paper_variant"]))
    merged = ours.copy()
    wanted = []
    for model, dataset, variant, condition in zip(
        merged["model"], merged["dataset"], merged["variant"], merged["condition"]
    ):
        name = paper_variant(str(variant))
        if name == "full" and condition == "blank" and (model, dataset, "w/o VF") in have:
            name = "w/o VF"
        wanted.append(name)
    merged["paper_variant"] = wanted
    merged = merged.merge(rows, on=["model", "dataset", "paper_variant"], how="left")
    synthetic = merged["synthetic"].astype(bool)
    for column in ("paper_f1", "paper_source", "paper_table", "paper_variant"):
        merged[column] = merged[column].astype(object)
        merged.loc[synthetic | merged["paper_f1"].isna(), column] = None
    notes = []
    for s, c, pv in zip(synthetic, merged["condition"], merged["paper_variant"]):
        if s:
            notes.append("synthetic images: not comparable with the paper")
        elif c == "blank" and pv == "w/o VF":
            notes.append("blank images here; the paper's w/o VF row (no visual features)")
        elif c == "blank":
            notes.append("blank images here, real images in the paper")
        else:
            notes.append("")
    merged["note"] = notes
    return merged


def with_text(compared: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`compare` with two text columns for tables: ``test F1`` (mean ± std over
    seeds) and ``paper`` (the paper's F1 with the row and table it quotes, or a dash)."""
    out = compared.copy()
    out["test F1"] = [
        mean_std(m, s, n) for m, s, n in zip(out["f1_mean"], out["f1_std"], out["n_seeds"])
    ]
    out["paper"] = [
        "—" if pd.isna(f) else f"{f:.2f} ({v}; {t})"
        for f, v, t in zip(out["paper_f1"], out["paper_variant"], out["paper_table"])
    ]
    return out


def paired_gaps(
    runs: pd.DataFrame, condition: str = "synthetic", baseline: str = "blank"
) -> pd.DataFrame:
    """Per setting, test F1 under ``condition`` minus test F1 under ``baseline`` for the same
    seed (the same training subset and initialisation): mean ± std of the paired differences,
    the number of seeds with both runs, and how many of them ``condition`` won."""
    keys = [k for k in GROUP_KEYS if k not in ("condition", "synthetic")]
    columns = keys + ["n_pairs", "gap_mean", "gap_std", "wins", "seeds"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    a = runs[runs["condition"] == condition]
    b = runs[runs["condition"] == baseline]
    pairs = a.merge(b, on=keys + ["seed"], suffixes=("", "_base"))
    rows = []
    for key, group in pairs.groupby(keys, dropna=False, sort=True):
        diff = (group["f1"].astype(float) - group["f1_base"].astype(float)).to_numpy()
        row = dict(zip(keys, key))
        row["n_pairs"] = len(diff)
        row["gap_mean"] = float(diff.mean())
        row["gap_std"] = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
        row["wins"] = int((diff > 0).sum())
        row["seeds"] = ",".join(str(x) for x in sorted(group["seed"]))
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def robustness(ours: pd.DataFrame, conditions: Iterable[str] | None = None) -> pd.DataFrame:
    """F1 (mean ± std) per model and dataset (rows) and image condition (columns)."""
    if ours.empty:
        return pd.DataFrame()
    table = ours[ours["condition"] != "none"].copy()
    if conditions is not None:
        table = table[table["condition"].isin(list(conditions))]
    if table.empty:
        return pd.DataFrame()
    table["cell"] = [
        mean_std(m, s, n) + (" [synthetic]" if syn else "")
        for m, s, n, syn in zip(
            table["f1_mean"], table["f1_std"], table["n_seeds"], table["synthetic"]
        )
    ]
    return table.pivot_table(
        index=["model", "dataset", "variant", "backbone", "training", "max_train", "max_eval"],
        columns="condition",
        values="cell",
        aggfunc="first",
    )
