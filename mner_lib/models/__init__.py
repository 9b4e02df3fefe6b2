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
"""

from __future__ import annotations

import importlib

from mner_lib.data import unknown
from mner_lib.models.base import Tagger, TaggerConfig, TaggerOutput, make_config

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
    """Class decorator: add a tagger under its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def available_models() -> list[str]:
    return list(MODEL_MODULES)


def get_model_class(name: str) -> type[Tagger]:
    if name not in MODEL_MODULES:
        raise unknown("model", name, MODEL_MODULES)
    if name not in _REGISTRY:
        importlib.import_module(MODEL_MODULES[name])
    if name not in _REGISTRY:
        raise ValueError(f"model {name!r}: module {MODEL_MODULES[name]} did not register it")
    return _REGISTRY[name]


def build_model(name: str, train, overrides: dict | None = None, extra_words=()) -> Tagger:
    """A fresh model of ``name`` with vocabularies from ``train`` (plus the ``extra_words`` GloVe
    knows, for GloVe models: see :meth:`Tagger.from_data`) and pretrained parts loaded."""
    cls = get_model_class(name)
    return cls.from_data(make_config(cls, overrides), train, extra_words)


__all__ = [
    "Tagger",
    "TaggerConfig",
    "TaggerOutput",
    "available_models",
    "build_model",
    "get_model_class",
    "make_config",
    "register_model",
]
