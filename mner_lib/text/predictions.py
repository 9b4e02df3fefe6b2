"""A run's predictions as tags only: committed with the run, rejoined with the reader's data.

The datasets' tweets are not ours to redistribute, so a run folder keeps its dev and test
predictions as ``tags_<split>.tsv``: one line per tweet, no token text::

    # mner-lib tags v1	imgid	occurrence	tokens	tags
    16_05_01_6	0	12	B-PER I-PER O O O O O O O O O O

* ``imgid`` and ``occurrence`` (the how-manieth tweet of that IMGID in its split file, from 0:
  the datasets repeat a few IMGIDs) key the line to a tweet of the reader's data file;
* ``tokens`` is that tweet's token count, checked when the line rejoins its tweet;
* ``tags`` are the predicted BIO2 tags, one per token, separated by spaces.

:func:`rejoin` pairs each line with its tweet and refuses, naming the file and the line, a key
the data lacks, a token count that differs, or a tag outside the tag set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mner_lib.io.safe_read import read_regular_file
from mner_lib.text.data import TAGS, Tweet

HEADER = "# mner-lib tags v1\timgid\toccurrence\ttokens\ttags"
#: a tag file larger than this is refused before it is read (the largest test split, Twitter-2015's
#: 3257 tweets, takes about 150 KB)
MAX_BYTES = 32 << 20


class PredictionFileError(ValueError):
    """A tag file that does not rejoin the data; the message names the file and the line."""


@dataclass(frozen=True)
class TagLine:
    imgid: str
    occurrence: int
    tokens: int
    tags: tuple[str, ...]


def tweet_keys(tweets: Sequence[Tweet]) -> list[tuple[str, int]]:
    """``(imgid, occurrence)`` of each tweet, in order (occurrence counts earlier same IMGIDs)."""
    seen: dict[str, int] = {}
    keys = []
    for tweet in tweets:
        k = seen.get(tweet.id, 0)
        seen[tweet.id] = k + 1
        keys.append((tweet.id, k))
    return keys


def format_tags(
    tweets: Sequence[Tweet], predictions: Sequence[Sequence[str]], keys: Sequence[tuple[str, int]]
) -> str:
    """The tag file's text for ``tweets`` (keyed by ``keys``, their places in the split file)."""
    if not (len(tweets) == len(predictions) == len(keys)):
        raise ValueError(
            f"{len(tweets)} tweets, {len(predictions)} predictions and {len(keys)} keys differ"
        )
    lines = [HEADER]
    for tweet, tags, (imgid, k) in zip(tweets, predictions, keys):
        if len(tags) != len(tweet.tokens):
            raise ValueError(f"tweet {imgid}: {len(tweet.tokens)} tokens, {len(tags)} tags")
        lines.append(f"{imgid}\t{k}\t{len(tags)}\t{' '.join(tags)}")
    return "\n".join(lines) + "\n"


def split_keys(subset: Sequence[Tweet], full_split: Sequence[Tweet]) -> list[tuple[str, int]]:
    """The keys of ``subset`` (a sample of ``full_split``, same objects) in the full split."""
    place = {id(tweet): key for tweet, key in zip(full_split, tweet_keys(full_split))}
    try:
        return [place[id(tweet)] for tweet in subset]
    except KeyError:  # not a sample of that split: key by its own order
        return tweet_keys(subset)


def read_tags(path: str | os.PathLike) -> list[TagLine]:
    """The lines of a tag file; a malformed line is an error naming the file and the line."""
    path = Path(path)
    try:
        text = read_regular_file(path, MAX_BYTES, "tag file").decode("utf-8")
    except UnicodeDecodeError:
        raise PredictionFileError(f"{path}: not UTF-8 text (a tag file)") from None
    rows = text.split("\n")
    if not rows or rows[0] != HEADER:
        raise PredictionFileError(f"{path}:1: not a tag file (expected the header {HEADER!r})")
    out = []
    valid = set(TAGS)
    for n, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        parts = row.split("\t")
        if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
            raise PredictionFileError(
                f"{path}:{n}: expected imgid<TAB>occurrence<TAB>tokens<TAB>tags"
            )
        tags = tuple(parts[3].split(" ")) if parts[3] else ()
        if len(tags) != int(parts[2]):
            raise PredictionFileError(
                f"{path}:{n}: {len(tags)} tags for {parts[2]} tokens ({parts[0]})"
            )
        bad = next((t for t in tags if t not in valid), None)
        if bad is not None:
            raise PredictionFileError(f"{path}:{n}: unknown tag {bad[:40]!r}")
        out.append(TagLine(parts[0], int(parts[1]), int(parts[2]), tags))
    return out


def rejoin(path: str | os.PathLike, tweets: Sequence[Tweet]) -> list[tuple[Tweet, list[str]]]:
    """Each line of the tag file at ``path`` with its tweet of ``tweets`` (the full split, as read
    from the reader's data file): ``[(tweet, predicted tags), ...]`` in the file's order."""
    by_key = dict(zip(tweet_keys(tweets), tweets))
    joined = []
    for n, line in enumerate(read_tags(path), start=2):
        tweet = by_key.get((line.imgid, line.occurrence))
        if tweet is None:
            raise PredictionFileError(
                f"{path}:{n}: tweet {line.imgid} (occurrence {line.occurrence}) is not in the "
                "data: the predictions are of another data file"
            )
        if len(tweet.tokens) != line.tokens:
            where = f"{tweet.source}:{tweet.line}" if tweet.source else tweet.id
            raise PredictionFileError(
                f"{path}:{n}: tweet {line.imgid} has {line.tokens} tokens here and "
                f"{len(tweet.tokens)} in {where}: the data file differs from the run's"
            )
        joined.append((tweet, list(line.tags)))
    return joined
