"""Files written whole or not at all: each is written beside itself, fsynced and renamed over
its name, so a kill or a full or read-only disk leaves the previous complete file; an OSError
becomes one line naming the file and what to do. Run folders (:mod:`mner_lib.training.runfolder`) write
every file through here, and so do the commands that save a result file."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

_HINTS = dict.fromkeys((errno.ENOSPC, errno.EDQUOT), "the disk is full; free some space and rerun")
_HINTS.update(dict.fromkeys((errno.EROFS, errno.EACCES, errno.EPERM), "choose a writable --out"))
# tests simulate a kill: _hook(stage, path), stage "before_replace" or "after_replace"
_hook: Callable[[str, Path], None] | None = None


class RunFolderError(ValueError):
    """A run folder cannot be used as asked; the message is one line that says what to do."""


def _write_error(path: Path, exc: OSError) -> RunFolderError:
    number = exc.errno or 0
    message = f"cannot write {path}: {exc.strerror or exc} ({errno.errorcode.get(number, '?')}); "
    return RunFolderError(" ".join((message + _HINTS.get(number, "check the folder")).split()))


def _unlink_quietly(path: Path) -> None:
    with suppress(OSError):
        path.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (a temporary file beside it, fsynced, renamed over it): the file
    holds the old or the new content, never a part. On an OSError (full disk, read-only folder)
    the temporary file is removed and a one-line :class:`RunFolderError` names path and cause."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if _hook is not None:
            _hook("before_replace", path)
        os.replace(tmp, path)
    except BaseException as exc:
        _unlink_quietly(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise
    if _hook is not None:
        _hook("after_replace", path)
    with suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _dumps(obj: Any, what: str | Path, indent: int | None = 2) -> str:
    try:
        return json.dumps(obj, indent=indent)
    except (TypeError, ValueError) as exc:
        raise RunFolderError(f"{what}: cannot be written as JSON ({exc}); use plain data") from None


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, _dumps(obj, path) + "\n")


def _sha256(data: bytes | Path) -> str:
    """The SHA-256 of bytes, or of a file read in blocks."""
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    with open(data, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def safe_child(root: str | Path, name: str) -> Path:
    """``root/name`` resolved; :class:`RunFolderError` unless it lies strictly inside ``root``
    (an empty name, an absolute path, a ``..`` part or a symbolic link leading out are refused).
    Used for experiment names and for every file a run writes."""
    root, text, why = Path(root), str(name), "it is empty or not a file name"
    if Path(text).is_absolute():
        why = "it is an absolute path"
    elif ".." in Path(text).parts:
        why = "it contains '..'"
    elif text not in ("", ".") and "\x00" not in text:
        base = root.resolve()
        target = (base / text).resolve()
        if target != base and target.is_relative_to(base):
            return target
        why = f"it leads to {target} through a symbolic link"
    raise RunFolderError(f"{text!r} is not a name inside {root}: {why}; use a name such as 'exp1'")
