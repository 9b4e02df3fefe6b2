"""Corpus statistics: tweets, tokens and entities per type, orphan ``I-`` tags, hashtags
(``python -m mner_lib data stats``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from mner_lib.text.data import (
    ENTITY_TYPES,
    SPLITS,
    Dataset,
    Tweet,
    entity_starts,
    orphan_positions,
)


def corpus_stats(tweets: Sequence[Tweet]) -> dict:
    """Tweets, tokens, entities per type (B- count and conlleval count), orphans, hashtags."""
    b_counts: Counter[str] = Counter()
    conll_counts: Counter[str] = Counter()
    orphans = 0
    tokens = 0
    hashtags = 0
    for tweet in tweets:
        tokens += len(tweet)
        hashtags += len(tweet.hashtags)
        for tag in tweet.tags:
            if tag.startswith("B-"):
                b_counts[tag[2:]] += 1
        for _, etype in entity_starts(tweet.tags):
            conll_counts[etype] += 1
        orphans += len(orphan_positions(tweet.tags))
    return {
        "tweets": len(tweets),
        "tokens": tokens,
        "entities_b": {t: b_counts[t] for t in ENTITY_TYPES},
        "entities_conlleval": {t: conll_counts[t] for t in ENTITY_TYPES},
        "orphan_i": orphans,
        "hashtags": hashtags,
    }


def dataset_stats(dataset: Dataset) -> dict:
    return {s: corpus_stats(dataset.split(s)) for s in SPLITS}


def format_stats(name: str, stats: dict) -> str:
    lines = [
        f"dataset {name}: tweets and entities per type "
        "(B- count; conlleval count, where an orphan I- starts an entity, in brackets)",
        f"{'split':<6} {'tweets':>7} "
        + " ".join(f"{t:>12}" for t in ENTITY_TYPES)
        + f" {'orphan I-':>10}",
    ]
    for split in SPLITS:
        s = stats[split]
        cells = " ".join(
            f"{s['entities_b'][t]:>5} ({s['entities_conlleval'][t]:>4})" for t in ENTITY_TYPES
        )
        lines.append(f"{split:<6} {s['tweets']:>7} {cells} {s['orphan_i']:>10}")
    return "\n".join(lines)
