"""Hashtag segmentation: a learned character model (TriMod, section IV-C/D) and two dictionary
baselines, with one interface, self-supervised training data and an evaluation.

The paper (``papers/trimod.txt``, IV-C and IV-D)
------------------------------------------------
- eq. 9: every character ``c_i`` gets an embedding ``phi(c_i)`` (skip-gram in the paper; here a
  lookup table learned with the segmenter, see "Readings" below) -> :attr:`HashtagSegmenter.char_embedding`.
- "fed into CNN and BiLSTM networks": a 1-D convolution over the character embeddings, then a
  bidirectional LSTM, giving ``h_1 .. h_n`` -> :attr:`HashtagSegmenter.conv`,
  :attr:`HashtagSegmenter.lstm`.
- eq. 10: ``P(s_i | h, c_i) = Decoder(h_i, c_i)`` with ``s_i`` in {0, 1} = "a space follows
  character i"; trained with cross-entropy -> :attr:`HashtagSegmenter.decoder`, a linear layer on
  the concatenation ``[h_i ; c_i]`` giving two logits per character.

Readings (the paper gives no sizes and no training data for the segmenter)
-------------------------------------------------------------------------
- Sizes: the character embedding is 30-d (the paper's ``d_ce``, its only character size); the
  CNN width, kernel and LSTM size are ours (:class:`HashtagSegmenterConfig`).
- Embeddings are learned end to end from a random start instead of a separate skip-gram step.
- Training data is self-supervised from a corpus's own text (:func:`make_joined_examples`):
  consecutive alphabetic tokens of a tweet are lowercased and joined ("new york city" ->
  "newyorkcity") and the model learns to put the spaces back. Single words are included by
  default (``min_words=1``) so that the model also learns when *not* to split (``#love``).

What :meth:`Segmenter.segment` does with a raw hashtag (the same for every segmenter)
-------------------------------------------------------------------------------------
1. A leading ``#`` is removed; an empty remainder is a ``ValueError``.
2. The text is cut at every character that is not a letter or an ASCII digit (``_``, ``-``, ...; dropped)
   and between letters and digits (``MyFest2015`` -> ``MyFest`` ``2015``); digit runs are words.
3. With ``case_prior=True`` (default) letter runs are also cut at CamelCase boundaries
   (``NewYork`` -> ``New`` ``York``, ``NBAFinals`` -> ``NBA`` ``Finals``): a cheap prior that only
   helps mixed-case tags.
4. Each remaining letter run is **lowercased** and handed to the segmenter proper (the learned
   model, ``wordsegment`` or ``wordninja``). The output words are lowercase, for every segmenter:
   ``segment("#NewYorkCity") == ["new", "york", "city"]``.

So on lowercase tags (``#newyorkcity``) all the work is the segmenter's own.
"""

from __future__ import annotations

import dataclasses
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mner_lib.data import Tweet

BASELINES: tuple[str, ...] = ("wordsegment", "wordninja")
FILE_FORMAT = "mner-hashtag-segmenter/1"
PAD_ID, UNK_ID = 0, 1
_WORD_RE = re.compile(r"^[A-Za-z]+$")
_CHUNK_RE = re.compile(r"[^\W\d_]+|[0-9]+")  # letter runs (any script) | digit runs
# CamelCase cut points: "aB" (lower->Upper) and "ABc" (before the last capital of a capital run)
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


# ----------------------------------------------------------------------------- data
@dataclass(frozen=True)
class JoinedExample:
    """A phrase written without spaces and its words: ``text == "".join(words)``."""

    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.words)

    @property
    def labels(self) -> list[int]:
        return boundary_labels(self.words)


def boundary_labels(words: Sequence[str]) -> list[int]:
    """Per character of ``"".join(words)``: 1 if a space follows it (``s_i`` of eq. 10), else 0.

    The last character is always 0. ``split_by_labels`` inverts this.
    """
    if not words or any(not w for w in words):
        raise ValueError(f"boundary_labels needs non-empty words, got {list(words)!r}")
    labels: list[int] = []
    for k, word in enumerate(words):
        labels.extend([0] * (len(word) - 1))
        labels.append(1 if k < len(words) - 1 else 0)
    return labels


