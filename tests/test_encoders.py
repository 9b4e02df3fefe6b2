"""Text encoders by name, subword alignment that never shifts labels, GloVe with tweet keys."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mner_lib.text import encoders
from mner_lib.text.encoders import (
    align_subwords,
    build_text_encoder,
    glove_key,
    load_glove,
    oov_rate,
)


@pytest.fixture(scope="module")
def tokenizer():
    return encoders._minilm_tokenizer()


def test_invisible_tokens_keep_a_position(tokenizer, caplog):
    tweets = [["RT", "\ufe0f", "Paris", "\u200b", "rocks"], ["Hi"]]
    ids, mask, first, word_mask = align_subwords(tokenizer, tweets)
    assert first.shape == (2, 5) and word_mask.tolist()[1] == [True, False, False, False, False]
    assert word_mask[0].all()
    pieces = ids[0][first[0]].tolist()
    assert pieces[1] == tokenizer.unk_token_id and pieces[3] == tokenizer.unk_token_id
    assert pieces[2] == tokenizer.convert_tokens_to_ids("paris")
    assert ids[0, 0] == tokenizer.cls_token_id and mask[1].sum() == 3  # [CLS] hi [SEP]
    assert first[0].tolist() == sorted(first[0].tolist())  # strictly increasing positions


def test_truncation_is_counted_and_masked(tokenizer, caplog):
    with caplog.at_level(logging.WARNING, logger="mner_lib.text.encoders"):
        result = align_subwords(tokenizer, [["word"] * 20], max_length=10)
    assert result.truncated == 12 and result.word_mask[0].sum() == 8
    assert result.input_ids.shape == (1, 10) and result.input_ids[0, -1] == tokenizer.sep_token_id
    assert "12 words cut" in caplog.records[0].getMessage()
    with pytest.raises(ValueError, match="max_length"):
        align_subwords(tokenizer, [["a"]], max_length=2)


def test_random_bert_base_offline_and_pretrained_error(monkeypatch, tmp_path):
    encoder = build_text_encoder("bert-base-uncased", pretrained=False, num_hidden_layers=1)
    assert (encoder.hidden_size, encoder.num_layers, encoder.num_heads) == (768, 1, 12)
    assert len(encoder.tokenizer) == encoder.model.config.vocab_size == 30522
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(FileNotFoundError, match="minilm-l6"):
        build_text_encoder("bert-base-uncased", pretrained=True)
    with pytest.raises(ValueError, match="minilm-l6"):
        build_text_encoder("roberta")


def test_minilm_gives_attention_maps(tokenizer):
    import torch

    encoder = build_text_encoder("minilm-l6")
    assert (encoder.hidden_size, encoder.num_layers, encoder.num_heads) == (384, 6, 12)
    ids, mask, _, _ = align_subwords(encoder.tokenizer, [["Hello", "Paris"]])
    with torch.inference_mode():
        out = encoder.model(input_ids=ids, attention_mask=mask, output_attentions=True)
    assert len(out.attentions) == 6 and out.attentions[0].shape == (1, 12, 4, 4)
    assert torch.allclose(out.attentions[0].sum(-1), torch.ones(1, 12, 4), atol=1e-4)


def test_glove_keys_vectors_and_oov():
    assert glove_key("Paris") == "paris"
    assert glove_key("#NBA") == "nba" and glove_key("@obama") == "obama"
    assert glove_key("@xq_zz_91") == encoders.USER_KEY
    assert glove_key("http://t.co/abc") == encoders.URL_KEY == glove_key("www.example.com")
    assert glove_key("great!!") == "great"
    matrix, found = load_glove(["the", "qqxqzz", "The", "qqxqzz"], seed=0)
    assert found.tolist() == [True, False, True, False]
    row = encoders.glove_index()["the"]
    assert np.array_equal(matrix[0], encoders.glove_matrix()[row]) and np.array_equal(
        matrix[0], matrix[2]
    )
    assert np.array_equal(matrix[1], matrix[3]) and np.abs(matrix[1]).max() <= 0.25
    assert not np.array_equal(load_glove(["qqxqzz"], seed=1)[0][0], matrix[1])
    assert oov_rate(["the", "qqxqzz", "Paris", "@xq_zz_91"]) == 0.5
    assert oov_rate(["the", "qqxqzz", "http://x.y/z", "@xq_zz_91"], placeholders=False) == 0.5


def test_gaussian_oov_rows_have_glovess_scale_and_known_rows_stay():
    """HSN sec. 4.3: OOV words "initialized by Gaussian random sampling" (scale: GloVe's std)."""
    words = ["the"] + [f"qqxq{i}zz" for i in range(400)]
    uniform, found = load_glove(words, seed=0)
    gauss, found_g = load_glove(words, seed=0, oov="gaussian")
    assert found.tolist() == found_g.tolist() and np.array_equal(uniform[0], gauss[0])
    oov = gauss[1:].astype(np.float64)
    assert abs(oov.mean()) < 0.02 and abs(oov.std() - encoders.glove_std()) < 0.02
    assert np.abs(oov).max() > 0.25  # not the uniform rule
    assert np.array_equal(gauss, load_glove(words, seed=0, oov="gaussian")[0])  # seeded
    with pytest.raises(ValueError, match="unknown OOV initialisation 'zeros'"):
        load_glove(words, oov="zeros")


def test_sdpa_by_default_eager_only_for_attention_maps(tokenizer):
    import torch

    encoder = build_text_encoder("minilm-l6", pretrained=False, num_hidden_layers=2)
    model = encoder.model
    assert model.config._attn_implementation == "sdpa"
    ids, mask, _, _ = align_subwords(encoder.tokenizer, [["Hello", "Paris"], ["Hi"]])
    with torch.inference_mode():
        fast = model(input_ids=ids, attention_mask=mask).last_hidden_state
        maps = model(input_ids=ids, attention_mask=mask, output_attentions=True)
    assert len(maps.attentions) == 2
    assert model.config._attn_implementation == "sdpa"  # switched back after the call
    real = mask.bool()
    assert torch.allclose(fast[real], maps.last_hidden_state[real], atol=1e-5)
