"""Results as tables: our runs (``results/**/metrics.json``) and the papers' reported numbers.

:func:`load_runs` reads every ``metrics.json`` under a folder into one row per run (model,
dataset, image condition, synthetic flag, backbone, text encoder, seed, test and dev P/R/F1,
per-type F1, epochs, speed, hardware, and the file it came from). :func:`aggregate` groups runs
that differ only in their seed and reports mean ± std over seeds, keeping the synthetic flag and
the source files. :func:`paper_table` holds the numbers the papers print, one row per (paper,
table, model, dataset, variant), each row naming the paper file and table it quotes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from mner_lib.images.conditions import is_text_condition
from mner_lib.io import safe_read
from mner_lib.io.plural import counted
from mner_lib.models.spec import paper_variant
from mner_lib.text.data import ENTITY_TYPES
from mner_lib.training.config import TrainConfig

#: columns that identify a setting; runs that share them differ only in their seed
GROUP_KEYS = ("model", "dataset", "condition", "synthetic", "backbone", "text_encoder",
              "max_train", "max_eval", "variant", "training")  # fmt: skip
RUN_COLUMNS = GROUP_KEYS + (
    "seed", "precision", "recall", "f1", "dev_f1", *(f"f1_{t}" for t in ENTITY_TYPES),
    "epochs_run", "best_epoch", "train_tweets", "train_tweets_per_second",
    "inference_tweets_per_second", "wall_seconds", "device", "gpu", "cpu_count", "python", "torch",
    "commit", "dirty", "caption_leak", "source",
)  # fmt: skip


def variant_name(model: str, options: dict[str, Any], dataset: str | None = None) -> str:
    """The variant name of a run from before runs recorded it (new runs store the name
    :func:`mner_lib.training.config.resolve_config` computed from the model's spec)."""
    from mner_lib.models.spec import variant_name as from_spec

    return from_spec(_spec(model), options, dataset)


def recorded_variant(metrics: dict[str, Any], options: dict[str, Any]) -> str:
    """The variant a recorded run trained: the name it stored, except for a run recorded before
    its metrics held the whole model config, whose options get the former defaults of its
    model's spec (:meth:`mner_lib.models.spec.PaperSpec.recorded_options`) and its name is computed
    again: HSN runs from before the per-token gate read ``full (gate=dimension,oov_init=uniform)``,
    TriMod runs name their segmenter."""
    spec = _spec(metrics["model"])
    stored = metrics.get("variant")
    if spec is None or ("model_config" in metrics and stored):
        return stored or variant_name(metrics["model"], options, metrics["dataset"])
    recorded = spec.recorded_options(options, metrics.get("model_config"))
    return variant_name(metrics["model"], recorded, metrics["dataset"])


def _spec(model: str) -> Any:
    from mner_lib.models import get_spec

    try:
        return get_spec(model)
    except ValueError:  # a model this installation does not know
        return None


def training_name(config: dict[str, Any]) -> str:
    """The training settings that change a result besides the seed, in words:
    ``adam lr=0.001, batch 10, 5 epochs`` (``x9 accumulation`` where used)."""
    if not config or "optimizer" not in config:
        return "unknown"
    lr, encoder_lr, head_lr = config.get("lr"), config.get("encoder_lr"), config.get("head_lr")
    head = str(config["optimizer"]) + (f" lr={lr:g}" if isinstance(lr, int | float) else "")
    groups = [f"encoder {encoder_lr:g}"] if encoder_lr else []
    groups += [f"head {head_lr:g}"] if head_lr else []
    momentum = config.get("momentum")
    if config["optimizer"] == "sgd" and isinstance(momentum, int | float):
        if momentum != TrainConfig.momentum:  # the default goes unsaid
            head += f" momentum {momentum:g}"
    parts = [head + (f" ({', '.join(groups)})" if groups else "")]
    parts.append(f"batch {config.get('batch_size', '?')}")
    if (config.get("grad_accum") or 1) > 1:
        parts[-1] += f" x{config['grad_accum']} accumulation"
    parts.append(f"{config.get('epochs', '?')} epochs")
    if config.get("length_buckets"):
        parts.append(f"length buckets of {config['length_buckets']} batches")
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


#: the most a metrics.json may hold (they are a few KB)
MAX_METRICS_BYTES = 16 * 2**20
_PER_TYPE = " ".join(f"test.per_type.{t}" for t in ENTITY_TYPES)
MAX_TEXT = 200  #: the longest string a report prints in a table cell (a model, a GPU's name)
#: what :func:`run_row` reads of a metrics.json, by kind (a dotted field lies inside a dict);
#: any field may be absent or null but ``model``, ``dataset`` and ``test``
_SCHEMA = {
    "dict": f"test dev environment config images provenance model_config {_PER_TYPE} "
    "test.per_type images.leak config.model_options",
    "text": "model dataset condition variant backbone text_encoder commit config.optimizer "
    "config.model environment.device environment.gpu environment.python environment.torch",
    "bool": "synthetic provenance.dirty",
    "int": "seed",
    "count": "max_train max_eval epochs_run best_epoch train_tweets environment.cpu_count "
    "config.batch_size config.grad_accum config.epochs config.length_buckets",
    "number": "config.lr config.encoder_lr config.head_lr config.momentum dev.f1 "
    + " ".join(f"{t}.f1" for t in _PER_TYPE.split()),
    "rate": "train_tweets_per_second inference_tweets_per_second wall_seconds images.leak.share",
    "score": "test.precision test.recall test.f1",  # percent: what a report prints
}
_WANT = {"dict": "an object", "bool": "true or false", "int": "an integer",
         "text": f"one line of at most {MAX_TEXT} printable characters, without '|'",
         "count": "a whole number >= 0", "number": "a finite number", "rate": "a finite number >= 0",
         "score": "a number from 0 to 100 (percent)"}  # fmt: skip


def _is(kind: str, v: Any) -> bool:
    if kind == "text":  # a report prints it in a Markdown table cell: no '|', no line break
        return isinstance(v, str) and len(v) <= MAX_TEXT and v.isprintable() and "|" not in v
    if kind in ("dict", "bool"):
        return isinstance(v, {"dict": dict, "bool": bool}[kind])
    if isinstance(v, bool) or not isinstance(v, int | float) or not -(2**63) < v < 2**63:
        return False  # NaN and infinities too
    if isinstance(v, float) and kind in ("int", "count"):
        return False
    return kind in ("int", "number") or (v >= 0 and (kind != "score" or v <= 100))


def check_metrics(metrics: dict[str, Any], source: str) -> None:
    """A ValueError naming ``source`` and the first field :func:`run_row` reads that is not of
    its kind (:data:`_SCHEMA`): a string, an object, a finite F1 from 0 to 100..."""
    fields = [(f, kind) for kind, names in _SCHEMA.items() for f in names.split()]
    for field, kind in sorted(fields, key=lambda fk: fk[0].count(".")):
        value: Any = metrics
        for part in field.split("."):  # the dicts above it are checked first
            value = value.get(part) if isinstance(value, dict) else None
        if value is None and field not in ("model", "dataset", "test"):
            continue
        if not _is(kind, value):
            want = _WANT[kind]
            raise ValueError(f"{source}: metrics.json field {field!r} is {value!r:.40}, not {want}")


def run_row(metrics: dict[str, Any], source: str) -> dict[str, Any]:
    """One table row from one ``metrics.json`` (as written by :func:`mner_lib.training.run_training`);
    a field of the wrong kind is a ValueError naming the file and the field (:func:`check_metrics`)."""
    for key in ("model", "dataset", "test"):
        if key not in metrics:
            raise ValueError(f"{source}: metrics.json has no {key!r} field (not a training run?)")
    check_metrics(metrics, source)
    test = metrics["test"]
    env = metrics.get("environment") or {}
    per_type = test.get("per_type") or {}
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
        "variant": recorded_variant(metrics, options),
        "training": training_name(config),
        "seed": metrics.get("seed", 0),
        "precision": test.get("precision"),
        "recall": test.get("recall"),
        "f1": test.get("f1"),
        "dev_f1": (metrics.get("dev") or {}).get("f1"),
        "epochs_run": metrics.get("epochs_run"),
        "best_epoch": metrics.get("best_epoch"),
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
        "dirty": _dirty(metrics),
        "caption_leak": ((metrics.get("images") or {}).get("leak") or {}).get("share"),
        "source": source,
    }
    for t in ENTITY_TYPES:
        row[f"f1_{t}"] = (per_type.get(t) or {}).get("f1")
    return row


