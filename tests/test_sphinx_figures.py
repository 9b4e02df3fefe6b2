"""The book's figure extension on a two-cell notebook built by Sphinx (MyST-NB, no execution)."""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

from mner_lib import figures as plots
from mner_lib.figures.figure import html_figure

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
    from sphinx.util.docutils import docutils_namespace

    from mner_lib.figures.figure import _mimebundle

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
        'extensions = ["myst_nb", "mner_lib.figures.sphinx_figures"]\n'
        'nb_execution_mode = "off"\nnumfig = True\nexclude_patterns = ["_build"]\n'
    )
    with docutils_namespace():  # another build in this process registers its nodes anew
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


def test_a_hostile_caption_and_alt_text_are_text_in_the_built_page(tmp_path):
    """A caption or alt text computed from data (a tweet id, a condition) is escaped by the
    extension's docutils nodes: nothing active reaches the page, and no math."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    from mner_lib.book.site import _Page

    hostile = r"<img src=x onerror=alert(1)> $\undefinedmacro$ <script>alert(2)</script>"
    curves = plots.training_curves({"a": [{"epoch": 1, "loss": 1.0, "dev_f1": 5.0}]})
    curves.describe(f"Tweet {hostile}.", f"Alt {hostile}")
    cards = html_figure("<div>cards</div>", f"Cards {hostile}.")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Chapter"),
        nbformat.v4.new_code_cell("x", outputs=[output(curves), output(cards)]),
    ]
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(nb, src / "index.ipynb")
    (src / "conf.py").write_text(
        'extensions = ["myst_nb", "mner_lib.figures.sphinx_figures"]\n'
        'nb_execution_mode = "off"\nnumfig = True\nexclude_patterns = ["_build"]\n'
    )
    html = tmp_path / "html"
    with docutils_namespace():
        Sphinx(str(src), str(src), str(html), str(tmp_path / "dt"), "html", status=None,
               warningiserror=True).build()  # fmt: skip
    page = (html / "index.html").read_text()
    figures = re.findall(r"<figure.*?</figure>", page, flags=re.S)
    parsed = _Page()
    parsed.feed("".join(figures))
    assert len(figures) == 2 and parsed.active == [] and parsed.script_tags == []
    assert "Tweet &lt;img src=x onerror=alert(1)&gt; $\\undefinedmacro$" in figures[0]
    assert 'alt="Alt &lt;img src=x onerror=alert(1)&gt;' in figures[0]
    assert "Cards &lt;img src=x onerror=alert(1)&gt;" in figures[1]
    assert 'class="math' not in page
