"""Shared text building blocks: word embeddings initialised from GloVe, and character encoders.

* :class:`WordEmbedding`: a vocabulary's embedding, GloVe 50-d where the word is known, uniform
  in [-0.25, 0.25] otherwise (the OOV rule of CWI and the BiLSTM-CRF baselines).
* :class:`CharLSTM`: Lample et al.'s character BiLSTM (last states of both directions).
* :class:`CharCNN`: a character CNN with max-pooling over the word (HSN, Ma & Hovy).
* :class:`CharGRU`: TriMod's character Bi-GRU (last states of both directions).
* :func:`bilstm_over_padding`: a one-layer BiLSTM over a right-padded batch, the same as packing
  the sequences but about 3x faster on a CPU.

Character inputs are (B, T, L) ids with 0 for padding; outputs are (B, T, d).
"""

from __future__ import annotations

import torch
from torch import nn

from mner_lib.text.vocab import Vocab


class WordEmbedding(nn.Module):
    def __init__(self, vocab_size: int, dim: int = 50, freeze: bool = False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.embedding.weight.requires_grad_(not freeze)
        nn.init.uniform_(self.embedding.weight, -0.25, 0.25)
        with torch.no_grad():
            self.embedding.weight[0].zero_()

    @property
    def dim(self) -> int:
        return self.embedding.embedding_dim

    def load_glove(self, vocab: Vocab, seed: int = 0, oov: str = "uniform") -> float:
        """Copy GloVe vectors in for the words GloVe knows (the others: ``oov`` rows, see
        :func:`mner_lib.text.encoders.load_glove`); returns the OOV rate of the vocab."""
        from mner_lib.text.encoders import load_glove

        if self.dim != 50:
            raise ValueError(f"GloVe 6B is 50-d here; this embedding is {self.dim}-d")
        matrix, found = load_glove(vocab.itos, seed=seed, oov=oov)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.as_tensor(matrix, dtype=torch.float32))
            self.embedding.weight[0].zero_()
        real = len(vocab) - len(vocab.specials)
        known = int(found[len(vocab.specials) :].sum())
        return 1.0 - known / max(1, real)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)


