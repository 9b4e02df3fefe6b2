"""Text conditions at work: which caption a tweet gets, and the caption as model input.

* :class:`CaptionProvider`: the caption (or PGIM knowledge) a tweet gets under a text condition
  (:mod:`mner_lib.images.conditions`): its own, or under ``*-shuffled`` another tweet's by a
  seeded derangement (:func:`derangement`); a missing or empty text is the empty caption and a
  flag, never another tweet's text (also when shuffled: coverage stays that of the source).
  :meth:`CaptionProvider.describe` is what a run records (condition, source, kind, coverage,
  flagged tweets, and the leak share of :func:`leak_share`).
* :class:`CaptionEncoder`: a caption as one vector per word from the frozen text encoder
  (MiniLM by default: :mod:`mner_lib.text.encoders`), the first sub-word of each word, as the
  taggers read words. This is what HSN and GMF attend over in place of the region grid.
* :func:`glove_rows`: caption words as frozen GloVe 50-d vectors (TriMod's caption slot, CWI's
  image words): real captions have an open vocabulary, so no table is learned or saved.
* :func:`caption_model_options`: the model options a text condition needs (``visual_input``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from mner_lib.images.conditions import Condition, is_text_condition, parse_condition, unit_hash
from mner_lib.images.text import _WORD, CaptionTable, caption_words, coverage, load_image_text
from mner_lib.text.data import SPLITS, Tweet, entity_starts, load_dataset

EMPTY_TOKEN = "(no caption)"
FLAGGED_LISTED = 20  # ids listed per flag in describe(); the counts are complete


def derangement(ids: Iterable[str], seed: int) -> dict[str, str]:
    """A seeded derangement of ``ids``: every id maps to another one, never to itself.

    The sorted unique ids are put in a seeded random order and each maps to the next (one
    cycle), so the same ids and seed always give the same pairing. Fewer than two ids: empty.
    """
    unique = sorted(set(ids))
    if len(unique) < 2:
        return {}
    order = np.random.default_rng(seed).permutation(len(unique))
    cycle = [unique[i] for i in order]
    return {a: cycle[(i + 1) % len(cycle)] for i, a in enumerate(cycle)}


class CaptionProvider:
    """The text each tweet gets under a caption / knowledge condition (see the module doc)."""

    def __init__(
        self,
        condition: str | Condition,
        dataset: str,
        data_dir: str | os.PathLike | None = None,
        seed: int = 0,
        table: CaptionTable | None = None,
    ):
        self.cond = parse_condition(condition) if isinstance(condition, str) else condition
        if not self.cond.is_text:
            raise ValueError(f"CaptionProvider needs a caption condition, got {self.cond.text!r}")
        self.dataset = dataset
        self.data_dir = data_dir
        self.seed = seed
        self.table = table or load_image_text(self.cond.source, dataset, data_dir)
        self._splits: dict[str, list[Tweet]] | None = None
        self._partner: dict[str, str] | None = None
        self._pool: list[str] = []
        self.flag_counts: Counter = Counter()

    @property
    def kind(self) -> str:
        return self.table.kind

    @property
    def splits(self) -> dict[str, list[Tweet]]:
        """The dataset's full splits (empty when it cannot be loaded)."""
        if self._splits is None:
            try:
                data = load_dataset(self.dataset, self.data_dir)
                self._splits = {s: data.split(s) for s in SPLITS}
            except (FileNotFoundError, ValueError):
                self._splits = {s: [] for s in SPLITS}
        return self._splits

    def partners(self) -> dict[str, str]:
        """Tweet id -> the id whose text it gets under ``*-shuffled`` (a derangement over the
        dataset's tweets that have a text)."""
        if self._partner is None:
            ids = {t.id for tweets in self.splits.values() for t in tweets}
            self._pool = sorted(i for i in ids if not self.table.lookup(i)[1])
            self._partner = derangement(self._pool, self.seed)
        return self._partner

    def _partner_of(self, tweet_id: str) -> str | None:
        partner = self.partners().get(tweet_id)
        if partner is None and len(self._pool) > 1:  # a tweet outside the dataset: hashed
            index = int(unit_hash("caption-partner", tweet_id, self.seed) * len(self._pool))
            partner = self._pool[index]
            if partner == tweet_id:
                partner = self._pool[(index + 1) % len(self._pool)]
        return partner

    def lookup(self, tweet: Tweet) -> tuple[str, str]:
        """``(text, flag)`` for ``tweet``: flag ``""`` (its own text), ``empty`` / ``missing``
        (the empty text), ``shuffled`` (another tweet's text) or ``shuffled-alone`` (no other
        tweet to take one from: the empty text)."""
        text, flag = self.table.lookup(tweet.id)
        if flag or not self.cond.shuffled_text:
            return text, flag
        partner = self._partner_of(tweet.id)
        if partner is None:
            return "", "shuffled-alone"
        return self.table.lookup(partner)[0], "shuffled"

    def __call__(self, tweets: Sequence[Tweet]) -> tuple[list[str], list[str]]:
        """Texts and flags of a batch (the flags are counted in ``flag_counts``)."""
        pairs = [self.lookup(t) for t in tweets]
        for _, flag in pairs:
            self.flag_counts[flag] += 1
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def describe(self) -> dict:
        """What a run records about the text condition (kept small: ids listed up to 20)."""
        flagged: dict[str, list[str]] = {}
        per_split = {}
        for split, tweets in self.splits.items():
            per_split[split] = coverage(self.table, tweets)
            for tweet in tweets:
                flag = self.table.lookup(tweet.id)[1]
                if flag:
                    flagged.setdefault(flag, []).append(tweet.id)
        test = self.splits["test"]
        leak = leak_share(test, [self.lookup(t)[0] for t in test])
        return {
            "condition": self.cond.text,
            "source": self.cond.source,
            "kind": self.kind,
            "shuffled": self.cond.shuffled_text,
            "synthetic": self.dataset == "demo",
            "files": [f"image_text/{Path(p).parent.name}/{Path(p).name}" for p in self.table.paths],
            "coverage": per_split,
            "flagged": {f: ids[:FLAGGED_LISTED] for f, ids in flagged.items()},
            "flagged_counts": {f: len(ids) for f, ids in flagged.items()},
            "caption_flags": dict(self.flag_counts),
            "leak": {"split": "test", **leak},
        }


