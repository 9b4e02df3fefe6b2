"""Tweet CoNLL reader, dataset registry, tag normalisation and corpus statistics.

The format (``../shared/data/README.md``): each tweet is an ``IMGID:<id>`` line, then one
``token<TAB>tag`` line per token, then a blank line. The reader tolerates a space instead of
the tab, CRLF line ends, a byte-order mark, ``-DOCSTART-`` lines and trailing blank lines.
Anything else it cannot read is a :class:`DataFormatError` naming the file, the line and what
was expected.

Tags are normalised to BIO2 over ``PER LOC ORG MISC`` (``OTHER`` becomes ``MISC``).

Orphan ``I-`` policy
--------------------
Twitter-2015 has entities that start with ``I-X`` with no ``B-X`` before them. By default they
are **kept as they are** (``orphan_policy="keep"``) and scored the conlleval way, where such an
``I-X`` starts a new entity (:mod:`mner_lib.metrics`). ``orphan_policy="repair"`` rewrites them
to ``B-X`` at load time; ``orphan_policy="error"`` refuses them. The number of orphans found is
always reported by :func:`corpus_stats`.

Tokens made of invisible characters (U+FE0F, U+200B, ...) stay tokens: a tweet's labels never
shift.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ENTITY_TYPES: tuple[str, ...] = ("PER", "LOC", "ORG", "MISC")
TYPE_ALIASES: dict[str, str] = {"OTHER": "MISC"}
TAGS: tuple[str, ...] = ("O",) + tuple(f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I"))
ORPHAN_POLICIES = ("keep", "repair", "error")
SPLITS = ("train", "dev", "test")


class DataFormatError(ValueError):
    """A data file does not follow the tweet CoNLL format; the message names file and line."""


class UnknownNameError(ValueError):
    """An unknown dataset, model, split or option; the message lists the valid ones."""


def unknown(kind: str, name: str, valid: Iterable[str]) -> UnknownNameError:
    return UnknownNameError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(valid))}")


@dataclass
class Tweet:
    """One tweet: its image id, tokens and BIO2 tags (normalised), and where it came from."""

    id: str
    tokens: list[str]
    tags: list[str]
    source: str = ""
    line: int = 0  # line number of the IMGID line in ``source`` (1-based)

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.tags):
            raise ValueError(
                f"tweet {self.id}: {len(self.tokens)} tokens but {len(self.tags)} tags"
            )

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def hashtags(self) -> list[str]:
        return [t[1:] for t in self.tokens if t.startswith("#") and len(t) > 1]


def normalise_tag(tag: str) -> str | None:
    """Return the BIO2 tag over ``ENTITY_TYPES``, or None if the tag is not one."""
    if tag == "O":
        return "O"
    if len(tag) < 3 or tag[1] != "-" or tag[0] not in "BI":
        return None
    etype = TYPE_ALIASES.get(tag[2:], tag[2:])
    if etype not in ENTITY_TYPES:
        return None
    return f"{tag[0]}-{etype}"


def orphan_positions(tags: Sequence[str]) -> list[int]:
    """Positions of ``I-X`` tags that do not continue an entity of type X (BIO2 violations)."""
    out = []
    prev = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            out.append(i)
        prev = tag
    return out


def repair_orphans(tags: Sequence[str]) -> list[str]:
    """Rewrite every orphan ``I-X`` to ``B-X`` (the conlleval reading made explicit)."""
    fixed = list(tags)
    for i in orphan_positions(tags):
        fixed[i] = "B-" + tags[i][2:]
    return fixed


def _split_token_line(line: str) -> tuple[str, str] | None:
    if "\t" in line:
        token, _, tag = line.rpartition("\t")
    else:
        token, _, tag = line.rpartition(" ")
    if not token or not tag:
        return None
    return token, tag.strip()


def parse_lines(
    lines: Iterable[str], source: str = "<string>", orphan_policy: str = "keep"
) -> Iterator[Tweet]:
    """Parse tweet CoNLL lines (with or without line ends) into tweets."""
    if orphan_policy not in ORPHAN_POLICIES:
        raise unknown("orphan_policy", orphan_policy, ORPHAN_POLICIES)
    image_id: str | None = None
    start = 0
    tokens: list[str] = []
    tags: list[str] = []

    def finish() -> Tweet | None:
        nonlocal image_id, tokens, tags
        if image_id is None:
            return None
        if not tokens:
            raise DataFormatError(
                f"{source}:{start}: tweet IMGID:{image_id} has no tokens "
                "(expected 'token<TAB>tag' lines after the IMGID line)"
            )
        out_tags = tags
        orphans = orphan_positions(tags)
        if orphans and orphan_policy == "repair":
            out_tags = repair_orphans(tags)
        elif orphans and orphan_policy == "error":
            raise DataFormatError(
                f"{source}:{start + 1 + orphans[0]}: orphan tag {tags[orphans[0]]!r} "
                "(I- without a B- of the same type before it; orphan_policy='error')"
            )
        tweet = Tweet(image_id, tokens, out_tags, source, start)
        image_id, tokens, tags = None, [], []
        return tweet

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if number == 1:
            line = line.lstrip("\ufeff")
        if line.strip() == "":
            tweet = finish()
            if tweet is not None:
                yield tweet
            continue
        if line.startswith("-DOCSTART-"):
            continue
        if line.startswith("IMGID:"):
            tweet = finish()
            if tweet is not None:
                yield tweet
            image_id = line[len("IMGID:") :].strip()
            if not image_id:
                raise DataFormatError(f"{source}:{number}: empty image id in {line!r}")
            start = number
            continue
        if image_id is None:
            raise DataFormatError(
                f"{source}:{number}: token line {line!r} outside a tweet "
                "(expected an 'IMGID:<id>' line first)"
            )
        parsed = _split_token_line(line.rstrip(" "))
        if parsed is None:
            raise DataFormatError(
                f"{source}:{number}: malformed line {line!r} (expected 'token<TAB>tag')"
            )
        token, raw_tag = parsed
        tag = normalise_tag(raw_tag)
        if tag is None:
            raise DataFormatError(
                f"{source}:{number}: unknown tag {raw_tag!r} "
                f"(expected O or B-/I- with one of {', '.join(ENTITY_TYPES + ('OTHER',))})"
            )
        tokens.append(token)
        tags.append(tag)
    tweet = finish()
    if tweet is not None:
        yield tweet


def read_tweets(path: str | os.PathLike, orphan_policy: str = "keep") -> list[Tweet]:
    """Read a whole tweet CoNLL file. Errors name the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise DataFormatError(f"{path}:{line}: not valid UTF-8 ({err.reason})") from err
    # split on LF only: str.splitlines() would also break inside tokens made of U+0085, U+2028,
    # U+001C.. (line-break characters to Python) and shift every line number after them
    return list(parse_lines(text.split("\n"), str(path), orphan_policy))


