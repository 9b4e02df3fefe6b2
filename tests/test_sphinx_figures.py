"""The book's figure extension on a two-cell notebook built by Sphinx (MyST-NB, no execution)."""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

from mner_lib import plots
from mner_lib.figure import html_figure

pytest.importorskip("myst_nb")


def output(obj) -> nbformat.NotebookNode:
    if hasattr(obj, "_repr_mimebundle_"):
        data, _ = obj._repr_mimebundle_()
    else:
        data = {"text/html": obj._repr_html_(), "text/plain": "<html>"}
    return nbformat.v4.new_output("display_data", data=data)


def test_captioned_outputs_become_numbered_figures_with_their_alt_text(tmp_path):
    from matplotlib.figure import Figure
    from sphinx.application import Sphinx

    from mner_lib.figure import _mimebundle

    gates = plots.layer_gates(np.full((2, 4), 0.25))
    curves = plots.training_curves({"a": [{"epoch": 1, "loss": 1.0, "dev_f1": 5.0}]})
    plain = Figure()
    plain.subplots().plot([1, 2])
    uncaptioned = nbformat.v4.new_output("display_data", data=_mimebundle(plain, "", "")[0])
    cards = html_figure("<div><img alt='image 7' src='data:image/png;base64,AA=='></div>", "Cards.")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Chapter"),
        nbformat.v4.new_code_cell("x", outputs=[output(gates), output(curves), uncaptioned]),
        nbformat.v4.new_code_cell("y", outputs=[output(cards)]),
    ]
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(nb, src / "index.ipynb")
    (src / "conf.py").write_text(
        'extensions = ["myst_nb", "mner_lib.sphinx_figures"]\n'
        'nb_execution_mode = "off"\nnumfig = True\nexclude_patterns = ["_build"]\n'
    )
    app = Sphinx(
        str(src),
        str(src),
        str(tmp_path / "html"),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warningiserror=True,
    )
    app.build()
    page = (tmp_path / "html" / "index.html").read_text()
    figures = re.findall(r"<figure.*?</figure>", page, flags=re.S)
    assert len(figures) == 3  # two plots in one cell, the HTML cards; the uncaptioned PNG not
    numbers = [re.search(r'caption-number">Fig. (\d+)', f).group(1) for f in figures]
    assert numbers == ["1", "2", "3"]
    assert f'alt="{gates.alt}"' in figures[0] and gates.caption in figures[0]
    assert f'alt="{curves.alt}"' in figures[1]
    assert "alt='image 7'" in figures[2] and "Cards." in figures[2]
    outside = re.sub(r"<figure.*?</figure>", "", page, flags=re.S)
    assert len(re.findall(r"<img[^>]*_images/", outside)) == 1  # the uncaptioned one
