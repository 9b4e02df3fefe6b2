"""An append-only on-disk store of per-image feature arrays, keyed by image content.

Layout of one store (one folder per everything that decides the features, see
:func:`store_name`)::

    <cache>/<store>/identity.json        what decides the features (backbone, weights, size...)
    <cache>/<store>/index.tsv            key <TAB> shard <TAB> row   (one line per image)
    <cache>/<store>/shards/<shard>/<array>.npy   (n, ...) float16 arrays, one row per image
    <cache>/<store>/shards/<shard>/manifest.json the keys of its rows, each array file's size
                                                  and SHA-256

Shards are written whole (to a temporary folder, then renamed) *before* their index lines are
appended, so a reader never sees a key whose rows are not on disk, and a killed run loses at most
the shard it was writing. Readers memory-map the shards (``np.load(mmap_mode="r")``): reading a
batch touches only its rows, so memory stays bounded whatever the dataset size. Writers are
streamed: :meth:`FeatureStore.put` holds at most one shard of rows in memory. Processes that
would compute the same images side by side take turns (:func:`computing`, a lock per dataset,
image source and seed): the later one finds them cached.

What is read is verified, never trusted:

* an index line that is not ``key<TAB>shard<TAB>row`` (a 16-hex-digit shard name: nothing
  outside the store is ever opened; a row number) is ignored, with one warning naming the index
  file and the line; its image is computed again. So is a line whose shard does not hold that
  key at that row (the shard's manifest lists its rows' keys);
* a shard is checked once per process before its rows are used: its manifest, each array file's
  size and SHA-256 (computed once when the shard was written), the arrays' dtype, rows and row
  shapes. A shard that fails (truncated, changed, missing a file) is set aside: its images are
  computed again and stored in a new shard, with one warning naming the shard and what failed;
* ``identity.json`` must describe the features the caller asks for; another one is an error
  naming the folder (a folder's name carries a hash of its identity, so this means tampering).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import stat
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from mner_lib.io.plural import counted, noun
from mner_lib.io.safe_read import RefusedFileError, append_regular, parse_json, read_regular_file

LOGGER = logging.getLogger("mner_lib.images")
#: The layout version written into every shard manifest and store identity.
STORE_FORMAT = 2
#: The largest index file read (a line takes about 70 bytes: millions of images).
MAX_INDEX_BYTES = 512 * 2**20
#: The largest shard manifest or identity file read.
MAX_MANIFEST_BYTES = 2**20
_SHARD = re.compile(r"[0-9a-f]{16}")
_KEY = re.compile(r"[!-~]{1,300}")  # printable ASCII, no space, tab or line break
_ROW = re.compile(r"[0-9]{1,9}")
_CHUNK = 1 << 20


class FeatureCacheError(ValueError):
    """A feature cache that cannot be used as it is; the message names its path."""


def default_cache_dir() -> Path:
    """``$MNER_CACHE_DIR`` else ``~/.cache/mner_lib/features``."""
    value = os.environ.get("MNER_CACHE_DIR")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "mner_lib" / "features"


def identity_digest(identity: dict[str, Any]) -> str:
    """A short hash of a store's identity (its canonical JSON)."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def store_name(
    backbone: str,
    pretrained: bool,
    image_size: int,
    version: int,
    seed: int,
    identity: dict[str, Any] | None = None,
) -> str:
    """``<backbone>-<weights>-<size>px-v<version>``, then ``-<hash>`` of ``identity`` (all that
    decides the features) when given."""
    weights = "pretrained" if pretrained else f"random{seed}"
    name = f"{backbone}-{weights}-{image_size}px-v{version}"
    return f"{name}-{identity_digest(identity)}" if identity else name