def _dirty(metrics: dict[str, Any]) -> bool:
    """Whether a run came from a tree with uncommitted changes (its code is not a commit)."""
    recorded = (metrics.get("provenance") or {}).get("dirty")
    return bool(recorded) if recorded is not None else str(metrics.get("commit")).endswith("+dirty")


def find_metrics(root: str | Path) -> list[Path]:
    """Every ``metrics.json`` under ``root``; a symbolic link is no run (it would count another
    run twice, or read a file outside the results folder)."""
    found = Path(root).rglob("metrics.json") if Path(root).exists() else []
    return sorted(p for p in found if not p.is_symlink())


def is_training_run(metrics: dict[str, Any]) -> bool:
    """Whether a ``metrics.json`` was written by a tagger's training run (other tools, e.g. the
    hashtag segmenter's benchmark, write files of the same name)."""
    return all(key in metrics for key in ("model", "dataset", "test"))


def read_json(path: Path, max_bytes: int = MAX_METRICS_BYTES, what: str = "run file") -> Any:
    """The JSON of a run's file, capped at ``max_bytes`` (:func:`mner_lib.io.safe_read.read_json`)."""
    return safe_read.read_json(path, max_bytes, what)


def load_runs(
    root: str | Path = "results", relative_to: str | Path | None = None, strict: bool = False
) -> pd.DataFrame:
    """Every training run under ``root`` as one row; ``source`` is the file path (relative to
    ``relative_to`` when given). Files that are not training runs are skipped and listed in
    ``frame.attrs["skipped"]`` (an error with ``strict``); a file that is not a regular file
    (:func:`read_json`), unreadable JSON or a training run's field of the wrong kind
    (:func:`check_metrics`) is an error naming the file (and the line or the field)."""
    rows, skipped = [], []
    for path in find_metrics(root):
        metrics = read_json(path)
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
        "dirty_runs",
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
        row["dirty_runs"] = int(group["dirty"].astype(bool).sum())
        out.append(row)
    frame = pd.DataFrame(out, columns=columns)
    frame["synthetic"] = frame["synthetic"].astype(bool)
    return frame


