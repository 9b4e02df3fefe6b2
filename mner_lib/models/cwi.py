"""CWI: the Character-Word-Image model and CWI + attention (Asgari-Chenaghlu et al., arXiv
2001.06888).

Paper -> code
-------------
* Character feature extraction: fixed-length char ids per word -> uniform-initialised embedding
  -> two blocks of three 1-D convolutions (kernels 2-3-4 / 4-3-2, filters 16-32-64 / 64-32-16)
  with "TD + GN + SineReLU", pooling, concatenation
  (:class:`~mner_lib.models.cwi_blocks.CWICharEncoder`).
* Word feature extraction: pretrained vectors -> BiLSTM. The paper concatenates GloVe and fastText
  (500-d). Offline only GloVe 6B 50-d exists; ``second_word_dim > 0`` concatenates a second,
  randomly initialised (uniform [-0.25, 0.25]) trainable table in the fastText slot, so the
  "two vector sets" structure is kept where no second pretrained set is available. OOV words
  are uniform in [-0.25, 0.25] (the paper's rule, :func:`mner_lib.text.encoders.load_glove`).
* Image feature extraction: the full ImageNet classifier's top-5 classes as words (the image
  pipeline's ``ImageBatch.labels``: efficientnet-lite0 here, InceptionV3 in the paper), one
  embedding per ImageNet class ("one-hot vectors" -> an embedding layer), an LSTM over the five
  -> its last state is the tweet's image feature, given to every token.
* Real-image captions (not in the paper): under a text condition (``caption:blip2`` ...) the
  image words are the caption's content words (stop words out,
  :func:`mner_lib.images.text.content_words`) as frozen GloVe 50-d vectors (an open vocabulary:
  no table is learned) in the same image LSTM (``image_word_dim`` must then be 50), instead of
  the five ImageNet labels.
* Fusion: ``cwi`` concatenates the word (BiLSTM), char and image features and runs a BiLSTM
  stacked on the extractors' LSTMs ("we stacked LSTM units from word and image feature
  extractors"), then a linear layer and the CRF. ``cwi-attention`` replaces the concatenation with
  modality attention over the (word, char, image) triplet
  (:class:`~mner_lib.models.attention.ModalityAttention`), the rest unchanged. The paper puts its
  attention layer "after layer 31, before the CRF" in a layer table that is lost; attention
  "applied to this triplet" needs the three features apart, so it sits where they meet.
* Training: Adam, lr 8e-5, 10 epochs (``CWI_SPEC.training``, below).

The paper's layer tables are lost (TABREF22-25), so the sizes of the LSTMs and embeddings are
our choices (config fields below); the character block's kernels and filters are the text's.

Outputs: ``extras["image_words"]`` the top-5 label words of each tweet's image;
``attentions["modality"]`` (B, T, 3) the weights over (word, char, image) for ``cwi-attention``
with ``return_attention=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mner_lib.images.api import ImageBatch
from mner_lib.images.captions import glove_rows
from mner_lib.images.text import content_words
from mner_lib.models import register_model
from mner_lib.models.attention import ModalityAttention
from mner_lib.models.base import MAX_MODEL_WIDTH, Tagger, TaggerConfig, TaggerOutput
from mner_lib.models.cwi_blocks import CWICharEncoder
from mner_lib.models.embeddings import WordEmbedding, bilstm_over_padding
from mner_lib.models.spec import CWI_PAPER, Ablation, PaperSpec
from mner_lib.text.data import MAX_TOKEN_CHARS, Tweet
from mner_lib.text.vocab import Vocab, Vocabularies, pad_chars, pad_sequences

MODALITIES = ("word", "char", "image")


@dataclass
class CWIConfig(TaggerConfig):
    """CWI's hyperparameters (the paper's layer tables are lost: sizes are our choices)."""

    word_dim: int = 50  # GloVe 6B 50-d (paper: GloVe + fastText, 500-d)
    use_glove: bool = True
    second_word_dim: int = 0  # > 0: a second (random, trainable) vector set in fastText's slot
    word_hidden: int = 100  # word BiLSTM, per direction
    word_length: int = 20  # k: every word is padded or cut to k characters
    char_emb: int = 30
    char_kernels1: tuple[int, ...] = (2, 3, 4)
    char_filters1: tuple[int, ...] = (16, 32, 64)
    char_kernels2: tuple[int, ...] = (4, 3, 2)
    char_filters2: tuple[int, ...] = (64, 32, 16)
    char_pool: int = 2
    gn_groups: int = 4
    sine_eps: float = 0.0025
    td_rate: float = 0.5
    td_threshold: float = 1.0
    image_top_k: int = 5
    image_word_dim: int = 50
    image_hidden: int = 50
    fusion_hidden: int = 100  # the stacked BiLSTM after fusion, per direction
    attention_dim: int = 100  # cwi-attention: the common size of the three modality features
    dropout: float = 0.5
    BOUNDS = {
        "second_word_dim": (0, MAX_MODEL_WIDTH),
        "word_length": (1, MAX_TOKEN_CHARS),
        "char_kernels1": (1, MAX_TOKEN_CHARS),
        "char_kernels2": (1, MAX_TOKEN_CHARS),
        "char_pool": (1, MAX_TOKEN_CHARS),
        "image_top_k": (1, 1000),
    }

    def __post_init__(self) -> None:
        # tuples come back from a JSON checkpoint as lists
        for name in ("char_kernels1", "char_filters1", "char_kernels2", "char_filters2"):
            value = getattr(self, name)
            setattr(self, name, tuple(value) if isinstance(value, list | tuple) else value)
        super().__post_init__()
        for block in ("1", "2"):
            kernels, filters = (
                getattr(self, "char_kernels" + block),
                getattr(self, "char_filters" + block),
            )
            if len(kernels) != len(filters):
                raise ValueError(
                    f"CWIConfig: char_kernels{block} and char_filters{block} must have as many "
                    f"sizes, got {len(kernels)} and {len(filters)}"
                )
            if any(n % self.gn_groups for n in filters):
                raise ValueError(
                    f"CWIConfig.char_filters{block} {filters}: each must split into gn_groups="
                    f"{self.gn_groups} groups"
                )
        if self.use_glove and self.word_dim != 50:
            raise ValueError(
                f"CWIConfig.word_dim must be 50 with use_glove=True (GloVe 6B 50-d), got {self.word_dim}"
            )
        if self.word_length < 1 or self.image_top_k < 1:
            raise ValueError("CWIConfig.word_length and image_top_k must be >= 1")
        if self.second_word_dim < 0:
            raise ValueError(f"CWIConfig.second_word_dim must be >= 0, got {self.second_word_dim}")


def image_word_vocab() -> Vocab:
    """The ImageNet-1k class names as a vocabulary (0 padding, 1 unknown)."""
    from mner_lib.images.backbones import imagenet_class_names

    return Vocab(imagenet_class_names())


def _pack_lstm(lstm: nn.LSTM, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The BiLSTM over the padded batch: the same as packing, on PyTorch's fused kernel."""
    return bilstm_over_padding(lstm, x, mask)


