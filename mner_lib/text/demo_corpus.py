"""The demo corpus: tweets the project writes itself, so every command runs with no data folder.

``python -m mner_lib.text.demo_corpus`` regenerates ``mner_lib/demo_data/{train,dev,test}.txt``
deterministically (seed 2026). The tweets come from templates filled with invented names and
common place, organisation and event names; none is copied from the shared data. They have the
quirks of the real corpora: ``@user`` mentions, ``#hashtags`` (some of them entities), URLs,
``RT`` prefixes, and invisible-character tokens (U+FE0F) that subword tokenizers reduce to
nothing. The images (``demo_data/images``) are drawn by :mod:`mner_lib.images.demo_images`; they are
synthetic.

It is made to be learned in a few epochs on a CPU, so that every chapter of the quick book shows a
trained model: twelve templates give each entity type consistent contexts, and the entities come
from short closed lists shared by all splits (a model can also memorise them, so a high demo F1
shows that the code learns, not that it generalises to unseen names). 300 training tweets, 100
dev tweets (scored after every epoch) and 300 test tweets (about 700 entities, scored once). The
splits are drawn in that order from one seeded stream, so a larger test split keeps the tweets
and images of the smaller one.
"""

from __future__ import annotations

import random
from pathlib import Path

from mner_lib.text.data import Tweet, write_tweets

SEED = 2026
SIZES = {"train": 300, "dev": 100, "test": 300}
OUT_DIR = Path(__file__).resolve().parents[1] / "demo_data"  # mner_lib/demo_data

FIRST = [
    "Mara",
    "Jonas",
    "Priya",
    "Tomas",
    "Ayla",
    "Kofi",
    "Lena",
    "Rafael",
    "Noor",
    "Elias",
    "Sanna",
    "Dario",
    "Imani",
    "Felix",
    "Yara",
    "Oskar",
    "Leilani",
    "Bruno",
    "Hana",
    "Idris",
]
LAST = [
    "Okafor",
    "Lindqvist",
    "Ferreira",
    "Nakamura",
    "Dubois",
    "Kowalski",
    "Haddad",
    "Moreau",
    "Brennan",
    "Castellanos",
    "Ivanova",
    "Mbeki",
    "Sorensen",
    "Tanaka",
    "Vasquez",
]
LOC = [
    ["Chicago"],
    ["Paris"],
    ["New", "York"],
    ["Lagos"],
    ["Texas"],
    ["London"],
    ["Sydney"],
    ["San", "Diego"],
    ["Berlin"],
    ["Toronto"],
    ["Cape", "Town"],
    ["Ohio"],
    ["Mumbai"],
]
ORG = [
    ["NASA"],
    ["Red", "Cross"],
    ["Lakers"],
    ["Google"],
    ["BBC"],
    ["United", "Nations"],
    ["Arsenal"],
    ["Apple"],
    ["Senate"],
    ["Yankees"],
    ["Netflix"],
    ["Greenpeace"],
]
MISC = [
    ["Olympics"],
    ["Super", "Bowl"],
    ["Christmas"],
    ["iPhone"],
    ["Grammys"],
    ["World", "Cup"],
    ["Star", "Wars"],
    ["Ramadan"],
    ["Comic", "Con"],
    ["Oscars"],
    ["Halloween"],
]
FILLER = [
    "so",
    "excited",
    "today",
    "!",
    "lol",
    "wow",
    "can't",
    "wait",
    "tonight",
    "again",
    ":)",
    "great",
    "news",
    "amazing",
    "yesterday",
    "this",
    "is",
    "huge",
    ".",
]

TEMPLATES = [
    "{PER} is in {LOC} for the {MISC} .",
    "RT @{user} : {PER} just joined {ORG} !",
    "{ORG} announces new deal in {LOC} {url}",
    "Watching the {MISC} with {PER} tonight #{tag}",
    "Breaking : {ORG} and {ORG} meet in {LOC} .",
    "{PER} and {PER} at the {MISC} party \ufe0f",
    "Happy {MISC} from {LOC} ! #{tag}",
    "@{user} did you see {PER} on {ORG} ? lol",
    "Flights to {LOC} cancelled again {url}",
    "{PER} : ' {ORG} will win the {MISC} '",
    "Great game by the {ORG} in {LOC} #{tag}",
    "{PER} visits {LOC} ahead of {MISC}",
]


def _fill(rng: random.Random, template: str) -> tuple[list[str], list[str]]:
    tokens: list[str] = []
    tags: list[str] = []

    def entity(words: list[str], etype: str) -> None:
        for i, w in enumerate(words):
            tokens.append(w)
            tags.append(("B-" if i == 0 else "I-") + etype)

    for part in template.split(" "):
        if part == "{PER}":
            words = [rng.choice(FIRST)] + ([rng.choice(LAST)] if rng.random() < 0.7 else [])
            entity(words, "PER")
        elif part == "{LOC}":
            entity(rng.choice(LOC), "LOC")
        elif part == "{ORG}":
            entity(rng.choice(ORG), "ORG")
        elif part == "{MISC}":
            entity(rng.choice(MISC), "MISC")
        elif part.startswith("#{tag}"):
            joined = "".join(
                rng.choice([["go"], ["love"], ["game", "day"], ["news"], ["fun"]])
                + rng.choice([["time"], ["night"], ["live"], ["now"]])
            )
            tokens.append("#" + joined)
            tags.append("O")
        elif part.startswith("@{user}"):
            tokens.append("@" + rng.choice(FIRST).lower() + str(rng.randint(1, 99)))
            tags.append("O")
        elif part == "{url}":
            tokens.append(f"http://t.co/{rng.randrange(16**8):08x}")
            tags.append("O")
        else:
            tokens.append(part)
            tags.append("O")
    for _ in range(rng.randint(0, 3)):
        tokens.append(rng.choice(FILLER))
        tags.append("O")
    return tokens, tags


def generate(seed: int = SEED, sizes: dict[str, int] | None = None) -> dict[str, list[Tweet]]:
    """The demo splits, deterministic in ``seed``."""
    rng = random.Random(seed)
    sizes = sizes or SIZES
    out: dict[str, list[Tweet]] = {}
    counter = 0
    for split, n in sizes.items():
        tweets = []
        for _ in range(n):
            counter += 1
            tokens, tags = _fill(rng, rng.choice(TEMPLATES))
            tweets.append(Tweet(f"demo_{counter:04d}", tokens, tags))
        out[split] = tweets
    return out


def write(out_dir: Path = OUT_DIR, seed: int = SEED) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, tweets in generate(seed).items():
        paths[split] = out_dir / f"{split}.txt"
        write_tweets(paths[split], tweets)
    return paths


if __name__ == "__main__":
    for path in write().values():
        print(f"wrote {path}")
