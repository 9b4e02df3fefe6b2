"""Reading a run back: the best model of a run folder and its config, for ``predict``, the
chapters and the explorer. Nothing in the folder is unpickled, so a stranger's run folder runs no
code; an unfinished run (no metrics.json) is refused unless its partial model is asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mner_lib.models import Tagger
from mner_lib.training.runfolder import CONFIG, HISTORY, RunFolder, RunFolderError


class UnfinishedRunError(RunFolderError):
    """The run folder holds no finished run (training, stopped or failed before metrics.json)."""


def unfinished_message(folder: RunFolder, partial: bool = False) -> str:
    """What a reader of an unfinished run folder is told: the epochs it has and what to do
    (``partial``: that its partial model is used, as asked)."""
    try:
        epochs = len(folder.history())
    except RunFolderError:
        epochs = None
    trained = (
        f"{epochs} epoch{'' if epochs == 1 else 's'} trained so far"
        if epochs is not None
        else f"see its {HISTORY}"
    )
    what = (
        f"{folder.path} holds an unfinished run (no metrics.json: it is training, was stopped, "
        f"or failed; {trained}); its model.safetensors is only the best model of those epochs"
    )
    if partial:
        return f"{what}, used as asked (--partial); finish the run for its final model"
    return (
        f"{what}. Finish the run (rerun its train command: it resumes), or pass --partial to use "
        "that partial model anyway"
    )


def load_run(
    run_dir: str | Path,
    map_location: str = "cpu",
    trust_legacy: bool = False,
    partial: bool = False,
) -> tuple[Tagger, dict[str, Any]]:
    """The best model of a finished run folder and its config (the folder alone is enough).
    An unfinished run is :class:`UnfinishedRunError` unless ``partial`` (then its best model so
    far is returned: the caller says so). A folder of an older version (a pickled ``model.pt``)
    is refused unless ``trust_legacy`` says its pickle is trusted."""
    folder = RunFolder(run_dir)
    if trust_legacy and folder.state == "legacy":
        from mner_lib.training.runfolder import load_legacy_model

        old = load_legacy_model(folder.path / "model.pt", trust=True)
        tensors, meta = old["state_dict"], {k: old[k] for k in ("model", "config", "vocab")}
    else:
        if folder.state == "unfinished" and not partial:
            raise UnfinishedRunError(unfinished_message(folder))
        tensors, meta = folder.load_model()
    config_path = folder.path / CONFIG
    try:
        config = json.loads(folder.read(config_path).decode("utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"no {CONFIG} in {folder.path}: not a run folder") from None
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError and JSON errors
        raise folder.corrupt(config_path, f"not valid JSON ({str(err)[:200]})") from None
    try:
        model = Tagger.from_state(tensors, meta).to(map_location)
    except ValueError as err:
        raise ValueError(f"{folder.path / 'model.safetensors'}: {err}") from None
    return _local_segmenter(model, folder), config


def _local_segmenter(model: Tagger, folder: RunFolder) -> Tagger:
    """A model that segments hashtags with a learned segmenter file reads it from its run folder
    only (a stranger's run must not make it open a path elsewhere on the machine)."""
    from mner_lib.hashtags import BASELINES

    name = getattr(model.config, "segmenter", None)
    if not isinstance(name, str) or name in BASELINES:
        return model
    local = folder.path / Path(name).name
    if Path(name).name in ("", ".", "..") or local.is_symlink() or not local.is_file():
        raise RunFolderError(
            f"{folder.path}: the model segments hashtags with the learned segmenter {name!r}, "
            f"which predict reads only from the run folder; copy it there as {local.name or '?'}"
        )
    model.config.segmenter = str(local)
    return model
