"""What every tagger shares: its config, its output object, and how it saves and loads itself.

A tagger (flair's ``SequenceTagger`` is the model) owns its vocabularies, turns raw tweets into
tensors itself (:meth:`Tagger.collate`), returns a :class:`TaggerOutput` (transformers' typed
outputs are the model), and saves/loads itself whole, so a run folder alone is enough to tag
new text.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from mner_lib.images.api import ImageBatch
from mner_lib.io.plural import noun
from mner_lib.models.crf import CRF
from mner_lib.models.limits import INT_MAX, MAX_BATCH_TWEETS
from mner_lib.models.spec import PaperSpec
from mner_lib.text.data import Tweet
from mner_lib.text.vocab import Vocabularies

#: The largest width (embedding, hidden or feature size) a model option may ask for: twice the
#: largest a backbone gives (2048). A BiLSTM this wide already has 268M parameters.
MAX_MODEL_WIDTH = 4096


@dataclass
class TaggerConfig:
    """Fields every model config has; each model's config subclasses it with the paper's values.

    Every value is checked when a config is made (:func:`check_config_values`), so a bad
    ``--option`` fails before a run folder is touched, never inside a layer: an integer field
    is a size from 1 to :data:`MAX_MODEL_WIDTH` unless the class's ``BOUNDS`` says otherwise,
    ``dropout`` (and any ``*_rate``) lies in [0, 1), every float is finite. A subclass with its
    own ``__post_init__`` calls ``super().__post_init__()`` first."""

    dropout: float = 0.5
    constrain_bio: bool = False  # forbid impossible BIO transitions in the CRF
    lowercase: bool = False
    #: field -> (lowest, highest) where the default rule for integers does not fit
    BOUNDS: ClassVar[dict[str, tuple[int, int]]] = {}

    def __post_init__(self) -> None:
        check_config_values(self)


@cache
def _config_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_config_values(config: TaggerConfig) -> None:
    """A ``ValueError`` naming the first field of ``config`` out of its range (see
    :class:`TaggerConfig`)."""
    cls = type(config)
    hints = _config_hints(cls)
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        hint = hints[f.name]
        if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        kind = typing.get_origin(hint) or hint
        where = f"{cls.__name__}.{f.name}"
        if value is None or isinstance(value, bool) or kind in (bool, str, list):
            continue
        if kind is float:
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{where} must be a finite number, got {value!r}")
            if (f.name == "dropout" or f.name.endswith("_rate")) and not 0 <= value < 1:
                raise ValueError(f"{where} must be at least 0 and below 1, got {value!r}")
            continue
        low, high = cls.BOUNDS.get(f.name, (1, MAX_MODEL_WIDTH))
        items = value if kind is tuple else (value,)
        if kind is tuple and not 1 <= len(items) <= 16:
            raise ValueError(f"{where} must hold 1 to 16 sizes, got {len(items)}")
        for item in items:
            if isinstance(item, bool) or not isinstance(item, int):
                raise ValueError(f"{where} must be an integer, got {item!r}")
            if not low <= item <= high:
                raise ValueError(f"{where} must be {low} to {high}, got {item!r}")


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
    emissions: torch.Tensor | None  # None from Tagger.run (batches of different lengths)
    predictions: list[list[str]] | None = None
    attentions: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


class Tagger(nn.Module):
    """Base class: subclasses set ``name``, ``config_class``, ``uses_images`` and implement
    ``__init__(config, vocab)``, ``collate`` and ``forward``."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[TaggerConfig]] = TaggerConfig
    uses_images: ClassVar[bool] = False
    spec: ClassVar[PaperSpec | None] = None  # the paper: defaults, ablations, reported numbers

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
        (:func:`mner_lib.text.encoders.augment_with_glove`, Lample et al.'s rule); ``glove_added``
        records how many did."""
        vocab = Vocabularies.from_tweets(train, lowercase=config.lowercase)
        added = 0
        if getattr(config, "use_glove", False):
            from mner_lib.text.encoders import augment_with_glove

            added = augment_with_glove(vocab.words, extra_words, lowercase=config.lowercase)
        model = cls(config, vocab)
        model.glove_added = added
        model.init_pretrained()
        return model

    def init_pretrained(self) -> None:
        """Copy pretrained weights in. Here: GloVe into ``self.words`` when the config asks for it
        (``use_glove``; words GloVe lacks get ``oov_init`` rows where the config has that field,
        else uniform ones); models with a pretrained encoder extend this."""
        from mner_lib.models.embeddings import WordEmbedding

        words = getattr(self, "words", None)
        if getattr(self.config, "use_glove", False) and isinstance(words, WordEmbedding):
            oov = getattr(self.config, "oov_init", "uniform")
            self.oov_rate = words.load_glove(self.vocab.words, oov=oov)

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
        from mner_lib.text.vocab import pad_sequences

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
    def to_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The weights (tensors only) and what rebuilds the model around them (JSON only:
        model name, config, vocabularies). Neither needs pickle to be read back."""
        meta = {
            "format": "mner-tagger/1",
            "model": self.name,
            "config": dataclasses.asdict(self.config),
            "vocab": self.vocab.to_dict(),
        }
        return dict(self.state_dict()), meta

    @staticmethod
    def from_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Tagger:
        """The model :meth:`to_state` described (its class looked up in the registry)."""
        from mner_lib.models import get_model_class

        if not isinstance(meta, dict) or not all(
            isinstance(meta.get(k), t)
            for k, t in (("model", str), ("config", dict), ("vocab", dict))
        ):
            raise ValueError(
                "malformed model metadata: expected a JSON object with 'model' (a name), 'config' "
                "and 'vocab' (objects), as Tagger.to_state writes it"
            )
        cls = get_model_class(meta["model"])
        config = make_config(cls, meta["config"])
        try:
            vocab = Vocabularies.from_dict(meta["vocab"])
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:
            raise ValueError(f"malformed vocabularies in the model metadata ({err!r})") from None
        checked = _check_shapes(cls, config, vocab, tensors)
        model = cls(config, vocab)
        if not checked:  # a model that cannot be built on meta: checked against the real one
            _check_fit(cls, {k: tuple(v.shape) for k, v in model.state_dict().items()}, tensors)
        try:
            model.load_state_dict(tensors)
        except RuntimeError as err:
            detail = " ".join(str(err).split())[:300]
            raise ValueError(f"the weights do not fit model {cls.name!r} ({detail})") from None
        return model

    def save(self, directory: str | Path) -> Path:
        """``model.safetensors`` + ``model.json`` in ``directory`` (written atomically;
        :mod:`mner_lib.models.modelfile`)."""
        from mner_lib.models import modelfile

        return modelfile.save(directory, *self.to_state(), fmt="mner-model-1")

    @staticmethod
    def load(directory: str | Path, map_location: str = "cpu") -> Tagger:
        """A model saved by :meth:`save` (or a run folder's best model); runs no code. A run
        folder checked against its manifest: :func:`mner_lib.training.load_run`."""
        from mner_lib.models import modelfile

        return Tagger.from_state(*modelfile.load(directory)).to(map_location)

    # -- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def run(
        self,
        tweets: Sequence[Tweet],
        images: Callable[[Sequence[Tweet]], ImageBatch] | None = None,
        batch_size: int = 64,
        return_attention: bool = False,
        precision: str = "auto",
    ) -> TaggerOutput:
        """Tag ``tweets`` in batches of ``batch_size``: the one inference path (the trainer's
        evaluation, ``predict``, the explorer and the chapters call it).

        ``images`` maps a list of tweets to their :class:`ImageBatch` (an ``ImageFeatures``);
        ``None`` gives an image model blank images (the papers' "w/o VF"). Returns a
        :class:`TaggerOutput` whose ``predictions`` has one tag list per tweet, as long as the
        tweet (a word cut by a sub-word length limit is tagged ``O``: labels never shift; a tweet
        with no tokens gets no tags); with ``return_attention``, ``attentions[name]`` and
        ``extras[name]`` are lists with one entry per tweet, in the order of ``tweets`` (tweets
        with no tokens are skipped). Batches are formed by length (less padding)."""
        from mner_lib.models.precision import autocast

        if not 1 <= batch_size <= MAX_BATCH_TWEETS:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_TWEETS}, got {batch_size}")
        if images is None and self.uses_images:
            images = self.blank_images()
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        predictions: list[list[str]] = [[] for _ in tweets]
        attentions: dict[str, list[tuple[int, Any]]] = {}
        extras: dict[str, list[tuple[int, Any]]] = {}
        # longest first, so each batch pads to similar lengths; outputs go back to their tweet
        todo = sorted(
            (i for i, t in enumerate(tweets) if t.tokens), key=lambda i: -len(tweets[i].tokens)
        )
        try:
            for start in range(0, len(todo), batch_size):
                index = todo[start : start + batch_size]
                chunk = [tweets[i] for i in index]
                batch = self.batch(chunk, images, device)
                batch["tags"] = None
                with autocast(device, precision):
                    out = self(batch, decode=True, return_attention=return_attention)
                for i, tweet, pred in zip(index, chunk, out.predictions):
                    predictions[i] = pred + ["O"] * (len(tweet.tokens) - len(pred))
                for name, value in out.attentions.items():
                    attentions.setdefault(name, []).extend(zip(index, _rows(value, len(chunk))))
                if return_attention:
                    for name, value in out.extras.items():
                        extras.setdefault(name, []).extend(zip(index, _rows(value, len(chunk))))
        finally:
            self.train(was_training)
        return TaggerOutput(None, None, predictions, _in_order(attentions), _in_order(extras))

    def batch(
        self,
        tweets: Sequence[Tweet],
        images: Callable[[Sequence[Tweet]], ImageBatch] | None,
        device: torch.device,
    ) -> dict[str, Any]:
        """:meth:`collate` of ``tweets`` (with their images) moved to ``device``."""
        batch = self.collate(tweets, images(tweets) if images is not None else None)
        return to_device(batch, device)

    def blank_images(self) -> Callable[[Sequence[Tweet]], ImageBatch]:
        """Blank-image features for this model's backbone (no data folder needed)."""
        from mner_lib.images import ImageFeatures

        backbone = getattr(self.config, "backbone", None) or "efficientnet-lite0"
        return ImageFeatures(dataset="demo", condition="blank", backbone=backbone)

    def predict(
        self, tweets: Sequence[Tweet], images: Callable | ImageBatch | None = None
    ) -> list[list[str]]:
        """Tag names per tweet (:meth:`run` in one call; ``images`` may be a ready batch)."""
        if isinstance(images, ImageBatch):
            ready = images
            return self.run(tweets, lambda _: ready, batch_size=max(1, len(tweets))).predictions
        return self.run(tweets, images).predictions


