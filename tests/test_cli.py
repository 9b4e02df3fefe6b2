"""``python -m mner_lib``: train, predict from a copied run folder, and errors (exit code 2)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mner_lib.commands import cli
from mner_lib.text.data import TAGS, parse_lines, write_tweets
from mner_lib.training import load_run

TRAIN = [
    "train", "--model", "bilstm-crf", "--dataset", "demo", "--epochs", "2", "--max-train", "40",
    "--seed", "3", "--option", "use_glove=false", "--option", "hidden=8", "--option", "word_dim=8",
    "--device", "cpu", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="module")
def moved_run(tmp_path_factory) -> Path:
    """A run trained through the CLI, then moved elsewhere (the original folder deleted)."""
    base = tmp_path_factory.mktemp("cli")
    assert cli.main([*TRAIN, "--out", str(base / "run")]) == 0
    moved = base / "elsewhere" / "copied_run"
    shutil.copytree(base / "run", moved)
    shutil.rmtree(base / "run")
    return moved


def test_train_command_writes_the_run(moved_run, capsys):
    metrics = json.loads((moved_run / "metrics.json").read_text())
    assert metrics["model"] == "bilstm-crf" and metrics["seed"] == 3
    assert metrics["train_tweets"] == 40 and metrics["epochs_run"] == 2
    cfg = json.loads((moved_run / "config.json").read_text())
    assert cfg["model_options"] == {"use_glove": False, "hidden": 8, "word_dim": 8}
    assert cfg["optimizer"] == "sgd"  # the paper's setting where not given


def test_predict_text_from_the_copied_folder(moved_run, capsys):
    model, _ = load_run(moved_run)
    tag_set = set(model.vocab.tags.itos)
    text = ["Obama visits New York with @nasa today \ufe0f", "Messi scores"]
    assert cli.main(["predict", "--run", str(moved_run), "--conll", *text]) == 0
    tweets = list(parse_lines(capsys.readouterr().out.splitlines()))
    assert [t.tokens for t in tweets] == [line.split() for line in text]
    assert all(tag in tag_set for t in tweets for tag in t.tags)
    assert cli.main(["predict", "--run", str(moved_run), *text]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(" => " in line for line in lines)
    assert lines[0].startswith("Obama visits New York")


def test_predict_file_of_tweets(moved_run, tmp_path, capsys):
    plain = tmp_path / "tweets.txt"
    plain.write_text("RT @user Paris is lovely\n\nGo Lakers\n", encoding="utf-8")
    assert cli.main(["predict", "--run", str(moved_run), "--file", str(plain), "--conll"]) == 0
    tweets = list(parse_lines(capsys.readouterr().out.splitlines()))
    assert [len(t) for t in tweets] == [5, 2]
    conll = tmp_path / "tweets.conll"
    from mner_lib.text.data import Tweet

    write_tweets(conll, [Tweet("77", ["Hi", "London"], ["O", "B-LOC"])])
    assert cli.main(["predict", "--run", str(moved_run), "--file", str(conll), "--conll"]) == 0
    out = list(parse_lines(capsys.readouterr().out.splitlines()))
    assert out[0].id == "77" and out[0].tokens == ["Hi", "London"]
    assert all(tag in TAGS for tag in out[0].tags)


@pytest.mark.slow
def test_predict_as_a_process_from_another_folder(moved_run, tmp_path):
    """``python -m mner_lib predict`` in a fresh process, started away from the project.

    Fast sibling: :func:`test_predict_file_of_tweets` (the same command, in this process)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("MNER_DATA_DIR", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mner_lib",
            "predict",
            "--run",
            str(moved_run),
            "--conll",
            "Hello Paris",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    tweets = list(parse_lines(proc.stdout.splitlines()))
    assert tweets[0].tokens == ["Hello", "Paris"] and all(t in TAGS for t in tweets[0].tags)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("argv", "listed"),
    [
        (["train", "--model", "bilstm", "--out", "x"], ["bilstm-crf", "hbilstm-crf", "bert-crf"]),
        (
            ["train", "--model", "bilstm-crf", "--dataset", "tw15", "--out", "x"],
            ["twitter2015", "demo"],
        ),
        (["train", "--model", "bilstm-crf", "--out", "x", "--optimiser", "sgd"], ["--optimiser"]),
        (["train", "--model", "bilstm-crf", "--out", "x", "--optimizer", "lbfgs"], ["adam", "sgd"]),
        (
            ["data", "stats", "--dataset", "twitter2015", "--orphan-policy", "drop"],
            ["keep", "repair"],
        ),
        (["frobnicate"], ["train", "predict", "evaluate", "data"]),
    ],
)
def test_argument_errors_exit_2_listing_valid_values(argv, listed, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    for word in listed:
        assert word in err, (word, err)


def test_runtime_errors_exit_2_with_a_message(tmp_path, capsys, moved_run):
    out = str(tmp_path / "r")
    assert cli.main([*TRAIN, "--out", out, "--option", "hiden=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown option hiden for model") and "hidden" in err
    assert cli.main([*TRAIN, "--out", out, "--option", "hiden=3", "--option", "lyers=2"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown options hiden, lyers for model")
    assert cli.main([*TRAIN, "--out", out, "--option", "hidden"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert cli.main(["predict", "--run", str(tmp_path / "none"), "hi"]) == 2
    assert "no model.safetensors" in capsys.readouterr().err
    assert cli.main(["predict", "--run", str(moved_run)]) == 2
    assert "needs tweet text" in capsys.readouterr().err
    assert cli.main(["predict", "--run", str(moved_run), "--file", str(tmp_path / "no.txt")]) == 2
    assert "no.txt" in capsys.readouterr().err


def test_cuda_without_gpu_is_an_error(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    argv = [a if a != "cpu" else "cuda" for a in TRAIN]
    assert cli.main([*argv, "--out", str(tmp_path / "g")]) == 2
    assert "no GPU" in capsys.readouterr().err


def test_sweep_passes_the_training_settings_to_every_run(tmp_path, capsys):
    argv = [
        "sweep", "--experiment", "exp", "--models", "bilstm-crf", "--datasets", "demo",
        "--conditions", "none", "--seeds", "0,1", "--root", str(tmp_path), "--epochs", "1",
        "--max-train", "20", "--max-eval", "20", "--batch-size", "4", "--lr", "0.05",
        "--option", "use_glove=false", "--option", "hidden=8", "--option", "word_dim=8", "--quiet",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    configs = sorted((tmp_path / "exp").glob("bilstm-crf/demo/none/seed*/config.json"))
    assert [json.loads(p.read_text())["seed"] for p in configs] == [0, 1]
    for path in configs:
        config = json.loads(path.read_text())
        assert (config["batch_size"], config["lr"], config["epochs"]) == (4, 0.05, 1)
        assert config["optimizer"] == "sgd"  # what was not given stays the paper's
    assert "exp" in capsys.readouterr().out  # the summary table


class _GoneReader(io.StringIO):
    """A stdout whose reader has left (``... | head -1``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_output_cut_short_by_its_reader_is_no_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _GoneReader())
    assert cli.main(["campaign", "jobs"]) == 141  # what a shell reports for SIGPIPE
    assert capsys.readouterr().err == ""  # no "error: [Errno 32] Broken pipe", no traceback
