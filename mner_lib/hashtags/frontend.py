"""What every segmenter shares: the front end that cuts a raw hashtag into letter runs and digit
runs (steps 1-4 of the :mod:`mner_lib.hashtags` docstring), the :class:`Segmenter` interface,
and :func:`segment_hashtags`, which segments the hashtag tokens of a tweet (TriMod's hashtag
modality input)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

_CHUNK_RE = re.compile(r"[^\W\d_]+|[0-9]+")  # letter runs (any script) | digit runs
# CamelCase cut points: "aB" (lower->Upper) and "ABc" (before the last capital of a capital run)
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def presplit(text: str, case_prior: bool = True) -> list[tuple[str, bool]]:
    """Steps 1-3 of the :mod:`mner_lib.hashtags` docstring: ``(piece, is_letters)`` with the
    original casing."""
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
