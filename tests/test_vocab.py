"""Vocabularies (save/load) and the padding helpers."""

from __future__ import annotations

import pytest
import torch

from mner_lib.text.data import TAGS, Tweet, load_dataset
from mner_lib.text.vocab import PAD, UNK, Vocab, Vocabularies, pad_chars, pad_sequences, tag_vocab


def test_vocab_ids_unknown_and_counts():
    v = Vocab.build([["b", "a", "b"], ["c", "b", "a"]], min_count=2)
    assert v.itos == [PAD, UNK, "b", "a"]  # by count, then alphabetically
    assert v.encode(["a", "zzz", "b"]) == [3, 1, 2]
    assert v.decode([2, 3]) == ["b", "a"]
    assert "c" not in v and len(v) == 4
    no_unk = Vocab(["x"], specials=())
    with pytest.raises(KeyError, match="'y' is not in the vocabulary"):
        no_unk.index("y")


def test_tag_vocab_follows_tags():
    tags = tag_vocab()
    assert tags.itos == list(TAGS) and len(tags) == 9
    assert tags.encode(["O", "B-PER", "I-MISC"]) == [0, 1, 8]


def test_vocabularies_save_load_round_trip(tmp_path):
    tweets = [
        Tweet("1", ["Hello", "Wörld", "\ufe0f", "😀"], ["O", "B-LOC", "O", "O"]),
        Tweet("2", ["hello", "#NBA"], ["O", "B-ORG"]),
    ]
    vocab = Vocabularies.from_tweets(tweets)
    assert "Hello" in vocab.words and "hello" in vocab.words
    assert "ö" in vocab.chars and "\ufe0f" in vocab.chars and "😀" in vocab.chars
    path = tmp_path / "vocab.json"
    vocab.save(path)
    back = Vocabularies.load(path)
    for name in ("words", "chars", "tags"):
        a, b = getattr(vocab, name), getattr(back, name)
        assert a.itos == b.itos and a.stoi == b.stoi and a.specials == b.specials
    assert back.words.encode(["Wörld", "unseen"]) == vocab.words.encode(["Wörld", "unseen"])
    lower = Vocabularies.from_tweets(tweets, lowercase=True)
    assert "hello" in lower.words and "Hello" not in lower.words


def test_demo_vocab_round_trip(tmp_path):
    vocab = Vocabularies.from_tweets(load_dataset("demo").train)
    vocab.save(tmp_path / "v.json")
    assert Vocabularies.load(tmp_path / "v.json").to_dict() == vocab.to_dict()


def test_pad_sequences_shapes_and_mask():
    ids, mask = pad_sequences([[5, 6, 7], [8], [9, 10]], pad=0)
    assert ids.shape == (3, 3) and ids.dtype == torch.long
    assert mask.dtype == torch.bool
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert mask.tolist() == [[True] * 3, [True, False, False], [True, True, False]]
    empty, empty_mask = pad_sequences([])
    assert empty.shape == (0, 1) and empty_mask.shape == (0, 1)


def test_pad_chars_shapes_and_cut():
    chars = pad_chars([[[1, 2, 3], [4]], [[5, 6, 7, 8, 9]]])
    assert chars.shape == (2, 2, 5)
    assert chars[0, 0].tolist() == [1, 2, 3, 0, 0]
    assert chars[1, 1].tolist() == [0] * 5  # a padded word is all padding
    cut = pad_chars([[[1, 2, 3], [4]], [[5, 6, 7, 8, 9]]], max_word_len=2)
    assert cut.shape == (2, 2, 2) and cut[1, 0].tolist() == [5, 6]
    # an empty word stays a (padded) position: words never shift
    assert pad_chars([[[], [3]]]).tolist() == [[[0], [3]]]
