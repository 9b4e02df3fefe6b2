"""A stranger's results folder, a careless ``report --out`` and a broken benchmark file: a FIFO or
/dev/zero never hangs ``report``, a finished run's files are never overwritten by a report, and a
metrics.json, history.jsonl or bench file of the wrong shape is one error naming file and field."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from mner_lib.book import realplots
from mner_lib.commands.cli import main
from mner_lib.experiments import campaign
from mner_lib.experiments import cost as campaign_cost
from mner_lib.io.safe_read import RefusedFileError
from mner_lib.reporting import results
from mner_lib.reporting.report import check_out
from tests.deadline import deadline


def metrics(**changes) -> dict:
    m = {
        "model": "hsn",
        "dataset": "twitter2015",
        "condition": "blank",
        "synthetic": False,
        "backbone": "efficientnet-lite0",
        "seed": 0,
        "test": {"precision": 70.0, "recall": 70.0, "f1": 70.0, "per_type": {"PER": {"f1": 80}}},
        "dev": {"f1": 69.0},
        "environment": {"device": "cpu", "cpu_count": 2, "python": "3.11", "torch": "2"},
        "train_tweets_per_second": 100.0,
        "inference_tweets_per_second": 300.0,
        "wall_seconds": 60.0,
        "config": {"model_options": {}, "optimizer": "adam", "lr": 0.001, "batch_size": 10},
        "model_config": {},
    }
    m.update(changes)
    return m


def write_run(root: Path, m: dict | str, name: str = "r") -> Path:
    """``root/exp1/<name>/metrics.json`` (text as given, or the JSON of a dict) and its config."""
    folder = root / "exp1" / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": "hsn"}))
    path = folder / "metrics.json"
    path.write_text(m if isinstance(m, str) else json.dumps(m))
    return path


def report(root: Path, *extra: str) -> None:
    main(["report", "--root", str(root), "--experiments", "exp1", *extra])


# ----------------------------------------------------------------------------- 1: FIFOs, devices
def test_a_fifo_metrics_json_is_refused_by_name_without_hanging(tmp_path):
    write_run(tmp_path, metrics(), "good")
    folder = tmp_path / "exp1" / "fifo"
    folder.mkdir()
    os.mkfifo(folder / "metrics.json")
    with deadline(), pytest.raises(RefusedFileError, match=r"fifo/metrics.json: a FIFO"):
        results.load_runs(tmp_path)
    with deadline(), pytest.raises(SystemExit, match=r"^report: .*fifo/metrics.json: a FIFO"):
        report(tmp_path)
    assert not list(tmp_path.glob("report_*.md"))  # nothing written


def test_a_linked_metrics_json_is_no_run_and_dev_zero_is_refused_not_read(tmp_path):
    real = write_run(tmp_path, metrics(), "good")
    for name, target in (("zero", "/dev/zero"), ("twice", real), ("outside", tmp_path / "x")):
        folder = tmp_path / "exp1" / name
        folder.mkdir(parents=True)
        (folder / "metrics.json").symlink_to(target)
    (tmp_path / "x").write_text(json.dumps(metrics(seed=7)))
    with deadline():
        assert results.find_metrics(tmp_path) == [real]
        assert list(results.load_runs(tmp_path)["seed"]) == [0]
    with deadline(), pytest.raises(RefusedFileError, match=r"zero/metrics.json: a character dev"):
        results.read_json(tmp_path / "exp1" / "zero" / "metrics.json")


def test_an_oversized_run_file_is_refused_by_name(tmp_path):
    path = write_run(tmp_path, metrics())
    with pytest.raises(RefusedFileError, match=r"r/metrics.json: \d+ bytes, over the limit of 10"):
        results.read_json(path, max_bytes=10)
    assert results.MAX_METRICS_BYTES == 16 * 2**20


def test_a_fifo_history_is_refused_by_name_without_hanging(tmp_path):
    path = write_run(tmp_path, metrics())
    os.mkfifo(path.with_name("history.jsonl"))
    with deadline(), pytest.raises(RefusedFileError, match=r"r/history.jsonl: a FIFO"):
        realplots.read_history(path)


@pytest.mark.parametrize(
    "line, why",
    [
        ("[1]", "not an object with an integer epoch"),
        ('{"epoch": "1", "dev_f1": 5}', "not an object with an integer epoch"),
        ('{"epoch": 1, "dev_f1": NaN}', "dev_f1 nan is not from 0 to 100"),
        ('{"epoch": 1, "dev_f1": 1e999}', "dev_f1 inf is not from 0 to 100"),
        ("[" * 100000 + "]" * 100000, "not valid JSON"),
    ],
)
def test_a_history_line_of_the_wrong_shape_names_file_and_line(tmp_path, line, why):
    path = write_run(tmp_path, metrics())
    path.with_name("history.jsonl").write_text('{"epoch": 1, "dev_f1": 50.0}\n' + line + "\n")
    with pytest.raises(ValueError, match=rf"r/history.jsonl:2: {why}"):
        realplots.read_history(path)


# ----------------------------------------------------------------------------- 2: report --out
def test_report_out_never_replaces_a_finished_runs_metrics(tmp_path):
    path = write_run(tmp_path, metrics())
    before = path.read_bytes()
    for out in (path, path.with_name("history.jsonl"), path.with_name("notes.md")):
        with pytest.raises(SystemExit, match=rf"report: --out {out}: "):
            report(tmp_path, "--out", str(out))
    link = tmp_path / "innocent.md"
    link.symlink_to(path)  # a harmless name that leads into the run
    with pytest.raises(SystemExit, match=r"run folder's file|is a run folder"):
        report(tmp_path, "--out", str(link))
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.json", "metrics.json"]
    report(tmp_path, "--out", str(tmp_path / "ok.md"))  # beside the results: fine
    assert (tmp_path / "ok.md").read_text().startswith("# Report: exp1")


@pytest.mark.parametrize(
    "relative",
    ["x/metrics.json", "x/config.json", "x/model.safetensors", "x/predictions_test.txt",
     "x/checkpoint", "x/checkpoint/model.json", "x/checkpoint/notes.md"],
)  # fmt: skip
def test_check_out_refuses_every_file_of_a_run_folder(tmp_path, relative):
    (tmp_path / "x" / "checkpoint").mkdir(parents=True)
    (tmp_path / "x" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match=rf"--out {tmp_path / relative}: "):
        check_out(tmp_path / relative)
    assert check_out(tmp_path / "report.md") == tmp_path / "report.md"


def test_the_campaign_report_refuses_an_out_in_a_run_folder(tmp_path, capsys):
    root = tmp_path / "results"
    path = write_run(root, metrics())
    before = path.read_bytes()
    code = main(["report", "--root", str(root), "--out", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: --out {path}: ") and err.count("\n") == 1
    assert path.read_bytes() == before


def test_a_report_out_that_is_no_regular_file_is_an_error_not_a_hang(tmp_path):
    write_run(tmp_path, metrics())
    os.mkfifo(tmp_path / "out.md")
    with deadline(), pytest.raises(SystemExit, match=r"out.md: a FIFO, not a regular file"):
        report(tmp_path, "--out", str(tmp_path / "out.md"))
    with deadline(), pytest.raises(SystemExit, match=r"folder.md: a folder, not a regular file"):
        (tmp_path / "folder.md").mkdir()
        report(tmp_path, "--out", str(tmp_path / "folder.md"))


def test_a_report_replaces_its_file_whole_and_never_writes_into_it(tmp_path, monkeypatch):
    write_run(tmp_path, metrics())
    out = tmp_path / "report.md"
    out.write_text("the old report\n")
    twin = tmp_path / "twin.md"
    os.link(out, twin)  # the same file under another name: written in place, both would change
    report(tmp_path, "--out", str(out))
    assert out.read_text().startswith("# Report: exp1") and twin.read_text() == "the old report\n"

    def killed(*args):
        raise OSError(28, "No space left on device")

    before = out.read_bytes()
    monkeypatch.setattr(os, "replace", killed)  # the rename fails: the new text never lands
    with pytest.raises(SystemExit, match=rf"^report: cannot write {out}: No space left"):
        report(tmp_path, "--out", str(out))
    assert out.read_bytes() == before  # the previous report, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp1", "report.md", "twin.md"]


@pytest.mark.parametrize("inside", [False, True])
def test_report_refuses_a_linked_experiment_folder_by_name(tmp_path, inside):
    root = tmp_path / "results"
    write_run(root, metrics())
    elsewhere = root / "exp1" if inside else tmp_path / "elsewhere" / "exp9"
    if not inside:
        write_run(tmp_path / "elsewhere", metrics(seed=7))
        (tmp_path / "elsewhere" / "exp1").rename(elsewhere)
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    where = "inside" if inside else "outside"
    for pattern in ("linked", "l*", "*"):
        with pytest.raises(SystemExit) as exit_:
            main(["report", "--root", str(root), "--experiments", pattern])
        message = str(exit_.value.code)
        assert message.startswith(f"report: {root / 'linked'}: a symbolic link to a folder {where}")
        assert "\n" not in message
    assert not list(root.glob("report_*.md"))  # nothing written


def test_report_refuses_a_linked_run_folder_inside_an_experiment(tmp_path):
    root = tmp_path / "results"
    write_run(root, metrics())
    outside = write_run(tmp_path / "stranger", metrics(seed=7)).parent
    (root / "exp1" / "seed7").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SystemExit, match=rf"^report: {root / 'exp1' / 'seed7'}: a symbolic link"):
        main(["report", "--root", str(root), "--experiments", "exp1"])
    assert not list(root.glob("report_*.md"))


def test_the_campaign_report_refuses_a_linked_experiment_folder(tmp_path, capsys):
    root = tmp_path / "results"
    root.mkdir()
    experiment = next(r.experiment for r in campaign.PLAN if r.kind == "text-gap")
    outside = tmp_path / "stranger" / experiment
    (outside / "hsn").mkdir(parents=True)
    (outside / "hsn" / "metrics.json").write_text(json.dumps(metrics()))
    (root / experiment).symlink_to(outside, target_is_directory=True)
    assert main(["report", "--root", str(root), "--out", str(tmp_path / "c.md")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {root / experiment}: a symbolic link to a folder outside")
    assert err.count("\n") == 1 and not (tmp_path / "c.md").exists()


# ----------------------------------------------------------------------------- 3: metrics fields
HOSTILE = [
    ({"test": [1]}, "test", "not an object"),
    ({"environment": "x"}, "environment", "not an object"),
    ({"config": [1]}, "config", "not an object"),
    ({"test": {"f1": 70.0, "per_type": {"PER": 5}}}, "test.per_type.PER", "not an object"),
    ({"images": {"leak": 5}}, "images.leak", "not an object"),
    ({"seed": [1]}, "seed", "not an integer"),
    ({"seed": 1.5}, "seed", "not an integer"),
    ({"condition": ["a"]}, "condition", "not one line"),
    ({"model": 5}, "model", "not one line"),
    ({"model": None}, "model", "not one line"),
    # a report prints these in Markdown table cells: a '|' or a line break would break the table
    ({"model": "hsn | 99.9 | forged"}, "model", "without '\\|'"),
    ({"variant": "full\n| forged | row |"}, "variant", "not one line"),
    ({"environment": {"gpu": "x" * 201}}, "environment.gpu", "at most 200 printable"),
    ({"test": {"f1": "high"}}, "test.f1", "not a number from 0 to 100"),
    ({"test": {"f1": math.nan}}, "test.f1", "not a number from 0 to 100"),
    ({"test": {"f1": math.inf}}, "test.f1", "not a number from 0 to 100"),
    ({"test": {"f1": 70.0, "per_type": {"LOC": {"f1": "x"}}}}, "test.per_type.LOC.f1", "finite"),
    ({"test": {"f1": 101, "precision": 50}}, "test.f1", "not a number from 0 to 100"),
    ({"test": {"f1": 50, "recall": -1}}, "test.recall", "not a number from 0 to 100"),
    ({"dev": {"f1": math.nan}}, "dev.f1", "not a finite number"),
    ({"train_tweets_per_second": "fast"}, "train_tweets_per_second", "not a finite number"),
    ({"max_train": 10**400}, "max_train", "not a whole number"),
    ({"synthetic": "false"}, "synthetic", "not true or false"),
    ({"config": {"encoder_lr": "x"}}, "config.encoder_lr", "not a finite number"),
    ({"config": {"grad_accum": "9"}}, "config.grad_accum", "not a whole number"),
    ({"config": {"model_options": [1]}}, "config.model_options", "not an object"),
]


@pytest.mark.parametrize("change, field, why", HOSTILE)
def test_a_hostile_metrics_field_is_one_error_naming_file_and_field(tmp_path, change, field, why):
    write_run(tmp_path, metrics(**change))
    pattern = rf"exp1/r/metrics.json: metrics.json field '{field}' is .*{why}"
    with pytest.raises(ValueError, match=pattern):
        results.load_runs(tmp_path)
    with pytest.raises(SystemExit, match="^report: .*" + pattern):  # one line, no traceback
        report(tmp_path)


def test_json_nested_too_deep_is_an_error_naming_the_file(tmp_path):
    write_run(tmp_path, '{"model": ' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(ValueError, match=r"exp1/r/metrics.json: not valid JSON"):
        results.load_runs(tmp_path)
    path = write_run(tmp_path / "other", "{}")
    path.write_bytes(b'{"model": "\xff"}')  # not UTF-8
    with pytest.raises(ValueError, match=r"other/exp1/r/metrics.json: not valid JSON \(.*utf"):
        results.load_runs(tmp_path / "other")


def test_the_campaign_report_turns_a_hostile_run_into_one_error_line(tmp_path, capsys):
    root = tmp_path / "results"
    folder = root / "campaign" / "hsn" / "twitter2015" / "blank" / "seed0"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics(test={"f1": float("nan")})))
    assert main(["report", "--root", str(root), "--out", str(tmp_path / "c.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seed0/metrics.json: metrics.json field 'test.f1'" in err
    assert not (tmp_path / "c.md").exists()


def test_valid_runs_still_make_the_same_rows(tmp_path):
    write_run(tmp_path, metrics(), "a")
    write_run(tmp_path, metrics(seed=1, test={"f1": 72, "per_type": {}}), "b")
    runs = results.load_runs(tmp_path)
    assert sorted(runs["f1"]) == [70.0, 72] and sorted(runs["seed"]) == [0, 1]
    assert results.aggregate(runs).iloc[0]["f1_mean"] == pytest.approx(71.0)


# ----------------------------------------------------------------------------- 4: --bench
@pytest.mark.parametrize(
    "content, why",
    [
        ("[1]", "not a benchmark file"),
        ('{"models": 5}', "not a benchmark file"),
        ('{"models": [1]}', r"models\[0\] is 1, not an entry naming its model"),
        ('{"models": [{"model": 5}]}', r"models\[0\] is .*not an entry naming its model"),
        ('{"models": ', "not valid JSON"),
    ],
)
def test_a_bench_file_of_the_wrong_shape_is_an_error_naming_it(tmp_path, content, why):
    bench = tmp_path / "bench.json"
    bench.write_text(content)
    with pytest.raises(ValueError, match=rf"bench.json(:\d+)?: {why}"):
        campaign.recorded_speeds(bench)


@pytest.mark.parametrize("speed", [0, -3, "fast", None, True, "NaN"])
def test_a_bench_speed_that_is_not_positive_is_skipped_by_name(tmp_path, speed):
    bench = tmp_path / "bench.json"
    entries = [
        {"model": "hsn", "train_tweets_per_second": speed, "inference_tweets_per_second": 50},
        {"model": "cwi", "train_tweets_per_second": 10.0, "inference_tweets_per_second": 50.0},
    ]
    text = json.dumps({"models": entries})
    bench.write_text(text.replace('"NaN"', "NaN"))
    with pytest.warns(UserWarning, match=r"bench.json: model 'hsn': speeds .* not positive"):
        speeds = campaign.recorded_speeds(bench)
    assert speeds == {"cwi": (10.0, 50.0)}
    job = next(j for j in campaign.jobs() if j.row.model == "hsn")
    assert campaign.job_hours(job, speeds) is None
    assert campaign.job_hours(job, {"hsn": (speed, 50)}) is None  # never divided by
    plan = (campaign.Row("campaign", "hsn", ("twitter2015",), ("blank",), (0,)),)
    root = tmp_path / "results"
    root.mkdir()
    with pytest.warns(UserWarning):
        lines = campaign_cost.pending_lines(root, results.runs_frame([]), bench, plan)
    assert "| campaign | hsn | twitter2015 | 0 | 1 | unknown | unknown |" in lines


def test_a_bench_fifo_is_refused_and_a_missing_one_means_no_speeds(tmp_path):
    assert campaign.recorded_speeds(tmp_path / "none.json") == {}
    os.mkfifo(tmp_path / "bench.json")
    with deadline(), pytest.raises(RefusedFileError, match=r"bench.json: a FIFO.*benchmark file"):
        campaign.recorded_speeds(tmp_path / "bench.json")