def spread(std: float, n: int) -> str:
    """`` ± 0.31`` over ``n`` seeds; nothing for one (one seed measures no spread)."""
    return f" ± {std:.2f}" if n > 1 else ""


def mean_std(mean: float, std: float, n: int, signed: bool = False) -> str:
    """``74.18 ± 0.31 (n=3)`` (``+0.60 ± ...`` when ``signed``); a single run prints without ±."""
    return f"{mean:{'+' if signed else ''}.2f}{spread(std, n)} (n={n})"


def label(row: dict[str, Any] | pd.Series) -> str:
    """A row's setting in words, ``synthetic`` spelled out when the images were synthetic."""
    parts = [str(row["condition"])]
    if row["condition"] != "none" and not is_text_condition(row["condition"]):
        parts.append(str(row["backbone"]))  # pixels went through it
    if bool(row["synthetic"]):
        parts.append("SYNTHETIC images")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- paper numbers
PAPER_COLUMNS = ["model", "reported_as", "dataset", "variant", "precision", "recall", "f1",
                 *(f"f1_{t}" for t in ENTITY_TYPES), "paper", "table"]  # fmt: skip


def paper_table() -> pd.DataFrame:
    """The papers' reported test numbers (percent), gathered from every registered model's
    :class:`mner_lib.models.spec.PaperSpec`. CWI reports none we can read: its result tables were lost
    from the text (SPEC.md). Every row names the paper that prints it and the table."""
    from mner_lib.models import all_specs

    rows, seen = [], set()
    for model, spec in all_specs().items():
        for r in spec.reported:
            name = r.system or model
            key = (name, r.dataset, r.variant, r.table)
            if key in seen:  # a spec shared by two classes (cwi, cwi-attention)
                continue
            seen.add(key)
            source = r.source or spec.citation
            rows.append(
                [name, r.reported_as, r.dataset, r.variant, r.precision, r.recall, r.f1]
                + [r.per_type.get(t) for t in ENTITY_TYPES]
                + [f"{source.short}, {source.file or source.venue}", r.table]
            )
    return pd.DataFrame(rows, columns=PAPER_COLUMNS)


def compare(ours: pd.DataFrame, papers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our aggregated rows beside the paper's number for the same model, dataset and variant
    (an ablation meets the paper's row of the same name). A full model on blank images meets the
    paper's "w/o VF" row where the paper has one (HSN), else its full row with a note. Synthetic
    rows get no paper number: they are not comparable with real images."""
    papers = paper_table() if papers is None else papers
    names = dict(variant="paper_variant", f1="paper_f1", paper="paper_source", table="paper_table")
    rows = papers[["model", "dataset", "variant", "f1", "paper", "table"]].rename(columns=names)
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
    text = merged["condition"].map(is_text_condition).astype(bool)
    for column in ("paper_f1", "paper_source", "paper_table", "paper_variant"):
        merged[column] = merged[column].astype(object)
        merged.loc[synthetic | text | merged["paper_f1"].isna(), column] = None
    notes = []
    for s, c, pv in zip(synthetic, merged["condition"], merged["paper_variant"]):
        if s:
            notes.append("synthetic images: not comparable with the paper")
        elif is_text_condition(c):
            notes.append("text from the real image (caption or knowledge): no paper row")
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
    dirty = out["dirty_runs"] if "dirty_runs" in out else [0] * len(out)
    out["test F1"] = [
        mean_std(m, s, n) + (f" [{counted(d, 'run')} from a dirty tree]" if d else "")
        for m, s, n, d in zip(out["f1_mean"], out["f1_std"], out["n_seeds"], dirty)
    ]
    out["paper"] = [
        "—" if pd.isna(f) else f"{f:.2f} ({v}; {t})"
        for f, v, t in zip(out["paper_f1"], out["paper_variant"], out["paper_table"])
    ]
    return out


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
