"""Reading a file that may be hostile: only a regular file, only up to a size cap, never a hang.

A run reads files named by its input (data files; ``<IMGID>.jpg`` images). Some of them need not
be files at all: a FIFO named ``train.txt`` or ``<id>.jpg`` makes ``open()`` wait for a writer
forever, and ``/dev/zero`` linked as an image never ends. :func:`read_regular_file` checks with
``stat`` (after symlinks) what the path is before it opens it, opens without blocking, and reads
at most the cap. What it refuses is a :class:`RefusedFileError` whose ``reason`` says why
(``not-a-file``, ``too-large``, ``unreadable``), in one line naming the file.

Two helpers go with it: :func:`parse_json` (JSON text from a file: a syntax error or nesting
deeper than the parser's recursion limit is one ``ValueError`` naming the file and the line,
never a ``RecursionError``) and :func:`append_regular` (append to a file that must be a regular
file: a FIFO is refused at once instead of waiting for a reader).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

REFUSAL_REASONS = ("not-a-file", "too-large", "unreadable")
_FILE_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class RefusedFileError(ValueError):
    """A file not read; ``reason`` is one of :data:`REFUSAL_REASONS`."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is (from ``st_mode``), in words."""
    return _FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")


def read_regular_file(path: str | os.PathLike, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``).

    A FIFO, a device, a folder, a larger file or an unreadable one (permission denied) is a
    :class:`RefusedFileError`; no file at all is a FileNotFoundError. ``what`` names the file's
    role in the messages (``"data file"``, ``"image"``)."""
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            kind = file_kind(info.st_mode)
            raise RefusedFileError(f"{path}: {kind}, not a regular file ({what})", "not-a-file")
        if info.st_size > max_bytes:
            message = f"{path}: {info.st_size} bytes, over the limit of {max_bytes} ({what})"
            raise RefusedFileError(message, "too-large")
        # O_NONBLOCK: should the path have become a FIFO since the stat, open() still returns
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as f:
            data = f.read(max_bytes + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"{what} not found: {path}") from None
    except OSError as err:
        message = f"{path}: cannot be read: {err.strerror or err} ({what})"
        raise RefusedFileError(message, "unreadable") from None
    if len(data) > max_bytes:  # grew since the stat
        raise RefusedFileError(f"{path}: over the limit of {max_bytes} bytes ({what})", "too-large")
    return data


def excerpt(text: str, limit: int = 60) -> str:
    """``repr`` of ``text`` cut to ``limit`` characters, so a 1 MB line gives a short message."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def parse_json(text: str, where: str) -> Any:
    """``json.loads(text)``; a syntax error or nesting too deep for the parser (about a thousand
    levels: Python's recursion limit) is a ``ValueError`` naming ``where`` and the line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}:{err.lineno}: not valid JSON ({err.msg})") from None
    except RecursionError:
        raise ValueError(f"{where}: JSON nested too deeply to read") from None


def append_regular(path: str | os.PathLike, data: bytes, what: str = "file") -> None:
    """Append ``data`` to ``path`` in one ``write`` (created if missing). Only a regular file is
    written: a FIFO, a device or a folder is a :class:`RefusedFileError` at once (the file is
    opened without blocking), never a wait for a reader."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = stat.S_IFREG  # not there yet (created below), or said by open() below
    if not stat.S_ISREG(mode):
        raise RefusedFileError(
            f"{path}: {file_kind(mode)}, not a regular file ({what})", "not-a-file"
        )
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as err:
        message = f"{path}: cannot be written: {err.strerror or err} ({what})"
        raise RefusedFileError(message, "unreadable") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise RefusedFileError(
                f"{path}: {file_kind(mode)}, not a regular file ({what})", "not-a-file"
            )
        view = memoryview(data)
        while view:  # O_APPEND: each write lands at the end, whoever else appends
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def read_json(path: str | os.PathLike, max_bytes: int, what: str = "file") -> Any:
    """The JSON of the regular file ``path`` (at most ``max_bytes``, :func:`read_regular_file`);
    not JSON (or nested too deep) is a ValueError naming the file and, where known, the line."""
    data = read_regular_file(path, max_bytes, what=what)
    try:
        return json.loads(data)  # UTF-8 (or -16, -32)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    except RecursionError:
        raise ValueError(f"{path}: not valid JSON (nested too deep)") from None
    except ValueError as err:  # not UTF-8; an integer of thousands of digits
        raise ValueError(f"{path}: not valid JSON ({err})") from err
