"""An append-only on-disk store of per-image feature arrays, keyed by image content.

Layout of one store (one folder per backbone + weights + preprocessing, see
:func:`store_name`)::

    <cache>/<store>/index.tsv            key <TAB> shard <TAB> row   (one line per image)
    <cache>/<store>/shards/<shard>/<array>.npy   (n, ...) float16 arrays, one row per image

Shards are written whole (to a temporary folder, then renamed) *before* their index lines are
appended, so a reader never sees a key whose rows are not on disk, and a killed run loses at most
the shard it was writing. Readers memory-map the shards (``np.load(mmap_mode="r")``): reading a
batch touches only its rows, so memory stays bounded whatever the dataset size. Writers are
streamed: :meth:`FeatureStore.put` holds at most one shard of rows in memory.
"""

from __future__ import annotations

import os
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def default_cache_dir() -> Path:
    """``$MNER_CACHE_DIR`` else ``~/.cache/mner_lib/features``."""
    value = os.environ.get("MNER_CACHE_DIR")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "mner_lib" / "features"


def store_name(backbone: str, pretrained: bool, image_size: int, version: int, seed: int) -> str:
    weights = "pretrained" if pretrained else f"random{seed}"
    return f"{backbone}-{weights}-{image_size}px-v{version}"


class FeatureStore:
    """Feature rows by content key; see the module docstring."""

    def __init__(self, root: str | os.PathLike, shard_rows: int = 256, max_open: int = 16):
        self.root = Path(root)
        self.shard_rows = shard_rows
        self.max_open = max_open
        self._index: dict[str, tuple[str, int]] = {}
        self._index_size = 0
        self._open: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self._pending_keys: list[str] = []
        self._pending: dict[str, list[np.ndarray]] = {}
        self.refresh()

    # -- index ------------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.root / "index.tsv"

    def refresh(self) -> None:
        """Read index lines appended since the last read (by this or another process)."""
        path = self.index_path
        if not path.is_file():
            return
        with open(path, "rb") as f:
            f.seek(self._index_size)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]  # ignore a half-written last line
        self._index_size += len(complete)
        for line in complete.decode("utf-8").splitlines():
            key, shard, row = line.split("\t")
            self._index[key] = (shard, int(row))

    def __contains__(self, key: str) -> bool:
        return key in self._index or key in self._pending_keys

    def __len__(self) -> int:
        return len(self._index)

    def missing(self, keys: Sequence[str]) -> list[str]:
        """Keys not stored yet (unique, in order)."""
        out = [k for k in dict.fromkeys(keys) if k not in self]
        if out:
            self.refresh()
            out = [k for k in out if k not in self]
        return out

    # -- writing ----------------------------------------------------------------------------
    def put(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Queue one image's arrays; a full shard is written to disk at once."""
        if key in self:
            return
        self._pending_keys.append(key)
        for name, value in arrays.items():
            self._pending.setdefault(name, []).append(np.asarray(value, dtype=np.float16))
        if len(self._pending_keys) >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        if not self._pending_keys:
            return
        shard = uuid.uuid4().hex[:16]
        shards = self.root / "shards"
        tmp = shards / f".tmp-{shard}"
        tmp.mkdir(parents=True, exist_ok=True)
        for name, rows in self._pending.items():
            np.save(tmp / f"{name}.npy", np.stack(rows))
        os.replace(tmp, shards / shard)
        lines = "".join(f"{key}\t{shard}\t{row}\n" for row, key in enumerate(self._pending_keys))
        # one write() on an O_APPEND descriptor: lines of concurrent writers never interleave
        fd = os.open(self.index_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, lines.encode("utf-8"))
        finally:
            os.close(fd)
        for row, key in enumerate(self._pending_keys):
            self._index[key] = (shard, row)
        self._pending_keys, self._pending = [], {}

    # -- reading ----------------------------------------------------------------------------
    def _shard(self, shard: str) -> dict[str, np.ndarray]:
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        folder = self.root / "shards" / shard
        arrays = {p.stem: np.load(p, mmap_mode="r") for p in folder.glob("*.npy")}
        self._open[shard] = arrays
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)
        return arrays

    def get(self, keys: Sequence[str], names: Sequence[str]) -> dict[str, np.ndarray]:
        """Stacked float32 arrays ``name -> (len(keys), ...)`` for stored keys."""
        self.flush()
        missing = self.missing(keys)
        if missing:
            raise KeyError(f"feature store {self.root}: {len(missing)} keys not stored")
        out: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for key in keys:
            shard, row = self._index[key]
            arrays = self._shard(shard)
            for name in names:
                out[name].append(arrays[name][row])
        return {name: np.stack(rows).astype(np.float32) for name, rows in out.items()}

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
