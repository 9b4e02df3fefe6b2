"""``data download``: resumable, checksum-verified, extracted into the readers' layout.

Served by a local HTTP server on 127.0.0.1 (with Range support); no test reaches the internet.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import zipfile
from pathlib import Path

import pytest

from mner_lib.commands import cli
from mner_lib.images import download
from mner_lib.text.data import load_dataset

TWEET = "IMGID:{id}\nHello\tO\nParis\tB-LOC\n\n"


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).requests.append(self.path)
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        match = re.match(r"bytes=(\d+)-", self.headers.get("Range", ""))
        start = int(match.group(1)) if match else 0
        if start >= len(data):
            self.send_error(416)
            return
        self.send_response(206 if match else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    (root / "umt" / "twitter2017").mkdir(parents=True)
    digests = {}
    for i, name in enumerate(("train.txt", "valid.txt", "test.txt")):
        text = TWEET.format(id=f"O_{i}")
        (root / "umt" / "twitter2017" / name).write_text(text)
        digests[name] = hashlib.sha256(text.encode()).hexdigest()
    with zipfile.ZipFile(root / "images.zip", "w") as zf:
        for i in range(3):
            zf.writestr(f"data/twitter2017_images/O_{i}.jpg", bytes([i]) * 2000)
        zf.writestr("data/twitter2015_images/9.jpg", b"other dataset")
        zf.writestr("../evil.jpg", b"outside")

    def handler(*args, **kwargs):
        return _RangeHandler(*args, directory=str(root), **kwargs)

    _RangeHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, digests
    httpd.shutdown()
    httpd.server_close()


def test_download_text_and_images_into_the_reader_layout(server, tmp_path, monkeypatch):
    url, root, digests = server
    monkeypatch.setitem(download.TEXT_SHA256, "twitter2017", digests)
    target = tmp_path / "data"
    argv = ["data", "download", "twitter2017", "--images", "--data-dir", str(target),
            "--text-url", f"{url}/umt", "--images-url", f"{url}/images.zip"]  # fmt: skip
    assert cli.main(argv) == 0
    assert sorted(p.name for p in (target / "twitter2017_images").iterdir()) == [
        "O_0.jpg", "O_1.jpg", "O_2.jpg"
    ]  # fmt: skip
    assert not (target / "twitter2015_images").exists() and not (tmp_path / "evil.jpg").exists()
    assert [t.id for t in load_dataset("twitter2017", target).train] == ["O_0"]
    sidecar = list((target / "downloads").glob("*.sha256"))
    assert len(sidecar) == 1  # the archive's checksum, recorded for later runs
    # a second run asks the server for nothing: every file is there with the right checksum
    count = len(_RangeHandler.requests)
    assert cli.main(argv) == 0 and len(_RangeHandler.requests) == count


def test_resume_and_checksum(server, tmp_path):
    url, root, _ = server
    data = (root / "images.zip").read_bytes()
    target = tmp_path / "archive.zip"
    target.with_name("archive.zip.part").write_bytes(data[:1000])  # an interrupted download
    download.fetch(f"{url}/images.zip", target, hashlib.sha256(data).hexdigest())
    assert target.read_bytes() == data
    with pytest.raises(download.ChecksumError, match="expected 00"):
        download.fetch(f"{url}/images.zip", tmp_path / "other.zip", "00" * 32)
    assert not (tmp_path / "other.zip.part").exists()
    with pytest.raises(OSError, match="HTTP 404"):
        download.fetch(f"{url}/missing.zip", tmp_path / "missing.zip")


def test_a_download_past_its_cap_stops_and_leaves_no_part_file(server, tmp_path, monkeypatch):
    url, root, _ = server
    monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 1000)
    target = tmp_path / "archive.zip"
    with pytest.raises(OSError, match="over 1000 bytes \\(MAX_DOWNLOAD_BYTES\\)"):
        download.fetch(f"{url}/images.zip", target)
    assert not target.exists() and not target.with_name("archive.zip.part").exists()


def bomb_archive(path, members: dict[str, int]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, size in members.items():
            zf.writestr(name, b"\0" * size)
    return path


def test_an_oversize_member_is_skipped_and_an_archive_bomb_refused(tmp_path, monkeypatch, caplog):
    from mner_lib.images import loading

    monkeypatch.setattr(loading, "MAX_IMAGE_BYTES", 5000)
    archive = bomb_archive(
        tmp_path / "a.zip",
        {"x/twitter2017_images/big.jpg": 9000, "x/twitter2017_images/ok.jpg": 10},
    )
    assert download.extract_images(archive, tmp_path / "d", ("twitter2017",)) == {"twitter2017": 1}
    assert [p.name for p in (tmp_path / "d" / "twitter2017_images").iterdir()] == ["ok.jpg"]
    assert "1 member over 5000 bytes (MAX_IMAGE_BYTES) skipped" in caplog.text
    assert "the image reader would refuse it" in caplog.text
    caplog.clear()
    two = bomb_archive(
        tmp_path / "two.zip",
        {"x/twitter2017_images/big.jpg": 9000, "x/twitter2017_images/big2.jpg": 9000},
    )
    assert download.extract_images(two, tmp_path / "t", ("twitter2017",)) == {"twitter2017": 0}
    assert "2 members over 5000 bytes (MAX_IMAGE_BYTES) skipped" in caplog.text
    assert "the image reader would refuse them" in caplog.text
    monkeypatch.setattr(download, "MAX_EXTRACT_BYTES", 2000)
    many = {f"x/twitter2017_images/{i}.jpg": 1000 for i in range(5)}
    with pytest.raises(ValueError, match="extracts to more than 2000 bytes"):
        download.extract_images(
            bomb_archive(tmp_path / "b.zip", many), tmp_path / "e", ("twitter2017",)
        )
    monkeypatch.setattr(download, "MAX_EXTRACT_BYTES", 10**9)
    monkeypatch.setattr(download, "MAX_ARCHIVE_MEMBERS", 3)
    with pytest.raises(ValueError, match="more than 3 members"):
        download.extract_images(archive.with_name("b.zip"), tmp_path / "f", ("twitter2017",))