def format_tweets(tweets: Sequence[Tweet], tags: Sequence[Sequence[str]] | None = None) -> str:
    """Tweets in the tweet CoNLL format; ``tags`` replaces the gold tags (predictions)."""
    lines: list[str] = []
    for i, tweet in enumerate(tweets):
        out = tweet.tags if tags is None else tags[i]
        if len(out) != len(tweet.tokens):
            raise ValueError(f"tweet {tweet.id}: {len(tweet.tokens)} tokens, {len(out)} tags")
        lines.append(f"IMGID:{tweet.id}")
        lines.extend(f"{token}\t{tag}" for token, tag in zip(tweet.tokens, out))
        lines.append("")
    return "".join(line + "\n" for line in lines)


def write_tweets(
    path: str | os.PathLike, tweets: Sequence[Tweet], tags: Sequence[Sequence[str]] | None = None
) -> None:
    """Write tweets in the tweet CoNLL format (:func:`format_tweets`) to ``path``."""
    text = format_tweets(tweets, tags)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


# ----------------------------------------------------------------------------- datasets
@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: dict[str, tuple[str, ...]]  # split -> candidate file names (first found wins)
    folder: str
    year_note: str = ""


DATASETS: dict[str, DatasetSpec] = {
    "twitter2015": DatasetSpec(
        "twitter2015",
        {"train": ("train.txt",), "dev": ("valid.txt", "dev.txt"), "test": ("test.txt",)},
        "twitter2015",
    ),
    "twitter2017": DatasetSpec(
        "twitter2017",
        {"train": ("train.txt",), "dev": ("valid.txt", "dev.txt"), "test": ("test.txt",)},
        "twitter2017",
    ),
    "twitter10000": DatasetSpec(
        "twitter10000",
        {"train": ("train.txt",), "dev": ("dev.txt", "valid.txt"), "test": ("test.txt",)},
        "twitter10000",
    ),
    "demo": DatasetSpec(
        "demo",
        {"train": ("train.txt",), "dev": ("dev.txt",), "test": ("test.txt",)},
        "demo",
    ),
}
DEMO_DIR = Path(__file__).parent / "demo_data"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The data folder: the argument, else ``$MNER_DATA_DIR``, else None (demo corpus only)."""
    value = data_dir if data_dir not in (None, "") else os.environ.get("MNER_DATA_DIR") or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        source = "--data-dir" if data_dir not in (None, "") else "MNER_DATA_DIR"
        raise FileNotFoundError(f"data folder given by {source} does not exist: {path}")
    return path


def dataset_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    if name not in DATASETS:
        raise unknown("dataset", name, DATASETS)
    if name == "demo":
        return DEMO_DIR
    root = resolve_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError(
            f"dataset {name!r} needs a data folder: pass --data-dir or set MNER_DATA_DIR "
            "(the layout of shared/data); the demo corpus 'demo' needs none"
        )
    folder = root / DATASETS[name].folder
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset {name!r}: folder {folder} not found under {root}")
    return folder


def split_path(name: str, split: str, data_dir: str | os.PathLike | None = None) -> Path:
    if split == "valid":
        split = "dev"
    if split not in SPLITS:
        raise unknown("split", split, SPLITS + ("valid",))
    folder = dataset_dir(name, data_dir)
    for candidate in DATASETS[name].files[split]:
        if (folder / candidate).is_file():
            return folder / candidate
    raise FileNotFoundError(
        f"dataset {name!r}: no {split} file in {folder} "
        f"(looked for {', '.join(DATASETS[name].files[split])})"
    )


def image_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Default image folder of a dataset: ``<data-dir>/<name>_images`` (demo: shipped images).

    ``$MNER_IMAGE_DIR_<NAME>`` (e.g. ``MNER_IMAGE_DIR_TWITTER2015``) overrides it.
    """
    override = os.environ.get(f"MNER_IMAGE_DIR_{name.upper()}")
    if override:
        return Path(override)
    if name == "demo":
        return DEMO_DIR / "images"
    root = resolve_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError(f"dataset {name!r} needs a data folder for its images")
    return root / f"{name}_images"


