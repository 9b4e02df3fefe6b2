"""mner_lib.io.plural: a count says its noun in the form the number takes, never ``seed(s)``."""

from __future__ import annotations

import numpy as np

from mner_lib.io.plural import counted, noun


def test_one_is_singular_and_every_other_count_plural():
    counts = [counted(n, "seed") for n in (0, 1, 2, -1)]
    assert counts == ["0 seeds", "1 seed", "2 seeds", "-1 seed"]
    assert counted(np.int64(1), "run") == "1 run" and counted(np.int64(3), "run") == "3 runs"
    assert counted(1.0, "CPU", fmt="g") == "1 CPU" and counted(2.5, "CPU", fmt="g") == "2.5 CPUs"


def test_an_irregular_plural_is_given_and_an_unknown_count_is_plural():
    assert noun(1, "entry", "entries") == "entry" and noun(4, "entry", "entries") == "entries"
    assert counted(None, "tweet") == "None tweets"
