"""The learned hashtag segmenter of TriMod (eqs. 9-10): character embeddings -> CNN -> BiLSTM ->
a "space after this character" decision, with its configuration and its one-file format."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mner_lib.hashtags.examples import split_by_labels
from mner_lib.hashtags.frontend import _ChunkSegmenter

FILE_FORMAT = "mner-hashtag-segmenter/1"
PAD_ID, UNK_ID = 0, 1


@dataclass
class HashtagSegmenterConfig:
    """Sizes of the segmenter. ``char_dim`` is the paper's character embedding size
    (``d_ce`` = 30); the paper gives none of the others: they are ours."""

    char_dim: int = 30  # eq. 9, d (paper: d_ce = 30)
    cnn_filters: int = 64  # ours
    cnn_kernel: int = 3  # ours (odd: the output keeps one vector per character)
    lstm_hidden: int = 64  # ours, per direction
    dropout: float = 0.2  # ours

    def __post_init__(self) -> None:
        for name in ("char_dim", "cnn_filters", "cnn_kernel", "lstm_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"HashtagSegmenterConfig.{name} must be >= 1")
        if self.cnn_kernel % 2 == 0:
            raise ValueError(
                f"HashtagSegmenterConfig.cnn_kernel must be odd, got {self.cnn_kernel}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(
                f"HashtagSegmenterConfig.dropout must be in [0, 1), got {self.dropout}"
            )


@dataclass
class SegmenterOutput:
    """logits (B, L, 2); probs (B, L) = P(space after char); loss (scalar) when labels given."""

    logits: torch.Tensor
    probs: torch.Tensor
    mask: torch.Tensor
    loss: torch.Tensor | None = None


class HashtagSegmenter(_ChunkSegmenter, nn.Module):
    """Char embeddings -> CNN -> BiLSTM -> per-character "space after" decision (eqs. 9-10).

    Owns its character vocabulary (``chars``: id 0 padding, id 1 unknown) and a ``meta`` dict
    (how it was trained), and saves/loads itself whole (:meth:`save`, :meth:`load`).
    """

    name = "learned"

    def __init__(
        self,
        config: HashtagSegmenterConfig | None = None,
        chars: Sequence[str] = tuple("abcdefghijklmnopqrstuvwxyz"),
        meta: dict[str, Any] | None = None,
    ):
        nn.Module.__init__(self)
        self.config = config or HashtagSegmenterConfig()
        self.chars: list[str] = ["<pad>", "<unk>"] + [
            c for c in chars if c not in ("<pad>", "<unk>")
        ]
        self.char_ids = {c: i for i, c in enumerate(self.chars)}
        self.meta: dict[str, Any] = dict(meta or {})
        cfg = self.config
        self.char_embedding = nn.Embedding(len(self.chars), cfg.char_dim, padding_idx=PAD_ID)
        self.conv = nn.Conv1d(
            cfg.char_dim, cfg.cnn_filters, cfg.cnn_kernel, padding=cfg.cnn_kernel // 2
        )
        self.lstm = nn.LSTM(cfg.cnn_filters, cfg.lstm_hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(cfg.dropout)
        self.decoder = nn.Linear(2 * cfg.lstm_hidden + cfg.char_dim, 2)  # eq. 10: [h_i ; c_i]

    # -- tensors
    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) padded char ids and (B,) lengths; every text must be non-empty."""
        if not texts:
            raise ValueError("encode needs at least one text")
        for t in texts:
            if not t:
                raise ValueError("cannot encode an empty text")
        length = max(len(t) for t in texts)
        ids = torch.zeros(len(texts), length, dtype=torch.long)
        for row, text in enumerate(texts):
            ids[row, : len(text)] = torch.tensor([self.char_ids.get(c, UNK_ID) for c in text])
        return ids, torch.tensor([len(t) for t in texts])

    def forward(
        self, char_ids: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor | None = None
    ) -> SegmenterOutput:
        """char_ids (B, L), lengths (B,), labels (B, L) in {0, 1} (padding ignored)."""
        mask = torch.arange(char_ids.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
        chars = self.char_embedding(char_ids)  # eq. 9: c_i = phi(c_i)
        conv = torch.relu(self.conv(self.dropout(chars).transpose(1, 2))).transpose(1, 2)
        conv = conv * mask.unsqueeze(-1)  # padding stays zero for the LSTM
        packed = pack_padded_sequence(conv, lengths.cpu(), batch_first=True, enforce_sorted=False)
        hidden, _ = self.lstm(packed)
        hidden, _ = pad_packed_sequence(hidden, batch_first=True, total_length=char_ids.size(1))
        logits = self.decoder(self.dropout(torch.cat([hidden, chars], dim=-1)))  # eq. 10
        probs = torch.softmax(logits, dim=-1)[..., 1] * mask
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits[mask], labels[mask].long())
        return SegmenterOutput(logits, probs, mask, loss)

    @torch.no_grad()
    def predict_labels(self, texts: Sequence[str], batch_size: int = 256) -> list[list[int]]:
        """0/1 "space after" per character (argmax of eq. 10); the last character is always 0."""
        was_training = self.training
        self.eval()
        out: list[list[int]] = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            ids, lengths = self.encode(batch)
            probs = self(ids, lengths).probs
            for row, text in enumerate(batch):
                labels = (probs[row, : len(text)] > 0.5).long().tolist()
                labels[-1] = 0
                out.append(labels)
        self.train(was_training)
        return out

    def _split_chunks(self, chunks: list[str]) -> list[list[str]]:
        if not chunks:
            return []
        return [split_by_labels(c, lab) for c, lab in zip(chunks, self.predict_labels(chunks))]

    # -- persistence
    def to_bytes(self) -> bytes:
        """The one-file format: format tag, config, char vocabulary, meta and weights."""
        buffer = io.BytesIO()
        torch.save(
            {
                "format": FILE_FORMAT,
                "config": dataclasses.asdict(self.config),
                "chars": self.chars[2:],
                "meta": self.meta,
                "state_dict": self.state_dict(),
            },
            buffer,
        )
        return buffer.getvalue()

    def save(self, path: str | Path) -> None:
        """One file (:meth:`to_bytes`), written atomically: ``path`` holds the old file or the
        new one, never a part (a missing parent folder is created)."""
        from mner_lib.io.atomicfile import atomic_write_bytes

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> HashtagSegmenter:
        """A model file of :meth:`save`, read with ``torch.load(weights_only=True)`` (nothing is
        unpickled); a file of another shape is a ``ValueError`` naming the file and the field."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"hashtag segmenter file not found: {path}")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unpickling failure means "not our file"
            lines = [line.strip() for line in str(err).splitlines() if line.strip()]
            why = f"{type(err).__name__}: {lines[0] if lines else err!r}"
            if lines and lines[0].startswith("Weights only load failed"):  # torch's refusal
                reason = next((x for x in lines[1:] if not x.startswith(("Please", "Check"))), "")
                why = f"it holds more than tensors and plain data, refused unread: {reason}"
            raise ValueError(f"{path}: not a hashtag segmenter file ({why})") from None
        if not isinstance(blob, dict) or blob.get("format") != FILE_FORMAT:
            raise ValueError(
                f"{path}: not a hashtag segmenter file (expected format {FILE_FORMAT})"
            )
        config, chars, meta, state = _checked_fields(blob, path)
        try:
            with torch.device("meta"):  # no memory: the shapes the config asks for
                expected = cls(config, chars).state_dict()
        except (RuntimeError, ValueError, OverflowError) as err:
            raise ValueError(f"{path}: config: sizes that give no model ({err})") from None
        if set(state) != set(expected):
            differ = sorted(set(state) ^ set(expected))
            raise ValueError(f"{path}: state_dict: tensors missing or unknown: {differ[:5]}")
        for name, tensor in expected.items():
            if state[name].shape != tensor.shape:
                raise ValueError(
                    f"{path}: state_dict: {name} has shape {tuple(state[name].shape)}, the "
                    f"config and chars give {tuple(tensor.shape)}"
                )
        model = cls(config, chars, meta)
        model.load_state_dict(state)
        model.eval()
        return model


def _checked_fields(
    blob: dict, path: Path
) -> tuple[HashtagSegmenterConfig, list[str], dict[str, Any], dict[str, torch.Tensor]]:
    """The config, chars, meta and weights of a loaded model file, each checked for shape and
    type; a ``ValueError`` names the file and the field."""
    fields = {f.name: f.type for f in dataclasses.fields(HashtagSegmenterConfig)}
    raw = blob.get("config")
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: config: must be a mapping, got {type(raw).__name__}")
    for key, value in raw.items():
        if key not in fields:
            raise ValueError(f"{path}: config: unknown field {key!r}; valid: {', '.join(fields)}")
        kind = float if key == "dropout" else int
        if isinstance(value, bool) or not isinstance(value, int | kind):
            raise ValueError(f"{path}: config.{key}: must be a number, got {value!r}")
    try:
        config = HashtagSegmenterConfig(**raw)
    except ValueError as err:
        raise ValueError(f"{path}: config: {err}") from None
    chars = blob.get("chars")
    if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
        raise ValueError(f"{path}: chars: must be a list of single characters")
    if len(set(chars)) != len(chars):
        raise ValueError(f"{path}: chars: a character repeats")
    meta = blob.get("meta") or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
        raise ValueError(f"{path}: meta: must be a mapping with text keys")
    state = blob.get("state_dict")
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{path}: state_dict: must be a mapping of names to tensors")
    return config, chars, meta, state
