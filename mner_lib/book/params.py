"""Validation of a chapter notebook's parameters (the cell tagged ``parameters``).

Every chapter keeps its defaults in one cell tagged ``parameters``; papermill may inject other
values after it. The first cell after it calls :func:`check` with the notebook's globals and the
chapter name. Any name the chapter does not know, or a value out of range, fails there with a
message that lists the valid names or values, before anything expensive runs.

The same schema is used by the runner (:mod:`mner_lib.book`) to check a profile's parameters
before it starts a notebook, so a typo in a profile fails in a second, not after a training run.
Parameters that are run settings (epochs, device, caps, image condition, backbone, dataset, and
each entry of ``train_options``: the optimiser settings a build may change from the paper's, such
as the demo learning rates of the quick profile) are checked by the run schema itself
(:func:`mner_lib.training.config.check_field`); the ablations a chapter knows come from its models' paper
specs (:mod:`mner_lib.models.spec`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mner_lib.io.plural import noun
from mner_lib.training.config import check_field


class ParameterError(ValueError):
    """A notebook parameter is unknown or has a bad value; the message lists the valid ones."""


@dataclass(frozen=True)
class Param:
    """One notebook parameter: its name, a check returning an error text (or ``""``), help."""

    name: str
    check: Callable[[Any], str]
    help: str


# ----------------------------------------------------------------------------- value checks
def _choice(valid: Sequence[str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value in valid:
            return ""
        return f"{value!r} is not one of: {', '.join(map(str, valid))}"

    return check


def _choices(valid: Sequence[str], allow_empty: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, str) or not isinstance(value, Sequence):
            return f"expected a list, got {value!r}; valid items: {', '.join(valid)}"
        if not value and not allow_empty:
            return f"expected a non-empty list; valid items: {', '.join(valid)}"
        bad = [v for v in value if v not in valid]
        if bad:
            return (
                f"unknown {noun(len(bad), 'item')} {', '.join(map(repr, bad))}; "
                f"valid items: {', '.join(valid)}"
            )
        return ""

    return check


def _int(minimum: int = 1, optional: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value is None and optional:
            return ""
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            none = " or None" if optional else ""
            return f"expected an integer >= {minimum}{none}, got {value!r}"
        return ""

    return check


def _int_list(value: Any) -> str:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        return f"expected a non-empty list of integers, got {value!r}"
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value):
        return f"expected non-negative integers, got {value!r}"
    return ""


def _bool(value: Any) -> str:
    return "" if isinstance(value, bool) else f"expected True or False, got {value!r}"


def _dict(value: Any) -> str:
    return (
        ""
        if isinstance(value, Mapping)
        else f"expected a dict of model config fields, got {value!r}"
    )


def _data_dir(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        return f"expected a folder path, '' or None, got {value!r}"
    if not Path(value).expanduser().is_dir():
        return f"folder {value!r} does not exist (use '' for $MNER_DATA_DIR or the demo corpus)"
    return ""


def _field(name: str) -> Callable[[Any], str]:
    """The run schema's check of config field ``name``."""

    def check(value: Any) -> str:
        return check_field(name, value)

    return check


_dataset = _field("dataset")
_condition = _field("condition")


def _conditions(value: Any) -> str:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        return f"expected a non-empty list of image conditions, got {value!r}"
    for item in value:
        message = _condition(item)
        if message:
            return message
    return ""


_backbone = _field("backbone")


#: the training settings a chapter may change from its models' paper settings (``train_options``)
TRAINING_OPTIONS = (
    "batch_size",
    "optimizer",
    "lr",
    "encoder_lr",
    "weight_decay",
    "momentum",
    "schedule",
    "lr_decay",
    "warmup",
    "grad_accum",
    "clip_grad",
    "patience",
)


def _train_options(value: Any) -> str:
    if not isinstance(value, Mapping):
        return f"expected a dict of training settings, e.g. {{'lr': 0.01}}, got {value!r}"
    unknown = sorted(set(value) - set(TRAINING_OPTIONS))
    if unknown:
        return (
            f"unknown training {noun(len(unknown), 'setting')} {', '.join(unknown)}; "
            f"valid: {', '.join(TRAINING_OPTIONS)}"
        )
    for name, item in value.items():
        message = check_field(name, item)
        if message:
            return f"{name}: {message}"
    return ""


