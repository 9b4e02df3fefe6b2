"""One schema for a training run: :class:`TrainConfig`.

Every field carries its help text, its valid values and whether the command line shows it
(dataclass field metadata). From that one place come:

* the options of ``train`` and ``sweep`` (:func:`add_config_arguments`,
  :func:`overrides_from_args`),
* the checks of a chapter's parameters that are run settings (:func:`check_field`),
* :func:`resolve_config`: the model's paper settings (its :class:`mner_lib.models.spec.PaperSpec`),
  overridden by what the user gave, validated whole before anything is written, with the
  variant name computed once and stored with the run.

A run's settings travel CLI -> :func:`resolve_config` -> :mod:`mner_lib.training.trainer` -> run folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mner_lib.io.plural import noun
from mner_lib.models.limits import FLOAT_MAX, INT_MAX, MAX_BATCH_TWEETS
from mner_lib.models.precision import PRECISIONS

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "linear-warmup", "inverse-decay")
DEVICES = ("auto", "cpu", "cuda")
#: The most epochs of one run (the papers train 10 to 50).
MAX_EPOCHS = 1000
MAXIMUM = {
    "seed": 2**32 - 1,
    "batch_size": MAX_BATCH_TWEETS,
    "eval_batch_size": MAX_BATCH_TWEETS,
    "epochs": MAX_EPOCHS,
}


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, else the machine's count): the most
    ``threads`` a run may ask for (``--threads 10000`` made a tiny run 30x slower)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _dynamic_maximum(name: str) -> int | None:
    """Caps that depend on the machine or live with their owner."""
    if name == "threads":
        return available_cpus()
    if name == "max_crops":
        from mner_lib.images.crops import MAX_CROPS

        return MAX_CROPS
    return None


def _opt(
    default: Any,
    help: str,
    *,
    choices: Sequence[str] | None = None,
    minimum: float | None = None,
    positive: bool = False,
    cli: bool = True,
    identity: bool = True,
    factory: Any = None,
) -> Any:
    """A config field with its metadata. ``identity``: whether a different value makes a
    different run (``False`` for where and how it runs: device, threads, progress output)."""
    meta = {
        "help": help,
        "choices": tuple(choices) if choices else None,
        "minimum": minimum,
        "positive": positive,
        "cli": cli,
        "identity": identity,
    }
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def _datasets() -> tuple[str, ...]:
    from mner_lib.text.data import DATASETS

    return tuple(sorted(DATASETS))


@dataclass
class TrainConfig:
    """A training run. Defaults are generic; each model's paper settings come from its spec and
    are applied by :func:`resolve_config` to every field the user did not set."""

    model: str = _opt("", "model name (python -m mner_lib train --help lists them)", cli=False)
    dataset: str = _opt("demo", "dataset (demo ships with the package)")
    data_dir: str | None = _opt(None, "data folder (default: $MNER_DATA_DIR)", identity=False)
    out: str = _opt("runs/run", "run folder to write", cli=False, identity=False)
    seed: int = _opt(0, "random seed (Python, NumPy, torch, data order)", minimum=0)
    epochs: int = _opt(10, "training epochs", minimum=1)
    batch_size: int = _opt(16, "tweets per batch", minimum=1)
    eval_batch_size: int = _opt(64, "tweets per batch when predicting", minimum=1, identity=False)
    optimizer: str = _opt("adam", "optimiser", choices=OPTIMIZERS)
    lr: float = _opt(1e-3, "learning rate (of the new layers)", positive=True)
    weight_decay: float = _opt(0.0, "weight decay", minimum=0)
    momentum: float = _opt(0.9, "SGD momentum", minimum=0)
    schedule: str = _opt("constant", "learning-rate schedule", choices=SCHEDULES)
    lr_decay: float = _opt(0.0, "inverse-decay: lr_t = lr / (1 + lr_decay * epoch)", minimum=0)
    warmup: float = _opt(0.1, "linear-warmup: fraction of the steps", minimum=0)
    encoder_lr: float | None = _opt(None, "learning rate of a pretrained encoder", positive=True)
    head_lr: float | None = _opt(
        None, "learning rate of the tagging head (emission layer and CRF); none: lr", positive=True
    )
    grad_accum: int = _opt(1, "batches per optimiser step", minimum=1)
    length_buckets: int = _opt(
        20,
        "batches per length bucket: each pool of this many batches is sorted by length, so "
        "batches pad less (0 or 1: off). Within seed noise of off on F1 "
        "(benchmarks/bucket_probe.txt, benchmarks/gmf_bucket_probe.txt)",
        minimum=0,
    )
    clip_grad: float | None = _opt(5.0, "gradient norm clip (none: off)", positive=True)
    patience: int = _opt(5, "epochs without a better dev F1 before stopping", minimum=1)
    max_train: int | None = _opt(
        None, "a seeded sample of at most this many training tweets", minimum=1
    )
    max_eval: int | None = _opt(
        None, "a fixed sample of at most this many dev and test tweets", minimum=1
    )
    orphan_policy: str = _opt(
        "keep", "an I- tag with no B- before it", choices=("keep", "repair", "error")
    )
    device: str = _opt(
        "auto", "auto picks a GPU when there is one", choices=DEVICES, identity=False
    )
    precision: str = _opt(
        "auto",
        "auto: bf16 on a GPU, fp32 on a CPU; fp32; bf16 (autocast)",
        choices=PRECISIONS,
        identity=False,
    )
    condition: str = _opt("none", "image condition (none for text models; see --help of train)")
    backbone: str = _opt("efficientnet-lite0", "image backbone by name")
    crops: str = _opt("none", "object crops for GMF: none, saliency, boxes")
    max_crops: int = _opt(0, "object crops per image", minimum=0)
    image_dir: str | None = _opt(
        None, "image folder (default: <data-dir>/<dataset>_images)", identity=False
    )
    model_options: dict[str, Any] = _opt(None, "model config fields", cli=False, factory=dict)
    threads: int | None = _opt(
        None, "torch CPU threads (1 is fastest for small models)", minimum=1, identity=False
    )
    # GloVe models: the dev and test words GloVe knows join the word vocabulary (Lample et al.
    # 2016; words only, never tags). False: training words only, the rest are unknown.
    augment_vocab: bool = _opt(True, "GloVe models: dev/test words GloVe knows join the vocabulary")
    progress: bool = _opt(True, "progress bars and per-epoch lines", cli=False, identity=False)
    resume: bool = _opt(True, "resume an unfinished run in --out", cli=False, identity=False)
    overwrite: bool = _opt(False, "replace a finished run in --out", identity=False)
    variant: str = _opt("full", "computed: the paper's name of this variant", cli=False)

    def validate(self) -> None:
        """Every field checked; the first bad one is an error naming it and its valid values."""
        from mner_lib.models import get_model_class
        from mner_lib.text.data import unknown

        get_model_class(self.model)  # unknown model -> error listing the valid ones
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            choices = _datasets() if f.name == "dataset" else f.metadata.get("choices")
            if choices and value not in choices:
                raise unknown(f.name, value, choices)
            message = check_field(f.name, value)
            if message:
                raise ValueError(f"{f.name} {message}")


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_HINTS = typing.get_type_hints(TrainConfig)


def _base_type(name: str) -> type:
    hint = _HINTS[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def check_field(name: str, value: Any) -> str:
    """An error text for ``value`` as config field ``name`` ("" when it is valid)."""
    f = FIELDS.get(name)
    if f is None:
        return f"unknown field; valid: {', '.join(FIELDS)}"
    meta = f.metadata
    if value is None:
        optional = type(None) in typing.get_args(_HINTS[name])
        return "" if optional else "must be given"
    kind = _base_type(name)
    if kind is bool:
        return "" if isinstance(value, bool) else f"expected True or False, got {value!r}"
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a number, got {value!r}"
        if kind is int and not float(value).is_integer():
            return f"expected an integer, got {value!r}"
        if not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
        if abs(value) > (most := MAXIMUM.get(name, INT_MAX if kind is int else FLOAT_MAX)):
            return f"must be at most {most:{'g' if kind is float else 'd'}}, got {value!r}"
        if meta.get("positive") and value <= 0:
            return f"must be positive, got {value!r}"
        if meta.get("minimum") is not None and value < meta["minimum"]:
            return f"must be at least {meta['minimum']:g}, got {value!r}"
        cap = _dynamic_maximum(name)
        if cap is not None and value > cap:
            why = " (the CPUs this machine gives the run)" if name == "threads" else " (MAX_CROPS)"
            return f"must be at most {cap}{why}, got {value!r}"
    if name == "out" and not str(value).strip():
        return "must name a folder, got an empty string"
    choices = meta.get("choices")
    if name == "dataset":
        choices = _datasets()
    if choices and value not in choices:
        return f"{value!r} is not one of: {', '.join(choices)}"
    if name == "condition" and value != "none":
        return _condition_problem(value)
    if name == "backbone":
        from mner_lib.images import BACKBONES

        if value not in BACKBONES:
            return f"{value!r} is not one of: {', '.join(sorted(BACKBONES))}"
    return ""


def _condition_problem(value: Any) -> str:
    from mner_lib.images import parse_condition

    try:
        parse_condition(value)
    except ValueError as err:
        return str(err)
    return ""


# ----------------------------------------------------------------------------- resolution
def resolve_config(model: str, **given: Any) -> TrainConfig:
    """A config for ``model``: its paper's settings (and the paper's settings for the dataset),
    overridden by what is ``given`` (``None`` = not given); validated whole, model options
    included, before any run folder is touched; the variant name computed from the spec."""
    from mner_lib.models import get_model_class, make_config
    from mner_lib.models.spec import variant_name

    bad = sorted(set(given) - set(FIELDS) - {"model"})
    if bad:
        raise ValueError(
            f"unknown training {noun(len(bad), 'option')} {', '.join(bad)}; "
            f"valid: {', '.join(sorted(FIELDS))}"
        )
    cls = get_model_class(model)
    given = {k: v for k, v in given.items() if v is not None and k not in ("model", "variant")}
    spec_values = cls.spec.defaults(given.get("dataset", "demo")) if cls.spec else {}
    user_options = dict(given.get("model_options") or {})
    values = {**spec_values, **given}
    values["model_options"] = {**spec_values.get("model_options", {}), **user_options}
    cfg = TrainConfig(model=model, **values)
    from mner_lib.images.captions import caption_model_options

    # HSN and GMF read a caption condition through visual_input="caption" (recorded in the config)
    cfg.model_options = caption_model_options(cls, cfg.condition, cfg.model_options)
    config_fields = {f.name for f in dataclasses.fields(cls.config_class)}
    if "backbone" in config_fields:  # the model must know which image features it is fed
        cfg.model_options.setdefault("backbone", cfg.backbone)
    make_config(cls, cfg.model_options)  # unknown or ill-typed option: an error naming it
    if cls.uses_images and cfg.condition == "none":
        cfg.condition = "blank"
    if (
        not cls.uses_images
        and cfg.condition != "none"
        and not accepts_condition(cls, cfg.condition)
    ):
        raise ValueError(
            f"model {model!r} uses no images; condition must be 'none', got {cfg.condition!r}"
        )
    cfg.validate()
    cfg.variant = variant_name(cls.spec, cfg.model_options, cfg.dataset)
    return cfg


def accepts_condition(cls: type, condition: str) -> bool:
    """Text models that read an image's caption (``accepts_captions``) take caption conditions."""
    from mner_lib.images.conditions import is_text_condition

    return bool(getattr(cls, "accepts_captions", False)) and is_text_condition(condition)


