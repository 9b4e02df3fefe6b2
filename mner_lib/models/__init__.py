"""Model registry: one name per model, one module per paper.

| name            | module                         | paper / row                     |
|-----------------|--------------------------------|---------------------------------|
| bilstm-crf      | :mod:`mner_lib.models.baselines` | BiLSTM-CRF (text)             |
| hbilstm-crf     | :mod:`mner_lib.models.baselines` | HBiLSTM-CRF, Lample et al.    |
| bert-crf        | :mod:`mner_lib.models.baselines` | BERT-CRF (text)               |
| hsn             | :mod:`mner_lib.models.hsn`     | HSN (Tian et al. 2021)          |
| cwi             | :mod:`mner_lib.models.cwi`     | CWI (Asgari-Chenaghlu et al.)   |
| cwi-attention   | :mod:`mner_lib.models.cwi`     | CWI + modality attention        |
| trimod          | :mod:`mner_lib.models.trimod`  | TriMod (Alfaqeeh 2025)          |
| gmf             | :mod:`mner_lib.models.gmf`     | GMF (visual clue guidance + CM) |

Modules are imported on first use, so a model whose module is missing does not break the others.
Each class carries its paper's :class:`mner_lib.models.spec.PaperSpec` (``cls.spec``): training defaults,
per-dataset settings, ablations and reported numbers. A model defined anywhere else (a notebook,
a test, a user's package) joins every tool by decorating its class with :func:`register_model`.
"""

from __future__ import annotations

import importlib

from mner_lib.models.base import Tagger, TaggerConfig, TaggerOutput, make_config
from mner_lib.models.spec import PaperSpec
from mner_lib.text.data import unknown

MODEL_MODULES: dict[str, str] = {
    "bilstm-crf": "mner_lib.models.baselines",
    "hbilstm-crf": "mner_lib.models.baselines",
    "bert-crf": "mner_lib.models.baselines",
    "hsn": "mner_lib.models.hsn",
    "cwi": "mner_lib.models.cwi",
    "cwi-attention": "mner_lib.models.cwi",
    "trimod": "mner_lib.models.trimod",
    "gmf": "mner_lib.models.gmf",
}
_REGISTRY: dict[str, type[Tagger]] = {}


def register_model(cls: type[Tagger]) -> type[Tagger]:
    """Class decorator: add a tagger under its ``name`` (with its ``spec``, if it has one)."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__}: a registered tagger needs a non-empty `name`")
    _REGISTRY[cls.name] = cls
    return cls


def available_models() -> list[str]:
    """The built-in models, then any registered elsewhere."""
    return list(MODEL_MODULES) + [n for n in _REGISTRY if n not in MODEL_MODULES]


def get_model_class(name: str) -> type[Tagger]:
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name not in MODEL_MODULES:
        raise unknown("model", name, available_models())
    importlib.import_module(MODEL_MODULES[name])
    if name not in _REGISTRY:
        raise ValueError(f"model {name!r}: module {MODEL_MODULES[name]} did not register it")
    return _REGISTRY[name]


def get_spec(name: str) -> PaperSpec | None:
    """The paper spec of model ``name`` (None for a model registered without one)."""
    return get_model_class(name).spec


def all_specs() -> dict[str, PaperSpec]:
    """Every registered model's spec, by model name (built-in modules imported on the way)."""
    return {n: s for n in available_models() if (s := get_spec(n)) is not None}


def build_model(name: str, train, overrides: dict | None = None, extra_words=()) -> Tagger:
    """A fresh model of ``name`` with vocabularies from ``train`` (plus the ``extra_words`` GloVe
    knows, for GloVe models: see :meth:`Tagger.from_data`) and pretrained parts loaded."""
    cls = get_model_class(name)
    return cls.from_data(make_config(cls, overrides), train, extra_words)


__all__ = [
    "Tagger",
    "TaggerConfig",
    "TaggerOutput",
    "all_specs",
    "available_models",
    "build_model",
    "get_model_class",
    "get_spec",
    "make_config",
    "register_model",
]
