"""What the book's runner reuses from its last run: an executed chapter whose inputs did not
change, the staged build input, and the HTML itself.

A chapter takes minutes to execute and a whole build of the site more than one, so a rebuild
with nothing changed must reuse both. A chapter's page depends on more than its notebook: the
parameters papermill injects, the library the kernel imports, the recorded runs under
``results/`` it shows, the data folder it reads and the kernel's settings. jupyter-cache keys a
notebook on its code cells alone and runs it with its own executor (no papermill parameters), so
the runner keys each chapter itself: :meth:`Keys.chapter` hashes each of those *parts*
(:data:`WHY`), and a :class:`Record` beside the executed notebook
(``book/_executed/<stem>.key.json``) keeps the parts' hashes, so the log can say which part
changed, and the hash of the executed notebook, so a notebook rewritten or cut short since
(an interrupted run, an edit by hand) is not taken for the cached one.

A record is removed before its product is rewritten and written (atomically) only after the
product is complete: a failed or interrupted execution or build leaves no record, and the next run
redoes it.

:func:`sync_tree` stages the build input by copying only the files whose bytes differ, so an
unchanged file keeps its modification time and Sphinx's incremental build rereads only what
changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mner_lib.io.atomicfile import atomic_write_bytes, atomic_write_json

#: each part of a key, in the order the log names them, and what its change is called there
WHY: dict[str, str] = {
    "notebook": "notebook changed",
    "parameters": "parameters changed",
    "library": "library changed",
    "results": "results changed",
    "data": "data folder changed",
    "runs": "this build's runs changed",
    "environment": "kernel settings changed",
    "staged": "staged sources changed",
    "tools": "Python or Jupyter Book version changed",
}
MISSING = "missing"  # the hash of a folder that does not exist


def _skip_library_file(rel: str) -> bool:
    """Byte code is the interpreter's copy of the sources, rewritten whenever they are imported."""
    return rel.endswith(".pyc")


def files_under(
    folder: Path,
    skip_dir: Callable[[str], bool] = lambda name: False,
    skip_file: Callable[[str], bool] = lambda rel: False,
) -> list[tuple[str, Path]]:
    """Every file below ``folder`` as ``(posix path relative to folder, path)``, sorted, so a
    hash over them does not depend on the order the file system lists them. Folders for which
    ``skip_dir(name)`` holds are not entered; linked folders are not followed (a link cycle would
    never end), linked files are read through."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not skip_dir(d)]
        base = Path(dirpath)
        for name in filenames:
            rel = (base / name).relative_to(folder).as_posix()
            if not skip_file(rel):
                out.append((rel, base / name))
    return sorted(out)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def content_hash(folder: Path, **skip: Callable[[str], bool]) -> str:
    """A sha256 over the names and contents of every file below ``folder`` (:data:`MISSING`
    when there is no such folder): for inputs small enough to read whole, where a rewrite with
    the same bytes must not count as a change."""
    if not folder.is_dir():
        return MISSING
    total = hashlib.sha256()
    for rel, path in files_under(folder, **skip):
        total.update(f"{rel}\0{file_sha256(path)}\n".encode())
    return total.hexdigest()


def listing_hash(folder: Path) -> str:
    """A sha256 over the names, sizes and modification times (ns) of the files below ``folder``:
    for inputs too large to read on every run (a data folder's images, this build's run
    folders). A file that vanishes while it is listed (a writer replacing it) is left out."""
    if not folder.is_dir():
        return MISSING
    total = hashlib.sha256()
    for rel, path in files_under(folder):
        with suppress(FileNotFoundError):
            info = path.stat()
            total.update(f"{rel}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return total.hexdigest()


def digest(parts: Mapping[str, str]) -> str:
    """The key itself: one sha256 over all the parts."""
    return hashlib.sha256(json.dumps(dict(parts), sort_keys=True).encode()).hexdigest()


def _json_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Keys:
    """The parts of the keys of one run of the book. ``root`` is where a relative folder
    parameter points (the kernel's working folder), ``library`` the package the kernel imports
    (``mner_lib/``, its profiles and demo data included), ``env`` the profile's variables. The
    library and each results folder are hashed once per run: no chapter writes them."""

    root: Path
    library: Path
    env: Mapping[str, str]
    _memo: dict[Path, str] = field(default_factory=dict)

    def _content(self, folder: Path, **skip: Callable[[str], bool]) -> str:
        if folder not in self._memo:
            self._memo[folder] = content_hash(folder, **skip)
        return self._memo[folder]

    def folder(self, value: str) -> Path:
        return self.root / os.path.expanduser(value)  # an absolute value stays as it is

    def library_hash(self) -> str:
        return self._content(
            self.library, skip_dir=lambda name: name == "__pycache__", skip_file=_skip_library_file
        )

    def environment(self) -> str:
        """The profile's variables, the ``MNER_*`` settings the kernel inherits (the data folder
        is the ``data`` part, only where a chapter reads it) and the Python version."""
        inherited = {
            k: v for k, v in os.environ.items() if k.startswith("MNER_") and k != "MNER_DATA_DIR"
        }
        return _json_hash(
            {"profile": dict(self.env), "inherited": inherited, "python": sys.version}
        )

    def data_folder(self, params: Mapping[str, Any]) -> Path | None:
        """The data folder a chapter reads: its ``data_dir``, or ``$MNER_DATA_DIR`` when its
        dataset is not the demo corpus shipped in the library; ``None`` when it reads none."""
        if params.get("data_dir"):
            return self.folder(params["data_dir"])
        if params.get("dataset", "demo") != "demo" and os.environ.get("MNER_DATA_DIR"):
            return self.folder(os.environ["MNER_DATA_DIR"])
        return None

    def chapter(self, notebook: Path, params: Mapping[str, Any], reads_runs: bool) -> dict:
        """The parts of a chapter's key: its notebook's bytes, its parameters (validated, as
        injected), the library, the contents of its ``results_dir``, the listing of the data
        folder it reads, the listing of ``runs_dir`` where ``reads_runs`` (a chapter that shows
        the runs other chapters of this build trained) and the kernel's settings."""
        parts = {
            "notebook": file_sha256(notebook),
            "parameters": _json_hash(params),
            "library": self.library_hash(),
            "environment": self.environment(),
        }
        if params.get("results_dir"):
            parts["results"] = self._content(self.folder(params["results_dir"]))
        data = self.data_folder(params)
        if data is not None:
            parts["data"] = listing_hash(data)
        if reads_runs and params.get("runs_dir"):
            parts["runs"] = listing_hash(self.folder(params["runs_dir"]))
        return parts

    def build(self, stage: Path, results: Path) -> dict:
        """The parts of the HTML build's key: every staged file, the results folder (read at
        build time by the book's Sphinx extensions), the library (which holds them) and the
        versions of Python and Jupyter Book."""
        from importlib import metadata

        try:
            jupyter_book = metadata.version("jupyter-book")
        except metadata.PackageNotFoundError:
            jupyter_book = "none"
        return {
            "staged": content_hash(stage),  # not memoised: the runner stages before it asks
            "results": self._content(results),
            "library": self.library_hash(),
            "tools": _json_hash({"python": sys.version, "jupyter-book": jupyter_book}),
        }


