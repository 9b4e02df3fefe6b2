"""Run folders you can trust: one writer, atomic writes, no pickles, no silent overwrite.

Each file is written beside itself, fsynced and renamed over its name, so a kill or a full or
read-only disk leaves the previous complete file. Tensors are safetensors, the rest JSON, and the
optimizer state is read with ``torch.load(weights_only=True)``: nothing is unpickled. Folders of
older versions (a pickled model.pt or checkpoint_last.pt) are refused: a pickle can run any code.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

from mner_lib.io.atomicfile import (  # noqa: F401 - re-exported: the run folder's file layer
    RunFolderError,
    _dumps,
    _sha256,
    _unlink_quietly,
    _write_error,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    safe_child,
)
from mner_lib.io.safe_read import RefusedFileError, read_regular_file
from mner_lib.models import modelfile
from mner_lib.training import runlock
from mner_lib.training.runstate import provenance, rng_state, set_rng_state  # noqa: F401 - re-exported

CONFIG, METRICS, HISTORY, MANIFEST = "config.json", "metrics.json", "history.jsonl", "manifest.json"
MODEL, MODEL_META, CHECKPOINT = "model.safetensors", "model.json", "checkpoint"
LEGACY_FILES = ("model.pt", "checkpoint_last.pt")
OWNED_FILES = (CONFIG, METRICS, HISTORY, MANIFEST, MODEL, MODEL_META, *LEGACY_FILES)
#: the prefix of a finished run's files set aside by --overwrite until the new run finishes
REPLACED = "replaced."
_PREDICTIONS_RE = re.compile(r"^(predictions_[A-Za-z0-9_-]+\.txt|tags_[A-Za-z0-9_-]+\.tsv)$")
#: the most a run file may hold when read back (a model, a JSON file)
MODEL_CAP, JSON_CAP = 8 << 30, 256 << 20
TRUST_FLAG = "--trust-legacy-pickle"
FORMAT = "mner-runfolder-1"
# config keys that may change between a run and its resumption
DEFAULT_IGNORED = ("progress", "resume", "device", "data_dir", "out", "threads", "overwrite")
_TMP_RE = re.compile(r"^\..+\.\d+\.[0-9a-f]{8}\.tmp$")
_GEN_RE = re.compile(r"^(?:model|optimizer|best)-(\d+)\.")


class RunExistsError(RunFolderError):
    """The folder holds a finished run and overwriting was not asked for."""


class CorruptRunError(RunFolderError):
    """A file of the run is truncated, corrupt or disagrees with its manifest."""


class LegacyRunError(RunFolderError):
    """The folder holds a pickled model or checkpoint of an older mner_lib."""

    def __init__(self, file: Path, rerun: str):
        super().__init__(
            f"{file} is a pickle written by an older mner_lib; it is refused because loading a "
            f"pickle can run arbitrary code. Retrain ({rerun}), or, only if you trust where it "
            f"came from, load it with {TRUST_FLAG}"
        )


class RunBusyError(RunFolderError, runlock.FolderBusyError):
    """Another process is writing the folder (its run, or an --overwrite of it)."""


def load_legacy_model(path: str | Path, trust: bool, map_location: str = "cpu") -> Any:
    """The object pickled in an old ``model.pt``, read only when ``trust`` is True (the
    :data:`TRUST_FLAG` of the command line); otherwise :class:`LegacyRunError`, file unopened."""
    if not trust:
        raise LegacyRunError(Path(path), "rerun its command with --overwrite")
    return torch.load(path, map_location=map_location, weights_only=False)


def _cpu_tensors(tensors: dict[str, Any], what: str | Path) -> dict[str, torch.Tensor]:
    for key, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            raise RunFolderError(f"{what}: {key!r} is a {type(value).__name__}, not a tensor")
    # copies, so that tensors sharing memory (tied weights) can be saved
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}


class RunFolder:
    """One run folder; ``command`` (the shell command that (re)starts the run) is quoted in error
    messages. Its files (others are left alone): config.json, history.jsonl, model.safetensors (the
    best model, its header holding the JSON meta), model.json (a copy of the meta), metrics.json
    (the run is finished), manifest.json (sizes and SHA-256, written when it finishes),
    predictions_*, and checkpoint/: model-G.safetensors (tensors, the JSON state in its header),
    optimizer-G.pt and best-G.safetensors (a link to the best model then) of a generation G, and
    manifest.json naming them with sizes and SHA-256, written last, older generations removed
    after it: a kill at any moment leaves the previous complete checkpoint or the new one.
    ``--overwrite`` sets a finished run's files aside as replaced.<name> until the new run
    finishes, so an interrupted replacement loses nothing."""

    def __init__(self, path: str | Path, command: str | None = None):
        self.path = Path(path)
        self.command = command
        self.checkpoint_dir = self.path / CHECKPOINT
        self._lock: runlock.FolderLock | None = None

    @property
    def state(self) -> str:
        """``"legacy"`` (a pickled model.pt or checkpoint_last.pt), ``"finished"``
        (metrics.json), ``"unfinished"`` (another file of a run) or ``"new"``."""
        if self._legacy_file() is not None:
            return "legacy"
        if (self.path / METRICS).exists():
            return "finished"
        if any((self.path / n).exists() for n in (CONFIG, HISTORY, MODEL, MODEL_META, CHECKPOINT)):
            return "unfinished"
        return "new"

    def _legacy_file(self) -> Path | None:
        return next((self.path / n for n in LEGACY_FILES if (self.path / n).exists()), None)

    def _rerun(self, overwrite: bool = False) -> str:
        if self.command is None:
            return "rerun the training command" + (" with --overwrite" if overwrite else "")
        extra = " --overwrite" if overwrite and "--overwrite" not in self.command else ""
        return f"rerun: {self.command}{extra}"

    def corrupt(self, file: Path, why: str, in_checkpoint: bool = False) -> CorruptRunError:
        fix = f"delete {self.checkpoint_dir} and {self._rerun()}" if in_checkpoint else None
        return CorruptRunError(" ".join(f"{file} is {why}; {fix or self._rerun(True)}".split()))

    def read(self, path: Path, cap: int = JSON_CAP, in_checkpoint: bool = False) -> bytes:
        """The bytes of a run file; a FIFO, a device or an oversized file (a stranger's folder)
        is :class:`CorruptRunError` naming it, never a hang; a missing one FileNotFoundError."""
        try:
            return read_regular_file(path, cap, "run file")
        except RefusedFileError as exc:
            raise self.corrupt(path, f"refused ({exc})", in_checkpoint) from None

    def _foreign(self) -> list[str]:
        """The entries of the folder that are not a run's (a new run never starts among them)."""
        if not self.path.is_dir():
            return []
        ours = {*self._owned_names(), CHECKPOINT}
        return sorted(
            p.name
            for p in self.path.iterdir()
            if not (
                p.name in ours
                or p.name == runlock.LOCK_NAME
                or _TMP_RE.match(p.name)
                or p.name.startswith(REPLACED)
            )
        )

    def open(
        self,
        config: dict[str, Any],
        identity_keys_ignored: Iterable[str] = DEFAULT_IGNORED,
        overwrite: bool = False,
        resume: bool = True,
    ) -> str:
        """Start (``"new"``) or resume (``"resume"``) the run of a validated ``config``. First the
        folder's lock (:mod:`mner_lib.training.runlock`, held until :meth:`finish` or :meth:`close`): while
        another process writes the folder, :class:`RunBusyError` naming it. Then the decision,
        before writing anything: without ``overwrite``, a finished run is :class:`RunExistsError`,
        a legacy one :class:`LegacyRunError`, an unfinished run of another configuration
        (``identity_keys_ignored`` aside) :class:`RunFolderError`. A "new" start removes the files
        this module owns (others stay); then config.json is written atomically. A refused open
        releases the lock and leaves the folder as it was."""
        text = _dumps(config, self.path / CONFIG) + "\n"
        self._refuse_foreign(self.state)  # before the lock file: a stranger's folder gets none
        took = self._take_lock()
        try:
            return self._start(text, identity_keys_ignored, overwrite, resume)
        except BaseException:
            if took:
                self.close(discard=True)
            raise

    def _refuse_foreign(self, state: str) -> None:
        """A folder of other files (no run's) is refused: a run never starts among them."""
        if state == "new" and (foreign := self._foreign()):
            shown = ", ".join(foreign[:3]) + (
                f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            )
            raise RunFolderError(
                f"{self.path} is not a run folder: it holds {shown}; a run starts only in a new or "
                "empty folder (or its own), so choose another --out folder"
            )

    def _take_lock(self) -> bool:
        """Hold the folder's lock (False: this object holds it already)."""
        if self._lock is not None and not self._lock.released:
            return False
        try:
            self._lock = runlock.acquire(self.path, "a run folder", self._rerun(), self.command)
        except runlock.FolderBusyError as exc:
            raise RunBusyError(str(exc), exc.holder) from None
        except ValueError as exc:  # a link or a FIFO in place of the lock file
            raise RunFolderError(str(exc)) from None
        except OSError as exc:
            raise _write_error(Path(exc.filename or self.path), exc) from None
        return True

    def close(self, discard: bool = False) -> None:
        """Release the folder's lock (another process may write it now); ``discard``: remove the
        folders :meth:`open` created if they are still empty. Called by :meth:`finish`; the
        operating system releases the lock of a process that ends without calling it."""
        if self._lock is not None:
            self._lock.release(discard)

    def differences(
        self, config: dict[str, Any], ignored: Iterable[str] = DEFAULT_IGNORED
    ) -> dict[str, tuple[Any, Any]]:
        """The settings (``ignored`` aside) in which the run recorded in config.json differs
        from ``config``: ``{name: (recorded, given)}``, a missing key as ``...``; empty when the
        folder has no config.json. An unreadable one is :class:`CorruptRunError`."""
        try:
            old = json.loads(self.read(self.path / CONFIG))
            if not isinstance(old, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            return {}
        except (ValueError, OSError) as exc:
            raise self.corrupt(self.path / CONFIG, f"unreadable ({exc})") from None
        return _differences(old, config, set(ignored))

    def _start(self, text: str, ignored: Iterable[str], overwrite: bool, resume: bool) -> str:
        state, mode = self.state, "new"
        self._refuse_foreign(state)
        if state == "legacy" and not overwrite:
            raise LegacyRunError(self._legacy_file(), self._rerun(overwrite=True))
        if state == "finished" and not overwrite:
            raise RunExistsError(
                f"{self.path} holds a finished run (metrics.json); choose another --out folder "
                f"or replace it with --overwrite ({self._rerun(overwrite=True)})"
            )
        if state == "unfinished" and not overwrite:
            if (self.path / CONFIG).exists():
                differ = sorted(self.differences(json.loads(text), ignored))
            else:  # part of a run without its config: another configuration
                differ = sorted(set(json.loads(text)) - set(ignored))
            if differ:
                raise RunFolderError(
                    f"{self.path} holds an unfinished run of another configuration (differs in: "
                    f"{', '.join(differ)}); use another --out folder, resume it with its own "
                    "settings, or discard it with --overwrite"
                )
            if resume and (self.checkpoint_dir / MANIFEST).exists():
                mode = "resume"
        try:
            if state in ("finished", "legacy"):  # kept until the new run finishes
                # metrics.json last: a kill midway leaves a finished run, whose next --overwrite
                # completes the set-aside (an older set-aside file is replaced by its name only)
                names = [n for n in self._owned_names() if (self.path / n).is_file()]
                for name in sorted(names, key=lambda n: (n == METRICS, n)):
                    os.replace(self.path / name, self.path / (REPLACED + name))
            for name in self._owned_names() if mode == "new" else (MANIFEST,):
                (self.path / name).unlink(missing_ok=True)  # resumed: a manifest is stale
            if mode == "new" and self.checkpoint_dir.is_dir():
                shutil.rmtree(self.checkpoint_dir)
        except OSError as exc:
            raise _write_error(Path(exc.filename or self.path), exc) from None
        for p in [*self.path.glob(".*.tmp"), *self.checkpoint_dir.glob(".*.tmp")]:
            if _TMP_RE.match(p.name):  # a temporary file left by a kill
                _unlink_quietly(p)
        atomic_write_text(self.path / CONFIG, text)
        return mode

    def _owned_names(self) -> set[str]:
        """The files this module writes (never a name read from the folder: a stranger's
        manifest.json must not choose what a new run deletes)."""
        predictions = {
            p.name for p in [*self.path.glob("predictions_*"), *self.path.glob("tags_*")]
        }
        return set(OWNED_FILES) | {n for n in predictions if _PREDICTIONS_RE.match(n)}

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write ``name`` atomically, inside the folder only (:func:`safe_child`)."""
        atomic_write_bytes(safe_child(self.path, name), data)

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, obj: Any) -> None:
        self.write_text(name, _dumps(obj, self.path / name) + "\n")

    def finish(self, metrics: dict[str, Any]) -> None:
        """Write manifest.json (size and SHA-256 of each file this module owns, metrics.json's
        included), then metrics.json (the run is finished: a finished run always has its
        manifest), then remove the checkpoint and the run --overwrite replaced; release the
        lock."""
        data = (_dumps(metrics, self.path / METRICS) + "\n").encode("utf-8")
        files = {}
        for name in sorted(self._owned_names() - {MANIFEST, METRICS, *LEGACY_FILES}):
            if (path := self.path / name).is_file():
                files[name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
        files[METRICS] = {"size": len(data), "sha256": _sha256(data)}
        files = dict(sorted(files.items()))
        atomic_write_json(self.path / MANIFEST, {"format": FORMAT, "files": files})
        self.write_bytes(METRICS, data)
        shutil.rmtree(self.checkpoint_dir, ignore_errors=True)  # a leftover would be harmless
        for old in self.path.glob(REPLACED + "*"):  # the run --overwrite replaced
            _unlink_quietly(old)
        self.close()

    def save_model(self, state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Save the best model: its tensors and the JSON ``meta`` in one safetensors file
        (complete on its own), then model.json, a readable copy of ``meta``."""
        meta_text = _dumps(meta, self.path / MODEL_META)
        tensors = _cpu_tensors(state_dict, self.path / MODEL)
        self.write_bytes(MODEL, modelfile.encode(tensors, meta_text, FORMAT))
        self.write_text(MODEL_META, meta_text + "\n")

    def _parse_model(self, path: Path, data: bytes, in_checkpoint=False, key="meta") -> tuple:
        try:
            tensors = _st_load(data)
            header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
            return tensors, json.loads(header["__metadata__"][key])
        except (SafetensorError, ValueError, KeyError, TypeError) as exc:
            raise self.corrupt(path, f"truncated or corrupt ({exc})", in_checkpoint) from None

    def load_model(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The best model's tensors (on the CPU) and meta, checked against manifest.json once the
        run is finished. Never unpickles: a legacy folder is :class:`LegacyRunError`."""
        path, manifest = self.path / MODEL, self.path / MANIFEST
        if not path.exists():
            if (legacy := self._legacy_file()) is not None:
                raise LegacyRunError(legacy, self._rerun(overwrite=True))
            raise RunFolderError(f"no {MODEL} in {self.path}: the run saved no model yet")
        data, entry = self.read(path, MODEL_CAP), None
        if manifest.exists():
            try:
                entry = json.loads(self.read(manifest))["files"].get(MODEL)
            except (ValueError, KeyError, TypeError, AttributeError):
                raise self.corrupt(manifest, "not a valid manifest") from None
        if entry and (entry.get("size"), entry.get("sha256")) != (len(data), _sha256(data)):
            why = f"changed or truncated ({len(data)} bytes; manifest.json: {entry.get('size')})"
            raise self.corrupt(path, why)
        return self._parse_model(path, data)

    def save_checkpoint(self, tensors: dict, optimizer_state: dict, state: dict) -> None:
        """Save the resumable state: model tensors, the optimizer's state_dict (tensors, numbers,
        lists: it is read back with ``weights_only=True``) and the JSON ``state`` (epoch, best F1,
        scheduler state, :func:`rng_state`, ...), as a new generation (see the class)."""
        folder = self.checkpoint_dir
        meta = {"format": FORMAT, "state": _dumps(state, folder / "state")}
        model_bytes = _st_save(_cpu_tensors(tensors, folder), metadata=meta)
        buffer = io.BytesIO()
        torch.save(optimizer_state, buffer)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            gens = [int(m.group(1)) for p in folder.iterdir() if (m := _GEN_RE.match(p.name))]
            with suppress(OSError, ValueError, KeyError, TypeError):
                gens.append(int(json.loads((folder / MANIFEST).read_bytes())["generation"]))
            gen, files = max(gens, default=0) + 1, {}
            for role, name, data in (
                ("model", f"model-{gen:06d}.safetensors", model_bytes),
                ("optimizer", f"optimizer-{gen:06d}.pt", buffer.getvalue()),
            ):
                atomic_write_bytes(folder / name, data)
                files[role] = {"file": name, "size": len(data), "sha256": _sha256(data)}
            if (self.path / MODEL).exists():  # the best model goes with the checkpoint
                best = folder / f"best-{gen:06d}.safetensors"
                try:
                    os.link(self.path / MODEL, best)
                except OSError:
                    shutil.copyfile(self.path / MODEL, best)
                files["best"] = {"file": best.name, "size": best.stat().st_size}
                files["best"]["sha256"] = _sha256(best)
        except OSError as exc:
            raise _write_error(Path(exc.filename or folder), exc) from None
        atomic_write_json(folder / MANIFEST, {"format": FORMAT, "generation": gen, "files": files})
        keep = {MANIFEST, *(entry["file"] for entry in files.values())}
        for p in folder.iterdir():
            if p.name not in keep and p.is_file():
                _unlink_quietly(p)

    def _verified(self, entry: Any) -> tuple[Path, bytes]:
        """A checkpoint file and its bytes, after checking size and SHA-256 with the manifest."""
        try:
            path = safe_child(self.checkpoint_dir, entry["file"])
            size, sha = entry["size"], entry["sha256"]
        except (RunFolderError, KeyError, TypeError) as exc:
            why = f"not a valid checkpoint manifest ({exc})"
            raise self.corrupt(self.checkpoint_dir / MANIFEST, why, True) from None
        if not path.exists():
            raise self.corrupt(path, "missing", in_checkpoint=True)
        blob = self.read(path, MODEL_CAP, in_checkpoint=True)
        if (found := len(blob)) != size:
            why = f"truncated ({found} bytes; the checkpoint manifest says {size})"
            raise self.corrupt(path, why, in_checkpoint=True)
        if _sha256(blob) != sha:
            raise self.corrupt(path, "corrupt (its SHA-256 differs from the manifest)", True)
        return path, blob

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> tuple | None:
        """``(tensors, optimizer_state, state)`` of the last complete checkpoint, or None when
        there is none; every file is checked against the manifest (:class:`CorruptRunError`
        naming the file and the command to restart). It brings the folder back to that
        checkpoint: a model.safetensors saved after it is replaced by the checkpoint's best
        model, and history.jsonl loses the epochs after ``state["epoch"]``."""
        path = self.checkpoint_dir / MANIFEST
        try:
            files = json.loads(self.read(path, in_checkpoint=True))["files"]
            blobs = {role: self._verified(files[role])[1] for role in ("model", "optimizer")}
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:  # a CorruptRunError passes through
            if isinstance(exc, RunFolderError):
                raise
            why = f"not a valid checkpoint manifest, truncated or corrupt ({exc})"
            raise self.corrupt(path, why, in_checkpoint=True) from None
        try:
            tensors, state = self._parse_model(self.checkpoint_dir, blobs["model"], True, "state")
            optimizer_state = torch.load(
                io.BytesIO(blobs["optimizer"]), map_location=map_location, weights_only=True
            )
        except Exception as exc:  # noqa: BLE001 - whatever fails to read is a corrupt file
            why = f"unreadable ({str(exc)[:200]})"
            raise self.corrupt(self.checkpoint_dir, why, in_checkpoint=True) from None
        self._restore_best(files.get("best"))
        if isinstance(state, dict) and isinstance(epoch := state.get("epoch"), int):
            history = self.history()
            if any(r.get("epoch", 0) > epoch for r in history):  # they are run again
                self._write_history([r for r in history if r.get("epoch", 0) <= epoch])
        return tensors, optimizer_state, state

    def _restore_best(self, entry: dict[str, Any] | None) -> None:
        model = self.path / MODEL
        if entry is None:  # no best model yet when the checkpoint was taken
            for name in (MODEL, MODEL_META):
                _unlink_quietly(self.path / name)
            return
        if model.exists() and _sha256(model) == entry.get("sha256"):
            return
        path, data = self._verified(entry)
        _, meta = self._parse_model(path, data, in_checkpoint=True)
        self.write_bytes(MODEL, data)
        self.write_text(MODEL_META, _dumps(meta, self.path / MODEL_META) + "\n")

    def history(self) -> list[dict[str, Any]]:
        """The epoch records of history.jsonl, in order."""
        path = self.path / HISTORY
        try:
            lines = self.read(path).decode("utf-8").splitlines() if path.exists() else []
        except UnicodeDecodeError:
            raise self.corrupt(path, "not UTF-8 text") from None
        records = []
        for number, line in enumerate(lines, 1):
            try:
                records.append(json.loads(line))
            except ValueError:
                raise self.corrupt(path, f"not JSON at line {number}") from None
        return records

    def _write_history(self, records: list[dict[str, Any]]) -> None:
        self.write_text(HISTORY, "".join(_dumps(r, HISTORY, None) + "\n" for r in records))

    def append_history(self, record: dict[str, Any]) -> None:
        """Add the record of epoch ``record["epoch"]`` (an int from 1), dropping any record of
        that epoch or later first, so that no epoch appears twice; rewritten atomically."""
        epoch = record.get("epoch")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
            raise RunFolderError(f"a history record needs an integer 'epoch' from 1, got {epoch!r}")
        self._write_history([*(r for r in self.history() if r.get("epoch", 0) < epoch), record])


def _differences(old: dict, new: dict, ignored: set[str]) -> dict[str, tuple[Any, Any]]:
    keys = sorted({*old, *new} - ignored)
    return {
        k: (old.get(k, ...), new.get(k, ...)) for k in keys if old.get(k, ...) != new.get(k, ...)
    }