def _str(value: Any) -> str:
    return "" if isinstance(value, str) and value else f"expected a non-empty string, got {value!r}"


# ----------------------------------------------------------------------------- schemas
COMMON: tuple[Param, ...] = (
    Param("dataset", _dataset, "demo | twitter2015 | twitter2017 | twitter10000"),
    Param("data_dir", _data_dir, "data folder; '' means $MNER_DATA_DIR (or none: demo only)"),
    Param("epochs", _field("epochs"), "training epochs"),
    Param("seeds", _int_list, "list of seeds; one run per seed"),
    Param("device", _field("device"), "auto picks a GPU when there is one"),
    Param("max_train", _field("max_train"), "cap on training tweets (None: all)"),
    Param("max_eval", _field("max_eval"), "cap on dev and test tweets (None: all)"),
    Param(
        "train_options",
        _train_options,
        "training settings that replace the paper's for every run of the chapter, e.g. "
        "{'lr': 0.01} ({} = the paper's)",
    ),
    Param("runs_dir", _str, "folder for this chapter's run folders"),
    Param("results_dir", _str, "folder of the recorded runs (results/**/metrics.json) shown"),
)
IMAGE: tuple[Param, ...] = (
    Param("condition", _condition, "real | blank | synthetic | shuffled | missing:<p>"),
    Param("backbone", _backbone, "image backbone by name"),
    Param("model_options", _dict, "extra model config fields, e.g. {'heads': 1}"),
)


def chapter_ablations(chapter: str) -> dict[str, dict[str, Any]]:
    """The paper ablations a chapter knows, from the specs of the models it narrates: name ->
    model config fields (plus ``condition`` where the ablation is an image condition)."""
    from mner_lib.models import all_specs

    table: dict[str, dict[str, Any]] = {}
    for spec in all_specs().values():
        if spec.chapter != chapter:
            continue
        for ablation in spec.ablations:
            options = dict(ablation.options)
            if ablation.condition:
                options["condition"] = ablation.condition
            table.setdefault(ablation.name, options)
    return table


def __getattr__(name: str) -> Any:
    if name == "ABLATIONS":  # read from the specs when asked for, not at import
        return {c: chapter_ablations(c) for c in ("cwi", "hsn", "trimod", "gmf")}
    raise AttributeError(name)


def chapter_models(chapter: str) -> tuple[str, ...]:
    """The models a chapter narrates: those whose paper spec names the chapter."""
    from mner_lib.models import all_specs

    return tuple(name for name, spec in all_specs().items() if spec.chapter == chapter)


