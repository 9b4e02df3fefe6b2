"""Self-supervised training data for the hashtag segmenter: phrases written without spaces
(``"newyorkcity"``) with their words, the per-character "space after" labels of eq. 10 that
they give, and seeded train / held-out splits (by phrase or by tweet)."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mner_lib.text.data import Tweet

_WORD_RE = re.compile(r"^[A-Za-z]+$")


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

    In each tweet (a :class:`~mner_lib.text.data.Tweet` or a plain token list), maximal runs of
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
