"""A run records the SHA-256 of every data file it reads (its splits; the caption or knowledge
files of a text condition) and resumes only on the same files: an edited label or caption stops
the resume with a one-line error naming the file, and nothing of the run is lost."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from mner_lib.text import data as data_module
from mner_lib.training import resolve_config, run_training
from mner_lib.training.runfolder import RunFolder, RunFolderError
from mner_lib.training.runstate import RunStateError, data_changes, data_hashes
from mner_lib.training.trainer import data_files

TINY = {"use_glove": False, "hidden": 8, "word_dim": 8}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def demo_copy(tmp_path, monkeypatch) -> Path:
    """The demo corpus copied to a folder the test may edit, and read from there."""
    folder = tmp_path / "demo_data"
    shutil.copytree(data_module.DEMO_DIR, folder)
    monkeypatch.setattr(data_module, "DEMO_DIR", folder)
    return folder


def _config(out: Path, **extra):
    values = dict(dataset="demo", out=str(out), epochs=2, max_train=20, max_eval=10,
                  batch_size=10, threads=1, progress=False, model_options=dict(TINY))  # fmt: skip
    return resolve_config("bilstm-crf", **{**values, **extra})


def test_a_run_resumes_only_on_the_data_it_started_on(demo_copy, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):  # as a kill would: the checkpoint stays
        run_training(_config(out), stop_after_epochs=1)
    train = demo_copy / "train.txt"
    original = train.read_bytes()
    lines = original.decode().splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if line.rstrip().endswith("\tB-PER"))
    lines[k] = lines[k].replace("\tB-PER", "\tB-LOC")  # one label edited
    train.write_text("".join(lines))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(RunFolderError) as caught:
        run_training(_config(out))
    message = str(caught.value)
    assert "\n" not in message and "cannot resume on other data" in message
    assert f"{train} (train) changed" in message and "--overwrite" in message
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert (out / "checkpoint" / "manifest.json").exists()  # the finished epoch is kept
    train.write_bytes(original)  # the data it started on: it resumes and finishes
    result = run_training(_config(out))
    assert result.metrics["epochs_run"] == 2
    hashes = json.loads((out / "metrics.json").read_text())["data_hashes"]
    assert set(hashes) == {"train", "dev", "test"}
    assert hashes["train"]["sha256"] == _sha(train)
    assert hashes["test"]["sha256"] == _sha(demo_copy / "test.txt")


def test_the_files_of_a_text_condition_are_recorded_by_name(tmp_path):
    caption = tmp_path / "image_text" / "blip2" / "BLIP2_demo.txt"
    caption.parent.mkdir(parents=True)
    caption.write_text("1.jpg :a dog\n")
    split = tmp_path / "train.txt"
    split.write_text("IMGID:1\nParis\tB-LOC\n")
    dataset = SimpleNamespace(paths={"train": str(split)})
    images = SimpleNamespace(captions=SimpleNamespace(table=SimpleNamespace(paths=[str(caption)])))
    files = data_files(dataset, images)
    assert files == {"train": str(split), "image_text/blip2/BLIP2_demo.txt": str(caption)}
    recorded = data_hashes(files)
    assert data_changes(recorded, data_hashes(files)) == []
    caption.write_text("1.jpg :a cat\n")
    changes = data_changes(recorded, data_hashes(files))
    assert len(changes) == 1 and changes[0].startswith(f"{caption} (image_text/blip2/")
    assert data_changes(recorded, data_hashes({"train": str(split)})) == [
        f"{recorded['image_text/blip2/BLIP2_demo.txt']['file']} "
        "(image_text/blip2/BLIP2_demo.txt) is no longer read"
    ]
    with pytest.raises(RunStateError, match="malformed"):
        data_changes({"train": "abc"}, recorded)


def test_a_hostile_data_record_in_a_checkpoint_is_a_one_line_corrupt_error(demo_copy, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_training(_config(out), stop_after_epochs=1)
    folder = RunFolder(out)
    tensors, optimizer_state, state = folder.load_checkpoint()
    folder.save_checkpoint(tensors, optimizer_state, {**state, "data": {"train": [1]}})
    with pytest.raises(RunFolderError, match="record of the data is malformed") as caught:
        run_training(_config(out))
    assert "\n" not in str(caught.value)


def test_an_edited_caption_file_stops_the_resume_of_a_caption_run(tmp_path, cache_dir):
    from tests.fakes import CAPTION_TINY, write_demo_image_text

    data = write_demo_image_text(tmp_path / "data")
    out = tmp_path / "run"
    cfg = dict(dataset="demo", data_dir=str(data), out=str(out), epochs=2, max_train=12,
               max_eval=6, batch_size=6, condition="caption:blip2", threads=1, progress=False,
               model_options=dict(CAPTION_TINY["hsn"]))  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        run_training(resolve_config("hsn", **cfg), stop_after_epochs=1)
    captions = data / "image_text" / "blip2" / "BLIP2_demo.txt"
    captions.write_bytes(captions.read_bytes().replace(b" :", b" :a photo of ", 1))
    with pytest.raises(RunFolderError) as caught:
        run_training(resolve_config("hsn", **cfg))
    assert f"{captions} (image_text/blip2/BLIP2_demo.txt) changed" in str(caught.value)
    assert (out / "checkpoint" / "manifest.json").exists()


def test_a_finished_runs_recorded_files_are_looked_up_only_where_a_run_reads_data(tmp_path):
    from mner_lib.training.runstate import data_drift

    hostile = {
        "image_text/../../../etc/passwd": {"file": "x", "sha256": "0" * 64},
        "/etc/shadow": {"file": "x", "sha256": "0" * 64},
    }
    (tmp_path / "image_text").mkdir()
    drift = data_drift(hostile, "demo", str(tmp_path))
    assert len(drift) == 2 and "cannot be read now" in drift[0] + drift[1]
    assert any("'/etc/shadow' cannot be located now" == d for d in drift)
    demo_train = data_module.DEMO_DIR / "train.txt"
    same = {"train": {"file": str(demo_train), "sha256": _sha(demo_train)}}
    assert data_drift(same, "demo", None) == [] and data_drift(None, "demo", None) == []
