"""The text baselines of the papers' tables: BiLSTM-CRF, HBiLSTM-CRF and BERT-CRF.

* ``bilstm-crf``: GloVe 50-d word embeddings (OOV uniform in [-0.25, 0.25]) -> BiLSTM -> CRF
  (Huang et al. 2015, the "BiLSTM-CRF" row of the GMF paper's tables).
* ``hbilstm-crf``: the same plus Lample et al.'s (2016) character BiLSTM, concatenated to the word
  embedding ("HBiLSTM-CRF").
* ``bert-crf``: a BERT-family encoder, the first sub-word of each word labels it, linear -> CRF.
  Offline default ``minilm-l6`` (a 6-layer uncased BERT, 384-d); ``bert-base-uncased`` by name.
  Under a text condition (``caption:blip2`` ...) it is ITA's "cross-view" text-side baseline
  (Wang et al. 2022, "ITA: Image-Text Alignments for Multi-Modal NER"): the encoder reads
  ``[CLS] tweet [SEP] caption [SEP]`` (segment ids 0 and 1) and the CRF labels the tweet's words
  only. ITA also adds object tags and OCR text to the caption; here only the one text of the
  condition's source is appended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mner_lib.images.api import ImageBatch
from mner_lib.models import register_model
from mner_lib.models.base import Tagger, TaggerConfig, TaggerOutput
from mner_lib.models.embeddings import CharLSTM, WordEmbedding, bilstm_over_padding
from mner_lib.models.spec import (
    BERT_PAPER,
    BILSTM_CRF_PAPER,
    LAMPLE_PAPER,
    PaperSpec,
    reported_rows,
)
from mner_lib.text.data import Tweet
from mner_lib.text.vocab import Vocabularies, pad_chars, pad_sequences


def collate_words_and_chars(
    vocab: Vocabularies,
    tweets: Sequence[Tweet],
    lowercase: bool = False,
    max_word_len: int = 30,
    chars: bool = True,
) -> dict[str, Any]:
    """Word ids, character ids (unless ``chars=False``) and the mask of a batch, with the gold
    tags when the tweets have them."""
    norm = (lambda t: t.lower()) if lowercase else (lambda t: t)
    words, mask = pad_sequences([vocab.words.encode([norm(t) for t in tw.tokens]) for tw in tweets])
    tags, _ = pad_sequences([vocab.tags.encode(tw.tags) for tw in tweets])
    batch = {"words": words, "mask": mask, "tags": tags}
    if chars:  # padding characters is pure Python: skip it for models that do not read them
        batch["chars"] = pad_chars(
            [[vocab.chars.encode(list(t)) for t in tw.tokens] for tw in tweets], max_word_len
        )
    return batch


# SGD with an inverse-time decay (lr 0.015, decay 0.05), momentum 0.9 and batch 10: Ma and Hovy's
# (2016) NER settings. Lample et al. (2016) train with plain SGD (lr 0.01, gradient clipping 5);
# the campaign's momentum0 change is the nearer reading of theirs. The GMF paper, whose tables
# quote both baselines, gives no training settings for them.
_LSTM_TRAINING = {
    "optimizer": "sgd",
    "lr": 0.015,
    "schedule": "inverse-decay",
    "lr_decay": 0.05,
    "batch_size": 10,
    "epochs": 30,
    "momentum": 0.9,
}


BILSTM_CRF_SPEC = PaperSpec(
    citation=BILSTM_CRF_PAPER,
    training=_LSTM_TRAINING,
    chapter="foundations",
    reported=reported_rows("bilstm-crf"),
)
HBILSTM_CRF_SPEC = PaperSpec(
    citation=LAMPLE_PAPER,
    training=_LSTM_TRAINING,
    chapter="foundations",
    reported=reported_rows("hbilstm-crf"),
)
BERT_CRF_SPEC = PaperSpec(
    citation=BERT_PAPER,
    training={
        "optimizer": "adamw",
        "lr": 1e-3,
        "encoder_lr": 5e-5,
        "schedule": "linear-warmup",
        "batch_size": 16,
        "epochs": 10,
        "weight_decay": 0.01,
    },
    chapter="foundations",
    reported=reported_rows("bert-crf"),
)


@dataclass
class BiLSTMCRFConfig(TaggerConfig):
    word_dim: int = 50  # GloVe 6B 50-d
    hidden: int = 100  # per direction
    char_emb: int = 25  # HBiLSTM only (Lample et al.)
    char_hidden: int = 25
    use_glove: bool = True
    dropout: float = 0.5


@register_model
class BiLSTMCRF(Tagger):
    """Words -> BiLSTM -> linear -> CRF; with ``use_chars`` Lample's character BiLSTM joins in."""

    name = "bilstm-crf"
    spec = BILSTM_CRF_SPEC
    config_class = BiLSTMCRFConfig
    use_chars = False

    def __init__(self, config: BiLSTMCRFConfig, vocab: Vocabularies):
        super().__init__(config, vocab)
        self.words = WordEmbedding(len(vocab.words), config.word_dim)
        in_dim = config.word_dim
        if self.use_chars:
            self.chars = CharLSTM(len(vocab.chars), config.char_emb, config.char_hidden)
            in_dim += self.chars.out_dim
        self.dropout = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(in_dim, config.hidden, batch_first=True, bidirectional=True)
        self.emit = nn.Linear(2 * config.hidden, len(vocab.tags))
        self.oov_rate: float | None = None

    def collate(self, tweets: Sequence[Tweet], images: ImageBatch | None = None) -> dict[str, Any]:
        return collate_words_and_chars(
            self.vocab, tweets, self.config.lowercase, chars=self.use_chars
        )

    def forward(
        self, batch: dict[str, Any], decode: bool = False, return_attention: bool = False
    ) -> TaggerOutput:
        x = self.words(batch["words"])
        if self.use_chars:
            x = torch.cat([x, self.chars(batch["chars"])], dim=-1)
        x = self.dropout(x)
        h = bilstm_over_padding(self.lstm, x, batch["mask"])  # = packing, ~3x faster on CPU
        emissions = self.emit(self.dropout(h))
        return self.crf_output(emissions, batch, decode)


