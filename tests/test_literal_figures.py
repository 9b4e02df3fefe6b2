"""Every figure of the book draws its texts literally (mner_lib.figures.figure.literal_text and
literal): a title, label or tick from data with ``$...$`` in it is neither a formula nor a
failed drawing. Raw, each title below fails matplotlib's mathtext ("Unknown symbol", "Expected
end of text"); here each figure is drawn to the PNG the book shows."""

from __future__ import annotations

import pytest

from mner_lib.book import realplots
from mner_lib.figures.figure import png_bytes

XSS = "<img src=x onerror=alert(document.domain)>"
MATH = r"blank $\undefinedmacro$"


def draws(fig) -> str:
    """``fig`` drawn to PNG (what the book shows); every text drawn, joined."""
    assert png_bytes(fig, "caption", "alt").startswith(b"\x89PNG")
    from matplotlib.text import Text

    return " ".join(t.get_text() for t in fig.findobj(Text))


TITLE = f"{MATH} $$y$$"  # either raw piece fails mathtext
TOKENS = [MATH, "$\\frac{1}{", "a$b$c", XSS]
HISTORY = [{"epoch": 1, "loss": 1.0, "dev_f1": 10.0}, {"epoch": 2, "loss": 0.5, "dev_f1": 20.0}]
CHAPTER_FIGURES = {
    "training_curves": lambda p, np: p.training_curves({TITLE: HISTORY}, f"loss\non {TITLE}"),
    "per_type_f1": lambda p, np: p.per_type_f1({TITLE: {"per_type": {}}}, title=TITLE),
    "entity_confusion": lambda p, np: p.entity_confusion([["B-PER"]], [["O"]], title=TITLE),
    "region_attention": lambda p, np: p.region_attention(np.zeros((8, 8, 3)), np.ones(4), TITLE),
    "caption_attention": lambda p, np: p.caption_attention(TOKENS, TOKENS, np.ones((4, 4)), TITLE),
    "head_attention": lambda p, np: p.head_attention(np.ones((2, 4)) / 4, TITLE),
    "token_weights": lambda p, np: p.token_weights(TOKENS, {TITLE: np.ones(4)}, TITLE),
    "modality_attention": lambda p, np: p.modality_attention(
        TOKENS, np.ones((4, 3)) / 3, (TITLE, "b", "c"), TITLE
    ),
    "image_words": lambda p, np: p.image_words(np.zeros((8, 8, 3)), [(TITLE, 0.5)], TITLE),
    "segmented_hashtags": lambda p, np: p.segmented_hashtags({TITLE: [TITLE, "$y$"]}, TITLE),
    "layer_gates": lambda p, np: p.layer_gates(np.ones((2, 4)) / 4, (TITLE, "b", "c", "d"), TITLE),
}


@pytest.mark.parametrize("name", sorted(CHAPTER_FIGURES))
def test_the_chapter_figures_draw_hostile_titles_and_tokens(name):
    import numpy as np

    from mner_lib import figures as plots

    assert MATH in draws(CHAPTER_FIGURES[name](plots, np))  # drawn, as it is


def test_a_captioned_pyplot_figure_draws_a_hostile_label():
    from matplotlib.figure import Figure

    from mner_lib.figures.figure import captioned

    fig = Figure()
    ax = fig.subplots()
    ax.barh([f"hsn {MATH} seed 0"], [3.0])
    ax.set_title(MATH)
    shown = captioned(fig, "Wall-clock seconds.", "A bar chart.")
    assert shown._repr_mimebundle_()[0]["image/png"]


def test_every_figure_function_builds_its_texts_literally():
    import inspect

    from mner_lib.figures import alignment, attention, style, training

    found = {}
    for module in (alignment, attention, style, training, realplots):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            returns = str(inspect.signature(function).return_annotation)
            if function.__module__ == module.__name__ and "Figure" in returns:
                found[f"{module.__name__}.{name}"] = getattr(function, "literal", False)
    assert len(found) >= 19, found
    assert [name for name, marked in found.items() if not marked] == []


def test_a_book_figure_draws_literally_however_it_is_drawn():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mner_lib.figures.figure import BookFigure

    plain = Figure()
    plain.subplots().set_title(TITLE)
    with pytest.raises(ValueError):  # what a book figure is kept from
        FigureCanvasAgg(plain).draw()
    fig = BookFigure()
    ax = fig.subplots()
    ax.set_title(TITLE)
    ax.set_xticks([0, 1], TOKENS[:2])  # tick labels the axis makes while drawing
    FigureCanvasAgg(fig).draw()  # canvas.draw, not only the book's PNG
    assert TITLE in draws(fig)