# The paper's result tables were lost from its text (SPEC.md): it reports no number we can read.
CWI_SPEC = PaperSpec(
    citation=CWI_PAPER,
    chapter="cwi",
    training={"optimizer": "adam", "lr": 8e-5, "batch_size": 16, "epochs": 10},
    ablations=(Ablation("w/o image (blank)", condition="blank"),),
)


@register_model
class CWI(Tagger):
    """CWI: char CNN blocks + word BiLSTM + image-word LSTM, concatenated, stacked BiLSTM, CRF."""

    name = "cwi"
    spec = CWI_SPEC
    config_class = CWIConfig
    uses_images = True
    use_attention = False

    def __init__(self, config: CWIConfig, vocab: Vocabularies):
        super().__init__(config, vocab)
        c = config
        self.words = WordEmbedding(len(vocab.words), c.word_dim)
        word_in = c.word_dim
        if c.second_word_dim:
            self.words2 = WordEmbedding(len(vocab.words), c.second_word_dim)
            word_in += c.second_word_dim
        self.word_lstm = nn.LSTM(word_in, c.word_hidden, batch_first=True, bidirectional=True)
        self.chars = CWICharEncoder(
            len(vocab.chars),
            c.char_emb,
            c.char_kernels1,
            c.char_filters1,
            c.char_kernels2,
            c.char_filters2,
            c.char_pool,
            c.gn_groups,
            c.sine_eps,
            c.td_rate,
            c.td_threshold,
        )
        self.image_words = image_word_vocab()
        self.image_embedding = nn.Embedding(len(self.image_words), c.image_word_dim, padding_idx=0)
        self.image_lstm = nn.LSTM(c.image_word_dim, c.image_hidden, batch_first=True)
        dims = [2 * c.word_hidden, self.chars.out_dim, c.image_hidden]
        if self.use_attention:
            self.modality_attention = ModalityAttention(dims, c.attention_dim)
            fused_dim = c.attention_dim
        else:
            fused_dim = sum(dims)
        self.dropout = nn.Dropout(c.dropout)
        self.fusion_lstm = nn.LSTM(fused_dim, c.fusion_hidden, batch_first=True, bidirectional=True)
        self.emit = nn.Linear(2 * c.fusion_hidden, len(vocab.tags))
        self.oov_rate: float | None = None

    # -- data ---------------------------------------------------------------------------------
    def collate(self, tweets: Sequence[Tweet], images: ImageBatch | None = None) -> dict[str, Any]:
        images = self.require_images(images, tweets)
        c = self.config
        norm = (lambda t: t.lower()) if c.lowercase else (lambda t: t)
        words, mask = pad_sequences(
            [self.vocab.words.encode([norm(t) for t in tw.tokens]) for tw in tweets]
        )
        chars = pad_chars(
            [[self.vocab.chars.encode(list(t)) for t in tw.tokens] for tw in tweets], c.word_length
        )
        chars = F.pad(chars, (0, c.word_length - chars.shape[-1]))  # exactly k per word
        tags, _ = pad_sequences([self.vocab.tags.encode(tw.tags) for tw in tweets])
        top = [[name for name, _ in row[: c.image_top_k]] for row in images.labels]
        label_ids = torch.zeros((len(tweets), c.image_top_k), dtype=torch.long)
        for i, names in enumerate(top):
            ids = self.image_words.encode(names)
            label_ids[i, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
        batch = {
            "words": words,
            "chars": chars,
            "mask": mask,
            "tags": tags,
            "image_labels": label_ids,
            "image_words": top,
        }
        if images.captions is not None:  # the caption's content words as the image words
            if c.image_word_dim != 50:
                raise ValueError(
                    f"CWIConfig.image_word_dim must be 50 for captions (GloVe 50-d), got "
                    f"{c.image_word_dim}"
                )
            batch["image_words"] = [content_words(text) for text in images.captions]
            batch["image_vectors"], batch["image_vector_mask"] = glove_rows(batch["image_words"])
        return batch

    # -- model --------------------------------------------------------------------------------
    def modality_features(self, batch: dict[str, Any]) -> list[torch.Tensor]:
        """The (word, char, image) features, each (B, T, d_m)."""
        mask = batch["mask"]
        w = self.words(batch["words"])
        if self.config.second_word_dim:
            w = torch.cat([w, self.words2(batch["words"])], dim=-1)
        word = _pack_lstm(self.word_lstm, self.dropout(w), mask)
        char = self.chars(batch["chars"])
        if batch.get("image_vectors") is not None:  # caption words: their own lengths
            vectors = batch["image_vectors"].to(word.device)
            lengths = batch["image_vector_mask"].sum(-1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(
                vectors, lengths, batch_first=True, enforce_sorted=False
            )
            _, (h, _) = self.image_lstm(packed)
        else:
            _, (h, _) = self.image_lstm(self.image_embedding(batch["image_labels"]))
        image = h[-1].unsqueeze(1).expand(-1, mask.shape[1], -1)
        return [word, char, image]

    def forward(
        self, batch: dict[str, Any], decode: bool = False, return_attention: bool = False
    ) -> TaggerOutput:
        mask = batch["mask"]
        feats = self.modality_features(batch)
        attentions: dict[str, Any] = {}
        if self.use_attention:
            fused, weights = self.modality_attention(feats, mask)
            if return_attention:
                attentions["modality"] = weights
        else:
            fused = torch.cat(feats, dim=-1)
        out = _pack_lstm(self.fusion_lstm, self.dropout(fused), mask)
        emissions = self.emit(self.dropout(out))
        extras = {"image_words": batch.get("image_words")}
        return self.crf_output(emissions, batch, decode, attentions, extras)


@register_model
class CWIAttention(CWI):
    """CWI + attention: modality attention over (word, char, image) instead of concatenation."""

    name = "cwi-attention"
    spec = CWI_SPEC
    use_attention = True
