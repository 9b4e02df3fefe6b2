"""The probes' yardstick: :func:`tests.probes.blind_ceiling`, the F1 that a tagger blind to the
image does not reach on a type-blind probe. The probe tests of the models hold a run with the
synthetic images against it, so it must sit above what guessing scores and below what knowing
the types scores, on the very splits those tests evaluate."""

from __future__ import annotations

import random

import pytest

from mner_lib.text.data import Tweet
from mner_lib.text.metrics import evaluate
from tests.probes import PROBE_TYPES, blind_ceiling, demo_probe_data, type_blind_probe

#: the splits the probe tests score: CWI's test split (test F1), TriMod's and GMF's dev split
SPLITS = {
    "cwi test": lambda: demo_probe_data(300).test,
    "probe dev": lambda: type_blind_probe().dev,
}


def _retyped(tweet: Tweet, etype: str) -> list[str]:
    """The tweet's gold spans, every one of them typed ``etype``."""
    return [tag if tag == "O" else tag[:2] + etype for tag in tweet.tags]


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_the_blind_ceiling_holds_what_guessing_the_type_scores(split):
    """Taggers that find every gold span but cannot see the image: one type for all tweets (each
    of the four), or a type drawn per tweet (50 draws). Each stays below the ceiling, the best
    of them by a margin; knowing the types scores 100, far above it."""
    tweets = SPLITS[split]()
    gold = [t.tags for t in tweets]
    ceiling = blind_ceiling(tweets)

    def f1(pred: list[list[str]]) -> float:
        return evaluate(gold, pred)["f1"]

    constant = {t: f1([_retyped(tw, t) for tw in tweets]) for t in PROBE_TYPES}
    rng = random.Random(0)
    drawn = [f1([_retyped(tw, rng.choice(PROBE_TYPES)) for tw in tweets]) for _ in range(50)]
    best = max(*constant.values(), *drawn)
    assert 25 < ceiling < 55, ceiling
    assert best < ceiling - 2, (split, ceiling, constant, max(drawn))
    assert f1(gold) == 100.0


def test_the_ceiling_falls_with_more_tweets_and_rises_with_entities_that_share_a_tweet():
    """sigma grows with the square of a tweet's entity count: four entities in one tweet are one
    guess, four tweets of one entity are four."""
    one = Tweet("a", ["Xx", "so"], ["B-PER", "O"])
    four_in_one = Tweet("b", ["Xx", "Xx", "Xx", "Xx"], ["B-PER", "B-PER", "B-PER", "B-PER"])
    assert blind_ceiling([one] * 400) < blind_ceiling([one] * 100) < blind_ceiling([one] * 25)
    assert blind_ceiling([four_in_one] * 25) > blind_ceiling([one] * 100)
    assert blind_ceiling([one] * 100) == pytest.approx(100 * (0.25 + 5 * (3 / 16 / 100) ** 0.5))
    with pytest.raises(ValueError, match="no entity"):
        blind_ceiling([Tweet("c", ["so"], ["O"])])
