"""The two dictionary baselines of the hashtag segmenter: ``wordsegment`` and ``wordninja``."""

from __future__ import annotations

from mner_lib.hashtags.frontend import _ChunkSegmenter

BASELINES: tuple[str, ...] = ("wordsegment", "wordninja")


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
