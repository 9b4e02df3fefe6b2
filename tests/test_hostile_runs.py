"""A stranger's run folder, a careless --out and nonsense numbers: nothing outside the run's own
files is deleted, a replaced run survives an interrupted --overwrite, a FIFO never hangs a read,
a run's model reads no file outside its folder, and every refusal is one line naming the thing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from mner_lib.commands import cli
from mner_lib.models import build_model
from mner_lib.text.data import DataFormatError, read_tweets
from mner_lib.training import runfolder as rf
from mner_lib.training.config import check_field
from mner_lib.training.runload import _local_segmenter
from tests.deadline import deadline

CONFIG = {"model": "bilstm-crf", "seed": 0}
TINY = ["--option", "use_glove=false", "--option", "hidden=8", "--option", "word_dim=8"]
TRAIN = ["train", "--model", "bilstm-crf", "--max-train", "20", "--max-eval", "10", "--epochs", "1"]
TRAIN += ["--batch-size", "10", "--threads", "1", "--quiet", *TINY]


def _finished(folder: Path, f1: float = 50.0) -> rf.RunFolder:
    run = rf.RunFolder(folder)
    run.open(CONFIG)
    run.save_model({"w": torch.ones(2)}, {"model": "bilstm-crf"})
    run.write_text("predictions_test.txt", "IMGID:1\nParis\tB-LOC\tB-LOC\n")
    run.finish({"test": {"f1": f1}})
    return run


def test_a_strangers_manifest_never_chooses_what_a_new_run_deletes(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    (victim / "predictions_thesis.tex").write_text("not ours either")
    (victim / "manifest.json").write_text(json.dumps({"files": {"thesis.tex": {}}}))
    with pytest.raises(rf.RunFolderError, match="not a run folder: it holds predictions_thesis"):
        rf.RunFolder(victim).open(CONFIG)
    # in a real (unfinished) run folder, --overwrite removes the run's files and no other
    (victim / "config.json").write_text(json.dumps({"model": "other"}))
    assert rf.RunFolder(victim).open(CONFIG, overwrite=True) == "new"
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert (victim / "predictions_thesis.tex").exists()


def test_an_interrupted_overwrite_keeps_the_finished_run_until_the_new_one_finishes(tmp_path):
    from mner_lib.reporting.results import find_metrics

    run = _finished(tmp_path / "run", f1=61.0)
    old = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    assert run.open(CONFIG, overwrite=True) == "new"  # ... and the process is killed here
    kept = {p.name[len(rf.REPLACED) :]: p.read_bytes() for p in run.path.glob(rf.REPLACED + "*")}
    assert kept == old and run.state == "unfinished"
    assert find_metrics(tmp_path) == []  # a set-aside run is not a result the tables count
    # a second --overwrite of the unfinished run keeps the last finished one
    assert run.open({**CONFIG, "seed": 1}, overwrite=True) == "new"
    assert json.loads((run.path / "replaced.metrics.json").read_text())["test"]["f1"] == 61.0
    run.save_model({"w": torch.zeros(2)}, {"model": "bilstm-crf"})
    run.finish({"test": {"f1": 62.0}})
    assert not list(run.path.glob(rf.REPLACED + "*"))
    assert json.loads((run.path / "metrics.json").read_text())["test"]["f1"] == 62.0


def test_a_kill_while_a_finished_run_is_set_aside_loses_none_of_it(tmp_path, monkeypatch):
    run = _finished(tmp_path / "run", f1=61.0)
    old = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    real, moved = os.replace, []

    def replace_then_die(src, dst):  # the process is killed after two files were set aside
        if len(moved) == 2:
            raise KeyboardInterrupt("killed")
        moved.append(Path(src).name)
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        rf.RunFolder(run.path).open({**CONFIG, "seed": 1}, overwrite=True)
    monkeypatch.undo()
    assert "metrics.json" not in moved and run.state == "finished"  # metrics.json goes last
    assert rf.RunFolder(run.path).open({**CONFIG, "seed": 1}, overwrite=True) == "new"
    kept = {p.name[len(rf.REPLACED) :]: p.read_bytes() for p in run.path.glob(rf.REPLACED + "*")}
    assert kept == old  # every file of the finished run, byte for byte


def test_an_out_folder_of_other_files_or_an_empty_out_is_refused(tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    monkeypatch.chdir(home)
    for out, named in ((str(home), "not a run folder"), ("", "out must name a folder")):
        assert cli.main([*TRAIN, "--out", out]) == 2
        err = capsys.readouterr().err
        assert named in err and "Traceback" not in err, err
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_a_run_folder_is_refused_never_read(tmp_path):
    run = _finished(tmp_path / "run")
    (run.path / "model.safetensors").unlink()
    os.mkfifo(run.path / "model.safetensors")
    with deadline(), pytest.raises(rf.CorruptRunError, match="model.safetensors.*FIFO"):
        run.load_model()
    other = tmp_path / "other"
    other.mkdir()
    os.mkfifo(other / "config.json")
    with deadline(), pytest.raises(rf.CorruptRunError, match="config.json.*FIFO"):
        rf.RunFolder(other).open(CONFIG)
    os.mkfifo(other / "history.jsonl")
    with deadline(), pytest.raises(rf.CorruptRunError, match="history.jsonl.*FIFO"):
        rf.RunFolder(other).history()


def test_a_runs_learned_segmenter_is_read_from_its_folder_only(tmp_path):
    folder = rf.RunFolder(tmp_path)
    for name in ("../../../../etc/passwd", "/etc/passwd", ".."):
        model = SimpleNamespace(config=SimpleNamespace(segmenter=name))
        with pytest.raises(rf.RunFolderError, match="reads only from the run folder"):
            _local_segmenter(model, folder)
    model = SimpleNamespace(config=SimpleNamespace(segmenter="wordsegment"))
    assert _local_segmenter(model, folder).config.segmenter == "wordsegment"
    (tmp_path / "seg.pt").write_bytes(b"x")
    model = SimpleNamespace(config=SimpleNamespace(segmenter="/elsewhere/seg.pt"))
    assert _local_segmenter(model, folder).config.segmenter == str(tmp_path / "seg.pt")


def test_a_checkpoint_with_matching_hashes_but_foreign_state_is_a_one_line_error(tmp_path, capsys):
    from mner_lib.training.config import TrainConfig
    from mner_lib.training.trainer import run_training

    out = tmp_path / "run"
    cfg = TrainConfig(model="bilstm-crf", max_train=20, max_eval=10, epochs=3, batch_size=10,
                      threads=1, progress=False, out=str(out),
                      model_options={"use_glove": False, "hidden": 8, "word_dim": 8})  # fmt: skip
    with pytest.raises(KeyboardInterrupt):  # as a kill would: the checkpoint stays
        run_training(cfg, stop_after_epochs=1)
    folder = rf.RunFolder(out)
    tensors, optimizer_state, state = folder.load_checkpoint()
    commits = [{**state, "progress": {**state["progress"], "commits": bad}}
               for bad in ("abc", [1], ["x\n" * 5], ["y" * 81])]  # fmt: skip
    for hostile in (
        {**state, "progress": [1]},
        {**state, "progress": {"epoch": "x"}},
        [1],
        *commits,
    ):
        folder.save_checkpoint(tensors, optimizer_state, hostile)  # hashes written to match
        with pytest.raises(rf.CorruptRunError, match="not a checkpoint of this run"):
            run_training(cfg)


def test_numbers_out_of_range_are_refused_by_name_and_leave_the_folder_reusable(tmp_path, capsys):
    assert "seed must be at most" in f"seed {check_field('seed', 2**70)}"
    assert "at most" in check_field("lr", 1e300)
    out = tmp_path / "r"

    def exit_code(argv):
        try:
            return cli.main(argv)
        except SystemExit as stop:  # argparse's own refusals
            return int(stop.code)

    for extra, named in ((["--seed", str(2**70)], "seed"), (["--lr", "1e300"], "lr"),
                         (["--option", "word_dim=-1"], "word_dim")):  # fmt: skip
        assert exit_code([*TRAIN, *extra, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert named in err and "Traceback" not in err, err
        assert not (out / "config.json").exists()  # the corrected command is not refused
    with pytest.raises(ValueError, match="hidden=10+: must be between 0 and"):
        build_model("bilstm-crf", [], {"hidden": 10**30, "use_glove": False})


def test_an_image_id_that_is_a_whole_cr_only_file_is_refused_in_a_short_message(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(b"IMGID:1\rParis\tB-LOC\r\r" * 2000)
    with pytest.raises(DataFormatError) as err:
        read_tweets(path)
    assert f"{path}:1:" in str(err.value) and len(str(err.value)) < 400
    path.write_text("IMGID:" + "7" * 300 + "\nParis\tB-LOC\n")
    with pytest.raises(DataFormatError, match="over 255"):
        read_tweets(path)


def test_a_model_whose_tags_are_not_the_bio2_set_is_refused(tmp_path):
    from mner_lib.models.base import Tagger
    from mner_lib.text.data import DEMO_DIR

    tweets = read_tweets(DEMO_DIR / "train.txt")[:5]
    tensors, meta = build_model("bilstm-crf", tweets, {"use_glove": False, "hidden": 8}).to_state()
    assert Tagger.from_state(tensors, meta).vocab.tags.itos[0] == "O"
    meta["vocab"]["tags"]["itos"] = ["O", "B-EVIL", *meta["vocab"]["tags"]["itos"][2:]]
    with pytest.raises(ValueError, match="'B-EVIL'.* are not the BIO2 tags"):
        Tagger.from_state(tensors, meta)


def test_command_line_numbers_and_files_are_refused_by_name(tmp_path, capsys):
    def refused(argv, named):
        try:
            code = cli.main(argv)
        except SystemExit as stop:  # argparse's own refusals
            code = int(stop.code)
        err = capsys.readouterr().err
        assert code == 2 and named in err and "Traceback" not in err, err

    sweep = ["sweep", "--experiment", "e", "--models", "bilstm-crf", "--root", str(tmp_path)]
    refused([*sweep, "--seeds", "a"], "--seeds: expected integers such as 0,1,2, got 'a'")
    refused([*sweep, "--seeds", "0,-1"], "--seeds: expected integers from 0")
    refused(["bench", "--batch-size", "0"], "--batch-size: must be at least 1")
    out = tmp_path / "run"
    assert cli.main([*TRAIN, "--out", str(out)]) == 0
    binary = tmp_path / "tweets.txt"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    refused(["predict", "--run", str(out), "--file", str(binary)], f"{binary}: not UTF-8 text")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.txt")
        with deadline():
            refused(["predict", "--run", str(out), "--file", str(tmp_path / "fifo.txt")], "FIFO")
    assert not list(tmp_path.glob("e*"))  # the refused sweeps wrote nothing


def test_other_output_files_are_checked_before_the_work_and_never_hang(
    tmp_path, capsys, monkeypatch
):
    """``bench --out`` and ``hashtags evaluate --json``: a folder or a FIFO is refused by name
    before the (minutes-long) work; the file is written whole (a rename), never through a FIFO;
    ``bench --models ''`` is refused, not an empty "0 h" estimate."""
    import mner_lib.experiments.bench as bench
    from mner_lib.commands.sweep import _read_back

    ran = []
    monkeypatch.setattr(bench, "run_bench", lambda **kw: ran.append(kw) or {"models": []})
    monkeypatch.setattr(bench, "format_bench", lambda result: "formatted")
    bench_argv = ["bench", "--device", "cpu", "--models", "bilstm-crf", "--dataset", "demo"]

    def refused(argv, named):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert named in err and "Traceback" not in err, err

    refused(["bench", "--models", ""], "--models is empty: name one model or more")
    refused([*bench_argv, "--out", str(tmp_path)], f"--out {tmp_path}: is a folder")
    model = tmp_path / "seg.pt"
    refused(["hashtags", "evaluate", "--model", str(model), "--json", str(tmp_path)], "--json")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.json"
        os.mkfifo(fifo)
        with deadline():
            refused([*bench_argv, "--out", str(fifo)], "exists and is not a regular file")
            with pytest.raises(ValueError, match="fifo.json: .*FIFO"):
                _read_back(fifo)
    assert ran == []  # every refusal came before the benchmark
    out = tmp_path / "new" / "bench.json"
    assert cli.main([*bench_argv, "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {"models": []} and len(ran) == 1
