"""The synthetic visual-clue probe: deterministic, one icon per entity, types only."""

from __future__ import annotations

import numpy as np
import pytest

from mner_lib.images.probe import ICON_COLOURS, draw_probe, probe_key, probe_types


def _has_colour(image, colour) -> int:
    pixels = np.asarray(image)
    return int(np.all(pixels == np.asarray(colour, np.uint8), axis=-1).sum())


def test_probe_is_deterministic_per_id_and_seed():
    a = draw_probe("t1", ["PER", "LOC"], seed=0, size=64)
    b = draw_probe("t1", ["PER", "LOC"], seed=0, size=64)
    c = draw_probe("t1", ["PER", "LOC"], seed=1, size=64)
    assert a.image.tobytes() == b.image.tobytes() and a.boxes == b.boxes
    assert a.image.tobytes() != c.image.tobytes()
    assert probe_key("t1", ["PER"], 0, 64) != probe_key("t1", ["LOC"], 0, 64)


def test_one_icon_per_entity_in_its_type_colour():
    types = ["PER", "PER", "ORG"]
    drawing = draw_probe("t2", types, seed=3, size=128)
    assert [t for t, _ in drawing.boxes] == types
    assert _has_colour(drawing.image, ICON_COLOURS["PER"]) > 100
    assert _has_colour(drawing.image, ICON_COLOURS["ORG"]) > 100
    assert _has_colour(drawing.image, ICON_COLOURS["LOC"]) == 0
    assert _has_colour(drawing.image, ICON_COLOURS["MISC"]) == 0
    pixels = np.asarray(drawing.image)
    for etype, (x0, y0, x1, y1) in drawing.boxes:
        inside = pixels[y0:y1, x0:x1]
        assert np.all(inside == np.asarray(ICON_COLOURS[etype], np.uint8), axis=-1).sum() > 30


def test_no_entities_no_icons_and_types_from_tags():
    drawing = draw_probe("t3", [], seed=0, size=64)
    assert drawing.boxes == []
    assert all(_has_colour(drawing.image, c) == 0 for c in ICON_COLOURS.values())
    # conlleval starts: an orphan I- starts an entity too
    assert probe_types(["B-PER", "I-PER", "O", "I-LOC", "B-MISC"]) == ["PER", "LOC", "MISC"]
    with pytest.raises(ValueError, match="unknown entity types"):
        draw_probe("t4", ["OTHER"])
