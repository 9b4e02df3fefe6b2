"""Checks of what a user types, shared by the commands: an output file that can be written, a
positive integer."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def check_out_file(
    out: Path, flag: str = "--out", overwrite: bool = True, example: str = "out.json"
) -> None:
    """Refuse, before the work that fills it, an output file that could not be written or
    (without ``overwrite``) would replace a file; a missing parent folder is created at saving.
    A FIFO or a device is refused, never opened (writing to it would hang or go astray)."""
    if out.is_dir():
        raise ValueError(f"{flag} {out}: is a folder; give a file, e.g. {out / example}")
    if out.exists() or out.is_symlink():
        if not out.is_file():
            raise ValueError(f"{flag} {out}: exists and is not a regular file")
        if not overwrite:
            raise ValueError(
                f"{flag} {out}: the file exists; choose another {flag} or replace it with --overwrite"
            )
    parent = next(p for p in out.absolute().parents if p.exists())
    if not parent.is_dir():
        raise ValueError(f"{flag} {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {out}: cannot write in {parent}")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