@dataclass(frozen=True)
class Record:
    """The key a product (an executed notebook, the HTML's ``index.html``) was made with,
    kept in ``file`` beside it."""

    file: Path
    product: Path

    def read(self) -> dict | None:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # none yet, or not ours: the product is made again
            return None
        ok = isinstance(data, dict) and isinstance(data.get("parts"), dict)
        return data if ok else None

    def stale(self, parts: Mapping[str, str], force: bool = False) -> list[str]:
        """Why the product must be made again, in words (``[]``: the recorded one is current)."""
        if force:
            return ["--force"]
        recorded = self.read()
        if recorded is None:
            return ["no cached copy"]
        old = recorded["parts"]
        names = [p for p in WHY if p in old or p in parts]
        names += sorted(p for p in {*old, *parts} if p not in WHY)
        changed = [WHY.get(p, f"{p} changed") for p in names if old.get(p) != parts.get(p)]
        if changed:
            return changed
        if not self.product.is_file() or file_sha256(self.product) != recorded.get("product"):
            return [f"{self.product.name} missing or changed since it was recorded"]
        return []

    def due(
        self,
        parts: Mapping[str, str],
        force: bool,
        log: Callable[[str], Any],
        name: str,
        doing: str,
        kept: str = "cached",
    ) -> bool:
        """Whether the product must be made again; logs ``<name>: <kept> (key …)`` or
        ``<name>: <doing> (<why>)``, so the log says which input changed."""
        why = self.stale(parts, force)
        if why:
            log(f"{name}: {doing} ({', '.join(why)})")
        else:
            log(f"{name}: {kept} (key {digest(parts)[:12]}…)")
        return bool(why)

    @contextmanager
    def making(self, parts: Mapping[str, str]) -> Iterator[None]:
        """Around making the product: the record is removed first and written (atomically)
        only when the block ends without an exception, so a failed or interrupted run never
        leaves a record that matches a half-written product."""
        with suppress(FileNotFoundError):
            self.file.unlink()
        yield
        product = file_sha256(self.product)
        atomic_write_json(
            self.file, {"key": digest(parts), "parts": dict(parts), "product": product}
        )


def reads_runs(chapter: str) -> bool:
    """Whether ``chapter`` shows the runs the training chapters of this build wrote: it has a
    ``runs_dir`` but trains no ``models`` (the comparison, the reproducibility appendix). The
    listing of that folder is then part of its key, so it is executed again after them."""
    from mner_lib.book.params import schema

    known = schema(chapter)
    return "runs_dir" in known and "models" not in known


def key_file(executed: Path) -> Path:
    """Where the key of an executed notebook lives: ``<stem>.key.json`` beside it."""
    return executed.with_name(f"{executed.stem}.key.json")


def sync_tree(files: Mapping[str, Path], stage: Path) -> list[str]:
    """Make ``stage`` hold exactly ``files`` (posix path relative to ``stage`` -> source file).
    A file whose bytes already match is left alone (its modification time too, so Sphinx sees it
    unchanged); one that differs is rewritten (atomically, with a new modification time, so Sphinx
    rereads it); a file or empty folder not in ``files`` is removed. Returns the names
    rewritten."""
    stage.mkdir(parents=True, exist_ok=True)
    written = []
    for rel in sorted(files):
        data = files[rel].read_bytes()
        target = stage / rel
        if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
            continue
        if target.is_symlink() or target.is_dir():
            _remove(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
        written.append(rel)
    for path in sorted(stage.rglob("*"), reverse=True):  # children before their folders
        rel = path.relative_to(stage).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif rel not in files:
            path.unlink()
    return written


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