def _check_shapes(
    cls: type[Tagger], config: TaggerConfig, vocab: Vocabularies, tensors: dict
) -> bool:
    """Build the model on the meta device (no memory) and compare its parameter shapes with the
    file's tensors first, so a config that asks for huge layers never allocates them. False
    when the model cannot be built there (nothing checked)."""
    try:
        with torch.device("meta"):
            shapes = {k: tuple(v.shape) for k, v in cls(config, vocab).state_dict().items()}
    except Exception:  # noqa: BLE001 - a model that cannot be built on meta: checked once built
        return False
    _check_fit(cls, shapes, tensors)
    return True


def _check_fit(cls: type[Tagger], shapes: dict[str, tuple], tensors: dict) -> None:
    """A ``ValueError`` naming the tensors of ``tensors`` that the model's parameter ``shapes``
    do not take: of another shape, unexpected, missing (at most 3 names of each)."""
    kinds = (
        ("of another shape", sorted(k for k in tensors if k in shapes and tuple(tensors[k].shape) != shapes[k])),
        ("unexpected", sorted(set(tensors) - set(shapes))),
        ("missing", sorted(set(shapes) - set(tensors))),
    )  # fmt: skip
    found = [f"{len(keys)} {what} (e.g. {', '.join(keys[:3])})" for what, keys in kinds if keys]
    if found:
        raise ValueError(
            f"the weights do not fit model {cls.name!r} with its config: tensors "
            + "; ".join(found)
        )


