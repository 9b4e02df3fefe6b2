"""The helpers the chapter notebooks call: their set-up text, their training runs and tables.

A model chapter trains with one call, ``trained = train_and_tabulate(P, "hsn")``: every model of
``P["models"]`` and every paper ablation of ``P["ablations"]`` once per seed (:func:`train_seeds`),
then the table of the runs (mean ± std over seeds), the training curves, the F1 per entity type
and the entity confusion of the first run.

A run from a chapter is the run the command line makes with the same settings: its config comes
from :func:`mner_lib.training.resolve_config` (the paper's training settings and per-dataset
defaults, such as GMF's temperature on Twitter-2017), with the chapter's ``max_eval`` in it, and
its variant is :func:`mner_lib.reporting.results.variant_name` of its model options, so an ablation trained
from a chapter (``w/o MI (interaction=concat)``) averages with the same ablation trained by
``python -m mner_lib train``. The trainer writes ``metrics.json``; nothing here rewrites it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mner_lib.io.plural import counted

if TYPE_CHECKING:  # the heavy modules load only when a chapter trains
    import pandas as pd

    from mner_lib.text.data import Dataset, Tweet
    from mner_lib.training import TrainConfig, TrainResult

#: the columns of a chapter's table of runs, and their headings
TABLE_COLUMNS = {
    "model": "model",
    "variant": "variant",
    "dataset": "dataset",
    "condition": "condition",
    "synthetic": "synthetic",
    "backbone": "backbone",
    "f1_mean": "test F1",
    "f1_std": "± std",
    "n_seeds": "n_seeds",
    "f1_PER_mean": "PER",
    "f1_LOC_mean": "LOC",
    "f1_ORG_mean": "ORG",
    "f1_MISC_mean": "MISC",
    "train_tweets_per_second": "train tweets/s",
}
SYNTHETIC_NOTE = (
    "Rows marked SYNTHETIC used **synthetic** probe images: they measure whether the "
    "fusion uses visual evidence, and are not comparable with the papers' real-image numbers."
)


# ----------------------------------------------------------------------------- a run's words
def trained_on(result: TrainResult) -> str:
    """What a trained model learned from, for the title of a figure drawn from it:
    ``trained on the demo corpus (300 tweets, 4 epochs, best 3; SYNTHETIC probe images)``."""
    m = result.metrics
    condition = m.get("condition", "none")
    if condition == "none":
        images = "no images"
    elif condition == "synthetic":
        images = "SYNTHETIC probe images"
    else:
        images = f"{condition} images" + (" (SYNTHETIC)" if m.get("synthetic") else "")
    data = "the demo corpus" if m["dataset"] == "demo" else m["dataset"]
    epochs = f"{counted(m.get('epochs_run'), 'epoch')}, best {m.get('best_epoch')}"
    return f"trained on {data} ({counted(m.get('train_tweets'), 'tweet')}, {epochs}; {images})"


# ----------------------------------------------------------------------------- one run's settings
def run_folder(
    runs_dir: str,
    chapter_key: str,
    model: str,
    dataset: str,
    condition: str,
    variant: str,
    seed: int,
) -> Path:
    safe = lambda s: str(s).replace(":", "-").replace("/", "-").replace(" ", "")  # noqa: E731
    return (
        Path(runs_dir)
        / chapter_key
        / model
        / dataset
        / safe(condition)
        / safe(variant)
        / f"seed{seed}"
    )


def chapter_dataset(params: dict[str, Any]) -> Dataset:
    """The chapter's :class:`mner_lib.text.data.Dataset`: the full training split (each run samples
    its ``max_train`` tweets with its own seed) and, when ``max_eval`` is set, the same seeded
    sample of at most ``max_eval`` dev and test tweets for every run and plot of the chapter."""

    from mner_lib.text.data import load_dataset
    from mner_lib.training import cap_eval

    data = load_dataset(params["dataset"], params.get("data_dir") or None)
    cap = params.get("max_eval")
    if cap:
        data = cap_eval(data, cap, seed=0)  # the same sample as the trainer's max_eval
    return data


def chapter_options(params: dict[str, Any], model: str) -> dict[str, Any]:
    """The model options a chapter asks for: its ``model_options`` parameter, and each other
    parameter that names a field of the model's config (GMF's ``encoder``, TriMod's
    ``segmenter``, the baselines' ``constrain_bio``) where it differs from the model's default,
    as a ``--option`` on the command line would. Training settings (``backbone``, ``epochs``...)
    are not model options; the paper's per-dataset options come from ``resolve_config``."""
    from mner_lib.models import get_model_class
    from mner_lib.training import TrainConfig

    config_class = get_model_class(model).config_class
    training = {f.name for f in dataclasses.fields(TrainConfig)}
    defaults = config_class()
    options = {
        f.name: params[f.name]
        for f in dataclasses.fields(config_class)
        if f.name in params
        and f.name not in training
        and params[f.name] != getattr(defaults, f.name)
    }
    return {**options, **(params.get("model_options") or {})}


