"""What a run needs to be repeated: the state of its random generators (saved with every
checkpoint, so a resumed run draws exactly the numbers an uninterrupted one draws), the commit
of the code that ran it, and the SHA-256 of the data files it read (a run resumes only on the
files it started on)."""

from __future__ import annotations

import base64
import hashlib
import random
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

_has_cuda = torch.cuda.is_available


class RunStateError(ValueError):
    """A saved random-generator state that cannot be restored."""


def rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's global generators (and CUDA's where there is
    one) as JSON data, so that a resumed run draws exactly the numbers it would have drawn."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    numpy_state = [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]
    states = [torch.get_rng_state(), *(torch.cuda.get_rng_state_all() if _has_cuda() else [])]
    coded = [base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii") for t in states]
    state = {"python": [version, list(internal), gauss], "numpy": numpy_state, "torch": coded[0]}
    return {**state, "cuda": coded[1:]} if _has_cuda() else state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (the CUDA states only on a machine with as many
    GPUs: a run resumed on another kind of device cannot replay its GPU draws)."""
    try:
        (version, internal, gauss), (kind, keys, *rest) = state["python"], state["numpy"]
        random.setstate((version, tuple(internal), gauss))
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
        coded = [state["torch"], *state.get("cuda", [])]
        states = [torch.tensor(list(base64.b64decode(c)), dtype=torch.uint8) for c in coded]
        torch.set_rng_state(states[0])
        if len(states) > 1 and _has_cuda() and len(states) - 1 == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states[1:])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise RunStateError(f"the saved random-generator state is malformed ({exc})") from None


def provenance(root: str | Path | None = None) -> dict[str, Any]:
    """``{"commit": sha, "dirty": bool, "diff_sha256": SHA-256 of git diff HEAD or None}`` of the
    repository holding mner_lib (or ``root``); untracked files do not count. Without git, outside
    a repository, or for an installed copy: ``{"commit": "unknown", "dirty": None, ...}``."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[2]
    git = partial(subprocess.run, cwd=root, capture_output=True, check=True, timeout=10)
    try:
        top = git(["git", "rev-parse", "--show-toplevel"]).stdout.decode().strip()
        if Path(top).resolve() != root.resolve():  # e.g. site-packages inside some repository
            raise OSError("mner_lib is not the top of a repository")
        commit = git(["git", "rev-parse", "HEAD"]).stdout.decode().strip()
        dirty = bool(git(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip())
        diff = git(["git", "diff", "HEAD", "--binary", "--no-ext-diff", "--no-textconv"]).stdout
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return {"commit": "unknown", "dirty": None, "diff_sha256": None}
    return {
        "commit": commit,
        "dirty": dirty,
        "diff_sha256": hashlib.sha256(diff).hexdigest() if dirty else None,
    }


def code_label(code: dict[str, Any]) -> str:
    """A run's commit as its tables print it: the sha, ``+dirty`` for a changed tree."""
    return str(code["commit"]) + ("+dirty" if code["dirty"] else "")


def is_code_label(label: object) -> bool:
    """A commit label a checkpoint may carry: one printable line of at most 80 characters."""
    return isinstance(label, str) and 0 < len(label) <= 80 and label.isprintable()


# ----------------------------------------------------------------------------- data
def data_hashes(files: dict[str, str | Path]) -> dict[str, dict[str, str]]:
    """``{role: {"file": path, "sha256": hash}}`` of the files a run reads (its splits, its
    caption or knowledge files), hashed once when the run starts: a resumed run compares them
    (:func:`data_changes`) and metrics.json records them."""
    from mner_lib.training.config import portable_path

    out = {}
    for role, path in sorted(files.items()):
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        out[role] = {"file": portable_path(str(path)), "sha256": digest}
    return out


def data_changes(recorded: object, current: dict[str, dict[str, str]]) -> list[str]:
    """How the data a run started on (``recorded``, from its checkpoint) differs from what it
    would read now, one phrase per file (empty: the same files, byte for byte). A malformed
    record is a :class:`RunStateError`."""
    if not isinstance(recorded, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in recorded.values()
    ):
        raise RunStateError("the checkpoint's record of the data is malformed")
    changes = []
    for role in sorted({*recorded, *current}):
        old, new = recorded.get(role), current.get(role)
        if old is None:
            changes.append(f"{new['file']} ({role}) was not read when the run started")
        elif new is None:
            changes.append(f"{old.get('file')} ({role}) is no longer read")
        elif old["sha256"] != new["sha256"]:
            changes.append(
                f"{new['file']} ({role}) changed (SHA-256 {new['sha256'][:12]}, the run started "
                f"on {old['sha256'][:12]})"
            )
    return changes


def data_drift(recorded: object, dataset: str, data_dir: str | None) -> list[str]:
    """How the files a finished run recorded (``data_hashes`` of its metrics.json) differ from
    the files a run of ``dataset`` would read now (its splits; ``image_text/<source>/<file>``
    under the data folder): one phrase per file, empty when they are the same or nothing was
    recorded (a run from before data hashes). A grid reusing the run checks it."""
    from mner_lib.images.text import image_text_dir
    from mner_lib.io.atomicfile import safe_child
    from mner_lib.text.data import split_path

    if not isinstance(recorded, dict) or not recorded:
        return []
    current, missing = {}, []
    for role in recorded:
        try:
            if role in ("train", "dev", "test"):
                current[role] = split_path(dataset, role, data_dir)
            elif isinstance(role, str) and role.startswith("image_text/"):
                # inside the image text folder only: a stranger's metrics.json names no file
                current[role] = safe_child(image_text_dir(data_dir), role[len("image_text/") :])
            else:
                missing.append(f"{role!r} cannot be located now")
        except (OSError, ValueError) as exc:  # no data folder, no such split
            missing.append(f"{role} cannot be read now ({str(exc)[:120]})")
    absent = [r for r, p in current.items() if not Path(p).is_file()]
    missing += [f"{current.pop(r)} ({r}) is not there now" for r in absent]
    kept = {r: v for r, v in recorded.items() if r in current}
    try:
        return missing + (data_changes(kept, data_hashes(current)) if current else [])
    except RunStateError:
        return [*missing, "its record of the data is malformed"]
