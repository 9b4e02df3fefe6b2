"""Every chapter says what the reader will learn and ends with exercises whose papermill lines
name parameters and values the chapter accepts."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest
import yaml

from mner_lib import book
from mner_lib.book.params import ParameterError, check
from mner_lib.training import resolve_config

ROOT = Path(__file__).resolve().parent.parent


def papermill_overrides(line: str) -> dict:
    """The parameters a ``papermill in out -p k v -y '...'`` line sets, as papermill reads them."""
    values = {k: yaml.safe_load(v) for k, v in re.findall(r"-p (\S+) (\S+)", line)}
    for text in re.findall(r"-y '([^']*)'", line):
        values.update(yaml.safe_load(text))
    return values


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_chapter_has_learn_and_try_cells_whose_lines_the_chapter_accepts(chapter):
    stem = Path(chapter.notebook).stem
    nb = jupytext.read(ROOT / "notebooks" / f"{stem}.py")
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any(s.startswith("**What you will learn**") for s in markdown[:3]), "learn cell on top"
    assert markdown[-1].startswith("## Try this"), "the last cell holds the exercises"
    lines = re.findall(rf"papermill notebooks/{stem}\.ipynb \S+\.ipynb (.*)", markdown[-1])
    assert len(lines) >= 2 or "python -m mner_lib book run" in markdown[-1]
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    defaults: dict = {}
    exec(cell.source, defaults)
    defaults = {k: v for k, v in defaults.items() if not k.startswith("__")}
    for line in lines:
        changed = papermill_overrides(line)
        assert changed, line
        params = check({**defaults, **changed}, chapter.key)  # a wrong name or value raises
        for model in params.get("models", []) if params.get("model_options") else []:
            resolve_config(model, dataset="demo", model_options=params["model_options"])


def test_a_wrong_exercise_would_be_caught():
    assert papermill_overrides("-p epochs 6 -y 'model_options: {heads: 1}'") == {
        "epochs": 6,
        "model_options": {"heads": 1},
    }
    with pytest.raises(ParameterError):
        check({"epochs": 0}, "hsn")
    with pytest.raises(ValueError, match="unknown option"):
        resolve_config("hsn", dataset="demo", model_options={"headz": 1})