def resolved_config(
    params: dict[str, Any],
    model: str,
    seed: int,
    condition: str | None = None,
    model_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> TrainConfig:
    """The :class:`mner_lib.training.TrainConfig` of a chapter run of ``model`` with ``seed``, its
    run folder not yet set: the chapter's parameters through ``resolve_config`` (as the command
    line does), its ``train_options`` (training settings that replace the paper's, such as a
    demo learning rate) and the extra ``model_options`` (an ablation's switches) on top."""
    from mner_lib.models import get_model_class
    from mner_lib.training import resolve_config

    uses_images = get_model_class(model).uses_images
    if condition is None:
        condition = params.get("condition", "blank") if uses_images else "none"
    overrides = {**(params.get("train_options") or {}), **overrides}
    return resolve_config(
        model,
        dataset=params["dataset"],
        data_dir=params.get("data_dir") or None,
        epochs=params["epochs"],
        seed=seed,
        max_train=params.get("max_train"),
        max_eval=params.get("max_eval"),
        device=params.get("device", "auto"),
        condition=condition,
        backbone=params.get("backbone") if uses_images else None,
        model_options={**chapter_options(params, model), **(model_options or {})},
        progress=False,
        resume=False,
        **overrides,
    )


def run_config(
    params: dict[str, Any],
    model: str,
    chapter_key: str,
    seed: int,
    condition: str | None = None,
    model_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> TrainConfig:
    """:func:`resolved_config` in its run folder,
    ``<runs_dir>/<chapter>/<model>/<dataset>/<condition>/<variant>/seed<seed>``. A chapter's
    runs are its own scratch (under ``runs_dir``, never committed): each build of the chapter
    trains them again, replacing the previous build's (``overwrite``)."""
    overrides.setdefault("overwrite", True)
    cfg = resolved_config(params, model, seed, condition, model_options, **overrides)
    cfg.out = str(
        run_folder(
            params.get("runs_dir", "runs/book"),
            chapter_key,
            model,
            cfg.dataset,
            cfg.condition,
            _variant(cfg),
            seed,
        )
    )
    return cfg


def chapter_model_options(params: dict[str, Any], model: str) -> dict[str, Any]:
    """The model config fields the chapter's runs of ``model`` use, the paper's per-dataset ones
    included (for the untrained model a chapter takes apart before training)."""
    return dict(resolved_config(params, model, params["seeds"][0]).model_options)


def train_seeds(
    params: dict[str, Any],
    model: str,
    chapter_key: str,
    condition: str | None = None,
    model_options: dict[str, Any] | None = None,
    dataset: Dataset | None = None,
    **overrides: Any,
) -> list[TrainResult]:
    """Train ``model`` once per seed in ``params['seeds']`` with the chapter's parameters (see
    :func:`run_config`); returns the :class:`mner_lib.training.TrainResult` of each run. The run
    folders go under ``params['runs_dir']``; ``dataset`` (uncapped) saves reading it again."""
    from mner_lib.text.data import load_dataset
    from mner_lib.training import run_training

    if dataset is None:
        dataset = load_dataset(params["dataset"], params.get("data_dir") or None)
    results = []
    for seed in params["seeds"]:
        cfg = run_config(params, model, chapter_key, seed, condition, model_options, **overrides)
        results.append(run_training(cfg, dataset=dataset))
    return results


# ----------------------------------------------------------------------------- the chapter's runs
@dataclass(frozen=True)
class PlannedRun:
    """One setting a chapter trains (once per seed): a model of ``models`` or an ablation."""

    label: str  # key in ChapterRuns.runs, legend in the figures: the model, or model and variant
    model: str
    condition: str | None  # None: the chapter's condition
    options: dict[str, Any]  # model options on top of the chapter's (an ablation's switches)
    variant: str  # results.variant_name of the run's model options
    ablation: str | None = None  # the chapter's name of the ablation, if one


def plan_runs(
    params: dict[str, Any], chapter_key: str, log: Callable[[str], None] = print
) -> list[PlannedRun]:
    """The settings :func:`train_and_tabulate` trains: each model of ``params['models']``, then
    each ablation of ``params['ablations']`` on the last model. An ablation that comes out as a
    setting already planned (``w/o VF`` when the chapter's images are blank) is trained once."""
    from mner_lib.book.params import ablation_options
    from mner_lib.models import get_model_class

    wanted: list[tuple[str, str | None, dict[str, Any], str | None]] = [
        (model, None, {}, None) for model in params["models"]
    ]
    base = params["models"][-1]
    for ablation in params.get("ablations", []):
        options, condition = ablation_options(chapter_key, ablation, get_model_class(base))
        wanted.append((base, condition, options, ablation))
    planned: dict[tuple[str, str, str], PlannedRun] = {}
    for model, condition, options, ablation in wanted:
        cfg = resolved_config(params, model, params["seeds"][0], condition, options)
        variant = _variant(cfg)
        key = (model, cfg.condition, variant)
        if key in planned:
            log(f"{ablation or model}: the same setting as {planned[key].label!r}; trained once")
            continue
        label = model if ablation is None else _label(params, model, cfg.condition, variant)
        planned[key] = PlannedRun(label, model, condition, dict(options), variant, ablation)
    return list(planned.values())


def _variant(cfg: TrainConfig) -> str:
    """The run's variant as the results tables name it (``full``, ``w/o MI (interaction=concat)``)."""
    from mner_lib.reporting.results import variant_name

    return variant_name(cfg.model, cfg.model_options, cfg.dataset)


def _label(params: dict[str, Any], model: str, condition: str, variant: str) -> str:
    """An ablation's label: ``hsn w/o MI (interaction=concat)``, ``hsn (blank images)``."""
    label = model if variant == "full" else f"{model} {variant}"
    if condition not in ("none", params.get("condition")):
        label += f" ({condition} images)"
    return label


@dataclass
class ChapterRuns:
    """What :func:`train_and_tabulate` trained: the results per setting and the table."""

    runs: dict[str, list[TrainResult]]  # label -> one result per seed
    table: pd.DataFrame  # results.aggregate of the runs: one row per setting, mean ± std over seeds
    test: list[Tweet]  # the (capped) test tweets every run was scored on


def show_trained_modality(
    trained: ChapterRuns,
    label: str,
    modalities: tuple[str, ...],
    show: Callable[[Any], None] | None = None,
) -> None:
    """Show the modality attention (CWI, TriMod: ``attentions["modality"]``, (T, M)) of the
    model ``label`` as trained in this build, on the first test tweet with an entity, titled
    with what it was trained on; or say in one line why there is none to show."""
    from mner_lib.figures import modality_attention

    if show is None:
        from IPython.display import display as show
    runs = trained.runs.get(label) or []
    tweet = next((t for t in trained.test if any(tag != "O" for tag in t.tags)), None)
    if not runs or tweet is None:
        print(f"{label}: no trained run or no test tweet with an entity in this build")
        return
    result = runs[0]
    out = result.model.run([tweet], result.images, return_attention=True)  # the one inference path
    if "modality" not in out.attentions:
        print(f"{label} has no modality attention (plain concatenation)")
        return
    title = f"tweet {tweet.id}: trained modality attention\n{trained_on(result)}"
    show(modality_attention(tweet.tokens, out.attentions["modality"][0], modalities, title))


def train_and_tabulate(
    params: dict[str, Any], chapter_key: str, show: Callable[[Any], None] | None = None
) -> ChapterRuns:
    """Train the chapter's models and ablations once per seed and show their table (test F1
    mean ± std, per-type F1, speed), the training curves, the test F1 per entity type and the
    entity confusion of the first run. ``show`` displays each table and figure (default:
    IPython's ``display``)."""
    from mner_lib.reporting.results import aggregate, run_row, runs_frame
    from mner_lib.text.data import load_dataset

    if show is None:
        from IPython.display import display as show
    dataset = load_dataset(params["dataset"], params.get("data_dir") or None)
    runs = {
        run.label: train_seeds(
            params, run.model, chapter_key, run.condition, run.options, dataset=dataset
        )
        for run in plan_runs(params, chapter_key)
    }
    rows = [
        run_row(r.metrics, str(Path(r.run_dir) / "metrics.json"))
        for results in runs.values()
        for r in results
    ]
    table = aggregate(runs_frame(rows))
    trained = ChapterRuns(runs, table, chapter_dataset(params).test)
    show_table(table, show)
    show_figures(trained, show)
    return trained


def show_table(table: pd.DataFrame, show: Callable[[Any], None]) -> None:
    """The chapter's table of runs as a fixed-layout table that fits the text column (the image
    backbone in a note below it), and the note on synthetic images where a row used them."""
    from IPython.display import HTML, Markdown

    from mner_lib.book.tables import STYLE, plain_table
    from mner_lib.io.escape import md_text

    frame = table[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)
    frame["synthetic"] = frame["synthetic"].map({True: "SYNTHETIC", False: ""})
    backbones = sorted({str(b) for b in frame.pop("backbone") if b and str(b) != "none"})
    widths = {"model": 11, "variant": 11, "dataset": 9, "condition": 10, "synthetic": 11}
    show(HTML(STYLE + plain_table(frame, widths)))
    if backbones:
        show(Markdown(f"Image backbone: {md_text(', '.join(backbones))}."))
    if table["synthetic"].any():
        show(Markdown(SYNTHETIC_NOTE))


def show_figures(trained: ChapterRuns, show: Callable[[Any], None]) -> None:
    """Training curves of every run, test F1 per entity type (first seed of each setting) and
    the entity confusion of the first setting's first run."""
    from mner_lib.figures import entity_confusion, per_type_f1, training_curves
    from mner_lib.text.data import read_tweets

    runs = trained.runs
    histories = {
        f"{label} (seed {r.metrics['seed']})": r.history
        for label, results in runs.items()
        for r in results
    }
    label, results = next(iter(runs.items()))
    source = trained_on(results[0])
    show(training_curves(histories, title=f"training loss and dev F1 per epoch\n{source}"))
    scores = {label: results[0].metrics["test"] for label, results in runs.items()}
    show(per_type_f1(scores, title="test F1 per entity type (first seed)"))
    pred = [t.tags for t in read_tweets(Path(results[0].run_dir) / "predictions_test.txt")]
    gold = [t.tags for t in trained.test]
    title = f"{label}: test entities, gold vs predicted type\n{source}"
    show(entity_confusion(gold, pred, title=title))


# ----------------------------------------------------------------------------- recorded runs
from mner_lib.book.realplots import show_recorded_runs  # noqa: E402,F401
from mner_lib.book.realresults import recorded_runs  # noqa: E402,F401