def _flatten_words(chars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    b, t, length = chars.shape
    flat = chars.reshape(b * t, length)
    lengths = (flat != 0).sum(-1)
    return flat, lengths


class _CharRNN(nn.Module):
    rnn_class: type[nn.RNNBase] = nn.LSTM

    def __init__(self, num_chars: int, emb_dim: int = 25, hidden: int = 25):
        super().__init__()
        self.embedding = nn.Embedding(num_chars, emb_dim, padding_idx=0)
        self.rnn = self.rnn_class(emb_dim, hidden, batch_first=True, bidirectional=True)
        self.out_dim = 2 * hidden

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        b, t, _ = chars.shape
        flat, lengths = _flatten_words(chars)
        out = chars.new_zeros((b * t, self.out_dim), dtype=torch.float32)
        real = lengths > 0
        if real.any():
            emb = self.embedding(flat[real])
            # packed, not padded: words vary so much in length that running the fused kernel
            # over the padding cost more than packing saved (TriMod's char Bi-GRU, measured
            # in benchmarks/speed_after.md); :func:`final_states_over_padding` is the other way
            packed = nn.utils.rnn.pack_padded_sequence(
                emb, lengths[real].cpu(), batch_first=True, enforce_sorted=False
            )
            _, hidden = self.rnn(packed)
            h = hidden[0] if isinstance(hidden, tuple) else hidden  # (2, n, hidden)
            states = torch.cat([h[0], h[1]], dim=-1)
            out = out.to(states.dtype)
            out[real] = states
        return out.view(b, t, self.out_dim)


class CharLSTM(_CharRNN):
    """Lample et al. (2016): char embeddings -> BiLSTM; last forward and backward states."""

    rnn_class = nn.LSTM


class CharGRU(_CharRNN):
    """TriMod: char embeddings (30) -> Bi-GRU (30); last forward and backward states."""

    rnn_class = nn.GRU

    def __init__(self, num_chars: int, emb_dim: int = 30, hidden: int = 30):
        super().__init__(num_chars, emb_dim, hidden)


class CharCNN(nn.Module):
    """Char embeddings -> 1-D convolution -> max over the word's characters."""

    def __init__(self, num_chars: int, emb_dim: int = 50, filters: int = 50, kernel: int = 3):
        super().__init__()
        self.embedding = nn.Embedding(num_chars, emb_dim, padding_idx=0)
        self.conv = nn.Conv1d(emb_dim, filters, kernel, padding=kernel // 2)
        self.out_dim = filters

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        b, t, length = chars.shape
        flat = chars.reshape(b * t, length)
        real = flat[:, 0] != 0  # padding words (no characters) are skipped: their feature is 0
        words = flat[real]
        x = self.conv(self.embedding(words).transpose(1, 2))  # (N, filters, L)
        x = x.masked_fill((words == 0).unsqueeze(1), float("-inf"))
        x = x.max(dim=-1).values
        x = torch.where(torch.isfinite(x), x, torch.zeros_like(x))
        out = x.new_zeros((b * t, self.out_dim))
        out[real] = x
        return out.view(b, t, -1)


def reverse_within_length(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of ``x`` (B, T, ...) inside its length; padding stays at the end."""
    length = x.shape[1]
    lengths = mask.sum(dim=1, keepdim=True)  # (B, 1)
    positions = torch.arange(length, device=x.device).unsqueeze(0)  # (1, T)
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


def _direction_params(rnn: nn.RNNBase, suffix: str) -> list[torch.Tensor]:
    params = [getattr(rnn, f"{name}_l0{suffix}") for name in ("weight_ih", "weight_hh")]
    if rnn.bias:
        params += [getattr(rnn, f"{name}_l0{suffix}") for name in ("bias_ih", "bias_hh")]
    return params


def _run_direction(rnn: nn.RNNBase, x: torch.Tensor, suffix: str) -> torch.Tensor:
    """One direction of a one-layer, batch-first LSTM or GRU over ``x`` (B, T, d) from zero
    states, with the weights of that direction (``suffix`` "" or "_reverse"): outputs (B, T, h)."""
    zeros = x.new_zeros(1, x.shape[0], rnn.hidden_size)
    params = _direction_params(rnn, suffix)
    if isinstance(rnn, nn.LSTM):
        out, _, _ = torch.lstm(
            x, (zeros, zeros), params, rnn.bias, 1, 0.0, rnn.training, False, True
        )
    else:
        out, _ = torch.gru(x, zeros, params, rnn.bias, 1, 0.0, rnn.training, False, True)
    return out


def _fast_path(rnn: nn.RNNBase) -> bool:
    return (
        isinstance(rnn, (nn.LSTM, nn.GRU))
        and rnn.num_layers == 1
        and rnn.bidirectional
        and rnn.batch_first
        and not getattr(rnn, "proj_size", 0)
    )


def bilstm_over_padding(lstm: nn.RNNBase, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Run a one-layer bidirectional, batch-first ``lstm`` (an LSTM or a GRU) over right-padded
    ``x`` (B, T, d).

    Equal to ``pack_padded_sequence -> lstm -> pad_packed_sequence`` (zeros at padding): the
    forward direction runs over the padded batch (padding comes after every real position), the
    backward direction over each sequence reversed inside its length, with that direction's own
    weights. Packed sequences take PyTorch's slow step-by-step CPU path; padded ones its fused
    kernel (about 3x faster for a tweet batch). Other RNNs fall back to packing.
    """
    if not _fast_path(lstm):
        lengths = mask.sum(-1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        h, _ = lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.shape[1])
        return h
    forward = _run_direction(lstm, x, "")
    backward = reverse_within_length(
        _run_direction(lstm, reverse_within_length(x, mask), "_reverse"), mask
    )
    return torch.cat([forward, backward], dim=-1) * mask.unsqueeze(-1).to(forward.dtype)


def final_states_over_padding(
    rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    """The last hidden states of both directions of a one-layer bidirectional, batch-first LSTM
    or GRU over right-padded ``x`` (N, L, d) with ``lengths`` (N,) >= 1: (N, 2 h), the same as
    ``torch.cat([h_n[0], h_n[1]], -1)`` after packing, without the packed (slow) path."""
    mask = torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
    last = (lengths - 1).view(-1, 1, 1)
    states = []
    for suffix, inputs in (("", x), ("_reverse", reverse_within_length(x, mask))):
        out = _run_direction(rnn, inputs, suffix)
        states.append(out.gather(1, last.expand(-1, 1, out.shape[-1])).squeeze(1))
    return torch.cat(states, dim=-1)
