"""One writer per folder: an OS lock on ``<folder>/.lock`` for as long as the writer works.

A run folder (:meth:`mner_lib.training.runfolder.RunFolder.open`), a sweep's experiment folder (its run
folders and its summary files) and the campaign queue of a checkout each have one owner. The lock
is ``fcntl.flock`` on the lock file, taken without waiting: a second writer is refused at once
with a one-line :class:`FolderBusyError` naming the holder's process, command and start time
(which the holder writes into the file). The operating system releases the lock when the holder
ends in any way, so a killed run can be resumed at once; a lock file left by a killed process
holds no lock and is simply taken over.

Inside one process a folder's lock is re-entrant (a sweep that holds its experiment folder writes
its summary; a notebook trains twice into one folder): the lock guards against other processes. A
forked child does not inherit the right to write: it is refused like any other process.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the lock file's name inside the folder it guards (never part of a run's manifest)
LOCK_NAME = ".lock"
_MAX_INFO = 4096
#: locks this process holds: real path of the lock file -> [fd, count, pid]
_held: dict[str, list[int]] = {}


class FolderBusyError(ValueError):
    """Another process holds the folder; ``holder`` is what it wrote into the lock file."""

    def __init__(self, message: str, holder: dict[str, Any]):
        super().__init__(message)
        self.holder = holder


def read_holder(file: str | Path) -> dict[str, Any]:
    """What the holder of ``file`` wrote (pid, host, command, since), ``{}`` when unreadable; a
    FIFO, a device or a link in its place is never opened for long or followed."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        info = json.loads(os.read(fd, _MAX_INFO).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    finally:
        os.close(fd)
    return info if isinstance(info, dict) else {}


def describe_holder(info: dict[str, Any]) -> str:
    """``process 1234 (its command, since <time>)`` on one line; ``another process`` when the
    holder has not written (or wrote nonsense)."""
    pid = info.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return "another process"
    text = f"process {pid}"
    if isinstance(host := info.get("host"), str) and host and host != socket.gethostname():
        text += f" on host {' '.join(host.split())[:80]}"
    details = []
    if isinstance(command := info.get("command"), str) and command.strip():
        command = " ".join(command.split())
        details.append(command if len(command) <= 200 else command[:197] + "...")
    if isinstance(since := info.get("since"), str) and since.strip():
        details.append(f"since {' '.join(since.split())[:40]}")
    return text + (f" ({', '.join(details)})" if details else "")


def _busy(file: Path, what: str, fix: str) -> FolderBusyError:
    info = read_holder(file)
    who = describe_holder(info)
    stop = f" (kill {info['pid']})" if "pid" in info and who != "another process" else ""
    return FolderBusyError(
        f"{file.parent} is in use by {who}: {what} has one writer at a time; wait for it to "
        f"end, or stop it{stop}, then {fix}",
        info,
    )


def _holder_info(command: str | None, pid: int | None = None) -> bytes:
    info = {
        "pid": pid if pid is not None else os.getpid(),
        "host": socket.gethostname(),
        "command": command if command is not None else " ".join(sys.argv),
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return (json.dumps(info) + "\n").encode("utf-8")


def _write_info(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _open_lock_file(file: Path) -> int:
    """The lock file opened for locking; a link, a FIFO or a folder in its place is refused."""
    try:
        fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(
                f"{file} is a symbolic link; a lock file must be a plain file: remove it and rerun"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"{file} is not a regular file; remove it and rerun")
    return fd


def _same_file(fd: int, file: Path) -> bool:
    """Whether ``file`` still names the open ``fd`` (a holder removes it when it releases)."""
    try:
        now = os.stat(file, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


@dataclass
class FolderLock:
    """The lock of one folder held by this process; :meth:`release` once the work is done."""

    folder: Path
    file: Path
    key: str
    created: list[Path] = field(default_factory=list)
    released: bool = False

    def release(self, discard: bool = False) -> None:
        """Give the folder up (the lock file is removed while still held, then closed). With
        ``discard`` (the writer wrote nothing), the folders :func:`acquire` created are removed
        again when empty. A second call does nothing."""
        if self.released:
            return
        self.released = True
        entry = _held.get(self.key)
        if entry is None or entry[2] != os.getpid():
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[self.key]
        fd = entry[0]
        try:
            if _same_file(fd, self.file):
                self.file.unlink()
        except OSError:
            pass
        finally:
            os.close(fd)
        if discard:
            for folder in reversed(self.created):
                try:
                    folder.rmdir()
                except OSError:
                    break


def acquire(
    folder: str | Path,
    what: str = "a run folder",
    fix: str = "rerun",
    command: str | None = None,
) -> FolderLock:
    """Take the lock of ``folder`` (created with its parents when missing) without waiting.
    :class:`FolderBusyError` when another process holds it: "``folder`` is in use by process N
    (its command, since T): ``what`` has one writer at a time; wait for it to end, or stop it
    (kill N), then ``fix``". ``command`` is written for the next writer to read (default: this
    process's command line). An OSError (a read-only folder) passes through."""
    folder = Path(folder)
    created = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / LOCK_NAME
    key = os.path.join(os.path.realpath(folder), LOCK_NAME)
    entry = _held.get(key)
    if entry is not None and entry[2] == os.getpid():
        entry[1] += 1
        return FolderLock(folder, file, key)
    for _ in range(100):  # another holder released (and removed the file) between open and lock
        fd = _open_lock_file(file)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _busy(file, what, fix) from None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, file):
            break
        os.close(fd)
    else:
        raise _busy(file, what, fix)
    try:
        _write_info(fd, _holder_info(command))
    except BaseException:
        os.close(fd)
        raise
    _held[key] = [fd, 1, os.getpid()]
    return FolderLock(folder, file, key, created)


def lock_descriptor(fd: int, file: str | Path, what: str, fix: str, command: str, pid: int) -> None:
    """Lock an open descriptor ``fd`` of ``file`` that a shell holds (``exec 9<>file``): the lock
    lasts as long as the shell (and every child that inherited the descriptor) keeps it open;
    ``pid`` and ``command`` (the shell's) are written for the next writer to read.
    :class:`FolderBusyError` as :func:`acquire` when another process holds it."""
    file = Path(file)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise ValueError(f"{file} is not a regular file; remove it and rerun")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _busy(file, what, fix) from None
    if not _same_file(fd, file):
        raise ValueError(f"{file} was replaced while it was being locked; rerun")
    _write_info(fd, _holder_info(command, pid))
