"""A model as one file: its weights as safetensors, with what rebuilds the model around them
(model name, config, vocabularies) as JSON in the file's header. Reading one runs no code.

:meth:`mner_lib.models.base.Tagger.save` / ``load`` write and read a folder with
``model.safetensors`` and ``model.json`` (a readable copy of the JSON); a run folder
(:mod:`mner_lib.training.runfolder`) stores its best model the same way, and checks it against
its manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

from mner_lib.io.atomicfile import atomic_write_bytes
from mner_lib.io.safe_read import read_regular_file

MODEL, MODEL_META = "model.safetensors", "model.json"
#: the largest model file read back (a stranger's file is refused above it)
MODEL_CAP = 8 << 30


def encode(tensors: dict[str, Any], meta_text: str, fmt: str, key: str = "meta") -> bytes:
    """The file's bytes: CPU copies of ``tensors`` (tied weights saved apart) and the JSON text
    ``meta_text`` under ``key`` in the header. A value that is not a tensor is a ValueError."""
    for name, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{name!r} is a {type(value).__name__}, not a tensor")
    cpu = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
    return _st_save(cpu, metadata={"format": fmt, key: meta_text})


def decode(data: bytes, key: str = "meta") -> tuple[dict[str, torch.Tensor], Any]:
    """The tensors and the JSON under ``key`` of a file's bytes; ValueError when they are not
    such a file (truncated, another format)."""
    try:
        tensors = _st_load(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        return tensors, json.loads(header["__metadata__"][key])
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"truncated or corrupt ({exc})") from None


def save(directory: str | Path, tensors: dict[str, Any], meta: dict[str, Any], fmt: str) -> Path:
    """``model.safetensors`` and ``model.json`` in ``directory``, each written atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta_text = json.dumps(meta, sort_keys=True)
    atomic_write_bytes(directory / MODEL, encode(tensors, meta_text, fmt))
    atomic_write_bytes(directory / MODEL_META, (meta_text + "\n").encode("utf-8"))
    return directory


def load(directory: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and meta of ``directory/model.safetensors`` (a regular file, capped)."""
    path = Path(directory) / MODEL
    try:
        return decode(read_regular_file(path, MODEL_CAP, "model file"))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