class CaptionEncoder:
    """Captions as word vectors from a frozen text encoder (one vector per caption word).

    Each caption is split into words (:func:`mner_lib.images.text.caption_words`), encoded as
    one sequence, and each word takes its first sub-word's last-layer state. An empty caption is
    one zero vector, labelled ``(no caption)``. Results are cached per caption text (float16,
    up to ``cache_values`` numbers in all).
    """

    def __init__(
        self, name: str = "minilm-l6", max_length: int = 128, cache_values: int = 40_000_000
    ):
        self.name = name
        self.max_length = max_length
        self.cache_values = cache_values
        self._encoder = None
        self._cache: dict[str, np.ndarray] = {}
        self._cached = 0

    @property
    def encoder(self):
        if self._encoder is None:
            from mner_lib.text.encoders import build_text_encoder

            self._encoder = build_text_encoder(self.name, pretrained=True)
        return self._encoder

    @property
    def dim(self) -> int:
        return self.encoder.hidden_size

    @torch.inference_mode()
    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        from mner_lib.text.encoders import align_subwords

        words = [caption_words(t) for t in texts]
        rows = [i for i, w in enumerate(words) if w]
        out = [np.zeros((1, self.dim), np.float16) for _ in texts]
        if not rows:
            return out
        enc = self.encoder
        ids, attention, first, word_mask = align_subwords(
            enc.tokenizer, [words[i] for i in rows], self.max_length
        )
        hidden = enc.model(input_ids=ids, attention_mask=attention).last_hidden_state
        index = first.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])
        vectors = torch.gather(hidden, 1, index).float().numpy()
        for row, i in enumerate(rows):
            n = max(1, int(word_mask[row].sum()))
            out[i] = vectors[row, :n].astype(np.float16)
        return out

    def __call__(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(vectors (B, L, D) float32, mask (B, L) bool)`` for a batch of captions."""
        todo = sorted({t for t in texts if t not in self._cache})
        fresh = dict(zip(todo, self._encode(todo))) if todo else {}
        for text, array in fresh.items():
            if self._cached + array.size <= self.cache_values:
                self._cache[text] = array
                self._cached += array.size
        arrays = [self._cache.get(t, fresh.get(t)) for t in texts]
        width = max(a.shape[0] for a in arrays)
        vectors = torch.zeros(len(texts), width, self.dim)
        mask = torch.zeros(len(texts), width, dtype=torch.bool)
        for i, a in enumerate(arrays):
            vectors[i, : a.shape[0]] = torch.from_numpy(a.astype(np.float32))
            mask[i, : a.shape[0]] = True
        return vectors, mask


def entity_strings(tweet: Tweet) -> list[str]:
    """The surface strings of the tweet's gold entities (conlleval spans), lower-case."""
    starts = entity_starts(tweet.tags)
    out = []
    for start, etype in starts:
        end = start + 1
        while end < len(tweet.tags) and tweet.tags[end] == f"I-{etype}":
            end += 1
        out.append(" ".join(tweet.tokens[start:end]).lower())
    return out


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def leak_share(tweets: Iterable[Tweet], captions: Sequence[str]) -> dict[str, float | int]:
    """How many gold entities of ``tweets`` have their string in the tweet's caption.

    Both sides are lower-cased and split into words and punctuation (so ``"Obama"`` is found in
    ``"barack obama, at a rally"`` but not in ``"obamacare"``); a leading ``#`` or ``@`` of the
    entity is ignored. Returns ``entities``, ``in_caption`` and ``share`` (0 without entities).
    """
    total = found = 0
    for tweet, caption in zip(tweets, captions):
        padded = f" {_normal(caption)} "
        for entity in entity_strings(tweet):
            total += 1
            needle = _normal(entity.lstrip("#@"))
            if needle and f" {needle} " in padded:
                found += 1
    return {"entities": total, "in_caption": found, "share": found / total if total else 0.0}


def caption_tokens(text: str, max_words: int | None = None) -> list[str]:
    """The labels of a caption's vectors (its words; ``(no caption)`` for an empty caption)."""
    words = caption_words(text)[:max_words] if max_words else caption_words(text)
    return words or [EMPTY_TOKEN]


_GLOVE_CACHE: dict[str, np.ndarray] = {}


def glove_rows(rows: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen GloVe 50-d vectors of word lists: ``(vectors (B, L, 50), mask (B, L))``.

    Words GloVe lacks get the seeded random vector of :func:`mner_lib.text.encoders.load_glove`; an
    empty list is one zero vector with its mask on, so an LSTM over it has one step."""
    from mner_lib.text.encoders import GLOVE_DIM, load_glove

    new = sorted({w for row in rows for w in row if w not in _GLOVE_CACHE})
    if new:
        matrix, _ = load_glove(new)
        _GLOVE_CACHE.update(zip(new, matrix))
    width = max([len(r) for r in rows] + [1])
    vectors = torch.zeros(len(rows), width, GLOVE_DIM)
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, row in enumerate(rows):
        for j, word in enumerate(row):
            vectors[i, j] = torch.from_numpy(_GLOVE_CACHE[word])
        mask[i, : max(1, len(row))] = True
    return vectors, mask


def caption_model_options(model_cls: type, condition: str, options: dict | None = None) -> dict:
    """``options`` plus what a text condition needs: ``visual_input="caption"`` for models that
    have that field (HSN, GMF), unless set. Pixel conditions: ``options`` unchanged."""
    import dataclasses

    out = dict(options or {})
    fields = {f.name for f in dataclasses.fields(model_cls.config_class)}
    if "visual_input" in fields and is_text_condition(condition):
        out.setdefault("visual_input", "caption")
    return out


def caption_input(model: str, visual_input: str, images) -> bool:
    """True when a model built with ``visual_input`` should read the batch's captions.

    A mismatch is an error: a caption batch given to a model built for pixels would silently
    be a blank-image run under a caption label, and a pixel batch cannot feed a caption model.
    """
    has = images is not None and images.captions is not None
    if visual_input == "caption" and not has:
        raise ValueError(
            f"{model} was built with visual_input='caption' but the image batch carries no "
            "captions: use a text condition (caption:blip2, caption:catr, caption:owl, "
            "knowledge:pgim, caption-shuffled:<source>)"
        )
    if visual_input != "caption" and has:
        raise ValueError(
            f"{model} was built with visual_input={visual_input!r} but the condition gives "
            "captions (its pixels are blank): set the model option visual_input='caption' "
            "(the trainer does so for text conditions)"
        )
    return has