# ----------------------------------------------------------------------------- the CLI
def add_config_arguments(parser: argparse.ArgumentParser, exclude: Iterable[str] = ()) -> None:
    """One option per CLI field of :class:`TrainConfig` (``--batch-size``...), default None so
    the paper's settings apply; ``--option KEY=VALUE`` for model config fields."""
    skip = set(exclude)
    for name, f in FIELDS.items():
        if not f.metadata.get("cli") or name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        meta, kind = f.metadata, _base_type(name)
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=meta["help"]
            )
            continue
        parser.add_argument(
            flag,
            type=_parser_type(name, kind),
            default=None,
            choices=meta.get("choices") if name not in ("dataset",) else None,
            metavar=None if meta.get("choices") else name.upper(),
            help=meta["help"],
        )
    if "model_options" not in skip:
        parser.add_argument(
            "--option",
            action="append",
            metavar="KEY=VALUE",
            help="a model config field (repeatable)",
        )


def _parser_type(name: str, kind: type) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from err
        message = check_field(name, value)
        if message:
            raise argparse.ArgumentTypeError(message)
        return value

    convert.__name__ = kind.__name__
    return convert


def parse_options(pairs: Iterable[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values read as JSON where they parse (``3``, ``false``), else text."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--option expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields a parsed command line set (None: not given)."""
    values = {n: getattr(args, n) for n in FIELDS if n != "model" and hasattr(args, n)}
    if getattr(args, "option", None):
        values["model_options"] = parse_options(args.option)
    if getattr(args, "quiet", False):
        values["progress"] = False
    return values


# ----------------------------------------------------------------------------- recording
def portable_path(path: str | None) -> str | None:
    """``path`` as recorded in a run folder: under ``$MNER_DATA_DIR`` or ``$MNER_CACHE_DIR``
    written from that name, under the home folder from ``~``, so committed results carry no
    path of the machine."""
    if not path:
        return path
    resolved = Path(path).expanduser().resolve()
    roots = [(os.environ.get(name), f"${name}") for name in ("MNER_DATA_DIR", "MNER_CACHE_DIR")]
    for root, name in (*roots, (str(Path.home()), "~")):
        if not root:
            continue
        try:
            rest = resolved.relative_to(Path(root).resolve())
        except ValueError:
            continue
        return name if str(rest) == "." else f"{name}/{rest}"
    return path


def portable_config(cfg: TrainConfig) -> dict[str, Any]:
    """The config as recorded in a run folder (:func:`portable_path` for the data folder)."""
    record = dataclasses.asdict(cfg)
    record["data_dir"] = portable_path(record["data_dir"])
    return record


def command_line(cfg: TrainConfig) -> str:
    """The ``train`` command that (re)starts this run, for messages and ``config.json``."""
    import shlex

    parts = ["python -m mner_lib train", f"--model {cfg.model}", f"--out {shlex.quote(cfg.out)}"]
    for name, f in FIELDS.items():
        value = getattr(cfg, name)
        if not f.metadata.get("cli") or value == f.default or value is None:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{name.replace('_', '-')}")
        else:
            parts.append(f"{flag} {shlex.quote(str(value))}")
    for key, value in sorted(cfg.model_options.items()):
        parts.append(f"--option {shlex.quote(f'{key}={json.dumps(value)}')}")
    return " ".join(parts)
