"""Notebook parameter validation: unknown names and bad values fail with the valid ones listed."""

from __future__ import annotations

import os

import pytest

from mner_lib.book import params
from mner_lib.book.params import ParameterError


def hsn_defaults() -> dict:
    return {
        "dataset": "demo",
        "data_dir": "",
        "condition": "synthetic",
        "backbone": "efficientnet-lite0",
        "models": ["hsn"],
        "epochs": 2,
        "seeds": [0],
        "device": "auto",
        "max_train": 200,
        "max_eval": None,
        "model_options": {},
        "train_options": {},
        "ablations": [],
        "runs_dir": "runs/book",
        "results_dir": "results",
    }


def test_valid_parameters_pass_through():
    values = hsn_defaults()
    assert params.validate("hsn", values) == values


def test_unknown_name_lists_every_valid_name():
    values = {**hsn_defaults(), "epoch": 3}
    with pytest.raises(ParameterError) as err:
        params.validate("hsn", values)
    message = str(err.value)
    assert "unknown parameter epoch" in message
    for name in hsn_defaults():
        assert f"  {name}:" in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("dataset", "twitter2019", "twitter2015"),
        ("device", "tpu", "auto, cpu, cuda"),
        ("epochs", 0, "at least 1"),
        ("epochs", True, "expected a number"),
        ("epochs", 2.5, "expected an integer"),
        ("seeds", 3, "list of integers"),
        ("seeds", [], "list of integers"),
        ("max_train", -5, "at least 1"),
        ("condition", "sepia", "valid: real, blank"),
        ("condition", "missing:1.5", "fraction"),
        ("backbone", "vgg19", "efficientnet-lite0"),
        ("ablations", ["w/o XY"], "w/o MI"),
        ("data_dir", "/no/such/folder", "does not exist"),
        ("model_options", "heads=1", "dict"),
        ("train_options", "lr=0.01", "dict of training settings"),
        ("train_options", {"learning_rate": 0.01}, "valid: batch_size, optimizer, lr"),
        ("train_options", {"lr": -1.0}, "lr: must be positive"),
        ("train_options", {"optimizer": "lion"}, "adam"),
        ("train_options", {"epochs": 3}, "unknown training setting epochs"),
    ],
)
def test_bad_value_names_parameter_and_valid_values(name, value, expected):
    values = {**hsn_defaults(), name: value}
    with pytest.raises(ParameterError) as err:
        params.validate("hsn", values)
    assert f"{name}:" in str(err.value)
    assert expected in str(err.value)


def test_missing_parameter_is_an_error_unless_partial():
    values = hsn_defaults()
    del values["epochs"]
    with pytest.raises(ParameterError, match="missing parameter"):
        params.validate("hsn", values)
    assert params.validate("hsn", values, partial=True)["dataset"] == "demo"


def test_check_reads_a_notebook_namespace():
    namespace = {
        **hsn_defaults(),
        "os": os,
        "_private": 1,
        "In": [],
        "get_ipython": print,
        "helper": len,
    }
    assert params.check(namespace, "hsn") == hsn_defaults()
    namespace["learning_rate"] = 0.1
    with pytest.raises(ParameterError, match="learning_rate"):
        params.check(namespace, "hsn")


def test_unknown_chapter_lists_chapters():
    with pytest.raises(ParameterError, match="valid: task_data, foundations"):
        params.validate("nope", {})


def test_ablation_options_checked_against_model_config():
    from dataclasses import dataclass

    @dataclass
    class Config:
        heads: int = 8

    class Model:
        name = "fake"
        config_class = Config

    assert params.ablation_options("hsn", "w/o MP", Model) == ({"heads": 1}, None)
    assert params.ablation_options("hsn", "w/o VF", Model) == ({}, "blank")
    with pytest.raises(ParameterError, match="lacks; its fields: heads"):
        params.ablation_options("hsn", "w/o MI", Model)
    with pytest.raises(ParameterError, match="valid: w/o MI"):
        params.ablation_options("hsn", "w/o everything")


def test_every_notebook_parameters_cell_matches_its_schema():
    """The defaults in each notebook's parameters cell are valid for its chapter."""
    import ast
    from pathlib import Path

    import nbformat

    from mner_lib.book import CHAPTERS, NOTEBOOK_DIR

    for chapter in CHAPTERS:
        nb = nbformat.read(Path(NOTEBOOK_DIR) / chapter.notebook, as_version=4)
        cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(cells) == 1, f"{chapter.notebook}: {len(cells)} cells tagged parameters"
        namespace: dict = {}
        exec(compile(ast.parse(cells[0].source), chapter.notebook, "exec"), namespace)  # noqa: S102
        namespace.pop("__builtins__")
        params.validate(chapter.key, namespace)
