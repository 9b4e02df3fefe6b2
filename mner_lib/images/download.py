"""``python -m mner_lib data download twitter2015|twitter2017 [--images]``.

Text: the three CoNLL files from the UMT repository (jefferyYu/UMT, ``data/<name>/``), checked
against the SHA-256 of the copy in ``shared/data`` (``SHA256SUMS``). Images: the archive the UMT
README links (Google Drive); its checksum is not published, so it is checked against
``--images-sha256`` when given and otherwise recorded beside the archive
(``<archive>.sha256``) and checked on every later run.

Downloads are resumable: bytes go to ``<file>.part`` and a later run asks the server for the
rest (HTTP ``Range``); a server that ignores the range starts over. Archives (zip or tar) are
extracted member by member into ``<data-dir>/<name>_images/`` (the folder the readers expect):
the members under a folder named ``<name>_images`` anywhere in the archive, with unsafe paths
(absolute, ``..``) refused.

Sizes are capped, as a URL can name anything: a download stops past :data:`MAX_DOWNLOAD_BYTES`
(its part file removed); a member over :data:`mner_lib.images.loading.MAX_IMAGE_BYTES` (by its
header, and counted while it inflates) is skipped, as the image reader would refuse it; an
archive of more than :data:`MAX_ARCHIVE_MEMBERS` members or :data:`MAX_EXTRACT_BYTES`
extracted bytes (a zip bomb) is an error naming it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from mner_lib.io.plural import noun
from mner_lib.text.data import resolve_data_dir

UMT_TEXT_URL = "https://raw.githubusercontent.com/jefferyYu/UMT/master/data"
#: Google Drive file of the UMT README ("Download each tweet's associated images via this link").
UMT_IMAGES_URL = (
    "https://drive.usercontent.google.com/download?id=1PpvvncnQkgDNeBMKVgG2zFYuRhbL873g"
    "&export=download&confirm=t"
)
TEXT_SHA256 = {
    "twitter2015": {
        "train.txt": "a6246e37aa1c8acd738747fa8257e01775f2a1cc0d4f36f82f9d41d6246ad6fa",
        "valid.txt": "9dcc7f9df7331de3c9cdf67a3450e041c41c6254b5e43925c576e2dfaaabe2ad",
        "test.txt": "edb2665b89bfe58bca06a2c10b9b31cbfa95456135b6a4cbf55c872e48d9b8f9",
    },
    "twitter2017": {
        "train.txt": "801e149e8635b19d66b4ec1212c329be340ada501b35c5fa55455fb6f53633be",
        "valid.txt": "41b5db90cb32059c14c2c3ccd50845fb77f1e3d3e4f7d0c210a61bc507d8a73e",
        "test.txt": "a7d9e172ae85bd3e35276eb2b01ce223321bdc92a47b234e24305d72e7a05243",
    },
}
CHUNK = 1 << 20
#: The largest download (the UMT image archive is a few GB).
MAX_DOWNLOAD_BYTES = 32 * 2**30
#: The most bytes one archive may extract, and the most members it may hold.
MAX_EXTRACT_BYTES = 32 * 2**30
MAX_ARCHIVE_MEMBERS = 1_000_000
LOGGER = logging.getLogger("mner_lib.images")


class ChecksumError(ValueError):
    """A downloaded file does not have the expected SHA-256."""


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    url: str, target: str | os.PathLike, sha256: str | None = None, timeout: float = 60.0
) -> Path:
    """Download ``url`` to ``target`` (resumable through ``target.part``), verify, rename.

    An existing ``target`` with the right checksum is kept without a request.
    """
    target = Path(target)
    if target.is_file() and (sha256 is None or sha256_file(target) == sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "mner_lib"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the part file is already complete
            response = None
        else:
            raise OSError(f"download {url}: HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise OSError(f"download {url}: {err.reason} (no network? see --help)") from err
    if response is not None:
        with response:
            mode = "ab" if have and response.status == 206 else "wb"
            size = have if mode == "ab" else 0
            with open(part, mode) as f:
                while block := response.read(CHUNK):
                    size += len(block)
                    if size > MAX_DOWNLOAD_BYTES:
                        f.close()
                        part.unlink(missing_ok=True)
                        raise OSError(
                            f"download {url}: over {MAX_DOWNLOAD_BYTES} bytes "
                            "(MAX_DOWNLOAD_BYTES); the partial file was removed"
                        )
                    f.write(block)
    if sha256 is not None:
        actual = sha256_file(part)
        if actual != sha256:
            part.unlink()
            raise ChecksumError(
                f"download {url}: SHA-256 {actual} but expected {sha256}; the partial file was "
                "removed, run the command again"
            )
    os.replace(part, target)
    return target


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        return None
    return path


class _Extraction:
    """One archive's extraction into ``data_dir/<name>_images/``, with its caps: members
    (:data:`MAX_ARCHIVE_MEMBERS`), bytes written in all (:data:`MAX_EXTRACT_BYTES`), bytes per
    image (the image reader's ``MAX_IMAGE_BYTES``: a larger member is skipped and counted)."""

    def __init__(self, archive: Path, data_dir: Path, names: tuple[str, ...]):
        from mner_lib.images.loading import MAX_IMAGE_BYTES

        self.archive, self.data_dir, self.max_image = archive, data_dir, MAX_IMAGE_BYTES
        self.counts = {name: 0 for name in names}
        self.folders = {f"{name}_images": name for name in names}
        self.members = self.bytes = self.skipped = 0

    def count_member(self) -> None:
        self.members += 1
        if self.members > MAX_ARCHIVE_MEMBERS:
            raise ValueError(
                f"{self.archive}: more than {MAX_ARCHIVE_MEMBERS} members (MAX_ARCHIVE_MEMBERS)"
            )

    def place(self, member_name: str) -> tuple[Path, str] | None:
        """Where a member goes (inside its dataset's image folder), or None to leave it."""
        path = _safe_member(member_name)
        if path is None:
            return None
        for i, part in enumerate(path.parts[:-1]):
            if part in self.folders:
                rest = path.parts[i + 1 :]
                return self.data_dir.joinpath(part, *rest), self.folders[part]
        return None

    def write(self, target: tuple[Path, str] | None, opener: Callable, declared: int) -> None:
        """Copy one member in blocks, within the caps (a header may lie about the size)."""
        if target is None:
            return
        dest, name = target
        if declared > self.max_image:
            self.skipped += 1
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with opener() as src, open(dest, "wb") as out:
            while block := src.read(CHUNK):
                written += len(block)
                self.bytes += len(block)
                if self.bytes > MAX_EXTRACT_BYTES:
                    raise ValueError(
                        f"{self.archive}: extracts to more than {MAX_EXTRACT_BYTES} bytes "
                        "(MAX_EXTRACT_BYTES)"
                    )
                if written > self.max_image:  # a header that lied about the size
                    break
                out.write(block)
        if written > self.max_image:
            dest.unlink(missing_ok=True)
            self.skipped += 1
        else:
            self.counts[name] += 1


def extract_images(archive: str | os.PathLike, data_dir: Path, names: tuple[str, ...]) -> dict:
    """Extract the members under ``<name>_images/`` folders into ``data_dir/<name>_images/``.

    Returns the number of files written per dataset name.
    """
    archive = Path(archive)
    job = _Extraction(archive, data_dir, names)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                job.count_member()
                if info.is_dir():
                    continue
                job.write(job.place(info.filename), lambda info=info: zf.open(info), info.file_size)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for member in tf:
                job.count_member()
                if not member.isfile():
                    continue
                opener = lambda member=member: tf.extractfile(member)  # noqa: E731
                job.write(job.place(member.name), opener, member.size)
    else:
        raise ValueError(f"{archive}: not a zip or tar archive")
    if job.skipped:
        LOGGER.warning(
            "%s: %d %s over %d bytes (MAX_IMAGE_BYTES) skipped: the image reader would refuse %s",
            archive,
            job.skipped,
            noun(job.skipped, "member"),
            job.max_image,
            noun(job.skipped, "it", "them"),
        )
    return job.counts


def download_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    text: bool = True,
    images: bool = False,
    text_url: str | None = None,
    images_url: str | None = None,
    images_sha256: str | None = None,
) -> list[str]:
    """Download a dataset's text and/or images into the data folder; returns report lines."""
    if name not in TEXT_SHA256:
        raise ValueError(f"unknown dataset {name!r} for download; valid: {sorted(TEXT_SHA256)}")
    root = Path(data_dir) if data_dir else resolve_data_dir(None)
    if root is None:
        raise FileNotFoundError(
            "data download needs a target: pass --data-dir or set MNER_DATA_DIR"
        )
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    if text:
        base = (text_url or UMT_TEXT_URL).rstrip("/")
        for file, digest in TEXT_SHA256[name].items():
            path = fetch(f"{base}/{name}/{file}", root / name / file, digest)
            lines.append(f"text {path} ok (sha256 {digest[:12]}...)")
    if images:
        url = images_url or UMT_IMAGES_URL
        archive = root / "downloads" / f"umt_images_{hashlib.sha1(url.encode()).hexdigest()[:8]}"
        recorded = archive.with_name(archive.name + ".sha256")
        expected = images_sha256
        if expected is None and recorded.is_file():
            expected = recorded.read_text().split()[0]
        fetch(url, archive, expected)
        actual = sha256_file(archive)
        if expected is None:
            recorded.write_text(f"{actual}  {archive.name}\n")
        counts = extract_images(archive, root, (name,))
        if counts[name] == 0:
            raise ValueError(f"{archive}: no files under a '{name}_images/' folder in the archive")
        lines.append(
            f"images {root / (name + '_images')}: {counts[name]} files (archive sha256 {actual})"
        )
    return lines
