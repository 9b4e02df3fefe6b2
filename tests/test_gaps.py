"""The gap decomposition (issue 27): paper − ours = text side + the paper's image gain + rest."""

from __future__ import annotations

import pandas as pd
import pytest

from mner_lib.reporting.gaps import decompose

PAPERS = pd.DataFrame([
    {"model": "bert-crf", "dataset": "twitter2017", "variant": "full", "f1": 83.44},
    {"model": "gmf", "dataset": "twitter2017", "variant": "full", "f1": 87.11},
    {"model": "trimod", "dataset": "twitter2017", "variant": "full", "f1": 80.0},
])  # fmt: skip


def _run(model: str, condition: str, f1: float, seed: int) -> dict:
    return {"model": model, "dataset": "twitter2017", "condition": condition, "f1": f1,
            "seed": seed, "variant": "full"}  # fmt: skip


def test_the_three_parts_add_up_to_the_gap_and_each_is_what_it_names():
    runs = pd.DataFrame(
        [_run("bert-crf", "none", 81.0 + s, s) for s in (0, 1, 2)]  # mean 82
        + [_run("gmf", "caption:blip2", 84.0, s) for s in (0, 1)]
        + [_run("gmf", "blank", 10.0, 0), _run("trimod", "caption:blip2", 70.0, 0)]
    )
    by_model = {d.model: d for d in decompose(runs, PAPERS, "caption:blip2")}
    gmf = by_model["gmf"]
    assert (gmf.ours, gmf.n, gmf.condition) == (84.0, 2, "caption:blip2")
    assert gmf.total == pytest.approx(87.11 - 84.0)
    assert gmf.text_side == pytest.approx(83.44 - 82.0)  # the paper's BERT-CRF − ours
    assert gmf.image_gain == pytest.approx(87.11 - 83.44)  # the paper's full − its text row
    assert gmf.remainder == pytest.approx(82.0 - 84.0)  # minus our caption's gain over text
    assert gmf.total == pytest.approx(gmf.text_side + gmf.image_gain + gmf.remainder)
    bert = by_model["bert-crf"]
    assert bert.condition == "none" and bert.total == pytest.approx(bert.text_side)
    assert bert.image_gain == 0
    trimod = by_model["trimod"]  # its paper prints no text-only row: the total only
    assert trimod.total == pytest.approx(10.0) and trimod.text_side is None
    assert trimod.remainder is None


def test_a_row_without_a_paper_number_or_without_runs_is_left_out():
    runs = pd.DataFrame([_run("cwi", "caption:blip2", 70.0, 0), _run("gmf", "blank", 70.0, 0)])
    assert decompose(runs, PAPERS, "caption:blip2") == []
    assert decompose(pd.DataFrame(), PAPERS, "caption:blip2") == []
