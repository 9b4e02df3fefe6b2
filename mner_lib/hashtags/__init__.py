"""Hashtag segmentation: a learned character model (TriMod, section IV-C/D) and two dictionary
baselines, with one interface, self-supervised training data and an evaluation.

The paper (``papers/trimod.txt``, IV-C and IV-D)
------------------------------------------------
- eq. 9: every character ``c_i`` gets an embedding ``phi(c_i)`` (skip-gram in the paper; here a
  lookup table learned with the segmenter, see "Readings" below) -> :attr:`HashtagSegmenter.char_embedding`.
- "fed into CNN and BiLSTM networks": a 1-D convolution over the character embeddings, then a
  bidirectional LSTM, giving ``h_1 .. h_n`` -> :attr:`HashtagSegmenter.conv`,
  :attr:`HashtagSegmenter.lstm`.
- eq. 10: ``P(s_i | h, c_i) = Decoder(h_i, c_i)`` with ``s_i`` in {0, 1} = "a space follows
  character i"; trained with cross-entropy -> :attr:`HashtagSegmenter.decoder`, a linear layer on
  the concatenation ``[h_i ; c_i]`` giving two logits per character.

Readings (the paper gives no sizes and no training data for the segmenter)
-------------------------------------------------------------------------
- Sizes: the character embedding is 30-d (the paper's ``d_ce``, its only character size); the
  CNN width, kernel and LSTM size are ours (:class:`HashtagSegmenterConfig`).
- Embeddings are learned end to end from a random start instead of a separate skip-gram step.
- Training data is self-supervised from a corpus's own text (:func:`make_joined_examples`):
  consecutive alphabetic tokens of a tweet are lowercased and joined ("new york city" ->
  "newyorkcity") and the model learns to put the spaces back. Single words are included by
  default (``min_words=1``) so that the model also learns when *not* to split (``#love``).

What :meth:`Segmenter.segment` does with a raw hashtag (the same for every segmenter)
-------------------------------------------------------------------------------------
1. A leading ``#`` is removed; an empty remainder is a ``ValueError``.
2. The text is cut at every character that is not a letter or an ASCII digit (``_``, ``-``, ...; dropped)
   and between letters and digits (``MyFest2015`` -> ``MyFest`` ``2015``); digit runs are words.
3. With ``case_prior=True`` (default) letter runs are also cut at CamelCase boundaries
   (``NewYork`` -> ``New`` ``York``, ``NBAFinals`` -> ``NBA`` ``Finals``): a cheap prior that only
   helps mixed-case tags.
4. Each remaining letter run is **lowercased** and handed to the segmenter proper (the learned
   model, ``wordsegment`` or ``wordninja``). The output words are lowercase, for every segmenter:
   ``segment("#NewYorkCity") == ["new", "york", "city"]``.

So on lowercase tags (``#newyorkcity``) all the work is the segmenter's own.

Modules: :mod:`~mner_lib.hashtags.examples` (training phrases and splits),
:mod:`~mner_lib.hashtags.frontend` (the steps above, the :class:`Segmenter` interface,
:func:`segment_hashtags`), :mod:`~mner_lib.hashtags.dictionary` (the baselines),
:mod:`~mner_lib.hashtags.model` (the learned segmenter), :mod:`~mner_lib.hashtags.training`,
:mod:`~mner_lib.hashtags.evaluation`. Everything is importable from ``mner_lib.hashtags``.
"""

from __future__ import annotations

from pathlib import Path

from mner_lib.hashtags.dictionary import BASELINES, DictionarySegmenter
from mner_lib.hashtags.evaluation import chance_boundary_f1, evaluate_segmenter
from mner_lib.hashtags.examples import (
    JoinedExample,
    boundary_labels,
    boundary_offsets,
    heldout_split,
    make_joined_examples,
    split_by_labels,
    split_examples,
)
from mner_lib.hashtags.frontend import Segmenter, presplit, segment_hashtags
from mner_lib.hashtags.model import (
    FILE_FORMAT,
    PAD_ID,
    UNK_ID,
    HashtagSegmenter,
    HashtagSegmenterConfig,
    SegmenterOutput,
)
from mner_lib.hashtags.training import TrainConfig, TrainHistory, train_segmenter

__all__ = [
    "BASELINES",
    "FILE_FORMAT",
    "PAD_ID",
    "UNK_ID",
    "DictionarySegmenter",
    "HashtagSegmenter",
    "HashtagSegmenterConfig",
    "JoinedExample",
    "Segmenter",
    "SegmenterOutput",
    "TrainConfig",
    "TrainHistory",
    "boundary_labels",
    "boundary_offsets",
    "chance_boundary_f1",
    "evaluate_segmenter",
    "get_segmenter",
    "heldout_split",
    "make_joined_examples",
    "presplit",
    "segment_hashtags",
    "split_by_labels",
    "split_examples",
    "train_segmenter",
]


def get_segmenter(name_or_path: str) -> Segmenter:
    """A baseline by name (``wordsegment``, ``wordninja``) or a learned model from its file."""
    if name_or_path in BASELINES:
        return DictionarySegmenter(name_or_path)
    path = Path(name_or_path)
    if path.suffix in (".pt", ".pth") or path.exists():
        return HashtagSegmenter.load(path)
    raise ValueError(
        f"unknown segmenter {name_or_path!r}; valid: {', '.join(BASELINES)} or a model file (.pt)"
    )
