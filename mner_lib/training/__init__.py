"""The trainer's public names in one import (``from mner_lib.training import run_training``).

The code lives where each part belongs: the run schema and its resolution from the paper specs
in :mod:`mner_lib.training.config`, seeds, device and provenance in :mod:`mner_lib.training.runtime`, the epoch
loop in :mod:`mner_lib.training.trainer` (its optimiser in :mod:`mner_lib.training.optim`), the run folder in
:mod:`mner_lib.training.runfolder` (one writer at a time: :mod:`mner_lib.training.runlock`), reading a run back in
:mod:`mner_lib.training.runload`. A killed run resumes where its last finished epoch left it when started
again with the same configuration, output folder and data files; a different configuration in
that folder, or changed data, is an error, and a finished run is never replaced without
``overwrite``.
"""

from __future__ import annotations

from typing import Any

from mner_lib.models import Tagger
from mner_lib.models.base import to_device
from mner_lib.training.config import (
    DEVICES,
    OPTIMIZERS,
    PRECISIONS,
    SCHEDULES,
    TrainConfig,
    portable_config,
    portable_path,
    resolve_config,
)
from mner_lib.training.optim import build_optimizer, build_schedule
from mner_lib.training.runload import load_run
from mner_lib.training.runtime import (
    autocast,
    environment_info,
    git_commit,
    pick_device,
    provenance,
    set_seed,
)
from mner_lib.training.trainer import (
    TrainingError,
    TrainResult,
    cap_eval,
    make_image_features,
    run_training,
)


def paper_defaults(model: str, dataset: str = "demo") -> dict[str, Any]:
    """The training settings of ``model``'s paper for ``dataset`` (from its spec)."""
    from mner_lib.models import get_spec

    spec = get_spec(model)
    return spec.defaults(dataset) if spec is not None else {}


__all__ = [
    "DEVICES",
    "OPTIMIZERS",
    "PRECISIONS",
    "SCHEDULES",
    "Tagger",
    "TrainConfig",
    "TrainResult",
    "TrainingError",
    "autocast",
    "build_optimizer",
    "build_schedule",
    "cap_eval",
    "environment_info",
    "git_commit",
    "load_run",
    "make_image_features",
    "paper_defaults",
    "pick_device",
    "portable_config",
    "portable_path",
    "provenance",
    "resolve_config",
    "run_training",
    "set_seed",
    "to_device",
]