@register_model
class HBiLSTMCRF(BiLSTMCRF):
    """Lample et al. (2016): character BiLSTM + word embedding -> BiLSTM -> CRF."""

    name = "hbilstm-crf"
    spec = HBILSTM_CRF_SPEC
    use_chars = True


@dataclass
class BertCRFConfig(TaggerConfig):
    encoder: str = "minilm-l6"  # or "bert-base-uncased" where its weights can be had
    pretrained: bool = True
    max_length: int = 128  # sub-word pieces of the tweet, [CLS] and [SEP] included
    max_caption_length: int = 96  # pieces of an appended caption (cut beyond)
    dropout: float = 0.1
    BOUNDS = {"max_length": (2, 512), "max_caption_length": (0, 512)}  # the encoder's positions


def append_captions(
    tokenizer, input_ids: torch.Tensor, attention: torch.Tensor, captions: Sequence[str], limit: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``[CLS] tweet [SEP]`` rows + ``caption [SEP]``: new ids, attention mask and segment ids
    (1 on the caption part). The tweet's positions do not move, so the first-subword indices of
    its words stay valid; a caption is cut to ``limit`` pieces; an empty one adds only [SEP]."""
    pieces = tokenizer(list(captions), add_special_tokens=False)["input_ids"] if captions else []
    sep, pad = tokenizer.sep_token_id, tokenizer.pad_token_id or 0
    rows, segments = [], []
    for b, caption in enumerate(pieces):
        tweet = input_ids[b, : int(attention[b].sum())].tolist()
        extra = list(caption[:limit]) + [sep]
        rows.append(tweet + extra)
        segments.append([0] * len(tweet) + [1] * len(extra))
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    types = torch.zeros(len(rows), width, dtype=torch.long)
    for b, (row, seg) in enumerate(zip(rows, segments)):
        ids[b, : len(row)] = torch.tensor(row)
        mask[b, : len(row)] = 1
        types[b, : len(row)] = torch.tensor(seg)
    return ids, mask, types


@register_model
class BertCRF(Tagger):
    """BERT -> first sub-word of each word -> dropout -> linear -> CRF; with a caption
    condition ``tweet [SEP] caption`` goes in and the CRF runs over the tweet's words."""

    name = "bert-crf"
    spec = BERT_CRF_SPEC
    config_class = BertCRFConfig
    accepts_captions = True  # the trainer may give it caption:* / knowledge:* conditions

    def __init__(self, config: BertCRFConfig, vocab: Vocabularies):
        super().__init__(config, vocab)
        from mner_lib.text.encoders import build_text_encoder

        # Built with the architecture only; weights come from init_pretrained or a checkpoint.
        text = build_text_encoder(config.encoder, pretrained=False)
        self.encoder = text.model
        self.tokenizer = text.tokenizer
        self.encoder_name = config.encoder
        self.dropout = nn.Dropout(config.dropout)
        self.emit = nn.Linear(text.hidden_size, len(vocab.tags))

    def init_pretrained(self) -> None:
        if self.config.pretrained:
            from mner_lib.text.encoders import build_text_encoder

            self.encoder.load_state_dict(
                build_text_encoder(self.config.encoder, pretrained=True).model.state_dict()
            )

    def collate(self, tweets: Sequence[Tweet], images: ImageBatch | None = None) -> dict[str, Any]:
        from mner_lib.text.encoders import align_subwords

        aligned = align_subwords(
            self.tokenizer, [tw.tokens for tw in tweets], self.config.max_length
        )
        tags, _ = pad_sequences([self.vocab.tags.encode(tw.tags) for tw in tweets])
        batch = {
            "input_ids": aligned.input_ids,
            "attention_mask": aligned.attention_mask,
            "first_subword": aligned.first_subword_index,
            "mask": aligned.word_mask,
            "tags": tags,
        }
        if images is not None and images.captions is not None:
            if len(images.captions) != len(tweets):
                raise ValueError(
                    f"bert-crf: {len(images.captions)} captions for {len(tweets)} tweets"
                )
            ids, attention, types = append_captions(
                self.tokenizer,
                aligned.input_ids,
                aligned.attention_mask,
                images.captions,
                self.config.max_caption_length,
            )
            batch.update(input_ids=ids, attention_mask=attention, token_type_ids=types)
        return batch

    def forward(
        self, batch: dict[str, Any], decode: bool = False, return_attention: bool = False
    ) -> TaggerOutput:
        out = self.encoder(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch.get("token_type_ids"),
            output_attentions=return_attention,
        )
        hidden = out.last_hidden_state  # (B, S, H)
        index = batch["first_subword"].unsqueeze(-1).expand(-1, -1, hidden.shape[-1])
        words = torch.gather(hidden, 1, index)  # (B, T, H)
        emissions = self.emit(self.dropout(words))
        attentions = {"encoder": out.attentions} if return_attention else None
        return self.crf_output(emissions, batch, decode, attentions)