def split_by_labels(text: str, labels: Sequence[int]) -> list[str]:
    """Cut ``text`` after every character whose label is 1 (inverse of :func:`boundary_labels`)."""
    if len(text) != len(labels):
        raise ValueError(f"text has {len(text)} characters but {len(labels)} labels were given")
    words: list[str] = []
    start = 0
    for i, label in enumerate(labels):
        if label and i < len(text) - 1:
            words.append(text[start : i + 1])
            start = i + 1
    if start < len(text):
        words.append(text[start:])
    return words


def boundary_offsets(words: Sequence[str]) -> set[int]:
    """Character offsets (in the joined text) where one word ends and the next begins."""
    offsets: set[int] = set()
    pos = 0
    for word in words[:-1]:
        pos += len(word)
        offsets.add(pos)
    return offsets


def _token_texts(tweets: Iterable[Tweet | Sequence[str]]) -> Iterable[list[str]]:
    for tweet in tweets:
        yield list(tweet.tokens) if isinstance(tweet, Tweet) else list(tweet)


def make_joined_examples(
    tweets: Iterable[Tweet | Sequence[str]],
    seed: int = 0,
    min_words: int = 1,
    max_words: int = 4,
    min_word_length: int = 1,
) -> list[JoinedExample]:
    """Self-supervised training phrases from a corpus's own text.

    In each tweet (a :class:`~mner_lib.data.Tweet` or a plain token list), maximal runs of
    consecutive alphabetic tokens (``[A-Za-z]+``; hashtags, mentions, URLs, numbers and
    punctuation break a run) are cut left to right into pieces of ``min_words..max_words`` words
    (lengths drawn with ``random.Random(seed)``); each piece is lowercased. A short tail that
    cannot reach ``min_words`` is dropped. Duplicates are kept here (:func:`split_examples`
    removes them).
    """
    if not 1 <= min_words <= max_words:
        raise ValueError(
            f"need 1 <= min_words <= max_words, got min_words={min_words}, max_words={max_words}"
        )
    rng = random.Random(seed)
    examples: list[JoinedExample] = []
    for tokens in _token_texts(tweets):
        runs: list[list[str]] = [[]]
        for token in tokens:
            if _WORD_RE.match(token) and len(token) >= min_word_length:
                runs[-1].append(token.lower())
            elif runs[-1]:
                runs.append([])
        for run in runs:
            i = 0
            while len(run) - i >= min_words:
                n = rng.randint(min_words, max_words)
                n = min(n, len(run) - i)
                examples.append(JoinedExample(tuple(run[i : i + n])))
                i += n
    return examples


def _dedupe(examples: Iterable[JoinedExample]) -> dict[str, JoinedExample]:
    """One example per joined text; a text seen with several segmentations keeps its most
    frequent one (ties: the alphabetically first)."""
    by_text: dict[str, Counter[tuple[str, ...]]] = {}
    for ex in examples:
        by_text.setdefault(ex.text, Counter())[ex.words] += 1
    return {
        text: JoinedExample(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0])
        for text, c in by_text.items()
    }