def _in_order(found: dict[str, list[tuple[int, Any]]]) -> dict[str, list[Any]]:
    """Per-tweet outputs gathered as (tweet index, value) put back in the tweets' order."""
    return {k: [v for _, v in sorted(pairs, key=lambda p: p[0])] for k, pairs in found.items()}


def _rows(value: Any, n: int) -> list[Any]:
    """One entry per tweet of a batch output: a tensor's rows, or per-tweet tuples of a tuple
    of tensors (one per layer); anything else repeated for each tweet."""
    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == n:
        return list(value.detach().float().cpu())
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == n for v in value)
    ):
        return list(zip(*(list(v.detach().float().cpu()) for v in value)))
    if isinstance(value, list | tuple) and len(value) == n:
        return list(value)  # already one entry per tweet (e.g. the words of each caption)
    return [value] * n


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Tensors of a collated batch (and lists of tensors) moved to ``device``."""
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            out[k] = v.to(device, non_blocking=True)
        elif isinstance(v, list) and v and isinstance(v[0], torch.Tensor):
            out[k] = [t.to(device) for t in v]
        else:
            out[k] = v
    return out


def make_config(cls: type[Tagger], overrides: dict[str, Any] | None = None) -> TaggerConfig:
    """The model's config with ``overrides``; an unknown field, or a value of the wrong type
    (``heads="abc"``), is an error naming the field and what it expects."""
    overrides = dict(overrides or {})
    names = {f.name for f in dataclasses.fields(cls.config_class)}
    bad = sorted(set(overrides) - names)
    if bad:
        raise ValueError(
            f"unknown {noun(len(bad), 'option')} {', '.join(bad)} for model {cls.name!r}; valid: {', '.join(sorted(names))}"
        )
    hints = typing.get_type_hints(cls.config_class)
    for key, value in overrides.items():
        message = _type_problem(hints[key], value)
        if message:
            raise ValueError(f"model {cls.name!r}: option {key}={value!r}: {message}")
        if typing.get_origin(hints[key]) is tuple and isinstance(value, list):
            overrides[key] = tuple(value)  # JSON has no tuples
    return cls.config_class(**overrides)


def _type_problem(hint: Any, value: Any) -> str:
    """An error text when ``value`` does not fit the annotation ``hint`` ("" when it does)."""
    args = typing.get_args(hint)
    if type(None) in args:
        if value is None:
            return ""
        hint = next(a for a in args if a is not type(None))
    origin = typing.get_origin(hint) or hint
    if origin is bool:
        ok = isinstance(value, bool)
    elif origin is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif origin is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif origin in (tuple, list):
        ok = isinstance(value, list | tuple)
    else:
        ok = isinstance(value, origin) if isinstance(origin, type) else True
    name = getattr(origin, "__name__", str(hint))
    if not ok:
        return f"expected {name}, got {type(value).__name__}"
    if origin is int and not 0 <= value <= INT_MAX:  # sizes, counts, indices
        return f"must be between 0 and {INT_MAX}"
    if origin is float and not math.isfinite(value):
        return "must be a finite number"
    return ""
