"""What every tagger shares: its config, its output object, and how it saves and loads itself.

A tagger (flair's ``SequenceTagger`` is the model) owns its vocabularies, turns raw tweets into
tensors itself (:meth:`Tagger.collate`), returns a :class:`TaggerOutput` (transformers' typed
outputs are the model), and saves/loads itself whole, so a run folder alone is enough to tag
new text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from mner_lib.crf import CRF
from mner_lib.data import Tweet
from mner_lib.images.api import ImageBatch
from mner_lib.vocab import Vocabularies


@dataclass
class TaggerConfig:
    """Fields every model config has; each model's config subclasses it with the paper's values."""

    dropout: float = 0.5
    constrain_bio: bool = False  # forbid impossible BIO transitions in the CRF
    lowercase: bool = False


@dataclass
class TaggerOutput:
    """What a tagger's forward pass returns.

    loss:        the training loss (scalar) when gold tags were in the batch, else None.
    emissions:   (B, T, num_tags) CRF emission scores.
    predictions: decoded tag names per tweet when ``decode=True`` was asked for, else None.
    attentions:  named tensors for the notebooks (e.g. ``text_to_image``, ``gate``); filled when
                 ``return_attention=True``.
    extras:      other named values (auxiliary losses, embeddings).
    """

    loss: torch.Tensor | None
    emissions: torch.Tensor
    predictions: list[list[str]] | None = None
    attentions: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


class Tagger(nn.Module):
    """Base class: subclasses set ``name``, ``config_class``, ``uses_images`` and implement
    ``__init__(config, vocab)``, ``collate`` and ``forward``."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[TaggerConfig]] = TaggerConfig
    uses_images: ClassVar[bool] = False

    def __init__(self, config: TaggerConfig, vocab: Vocabularies):
        super().__init__()
        self.config = config
        self.vocab = vocab
        self.crf = CRF(len(vocab.tags), vocab.tags.itos, constrain_bio=config.constrain_bio)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_data(
        cls, config: TaggerConfig, train: Sequence[Tweet], extra_words: Iterable[str] = ()
    ) -> Tagger:
        """Build vocabularies from training tweets, then the model, then load pretrained parts.

        ``extra_words`` (e.g. the dev and test tokens; words only, no tags) join the word
        vocabulary where GloVe knows them, for models that load GloVe
        (:func:`mner_lib.encoders.augment_with_glove`, Lample et al.'s rule); ``glove_added``
        records how many did."""
        vocab = Vocabularies.from_tweets(train, lowercase=config.lowercase)
        added = 0
        if getattr(config, "use_glove", False):
            from mner_lib.encoders import augment_with_glove

            added = augment_with_glove(vocab.words, extra_words, lowercase=config.lowercase)
        model = cls(config, vocab)
        model.glove_added = added
        model.init_pretrained()
        return model

    def init_pretrained(self) -> None:
        """Copy pretrained weights in. Here: GloVe into ``self.words`` when the config asks for it
        (``use_glove``); models with a pretrained encoder extend this."""
        from mner_lib.models.embeddings import WordEmbedding

        words = getattr(self, "words", None)
        if getattr(self.config, "use_glove", False) and isinstance(words, WordEmbedding):
            self.oov_rate = words.load_glove(self.vocab.words)

    # -- data ---------------------------------------------------------------------------------
    def collate(self, tweets: Sequence[Tweet], images: ImageBatch | None = None) -> dict[str, Any]:
        """Tensors for a batch of tweets. Must contain ``mask`` (B, T) bool and, when the tweets
        carry gold tags, ``tags`` (B, T) long."""
        raise NotImplementedError

    def require_images(self, images: ImageBatch | None, tweets: Sequence[Tweet]) -> ImageBatch:
        """The image batch of ``tweets``; a clear error when it is missing or of another size."""
        if images is None:
            raise ValueError(
                f"model {self.name!r} needs image features: pass images=ImageFeatures(...)(tweets) "
                "(condition 'blank' for text without images, as the papers do)"
            )
        if len(images.flags) != len(tweets) or images.global_vec.shape[0] != len(tweets):
            raise ValueError(
                f"{self.name}: image batch has {images.global_vec.shape[0]} rows for "
                f"{len(tweets)} tweets"
            )
        return images

    def tag_tensor(self, tweets: Sequence[Tweet]) -> torch.Tensor:
        from mner_lib.vocab import pad_sequences

        ids, _ = pad_sequences([self.vocab.tags.encode(t.tags) for t in tweets])
        return ids

    # -- the CRF head ---------------------------------------------------------------------------
    def crf_output(
        self,
        emissions: torch.Tensor,
        batch: dict[str, Any],
        decode: bool = False,
        attentions: dict | None = None,
        extras: dict | None = None,
        extra_loss: torch.Tensor | None = None,
        crf_weight: float = 1.0,
    ) -> TaggerOutput:
        mask = batch["mask"]
        loss = None
        if batch.get("tags") is not None:
            loss = crf_weight * self.crf.neg_log_likelihood(emissions, batch["tags"], mask)
            if extra_loss is not None:
                loss = loss + extra_loss
        predictions = None
        if decode:
            paths = self.crf.decode(emissions, mask)
            predictions = [self.vocab.tags.decode(p) for p in paths]
        return TaggerOutput(loss, emissions, predictions, attentions or {}, extras or {})

    # -- persistence ----------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "config": dataclasses.asdict(self.config),
            "vocab": self.vocab.to_dict(),
            "state_dict": self.state_dict(),
        }

    def save(self, path: str | Path) -> None:
        torch.save(self.checkpoint(), path)

    @staticmethod
    def from_checkpoint(ckpt: dict[str, Any]) -> Tagger:
        from mner_lib.models import get_model_class

        cls = get_model_class(ckpt["model"])
        config = cls.config_class(**ckpt["config"])
        model = cls(config, Vocabularies.from_dict(ckpt["vocab"]))
        model.load_state_dict(ckpt["state_dict"])
        return model

    @staticmethod
    def load(path: str | Path, map_location: str = "cpu") -> Tagger:
        return Tagger.from_checkpoint(
            torch.load(path, map_location=map_location, weights_only=False)
        )

    @torch.no_grad()
    def predict(self, tweets: Sequence[Tweet], images: ImageBatch | None = None) -> list[list[str]]:
        was_training = self.training
        self.eval()
        batch = self.collate(tweets, images)
        batch["tags"] = None
        out = self(batch, decode=True)
        self.train(was_training)
        # a word cut by a length limit (sub-word models) is tagged O: labels never shift
        return [p + ["O"] * (len(t.tokens) - len(p)) for t, p in zip(tweets, out.predictions)]


def make_config(cls: type[Tagger], overrides: dict[str, Any] | None = None) -> TaggerConfig:
    """The model's config with ``overrides``; an unknown field is an error listing the valid ones."""
    overrides = dict(overrides or {})
    names = {f.name for f in dataclasses.fields(cls.config_class)}
    bad = sorted(set(overrides) - names)
    if bad:
        raise ValueError(
            f"unknown option(s) {', '.join(bad)} for model {cls.name!r}; valid: {', '.join(sorted(names))}"
        )
    return cls.config_class(**overrides)