def split_examples(
    examples: Sequence[JoinedExample], test_fraction: float = 0.1, seed: int = 0
) -> tuple[list[JoinedExample], list[JoinedExample]]:
    """Seeded train / held-out split over *distinct joined texts*: no held-out text appears in
    training (see :func:`heldout_split` for the stricter split by tweet)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    unique = _dedupe(examples)
    texts = sorted(unique)
    if len(texts) < 2:
        raise ValueError(f"need at least 2 distinct phrases to split, got {len(texts)}")
    random.Random(seed).shuffle(texts)
    n_test = max(1, int(round(len(texts) * test_fraction)))
    return [unique[t] for t in texts[n_test:]], [unique[t] for t in texts[:n_test]]


def heldout_split(
    tweets: Sequence[Tweet | Sequence[str]],
    seed: int = 0,
    test_fraction: float = 0.1,
    min_words: int = 1,
    max_words: int = 4,
) -> tuple[list[JoinedExample], list[JoinedExample]]:
    """Train phrases and held-out phrases for one seed, split by tweet.

    A seeded ``test_fraction`` of the tweets is held out; training phrases come from the rest
    (duplicates kept: frequency is signal); held-out phrases come from the held-out tweets,
    one per distinct text, minus every text that also occurs among the training phrases.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = list(range(len(tweets)))
    random.Random(seed).shuffle(order)
    n_test = max(1, int(round(len(tweets) * test_fraction)))
    if n_test >= len(tweets):
        raise ValueError(f"need at least 2 tweets to hold some out, got {len(tweets)}")
    test_ids = set(order[:n_test])
    train_tweets = [t for i, t in enumerate(tweets) if i not in test_ids]
    test_tweets = [t for i, t in enumerate(tweets) if i in test_ids]
    train = make_joined_examples(train_tweets, seed, min_words, max_words)
    seen = {ex.text for ex in train}
    held = _dedupe(make_joined_examples(test_tweets, seed + 1, min_words, max_words))
    test = [held[t] for t in sorted(held) if t not in seen]
    random.Random(seed).shuffle(test)
    return train, test


# ----------------------------------------------------------------------------- shared front end
def presplit(text: str, case_prior: bool = True) -> list[tuple[str, bool]]:
    """Steps 1-3 of the module docstring: ``(piece, is_letters)`` with the original casing."""
    if not isinstance(text, str):
        raise ValueError(f"a hashtag must be a string, got {type(text).__name__}")
    body = text[1:] if text.startswith("#") else text
    if not body.strip():
        raise ValueError(f"cannot segment an empty hashtag: {text!r}")
    pieces: list[tuple[str, bool]] = []
    for chunk in _CHUNK_RE.findall(body):
        if chunk[0].isdigit():
            pieces.append((chunk, False))
            continue
        parts = _CAMEL_RE.split(chunk) if case_prior else [chunk]
        pieces.extend((p, True) for p in parts if p)
    return pieces


class Segmenter(Protocol):
    """Anything with a name and ``segment(text) -> list[str]``."""

    name: str

    def segment(self, text: str, case_prior: bool = True) -> list[str]: ...


class _ChunkSegmenter:
    """Applies the shared front end, then ``_split_chunk`` to each lowercase letter run."""

    name = "base"

    def _split_chunk(self, chunk: str) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _split_chunks(self, chunks: list[str]) -> list[list[str]]:
        return [self._split_chunk(c) for c in chunks]

    def segment(self, text: str, case_prior: bool = True) -> list[str]:
        """Segment one hashtag (with or without ``#``) into lowercase words."""
        return self.segment_many([text], case_prior)[0]

    def segment_many(self, texts: Sequence[str], case_prior: bool = True) -> list[list[str]]:
        pieces = [presplit(t, case_prior) for t in texts]
        chunks = [p.lower() for ps in pieces for p, letters in ps if letters]
        split = iter(self._split_chunks(chunks))
        out: list[list[str]] = []
        for ps in pieces:
            words: list[str] = []
            for piece, letters in ps:
                words.extend(next(split) if letters else [piece])
            out.append(words)
        return out


