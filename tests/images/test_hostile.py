"""Hostile image ids and files: unsafe IMGIDs, symlink escapes, FIFOs, devices, huge and
unreadable files all give the blank image and a flag; none is read, none hangs the run."""

from __future__ import annotations

import errno
import logging
import os
import signal
from pathlib import Path

import pytest
from PIL import Image

from mner_lib.images import loading
from mner_lib.images.loading import (
    MAX_IMAGE_BYTES,
    LoadReport,
    is_safe_id,
    open_rgb,
    open_tweet_image,
    read_tweet_image,
    tweet_image_path,
)

UNSAFE_IDS = [
    "../outside",
    "../../etc/passwd",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "..",
    "x..y",
    "",
    "a b",
    "id\x00",
    "caf\u00e9",
]


@pytest.fixture(autouse=True)
def no_hang():
    """Fail (instead of hanging the suite) should a check ever open a FIFO and wait."""

    def fail(signum, frame):
        raise TimeoutError("image check hung")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "images"
    path.mkdir()
    return path


def _jpeg(path: Path, colour=(200, 10, 10)) -> Path:
    Image.new("RGB", (16, 16), colour).save(path, "JPEG")
    return path


@pytest.mark.parametrize("bad_id", UNSAFE_IDS)
def test_unsafe_ids_get_the_blank_image_flag(folder, bad_id):
    _jpeg(folder.parent / "outside.jpg")  # a real image just outside the folder
    assert not is_safe_id(bad_id)
    assert tweet_image_path(folder, bad_id) is None
    result = open_tweet_image(folder, bad_id)
    assert result.image is None and result.flag == "unsafe-id"
    assert repr(bad_id) in result.detail and "not a safe file name" in result.detail
    found = read_tweet_image(folder, bad_id)
    assert found.data is None and found.path is None and found.flag == "unsafe-id"


def test_the_benchmark_ids_are_safe(folder):
    for good in ("1015799", "17_06_12483", "O_1926", "16_05_24_704", "a.b-c"):
        assert is_safe_id(good)
    path = _jpeg(folder / "O_1926.jpg")
    assert tweet_image_path(folder, "O_1926") == path
    assert open_tweet_image(folder, "O_1926").flag == ""
    found = read_tweet_image(folder, "O_1926")
    assert found.flag == "" and found.data == path.read_bytes()  # the bytes for content keys
    assert open_tweet_image(folder, "O_1927").flag == "missing"


def test_symlinks_must_stay_inside_the_image_folder(folder):
    outside = _jpeg(folder.parent / "outside.jpg")
    (folder / "escape.jpg").symlink_to(outside)
    (folder / "zero.jpg").symlink_to("/dev/zero")
    (folder / "dotdot.jpg").symlink_to(Path("..") / "outside.jpg")  # relative escape
    sub = folder / "sub"
    sub.mkdir()
    (folder / "inside.jpg").symlink_to(_jpeg(sub / "x.jpg"))
    escape = open_tweet_image(folder, "escape")
    assert escape.image is None and escape.flag == "outside-folder"
    assert str(outside) in escape.detail
    assert open_tweet_image(folder, "zero").flag == "outside-folder"
    assert open_tweet_image(folder, "dotdot").flag == "outside-folder"
    assert read_tweet_image(folder, "escape").data is None
    assert open_tweet_image(folder, "inside").flag == ""  # a link that stays inside is fine
    link = folder.parent / "linked_images"
    link.symlink_to(folder)  # the image folder itself may be a link
    assert open_tweet_image(link, "inside").flag == ""
    assert open_tweet_image(link, "escape").flag == "outside-folder"


def test_fifo_device_and_folder_are_not_files(folder):
    os.mkfifo(folder / "fifo.jpg")  # open() on it would wait for a writer forever
    fifo = open_tweet_image(folder, "fifo")
    assert fifo.image is None and fifo.flag == "not-a-file" and "a FIFO" in fifo.detail
    assert open_rgb(folder / "fifo.jpg").flag == "not-a-file"
    zero = open_rgb("/dev/zero")  # would be read without end
    assert zero.flag == "not-a-file" and "a character device" in zero.detail
    (folder / "dir.jpg").mkdir()
    assert open_tweet_image(folder, "dir").flag == "not-a-file"


def test_file_size_is_capped_before_decoding(folder, monkeypatch):
    assert MAX_IMAGE_BYTES == 20 * 2**20
    path = _jpeg(folder / "a.jpg")
    size = path.stat().st_size
    decoded = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: decoded.append(a) or real_open(*a, **k))
    big = open_rgb(path, max_bytes=size - 1)
    assert big.image is None and big.flag == "too-large" and f"{size} bytes" in big.detail
    assert decoded == []
    assert open_rgb(path, max_bytes=size).flag == "" and len(decoded) == 1
    huge = folder / "huge.jpg"
    with open(huge, "wb") as f:  # a sparse 21 MB file: a JPEG header, then nothing
        f.write(path.read_bytes()[:100])
        f.truncate(21 * 2**20)
    assert open_tweet_image(folder, "huge").flag == "too-large"
    assert len(decoded) == 1


def _deny(monkeypatch, target: Path) -> None:
    real_open = os.open

    def denying_open(file, *args, **kwargs):
        if Path(file).resolve() == target.resolve():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denying_open)


def test_an_unreadable_image_gets_the_blank_image_with_the_reason(folder, monkeypatch):
    path = _jpeg(folder / "secret.jpg")
    _deny(monkeypatch, path)
    result = open_tweet_image(folder, "secret")
    assert result.image is None and result.flag == "unreadable"
    assert str(path) in result.detail and "Permission denied" in result.detail
    assert open_rgb(path).flag == "unreadable"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_an_unreadable_image_by_its_permissions(folder):
    path = _jpeg(folder / "secret.jpg")
    path.chmod(0)
    result = open_tweet_image(folder, "secret")
    assert result.flag == "unreadable" and "Permission denied" in result.detail


def test_the_report_counts_the_new_flags(caplog):
    report = LoadReport()
    for tweet_id, flag in [
        ("a", ""),
        ("../x", "unsafe-id"),
        ("b", "outside-folder"),
        ("c", "not-a-file"),
        ("d", "unreadable"),
    ]:
        report.add(tweet_id, flag)
    assert {"unsafe-id", "outside-folder", "not-a-file", "unreadable"} <= set(loading.FAILURE_FLAGS)
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        report.warn()
    line = caplog.records[0].getMessage()
    assert "4 of 5" in line and "unsafe-id 1 (e.g. ../x)" in line and "not-a-file 1" in line