def _models(chapter: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        return _choices(chapter_models(chapter))(value)

    return check


def _ablations(chapter: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        return _choices(tuple(chapter_ablations(chapter)), allow_empty=True)(value)

    return check


def _segmenter(value: Any) -> str:
    if value in ("wordsegment", "wordninja"):
        return ""
    if isinstance(value, str) and value.endswith(".pt") and Path(value).is_file():
        return ""
    return f"{value!r} is not one of: wordsegment, wordninja, or an existing trained segmenter .pt file"


SCHEMAS: dict[str, tuple[Param, ...]] = {
    "task_data": (
        Param("dataset", _dataset, "dataset to describe"),
        Param("data_dir", _data_dir, "data folder; '' means $MNER_DATA_DIR"),
        Param("probe_examples", _int(1), "number of probe drawings to show"),
        Param("seeds", _int_list, "seed of the probe drawings (first one used)"),
    ),
    "foundations": COMMON
    + (
        Param("models", _models("foundations"), "text baselines to train"),
        Param("constrain_bio", _bool, "forbid impossible BIO transitions in the CRF"),
    ),
    "cwi": COMMON
    + IMAGE
    + (
        Param("models", _models("cwi"), "CWI variants to train"),
        Param("ablations", _ablations("cwi"), "ablation runs"),
    ),
    "hsn": COMMON
    + IMAGE
    + (
        Param("models", _models("hsn"), "the model of the chapter"),
        Param("ablations", _ablations("hsn"), "ablation runs"),
    ),
    "trimod": COMMON
    + IMAGE
    + (
        Param("models", _models("trimod"), "the model of the chapter"),
        Param(
            "segmenter", _segmenter, "hashtag segmenter: wordsegment | wordninja | path/to/model.pt"
        ),
        Param("ablations", _ablations("trimod"), "ablation runs"),
    ),
    "gmf": COMMON
    + IMAGE
    + (
        Param("models", _models("gmf"), "the model of the chapter"),
        Param("encoder", _str, "text encoder name (offline: the bundled MiniLM)"),
        Param("ablations", _ablations("gmf"), "ablation runs"),
    ),
    "comparison": (
        Param("results_dir", _str, "folder holding results/**/metrics.json"),
        Param("conditions", _conditions, "image conditions of the robustness table"),
        Param("runs_dir", _str, "this build's own run folders (shown apart from results/)"),
    ),
    "reproducibility": (
        Param("results_dir", _str, "folder holding results/**/metrics.json"),
        Param("runs_dir", _str, "this build's own run folders"),
    ),
}

_IGNORED = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def schema(chapter: str) -> dict[str, Param]:
    if chapter not in SCHEMAS:
        raise ParameterError(f"unknown chapter {chapter!r}; valid: {', '.join(SCHEMAS)}")
    return {p.name: p for p in SCHEMAS[chapter]}


def user_names(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The names a parameters cell (or papermill's injection) defined: no private names,
    modules, functions, classes or IPython's own."""
    return {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_")
        and k not in _IGNORED
        and not isinstance(v, types.ModuleType | types.FunctionType | type)
        and not callable(v)
    }


def validate(chapter: str, values: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    """Check ``values`` against the chapter's schema; return them. ``partial`` allows missing
    names (a profile sets only some). Raises :class:`ParameterError` listing the valid names."""
    params = schema(chapter)
    unknown_names = sorted(set(values) - set(params))
    if unknown_names:
        listing = "\n".join(f"  {p.name}: {p.help}" for p in params.values())
        raise ParameterError(
            f"chapter {chapter!r}: unknown {noun(len(unknown_names), 'parameter')} "
            f"{', '.join(unknown_names)}; valid:\n{listing}"
        )
    if not partial:
        missing = sorted(set(params) - set(values))
        if missing:
            raise ParameterError(
                f"chapter {chapter!r}: missing {noun(len(missing), 'parameter')} "
                f"{', '.join(missing)}"
            )
    problems = []
    for name, value in values.items():
        message = params[name].check(value)
        if message:
            problems.append(f"  {name}: {message}")
    if problems:
        raise ParameterError(
            f"chapter {chapter!r}: bad parameter {noun(len(problems), 'value')}:\n"
            + "\n".join(problems)
        )
    return dict(values)


def check(namespace: Mapping[str, Any], chapter: str) -> dict[str, Any]:
    """Validate a notebook's globals after its parameters cell; return the parameters."""
    return validate(chapter, user_names(namespace))


def ablation_options(
    chapter: str, ablation: str, model_class: type | None = None
) -> tuple[dict[str, Any], str | None]:
    """Model config fields and image condition (None: the chapter's) of a named paper ablation;
    the fields are checked against ``model_class``'s config."""
    table = chapter_ablations(chapter)
    if ablation not in table:
        raise ParameterError(
            f"chapter {chapter!r}: unknown ablation {ablation!r}; valid: {', '.join(table) or 'none'}"
        )
    options = dict(table[ablation])
    condition = options.pop("condition", None)
    if model_class is not None and options:
        import dataclasses

        fields = {f.name for f in dataclasses.fields(model_class.config_class)}
        missing = sorted(set(options) - fields)
        if missing:
            raise ParameterError(
                f"ablation {ablation!r} needs config {noun(len(missing), 'field')} "
                f"{', '.join(missing)} that model "
                f"{model_class.name!r} lacks; its fields: {', '.join(sorted(fields))}"
            )
    return options, condition
