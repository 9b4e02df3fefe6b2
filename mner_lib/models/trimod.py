"""TriMod: text, visual and hashtag modalities fused by modality attention (``papers/trimod.txt``).

The model, section by section:

* IV-A, eq. 1-7 (text): word embeddings (GloVe 50-d here; word2vec 200-d in the paper) and the
  character Bi-GRU (char embedding 30, hidden 30, last states of both directions,
  :class:`~mner_lib.models.embeddings.CharGRU`) are concatenated, dropped out (0.55) and fed to a
  word-level Bi-GRU (hidden 150): h_t, (B, T, 300).
* IV-B (visual): no captioner reaches these machines, so the "caption" is the text of the image's
  top-k ImageNet labels (``caption_labels``), embedded with GloVe-initialised vectors; the
  object-level features are the backbone's region vectors (49 = 7x7). Both become "visual
  objects" of size ``visual_dim``; every token attends over them with its h_t as the query
  (scaled dot product), giving its visual feature (B, T, visual_dim).
  Under a text condition (``caption:blip2`` ...) the caption slot holds the real caption of
  the tweet's image, as the paper designs it (its captioner's output), instead of the label
  stand-in: its words as frozen GloVe 50-d vectors (:func:`mner_lib.images.captions.glove_rows`:
  an open vocabulary, so no table is learned), through the same ``caption_proj``; the region
  objects are then those of the blank image.
* IV-C/D (hashtags): every hashtag token is segmented into words by a segmenter
  (:mod:`mner_lib.hashtags`: the learned CNN+BiLSTM model from its file, or ``wordsegment`` /
  ``wordninja``); the words are embedded (GloVe-initialised, vocabulary from the training
  hashtags). A hashtag written as two tokens, ``#`` then its body (Twitter-2017 always, part of
  Twitter-2015), is a hashtag on its body token, which carries the entity tag
  (:func:`joined_hashtags`). A token's hashtag feature is [mean of its own hashtag's word vectors (0 when it is not
  a hashtag); mean over all the tweet's hashtag words (a learned "no hashtag" vector when the
  tweet has none)], (B, T, 100): so hashtags inform every word of the tweet.
* IV-E, eq. 11-12 (fusion): modality attention per token over {text, visual, hashtag}
  (:class:`~mner_lib.models.attention.ModalityAttention`: each feature projected to 300,
  gamma_i = exp(u^T tanh(W f_i + b)), f_s = sum gamma_i f_i / sum gamma_i).
* IV-F, eq. 13-16: linear emissions from f_s, CRF.

Switches ``use_text``, ``use_visual``, ``use_hashtag`` drop a modality from the fusion (its column
of the modality weights is then 0). With ``use_text=False`` the word Bi-GRU still exists: its
states remain the queries that pick each token's visual evidence, but they no longer enter f_s.
Training (``TRIMOD_SPEC.training``, below): SGD, batch 10, 9 accumulation steps,
lr 0.005, decay 0.05; dropout 0.55 here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mner_lib.images.api import ImageBatch
from mner_lib.images.captions import glove_rows
from mner_lib.images.text import caption_words
from mner_lib.models import register_model
from mner_lib.models.attention import ModalityAttention, masked_softmax
from mner_lib.models.base import Tagger, TaggerConfig, TaggerOutput
from mner_lib.models.baselines import collate_words_and_chars
from mner_lib.models.embeddings import CharGRU, WordEmbedding, bilstm_over_padding
from mner_lib.models.spec import (
    TRIMOD_PAPER,
    Ablation,
    NamedOption,
    PaperSpec,
    reported_rows,
)
from mner_lib.text.data import Tweet
from mner_lib.text.encoders import GLOVE_DIM
from mner_lib.text.vocab import Vocab, Vocabularies, pad_sequences

MODALITIES = ("text", "visual", "hashtag")
_WORD = re.compile(r"[a-z]+")


@dataclass
class TriModConfig(TaggerConfig):
    """TriMod's settings; defaults are the paper's where it gives them (sec. V-B)."""

    dropout: float = 0.55
    word_dim: int = 50  # GloVe 6B 50-d (the paper: word2vec 200-d)
    use_glove: bool = True
    char_emb: int = 30
    char_hidden: int = 30
    hidden: int = 150  # word-level Bi-GRU, per direction
    visual_dim: int = 100  # size of the visual objects (caption words and regions)
    caption_labels: int = 5  # k: top-k ImageNet labels make the caption
    backbone: str = "efficientnet-lite0"  # must match the image features' backbone
    segmenter: str = "wordsegment"  # "wordsegment", "wordninja" or a learned model file (.pt)
    hashtag_vocab: list[str] = field(default_factory=list)  # filled from the training hashtags
    use_text: bool = True
    use_visual: bool = True
    use_hashtag: bool = True
    BOUNDS = {"caption_labels": (0, 1000)}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (self.use_text or self.use_visual or self.use_hashtag):
            raise ValueError(
                "TriModConfig: use_text, use_visual and use_hashtag are all False; keep at least one"
            )
        if self.caption_labels < 0:
            raise ValueError(f"TriModConfig.caption_labels must be >= 0, got {self.caption_labels}")


def label_words(name: str) -> list[str]:
    """An ImageNet class name as lowercase words: ``"Granny Smith"`` -> ``["granny", "smith"]``."""
    return _WORD.findall(name.lower())


def caption_vocab() -> Vocab:
    """Every word of the 1000 ImageNet class names (fixed, so a saved model needs no data)."""
    from mner_lib.images.backbones import imagenet_class_names

    words = sorted({w for name in imagenet_class_names() for w in label_words(name)})
    return Vocab(words)


def caption_of(labels: Sequence[tuple[str, float]], k: int) -> list[str]:
    """The caption stand-in: the words of the top-``k`` labels, in rank order."""
    return [w for name, _ in list(labels)[:k] for w in label_words(name)]


def joined_hashtags(tokens: Sequence[str]) -> list[str]:
    """Tokens with a split hashtag joined back onto its body token: Twitter-2017 (and part of
    Twitter-2015) writes ``#NBAAwards`` as two tokens ``#`` ``NBAAwards``, and the body token
    carries the entity tag. The body becomes ``#NBAAwards``; the ``#`` token stays ``#`` (no
    segments). The token count never changes."""
    out = list(tokens)
    for i in range(1, len(tokens)):
        if tokens[i - 1] == "#" and tokens[i] and not tokens[i].startswith("#"):
            out[i] = "#" + tokens[i]
    return out


def _masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(dim) / m.sum(dim).clamp_min(1.0)


TRIMOD_SPEC = PaperSpec(
    citation=TRIMOD_PAPER,
    chapter="trimod",
    training={
        "optimizer": "sgd",
        "lr": 0.005,
        "schedule": "inverse-decay",
        "lr_decay": 0.05,
        "batch_size": 10,
        "grad_accum": 9,
        "epochs": 30,
        "momentum": 0.0,
    },
    ablations=(
        Ablation("w/o hashtags", {"use_hashtag": False}),
        Ablation("w/o visual", {"use_visual": False}),
    ),
    # the paper learns its segmenter (sec. IV-C); ours is a stand-in, named in every result
    named_options=(NamedOption("segmenter", "wordsegment", unless={"use_hashtag": False}),),
    reported=reported_rows("trimod"),
)


@register_model
class TriMod(Tagger):
    """Text Bi-GRU + caption/region objects + segmented hashtags -> modality attention -> CRF."""

    name = "trimod"
    spec = TRIMOD_SPEC
    config_class = TriModConfig
    uses_images = True

    def __init__(self, config: TriModConfig, vocab: Vocabularies):
        super().__init__(config, vocab)
        from mner_lib.models.gmf import stage_channels

        self.image_dim = stage_channels(config.backbone)[-1]
        self.captions = caption_vocab()
        self.hashtag_words = Vocab(config.hashtag_vocab)
        self._segmenter = None
        self._segment_cache: dict[str, list[list[str]]] = {}

        # IV-A text
        self.words = WordEmbedding(len(vocab.words), config.word_dim)
        self.chars = CharGRU(len(vocab.chars), config.char_emb, config.char_hidden)
        self.dropout = nn.Dropout(config.dropout)
        self.text_rnn = nn.GRU(
            config.word_dim + self.chars.out_dim,
            config.hidden,
            batch_first=True,
            bidirectional=True,
        )
        text_dim = 2 * config.hidden
        # IV-B visual
        self.caption_embedding = WordEmbedding(len(self.captions), config.word_dim)
        self.caption_proj = nn.Linear(config.word_dim, config.visual_dim)
        self.region_proj = nn.Linear(self.image_dim, config.visual_dim)
        self.visual_query = nn.Linear(text_dim, config.visual_dim)
        # IV-C hashtags
        self.hashtag_embedding = WordEmbedding(len(self.hashtag_words), config.word_dim)
        self.no_hashtag = nn.Parameter(torch.zeros(config.word_dim))
        # IV-E fusion
        dims = {"text": text_dim, "visual": config.visual_dim, "hashtag": 2 * config.word_dim}
        self.active = [m for m in MODALITIES if getattr(config, f"use_{m}")]
        if len(self.active) > 1:
            self.fusion = ModalityAttention([dims[m] for m in self.active], text_dim)
        else:  # one modality: eq. 12 is the identity on its (projected) feature
            self.single = nn.Linear(dims[self.active[0]], text_dim)
        self.emit = nn.Linear(text_dim, len(vocab.tags))
        self.oov_rate: float | None = None

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_data(
        cls, config: TriModConfig, train: Sequence[Tweet], extra_words: Iterable[str] = ()
    ) -> TriMod:
        """Also builds the hashtag word vocabulary from the training tweets' segmented hashtags."""
        if config.use_hashtag and not config.hashtag_vocab:
            from mner_lib.hashtags import get_segmenter, segment_hashtags

            segmenter = get_segmenter(config.segmenter)
            counts: Counter[str] = Counter()
            for tweet in train:
                for words in segment_hashtags(joined_hashtags(tweet.tokens), segmenter):
                    counts.update(words)
            config.hashtag_vocab = sorted(counts, key=lambda w: (-counts[w], w))
        return super().from_data(config, train, extra_words)  # type: ignore[return-value]

    def init_pretrained(self) -> None:
        super().init_pretrained()  # GloVe into the word embedding
        if self.config.use_glove:
            self.caption_embedding.load_glove(self.captions)
            self.hashtag_embedding.load_glove(self.hashtag_words)

    @property
    def segmenter(self):
        if self._segmenter is None:
            from mner_lib.hashtags import get_segmenter

            segmenter = get_segmenter(self.config.segmenter)
            if isinstance(segmenter, nn.Module):  # the learned one: frozen, in eval mode
                segmenter.eval().requires_grad_(False)
            # a preprocessing step that its own file (config.segmenter) holds, not one of this
            # model's parameters: kept out of the module tree, so neither the saved weights nor
            # the optimiser see it (assigned as a module it would enter state_dict on first use
            # and a saved model could not be loaded back)
            self.__dict__["_segmenter"] = segmenter
        return self._segmenter

    def segments(self, tokens: Sequence[str]) -> list[list[str]]:
        """Per token, its hashtag's words ([] for other tokens); cached per tweet text."""
        key = "\x00".join(tokens)
        if key not in self._segment_cache:
            from mner_lib.hashtags import segment_hashtags

            if not any(t.startswith("#") for t in tokens):
                self._segment_cache[key] = [[] for _ in tokens]
            else:
                self._segment_cache[key] = segment_hashtags(joined_hashtags(tokens), self.segmenter)
        return self._segment_cache[key]

    # -- data -----------------------------------------------------------------------------------
    def collate(self, tweets: Sequence[Tweet], images: ImageBatch | None = None) -> dict[str, Any]:
        batch = collate_words_and_chars(self.vocab, tweets, self.config.lowercase)
        b, t = batch["mask"].shape
        # visual: caption words and regions
        if images is not None:
            if images.regions.shape[-1] != self.image_dim:
                raise ValueError(
                    f"TriMod (backbone {self.config.backbone!r}) expects {self.image_dim}-d region "
                    f"vectors, got {images.regions.shape[-1]}; set the model option "
                    "backbone=<name> to the backbone that produced the image features"
                )
            captions = [caption_of(labels, self.config.caption_labels) for labels in images.labels]
            regions = images.regions.float()
            if images.captions is not None:  # the real caption in the caption slot
                if self.config.word_dim != GLOVE_DIM:  # caption_proj takes word_dim inputs
                    raise ValueError(
                        f"TriModConfig.word_dim must be {GLOVE_DIM} for captions (their words are "
                        f"frozen GloVe {GLOVE_DIM}-d vectors), got {self.config.word_dim}"
                    )
                captions = [[w.lower() for w in caption_words(c)] for c in images.captions]
                batch["caption_vectors"], batch["caption_mask"] = glove_rows(captions)
        else:
            captions = [[] for _ in tweets]
            regions = torch.zeros(b, 1, self.image_dim)
        if "caption_vectors" not in batch:
            batch["caption_ids"], batch["caption_mask"] = pad_sequences(
                [self.captions.encode(c) for c in captions]
            )
        batch["regions"] = regions
        batch["caption_words"] = captions
        # hashtags: per token and per tweet
        segments = [self.segments(tw.tokens) for tw in tweets]
        longest = max((len(w) for seg in segments for w in seg), default=0)
        token_ids = torch.zeros(b, t, max(longest, 1), dtype=torch.long)
        tweet_rows = []
        for i, seg in enumerate(segments):
            row: list[int] = []
            for j, words in enumerate(seg):
                ids = self.hashtag_words.encode(words)
                token_ids[i, j, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
                row.extend(ids)
            tweet_rows.append(row)
        batch["hashtag_token_ids"] = token_ids
        batch["hashtag_tweet_ids"], batch["hashtag_tweet_mask"] = pad_sequences(tweet_rows)
        batch["hashtag_segments"] = segments
        return batch

    # -- modality features ----------------------------------------------------------------------
    def text_features(self, batch: dict[str, Any]) -> torch.Tensor:
        """Eq. 1-7: [word; char Bi-GRU] -> dropout -> word Bi-GRU, (B, T, 2 * hidden)."""
        x = torch.cat([self.words(batch["words"]), self.chars(batch["chars"])], dim=-1)
        x = self.dropout(x)
        return bilstm_over_padding(self.text_rnn, x, batch["mask"])  # = packing, faster

    def visual_features(
        self, batch: dict[str, Any], text: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each token's attention over the visual objects (caption words, then regions).
        Returns the features (B, T, visual_dim) and the weights (B, T, Lc + K)."""
        if batch.get("caption_vectors") is not None:  # a real caption: frozen GloVe vectors
            words = batch["caption_vectors"].to(text.device)
        else:
            words = self.caption_embedding(batch["caption_ids"])
        captions = self.caption_proj(self.dropout(words))
        regions = self.region_proj(batch["regions"])
        objects = torch.cat([captions, regions], dim=1)  # (B, Lc + K, d_v)
        region_mask = torch.ones(regions.shape[:2], dtype=torch.bool, device=regions.device)
        object_mask = torch.cat([batch["caption_mask"].to(regions.device), region_mask], dim=1)
        query = self.visual_query(text)  # (B, T, d_v)
        scores = query @ objects.transpose(1, 2) / objects.shape[-1] ** 0.5
        weights = masked_softmax(scores, object_mask[:, None, :], dim=-1)
        return weights @ objects, weights

    def hashtag_features(self, batch: dict[str, Any]) -> torch.Tensor:
        """[own hashtag's mean word vector; the tweet's mean hashtag word vector], (B, T, 2 d_w)."""
        token_ids = batch["hashtag_token_ids"]
        own = _masked_mean(self.hashtag_embedding(token_ids), token_ids != 0, dim=2)  # (B, T, d)
        tweet_ids, tweet_mask = batch["hashtag_tweet_ids"], batch["hashtag_tweet_mask"]
        tweet = _masked_mean(self.hashtag_embedding(tweet_ids), tweet_mask, dim=1)  # (B, d)
        has = tweet_mask.any(dim=1, keepdim=True).to(tweet.dtype)
        tweet = has * tweet + (1 - has) * self.no_hashtag
        own = self.dropout(own)
        tweet = self.dropout(tweet)[:, None].expand(-1, own.shape[1], -1)
        return torch.cat([own, tweet], dim=-1)

    # -- forward --------------------------------------------------------------------------------
    def forward(
        self, batch: dict[str, Any], decode: bool = False, return_attention: bool = False
    ) -> TaggerOutput:
        mask = batch["mask"]
        text = self.text_features(batch)
        features: dict[str, torch.Tensor] = {}
        visual_weights = None
        if self.config.use_text:
            features["text"] = text
        if self.config.use_visual:
            features["visual"], visual_weights = self.visual_features(batch, text)
        if self.config.use_hashtag:
            features["hashtag"] = self.hashtag_features(batch)
        b, t = mask.shape
        modality = text.new_zeros((b, t, len(MODALITIES)))
        if len(self.active) > 1:
            fused, weights = self.fusion([features[m] for m in self.active], mask)  # eq. 11-12
            for k, m in enumerate(self.active):
                modality[..., MODALITIES.index(m)] = weights[..., k]
        else:
            fused = self.single(features[self.active[0]]) * mask.unsqueeze(-1).to(text.dtype)
            modality[..., MODALITIES.index(self.active[0])] = mask.to(text.dtype)
        emissions = self.emit(fused)
        attentions: dict[str, Any] = {}
        if return_attention:
            attentions["modality"] = modality
            if visual_weights is not None:
                attentions["visual_objects"] = visual_weights
        extras = {
            "caption_words": batch.get("caption_words"),
            "hashtag_segments": batch.get("hashtag_segments"),
        }
        return self.crf_output(emissions, batch, decode, attentions, extras)


__all__ = [
    "MODALITIES",
    "TriMod",
    "TriModConfig",
    "caption_of",
    "caption_vocab",
    "joined_hashtags",
    "label_words",
]
