"""Reading a file that may be hostile: only a regular file, only up to a size cap, never a hang.

A run reads files named by its input (data files; ``<IMGID>.jpg`` images). Some of them need not
be files at all: a FIFO named ``train.txt`` or ``<id>.jpg`` makes ``open()`` wait for a writer
forever, and ``/dev/zero`` linked as an image never ends. :func:`read_regular_file` checks with
``stat`` (after symlinks) what the path is before it opens it, opens without blocking, and reads
at most the cap. What it refuses is a :class:`RefusedFileError` whose ``reason`` says why
(``not-a-file``, ``too-large``, ``unreadable``), in one line naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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
