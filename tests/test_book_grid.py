"""mner_lib.book.grid.sweep: a point whose notebook fails is a BookError naming its folder
(the name was used there without being imported: a NameError instead)."""

from __future__ import annotations

import pytest


def test_a_failed_point_is_a_book_error_naming_its_folder(tmp_path, monkeypatch):
    from mner_lib import book
    from mner_lib.book import grid as book_grid

    def failing(chapter, params, output, cell_timeout=900, cwd=None):
        raise RuntimeError("the notebook stopped in cell 3")

    monkeypatch.setattr(book_grid, "execute_chapter", failing)
    args = (
        "hsn",
        book.parse_grid("models=hsn seeds=0"),
        "smoke",
        tmp_path / "runs",
        tmp_path / "r",
    )
    with pytest.raises(book.BookError, match=r"(?s)hsn/models-hsn__seeds-0:.*cell 3"):
        book.sweep(*args, log=lambda _: None)