@contextmanager
def computing(store_dir: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``what`` (e.g. one dataset's synthetic images of one seed) of the
    store while its features are computed: a second process about to compute the same images (a
    book chapter beside another, a campaign worker beside one on the same data) waits, then
    finds them cached instead of computing them again. The lock is ``flock`` on
    ``<store>/.computing-<hash of what>.lock``, released when the holder ends, however it ends;
    where there are no POSIX locks, or the lock file cannot be written (a read-only cache that
    holds every image already), nothing waits."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    name = hashlib.sha256(what.encode()).hexdigest()[:16]
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        handle = open(store_dir / f".computing-{name}.lock", "a")  # noqa: SIM115 (held below)
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _regular(path: Path, what: str) -> bool:
    """True when ``path`` is a regular file, False when it is missing; anything else (a FIFO,
    a folder) is a :class:`FeatureCacheError` naming it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(mode):
        raise FeatureCacheError(f"{path}: not a regular file ({what}); delete it and run again")
    return True


class FeatureStore:
    """Feature rows by content key; see the module docstring.

    ``shapes``: the arrays every row has, name -> row shape (checked in every shard; without
    it, the names and shapes of a store's first verified shard). ``identity``: what decides the
    features, written to ``identity.json`` and checked against it.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        shard_rows: int = 256,
        max_open: int = 16,
        shapes: dict[str, tuple[int, ...]] | None = None,
        identity: dict[str, Any] | None = None,
    ):
        self.root = Path(root)
        self.shard_rows = shard_rows
        self.max_open = max_open
        self.shapes = {k: tuple(v) for k, v in shapes.items()} if shapes else None
        self.identity = identity
        self._index: dict[str, tuple[str, int]] = {}
        self._index_size = 0
        self._index_lines = 0
        self._open: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self._keys: dict[str, list[str]] = {}  # verified shard -> the keys of its rows
        self._bad: dict[str, str] = {}  # shard -> why it is not used
        self._pending_keys: list[str] = []
        self._pending: dict[str, list[np.ndarray]] = {}
        self._identity_checked = False
        self.refresh()

    # -- identity ---------------------------------------------------------------------------
    def _check_identity(self, write: bool) -> None:
        if self.identity is None or self._identity_checked:
            return
        path = self.root / "identity.json"
        wanted = {"format": STORE_FORMAT, **self.identity}
        if _regular(path, "feature cache identity"):
            data = read_regular_file(path, MAX_MANIFEST_BYTES, "feature cache identity")
            try:
                found = parse_json(data.decode("utf-8", "replace"), str(path))
            except ValueError as err:
                found = f"unreadable ({err})"
            if found != json.loads(json.dumps(wanted)):
                raise FeatureCacheError(
                    f"feature cache {self.root}: identity.json describes other features than "
                    "the ones asked for; delete the folder (it is rebuilt) or use another "
                    "--cache-dir"
                )
            self._identity_checked = True
        elif write:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".identity-{uuid.uuid4().hex[:8]}.json"
            tmp.write_text(json.dumps(wanted, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
            self._identity_checked = True

    # -- index ------------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.root / "index.tsv"

    def refresh(self) -> None:
        """Read index lines appended since the last read (by this or another process)."""
        path = self.index_path
        if not _regular(path, "feature cache index"):
            return
        self._check_identity(write=False)
        with open(path, "rb") as f:
            f.seek(self._index_size)
            data = f.read(MAX_INDEX_BYTES + 1 - self._index_size)
        if self._index_size + len(data) > MAX_INDEX_BYTES:
            raise FeatureCacheError(
                f"{path}: over {MAX_INDEX_BYTES} bytes (MAX_INDEX_BYTES); delete the folder "
                f"{self.root} (it is rebuilt) or use another --cache-dir"
            )
        complete = data[: data.rfind(b"\n") + 1]  # ignore a half-written last line
        self._index_size += len(complete)
        bad, first = 0, 0
        for line in complete.decode("utf-8", "replace").split("\n")[:-1]:
            self._index_lines += 1
            parts = line.split("\t")
            if not line:
                continue  # the newline a writer puts before its lines
            if (
                len(parts) != 3
                or not _KEY.fullmatch(parts[0])
                or not _SHARD.fullmatch(parts[1])
                or not _ROW.fullmatch(parts[2])
            ):
                bad, first = bad + 1, first or self._index_lines
                continue
            self._index[parts[0]] = (parts[1], int(parts[2]))
        if bad:
            LOGGER.warning(
                "feature cache %s:%d: %d %s not of the form key<TAB>shard<TAB>row; "
                "ignored, their images are computed again",
                path,
                first,
                bad,
                noun(bad, "index line"),
            )

    def __contains__(self, key: str) -> bool:
        return key in self._index or key in self._pending_keys

    def __len__(self) -> int:
        return len(self._index)

    def missing(self, keys: Sequence[str]) -> list[str]:
        """Keys not stored yet, or stored in a shard that fails its checks (unique, in order):
        the keys to compute."""
        unique = list(dict.fromkeys(keys))
        if any(k not in self for k in unique):
            self.refresh()
        for key in unique:
            if key in self._index and not self._usable(key):
                del self._index[key]
        return [k for k in unique if k not in self]

    def _usable(self, key: str) -> bool:
        shard, row = self._index[key]
        keys = self._verify(shard)
        if keys is None:
            return False
        if row >= len(keys) or keys[row] != key:
            LOGGER.warning(
                "feature cache %s: the index puts %s at row %d of shard %s, which does not hold "
                "it there; ignored, its image is computed again",
                self.index_path,
                key[:80],
                row,
                shard,
            )
            return False
        return True

    # -- writing ----------------------------------------------------------------------------
    def put(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Queue one image's arrays; a full shard is written to disk at once."""
        if key in self:
            return
        if not _KEY.fullmatch(key):
            raise ValueError(f"feature store key {key[:80]!r}: printable ASCII, no spaces")
        self._pending_keys.append(key)
        for name, value in arrays.items():
            self._pending.setdefault(name, []).append(np.asarray(value, dtype=np.float16))
        if len(self._pending_keys) >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        if not self._pending_keys:
            return
        self._check_identity(write=True)
        shard = uuid.uuid4().hex[:16]
        shards = self.root / "shards"
        tmp = shards / f".tmp-{shard}"
        tmp.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, rows in self._pending.items():
            buffer = io.BytesIO()
            np.save(buffer, np.stack(rows), allow_pickle=False)
            data = buffer.getvalue()
            (tmp / f"{name}.npy").write_bytes(data)
            files[f"{name}.npy"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        manifest = {"format": STORE_FORMAT, "keys": self._pending_keys, "files": files}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(tmp, shards / shard)
        lines = "".join(f"{key}\t{shard}\t{row}\n" for row, key in enumerate(self._pending_keys))
        # one write() on an O_APPEND descriptor: lines of concurrent writers never interleave;
        # the leading newline ends a line a killed writer left cut
        try:
            append_regular(self.index_path, ("\n" + lines).encode("utf-8"), "feature cache index")
        except RefusedFileError as err:
            raise FeatureCacheError(f"{err}; delete it and run again") from None
        self._keys[shard] = list(self._pending_keys)
        for row, key in enumerate(self._pending_keys):
            self._index[key] = (shard, row)
        self._pending_keys, self._pending = [], {}

    # -- reading ----------------------------------------------------------------------------
    def _set_aside(self, shard: str, why: str) -> None:
        if shard not in self._bad:
            self._bad[shard] = why
            LOGGER.warning(
                "feature cache %s: %s; not used, its images are computed again",
                self.root / "shards" / shard,
                why,
            )
        self._keys.pop(shard, None)
        self._open.pop(shard, None)

    def _verify(self, shard: str) -> list[str] | None:
        """The keys of the rows of ``shard`` when it passes its checks (checked once per
        process), else None."""
        if shard in self._keys:
            return self._keys[shard]
        if shard in self._bad:
            return None
        why = self._problem(shard)
        if why:
            self._set_aside(shard, why)
            return None
        return self._keys[shard]

    def _problem(self, shard: str) -> str:
        """What is wrong with a shard ("" when nothing; its keys then in ``self._keys``)."""
        folder = self.root / "shards" / shard
        path = folder / "manifest.json"
        try:
            data = read_regular_file(path, MAX_MANIFEST_BYTES, "shard manifest")
            manifest = parse_json(data.decode("utf-8", "replace"), str(path))
        except (OSError, ValueError) as err:
            return f"no readable manifest.json ({err})"
        files = manifest.get("files") if isinstance(manifest, dict) else None
        keys = manifest.get("keys") if isinstance(manifest, dict) else None
        if (
            not isinstance(files, dict)
            or not isinstance(keys, list)
            or not keys
            or not all(isinstance(k, str) for k in keys)
        ):
            return "manifest.json is not a shard manifest"
        rows = len(keys)
        names = {n[: -len(".npy")] for n in files if isinstance(n, str) and n.endswith(".npy")}
        wanted = set(self.shapes) if self.shapes else names
        if names != wanted or len(files) != len(names):
            return f"holds arrays {sorted(names)}, expected {sorted(wanted)}"
        arrays = {}
        for name in sorted(names):
            entry, file = files[f"{name}.npy"], folder / f"{name}.npy"
            if not isinstance(entry, dict):
                return "manifest.json is not a shard manifest"
            try:
                if not _regular(file, "shard array"):
                    return f"{file.name} is missing"
                size = file.stat().st_size
                if size != entry.get("bytes"):
                    return f"{file.name} has {size} bytes, its manifest says {entry.get('bytes')}"
                if _sha256_file(file) != entry.get("sha256"):
                    return f"{file.name} does not match its SHA-256 (changed since written)"
                array = np.load(file, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, FeatureCacheError) as err:
                return f"{file.name} cannot be read ({err})"
            shape = self.shapes[name] if self.shapes else None
            if array.dtype != np.float16 or array.shape[0] != rows:
                return f"{file.name} is {array.dtype} {array.shape}, expected float16 ({rows}, ...)"
            if shape is not None and tuple(array.shape[1:]) != shape:
                return f"{file.name} rows are {tuple(array.shape[1:])}, expected {shape}"
            arrays[name] = array
        if self.shapes is None:  # the first verified shard decides for the others
            self.shapes = {name: tuple(a.shape[1:]) for name, a in arrays.items()}
        self._keys[shard] = keys
        self._remember(shard, arrays)
        return ""

    def _remember(self, shard: str, arrays: dict[str, np.ndarray]) -> None:
        self._open[shard] = arrays
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)

    def _shard(self, shard: str) -> dict[str, np.ndarray]:
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        folder = self.root / "shards" / shard
        names = self.shapes or {}
        arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in names}
        self._remember(shard, arrays)
        return arrays

    def get(self, keys: Sequence[str], names: Sequence[str]) -> dict[str, np.ndarray]:
        """Stacked float32 arrays ``name -> (len(keys), ...)`` for stored keys."""
        self.flush()
        missing = self.missing(keys)
        if missing:
            raise KeyError(
                f"feature cache {self.root}: {counted(len(missing), 'image')} not stored or set aside as "
                f"damaged (e.g. {missing[0][:80]}); run again to compute them"
            )
        unknown = [n for n in names if self.shapes is not None and n not in self.shapes]
        if unknown:
            raise KeyError(f"feature cache {self.root}: no array {unknown[0]!r}")
        out: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for key in keys:
            shard, row = self._index[key]
            arrays = self._shard(shard)
            for name in names:
                out[name].append(arrays[name][row])
        return {name: np.stack(rows).astype(np.float32) for name, rows in out.items()}

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


class FailureLog:
    """``failures.tsv`` of a store: ``key<TAB>flag`` for each image replaced by the blank one
    (why). A line whose flag is not one of :data:`mner_lib.images.loading.FAILURE_FLAGS` or
    whose key is not a key is ignored (the image is then taken as usable: its features were
    stored from the blank image, the flag only reports it)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._flags: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._flags is None:
            from mner_lib.images.loading import FAILURE_FLAGS

            self._flags = {}
            if _regular(self.path, "feature cache failure list"):
                data = read_regular_file(self.path, MAX_INDEX_BYTES, "feature cache failure list")
                for line in data.decode("utf-8", "replace").split("\n"):
                    key, _, flag = line.partition("\t")
                    if flag in FAILURE_FLAGS and _KEY.fullmatch(key):
                        self._flags[key] = flag
        return self._flags

    def get(self, key: str, default: str = "") -> str:
        return self._load().get(key, default)

    def record(self, key: str, flag: str) -> None:
        self._load()[key] = flag
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            append_regular(self.path, f"\n{key}\t{flag}\n".encode(), "feature cache failure list")
        except RefusedFileError as err:
            raise FeatureCacheError(f"{err}; delete it and run again") from None
