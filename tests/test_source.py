"""The code shown beside the equations is the library's own, read when the chapter runs."""

from __future__ import annotations

import inspect

import pytest

from mner_lib.book.source import show_source, source_of
from mner_lib.models.crf import CRF, viterbi_decode


def test_source_names_the_object_its_file_and_lines():
    name, path, first, last = source_of(viterbi_decode)
    assert name == "mner_lib.models.crf.viterbi_decode" and path == "mner_lib/models/crf.py"
    lines, start = inspect.getsourcelines(viterbi_decode)
    assert (first, last) == (start, start + len(lines) - 1)
    assert source_of(CRF.decode)[0] == "mner_lib.models.crf.CRF.decode"


def test_the_block_holds_the_whole_current_source_collapsed_and_without_local_paths():
    html = show_source(viterbi_decode, (CRF, "the CRF"), label="Viterbi")._repr_html_()
    assert html.count("<details") == 2 and "<summary>The code (Viterbi)" in html
    assert "<summary>The code (the CRF): <code>mner_lib.models.crf.CRF</code>" in html
    assert "mner_lib/models/crf.py" in html and "/work/" not in html and "/home/" not in html
    text = repr(show_source(viterbi_decode))
    assert inspect.getsource(viterbi_decode) in text  # exactly what the module holds now


def test_wrong_objects_are_one_line_errors():
    with pytest.raises(ValueError, match="not mner_lib's"):
        source_of(inspect.getsource)
    with pytest.raises(TypeError, match="not a function, method or class"):
        show_source((42, "eq. 1"))
    with pytest.raises(ValueError, match="at least one"):
        show_source()
