"""``mner_lib.experiments.bench`` and ``python -m mner_lib bench``: the CPU path on the demo corpus."""

from __future__ import annotations

import json

import pytest

from mner_lib import training as train
from mner_lib.commands.cli import main
from mner_lib.experiments.bench import DATASET_SIZES, format_bench, grid_hours, run_bench


def test_run_bench_cpu_demo_measures_each_model():
    before = train.autocast
    result = run_bench(
        device="cpu",
        models=["bilstm-crf", "hsn"],
        steps=2,
        dataset="demo",
        batch_size=4,
        threads=1,
        precision="fp32",
    )
    assert train.autocast is before  # the trainer is left as it was
    assert result["device"] == "cpu" and result["precision"] == "fp32"
    assert [r["model"] for r in result["models"]] == ["bilstm-crf", "hsn"]
    for row in result["models"]:
        assert row["steps"] == 2 and row["batch_size"] == 4
        assert row["train_tweets_per_second"] > 0
        assert row["inference_tweets_per_second"] > 0
        assert row["peak_memory_mb"] > 0
        assert set(row["grid_hours"]) == {"twitter2015", "twitter2017"}
        assert row["grid_hours_total"] > 0
    total = sum(r["grid_hours_total"] for r in result["models"])
    assert result["grid_hours_total"] == pytest.approx(total)
    assert "replication grid" in format_bench(result)


def test_grid_hours_scale_with_speed_and_paper_epochs():
    slow = grid_hours("hsn", 10.0, 100.0)
    fast = grid_hours("hsn", 20.0, 200.0)
    assert fast["twitter2015"] == pytest.approx(slow["twitter2015"] / 2)
    # HSN: 30 epochs, 3 seeds; 4000 training + 1000 dev tweets per epoch, dev + test at the end
    n_train, n_dev, n_test = DATASET_SIZES["twitter2015"]
    expected = 3 * (30 * (n_train / 10 + n_dev / 100) + (n_dev + n_test) / 100) / 3600
    assert slow["twitter2015"] == pytest.approx(expected)
    # GMF runs 50 epochs on Twitter-2017 (the paper's per-dataset setting), 30 on Twitter-2015
    gmf = grid_hours("gmf", 10.0, 1e12)
    assert gmf["twitter2017"] / gmf["twitter2015"] == pytest.approx(
        50 * DATASET_SIZES["twitter2017"][0] / (30 * DATASET_SIZES["twitter2015"][0])
    )


def test_cli_bench_json_and_errors(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "--device",
            "cpu",
            "--models",
            "bilstm-crf",
            "--steps",
            "1",
            "--batch-size",
            "2",
            "--dataset",
            "demo",
            "--threads",
            "1",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["models"][0]["model"] == "bilstm-crf"
    assert json.loads(out.read_text())["models"][0]["steps"] == 1
    assert main(["bench", "--device", "cpu", "--models", "nope", "--dataset", "demo"]) == 2
    assert "valid: bilstm-crf" in capsys.readouterr().err