@dataclass
class Dataset:
    name: str
    train: list[Tweet]
    dev: list[Tweet]
    test: list[Tweet]
    image_dir: Path | None = None
    paths: dict[str, str] = field(default_factory=dict)

    def split(self, split: str) -> list[Tweet]:
        if split == "valid":
            split = "dev"
        if split not in SPLITS:
            raise unknown("split", split, SPLITS)
        return getattr(self, split)


def seeded_subset(items: Sequence[Tweet], n: int, seed: int) -> list[Tweet]:
    """A seeded random sample of at most ``n`` items, in their original order."""
    if n >= len(items):
        return list(items)
    keep = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in keep]


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    orphan_policy: str = "keep",
    max_train: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Load a dataset by name. ``max_train`` keeps a seeded random subset of the training set."""
    paths = {s: split_path(name, s, data_dir) for s in SPLITS}
    splits = {s: read_tweets(p, orphan_policy) for s, p in paths.items()}
    if max_train is not None:
        if max_train < 1:
            raise ValueError(f"max_train must be a positive number of tweets, got {max_train}")
        splits["train"] = seeded_subset(splits["train"], max_train, seed)
    try:
        images = image_dir(name, data_dir)
    except FileNotFoundError:
        images = None
    return Dataset(
        name,
        splits["train"],
        splits["dev"],
        splits["test"],
        images,
        {split: str(path) for split, path in paths.items()},
    )


# ----------------------------------------------------------------------------- statistics
def entity_starts(tags: Sequence[str]) -> list[tuple[int, str]]:
    """(position, type) of every entity start the conlleval way: B-X, or I-X after a non-X."""
    out = []
    prev = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("B-") or (tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:])):
            out.append((i, tag[2:]))
        prev = tag
    return out


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
