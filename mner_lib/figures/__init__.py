"""The book's figures (matplotlib + seaborn), by what they show: :mod:`.training` (a run's
results), :mod:`.attention` (what a model attends to), :mod:`.alignment` (images and their
alignment with text), drawn with the rules of :mod:`.style`. Every function returns a new
:class:`matplotlib.figure.Figure` built without pyplot, so a notebook shows it exactly once
(``display(fig)`` or as a cell's last value) and tests can count its artists.

| plot                         | function                     | paper / key                         |
|------------------------------|------------------------------|-------------------------------------|
| training curves              | :func:`training_curves`      | ``history.jsonl`` of every run      |
| per-type F1 bars             | :func:`per_type_f1`          | ``metrics.json`` ``per_type``       |
| entity-type confusion        | :func:`entity_confusion`     | gold vs predicted tags              |
| text-to-image attention      | :func:`region_attention`     | HSN ``text_to_image`` (eq. 13-15)   |
| attention over a caption     | :func:`caption_attention`    | any of them under ``caption:<src>`` |
| weights over tokens          | :func:`token_weights`        | HSN ``image_to_text``, ``gate``     |
| modality attention           | :func:`modality_attention`   | CWI / TriMod ``modality`` (eq. 11)  |
| image's top-5 words          | :func:`image_words`          | CWI ``image_words``                 |
| segmented hashtags           | :func:`segmented_hashtags`   | TriMod ``hashtag_segments``         |
| gates per layer and stage    | :func:`layer_gates`          | GMF ``gates`` (eq. 7-8)             |
| prefix attention per layer   | :func:`prefix_attention`     | GMF ``prefix`` (eq. 11-13)          |
| batch similarity matrices    | :func:`similarity_matrices`  | GMF consistency heads (eq. 14-16)   |
| 2-D projection of pairs      | :func:`embedding_pairs`      | GMF ``text_embedding`` / ``image_embedding`` |
| synthetic probe gallery      | :func:`image_gallery`        | :mod:`mner_lib.images.probe`        |
| ours vs the papers           | :func:`compare_bars`         | :mod:`mner_lib.reporting.results`             |
| HSN's heads side by side     | :func:`head_attention`       | HSN ``text_to_image_heads`` (eq. 14) |

Each returns a :class:`mner_lib.figures.figure.BookFigure`: a caption that says what it shows and an alt
text computed from the data, both carried into the book as a numbered figure
(:mod:`mner_lib.figures.sphinx_figures`). Attention colour scales run from 0 to the largest weight
(:func:`weight_scale`) with a labelled colour bar; long tokens are cut on the tick labels.
A figure drawn with pyplot is shown the same way with :func:`captioned`.
"""

from mner_lib.figures.alignment import (
    embedding_pairs,
    image_gallery,
    similarity,
    similarity_matrices,
)
from mner_lib.figures.attention import (
    caption_attention,
    head_attention,
    image_words,
    layer_gates,
    modality_attention,
    prefix_attention,
    region_attention,
    segmented_hashtags,
    token_weights,
)
from mner_lib.figures.figure import BookFigure, captioned, literal, quote, short, wrap
from mner_lib.figures.style import TYPE_COLOURS, colour_bar, weight_scale
from mner_lib.figures.training import (
    compare_bars,
    confusion_counts,
    entity_confusion,
    per_type_f1,
    training_curves,
)

__all__ = [
    "BookFigure",
    "captioned",
    "literal",
    "quote",
    "short",
    "wrap",
    "embedding_pairs",
    "image_gallery",
    "similarity",
    "similarity_matrices",
    "caption_attention",
    "head_attention",
    "image_words",
    "layer_gates",
    "modality_attention",
    "prefix_attention",
    "region_attention",
    "segmented_hashtags",
    "token_weights",
    "TYPE_COLOURS",
    "colour_bar",
    "weight_scale",
    "compare_bars",
    "confusion_counts",
    "entity_confusion",
    "per_type_f1",
    "training_curves",
]