class DictionarySegmenter(_ChunkSegmenter):
    """``wordsegment`` (Norvig's unigram/bigram model) or ``wordninja`` (Zipf unigram costs),
    both with their English frequency data shipped in the package."""

    def __init__(self, name: str):
        if name not in BASELINES:
            raise ValueError(f"unknown baseline segmenter {name!r}; valid: {', '.join(BASELINES)}")
        self.name = name
        if name == "wordsegment":
            import wordsegment

            if not wordsegment.UNIGRAMS:
                wordsegment.load()
            self._fn = wordsegment.segment
        else:
            import wordninja

            self._fn = wordninja.split

    def _split_chunk(self, chunk: str) -> list[str]:
        words = [w.lower() for w in self._fn(chunk)]
        # both libraries keep letters; if one ever drops any, fall back to the unsplit chunk
        return words if "".join(words) == chunk else [chunk]


# ----------------------------------------------------------------------------- model
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
    def save(self, path: str | Path) -> None:
        """One file: format tag, config, char vocabulary, meta and weights."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "format": FILE_FORMAT,
                "config": dataclasses.asdict(self.config),
                "chars": self.chars[2:],
                "meta": self.meta,
                "state_dict": self.state_dict(),
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path) -> HashtagSegmenter:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"hashtag segmenter file not found: {path}")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unpickling failure means "not our file"
            raise ValueError(f"{path}: not a hashtag segmenter file ({err})") from err
        if not isinstance(blob, dict) or blob.get("format") != FILE_FORMAT:
            raise ValueError(
                f"{path}: not a hashtag segmenter file (expected format {FILE_FORMAT})"
            )
        model = cls(HashtagSegmenterConfig(**blob["config"]), blob["chars"], blob.get("meta"))
        model.load_state_dict(blob["state_dict"])
        model.eval()
        return model


def get_segmenter(name_or_path: str) -> Segmenter:
    """A baseline by name (``wordsegment``, ``wordninja``) or a learned model from its file."""
    if name_or_path in BASELINES:
        return DictionarySegmenter(name_or_path)
    path = Path(name_or_path)
    if path.suffix in (".pt", ".pth") or path.exists():
        return HashtagSegmenter.load(path)
    raise ValueError(
        f"unknown segmenter {name_or_path!r}; valid: {', '.join(BASELINES)} or a model file (.pt)"
    )


def segment_hashtags(tweet_tokens: Sequence[str], segmenter: Segmenter) -> list[list[str]]:
    """Per token: the segmented words of a hashtag token (``#`` + something), ``[]`` otherwise.

    This is the hashtag modality's input in TriMod.
    """
    tags = [t for t in tweet_tokens if _is_hashtag(t)]
    if hasattr(segmenter, "segment_many"):
        words = iter(segmenter.segment_many(tags))  # type: ignore[attr-defined]
    else:
        words = iter([segmenter.segment(t) for t in tags])
    return [next(words) if _is_hashtag(t) else [] for t in tweet_tokens]


def _is_hashtag(token: str) -> bool:
    return token.startswith("#") and bool(_CHUNK_RE.search(token[1:]))


# ----------------------------------------------------------------------------- training
@dataclass
class TrainConfig:
    """Adam, a few epochs (all ours: the paper says only "cross-entropy")."""

    epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    max_length: int = 40  # longer phrases are dropped from training


@dataclass
class TrainHistory:
    epoch_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    dev: list[dict[str, float]] = field(default_factory=list)


def train_segmenter(
    train: Sequence[JoinedExample],
    config: HashtagSegmenterConfig | None = None,
    train_config: TrainConfig | None = None,
    dev: Sequence[JoinedExample] | None = None,
    meta: dict[str, Any] | None = None,
    log: Any = None,
) -> tuple[HashtagSegmenter, TrainHistory]:
    """Train a :class:`HashtagSegmenter` on joined phrases (cross-entropy over eq. 10).

    Seeded (``torch.manual_seed`` and the batch order). The character vocabulary is every
    character of the training texts. ``dev`` (optional) is scored after each epoch.
    """
    tc = train_config or TrainConfig()
    if tc.epochs < 1 or tc.batch_size < 1 or tc.lr <= 0:
        raise ValueError(f"bad TrainConfig {tc}: epochs, batch_size and lr must be positive")
    data = [ex for ex in train if len(ex.text) <= tc.max_length]
    if not data:
        raise ValueError(
            f"no training phrases (got {len(train)}, none of at most {tc.max_length} characters)"
        )
    torch.manual_seed(tc.seed)
    chars = sorted({c for ex in data for c in ex.text})
    meta = dict(meta or {})
    meta.setdefault("train", dataclasses.asdict(tc))
    meta.setdefault("train_phrases", len(data))
    model = HashtagSegmenter(config, chars, meta)
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr)
    rng = random.Random(tc.seed)
    history = TrainHistory()
    for epoch in range(tc.epochs):
        model.train()
        start, total, count = time.perf_counter(), 0.0, 0
        for batch_ids in _length_buckets(data, tc.batch_size, rng):
            batch = [data[i] for i in batch_ids]
            ids, lengths = model.encode([ex.text for ex in batch])
            labels = torch.zeros_like(ids)
            for row, ex in enumerate(batch):
                labels[row, : len(ex.text)] = torch.tensor(ex.labels)
            loss = model(ids, lengths, labels).loss
            assert loss is not None
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        history.epoch_loss.append(total / count)
        history.epoch_seconds.append(time.perf_counter() - start)
        if dev:
            history.dev.append(evaluate_segmenter(model, dev))
        if log is not None:
            dev_note = f" dev exact {history.dev[-1]['exact_match']:.3f}" if dev else ""
            log(f"epoch {epoch + 1}/{tc.epochs} loss {history.epoch_loss[-1]:.4f}{dev_note}")
    model.eval()
    return model, history


def _length_buckets(
    data: Sequence[JoinedExample], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Batches of similar length (less padding), in a shuffled order: shuffle, sort chunks of
    50 batches by length, cut into batches, shuffle the batches."""
    order = list(range(len(data)))
    rng.shuffle(order)
    pool = 50 * batch_size
    batches: list[list[int]] = []
    for p in range(0, len(order), pool):
        chunk = sorted(order[p : p + pool], key=lambda i: len(data[i].text))
        batches.extend(chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


# ----------------------------------------------------------------------------- evaluation
def evaluate_segmenter(segmenter: Segmenter, examples: Sequence[JoinedExample]) -> dict[str, Any]:
    """Exact-match accuracy and boundary precision / recall / F1 (micro over all phrases).

    A boundary is a character offset between two words; a phrase counts as exact when the
    predicted words equal the gold words. Also broken down by the number of gold words.
    """
    if not examples:
        raise ValueError("evaluate_segmenter needs at least one example")
    texts = [ex.text for ex in examples]
    if hasattr(segmenter, "segment_many"):
        predicted = segmenter.segment_many(texts, case_prior=False)  # type: ignore[attr-defined]
    else:
        predicted = [segmenter.segment(t, case_prior=False) for t in texts]
    tp = fp = fn = exact = 0
    by_n: dict[int, list[int]] = {}
    for ex, words in zip(examples, predicted):
        gold, pred = boundary_offsets(ex.words), boundary_offsets(words)
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
        hit = int(tuple(words) == ex.words)
        exact += hit
        by_n.setdefault(len(ex.words), []).append(hit)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(examples),
        "exact_match": exact / len(examples),
        "boundary_precision": precision,
        "boundary_recall": recall,
        "boundary_f1": f1,
        "exact_match_by_words": {str(n): sum(h) / len(h) for n, h in sorted(by_n.items())},
        "count_by_words": {str(n): len(h) for n, h in sorted(by_n.items())},
    }


def chance_boundary_f1(examples: Sequence[JoinedExample]) -> float:
    """Expected boundary F1 of a splitter that cuts each gap with the gold boundary rate."""
    gaps = sum(len(ex.text) - 1 for ex in examples)
    gold = sum(len(ex.words) - 1 for ex in examples)
    if gaps == 0 or gold == 0:
        return 0.0
    return gold / gaps  # expected precision = recall = the gold boundary rate
