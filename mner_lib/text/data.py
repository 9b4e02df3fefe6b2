"""Tweet CoNLL reader, dataset registry and tag normalisation (the corpus statistics are in
:mod:`mner_lib.text.stats`).

The format (``../shared/data/README.md``): each tweet is an ``IMGID:<id>`` line, then one
``token<TAB>tag`` line per token, then a blank line. The reader tolerates CRLF line ends, a
byte-order mark, ``-DOCSTART-`` lines, spaces after the tag and trailing blank lines. Anything
else is a :class:`DataFormatError` naming the file, the line and what was found, among them a
line of 3 tab-separated columns (``token<TAB>POS<TAB>tag``, never read as a token holding a tab),
a space-separated line (``token B-PER``: no tab, the last field a tag; never glued into one long
token), a token over :data:`MAX_TOKEN_CHARS` characters, a tweet over :data:`MAX_TWEET_TOKENS`
tokens, a file over :data:`MAX_FILE_TWEETS` tweets, an IMGID over 255 or with control
characters, a file that is not a regular file (refused unopened), over :data:`MAX_DATA_BYTES` or
unreadable, and a file without a tweet (``read_tweets(allow_empty=False)``). A repeated IMGID
keeps every tweet and gives the file one :class:`DuplicateIdWarning` with the count; a safe image
file name is checked where images are looked up (:func:`mner_lib.images.loading.tweet_image_path`).

Tags are normalised to BIO2 over ``PER LOC ORG MISC`` (``OTHER`` becomes ``MISC``).

Orphan ``I-`` policy
--------------------
Twitter-2015 has entities that start with ``I-X`` with no ``B-X`` before them. By default they
are **kept as they are** (``orphan_policy="keep"``) and scored the conlleval way, where such an
``I-X`` starts a new entity (:mod:`mner_lib.text.metrics`). ``orphan_policy="repair"`` rewrites them
to ``B-X`` at load time; ``orphan_policy="error"`` refuses them. The number of orphans found is
always reported by :func:`corpus_stats`.

Tokens made of invisible characters (U+FE0F, U+200B, ...) stay tokens: a tweet's labels never
shift.
"""

from __future__ import annotations

import os
import random
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mner_lib.io.plural import counted, noun
from mner_lib.io.safe_read import RefusedFileError, excerpt, read_regular_file

ENTITY_TYPES: tuple[str, ...] = ("PER", "LOC", "ORG", "MISC")
TYPE_ALIASES: dict[str, str] = {"OTHER": "MISC"}
TAGS: tuple[str, ...] = ("O",) + tuple(f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I"))
ORPHAN_POLICIES = ("keep", "repair", "error")
SPLITS = ("train", "dev", "test")
#: The longest token accepted. Real tweet tokens are at most a few dozen characters (43 in the
#: three benchmarks); a longer one means a missing line break or tab.
MAX_TOKEN_CHARS = 1000
#: The most tokens in one tweet (the benchmarks' longest has 50; Twitter's 280 characters allow
#: at most 280). Training time and memory grow with it: a 100k-token tweet took a BiLSTM-CRF
#: epoch past 10 minutes and 9.7 GB.
MAX_TWEET_TOKENS = 512
#: The most tweets in one data file (the benchmarks' largest file has 7000).
MAX_FILE_TWEETS = 500_000
#: The largest data file read (the largest benchmark file is about 1 MB).
MAX_DATA_BYTES = 64 * 2**20
_TAG_LIKE = re.compile(r"O|[BIES]-[A-Za-z]+")


class DataFormatError(ValueError):
    """A data file does not follow the tweet CoNLL format; the message names file and line."""


class DuplicateIdWarning(UserWarning):
    """An IMGID repeats within one file; every tweet is kept, the file gets one warning."""


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
        if len(self.tokens) > MAX_TWEET_TOKENS:
            where = f"{self.source}:{self.line}: " if self.source else ""
            raise ValueError(
                f"{where}tweet {self.id}: {len(self.tokens)} tokens, over the limit of "
                f"MAX_TWEET_TOKENS={MAX_TWEET_TOKENS}"
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


_excerpt = excerpt


def _split_token_line(line: str, where: str) -> tuple[str, str]:
    """``(token, tag)`` of a token line, or a :class:`DataFormatError` saying what was found."""
    columns = line.split("\t")
    if len(columns) > 2:
        raise DataFormatError(
            f"{where}: {len(columns)} tab-separated columns in {_excerpt(line)} "
            "(expected 'token<TAB>tag': two columns; POS or chunk columns are not read)"
        )
    token, tag = columns[0], columns[-1].strip()
    if len(columns) == 1:
        fields = line.split(" ")
        if len(fields) > 1 and _TAG_LIKE.fullmatch(fields[-1]):
            raise DataFormatError(
                f"{where}: space-separated line {_excerpt(line)} "
                "(expected a TAB between token and tag: 'token<TAB>tag')"
            )
    if len(columns) == 1 or not token or not tag:
        raise DataFormatError(
            f"{where}: malformed line {_excerpt(line)} (expected 'token<TAB>tag')"
        )
    if len(token) > MAX_TOKEN_CHARS:
        raise DataFormatError(
            f"{where}: token of {len(token)} characters {_excerpt(token)} (at most "
            f"MAX_TOKEN_CHARS={MAX_TOKEN_CHARS}; is a line break or a tab missing?)"
        )
    return token, tag


def _warn_duplicates(
    source: str, first_line: dict[str, int], repeats: list[tuple[str, int]]
) -> None:
    if not repeats:
        return
    image_id, line = repeats[0]
    warnings.warn(
        DuplicateIdWarning(
            f"{source}: {counted(len(repeats), 'tweet')} {noun(len(repeats), 'repeats', 'repeat')} "
            "an IMGID seen earlier in the file "
            f"(e.g. IMGID:{image_id} at line {line}, first at line {first_line[image_id]}); "
            "all tweets are kept"
        ),
        stacklevel=3,
    )


def parse_lines(
    lines: Iterable[str], source: str = "<string>", orphan_policy: str = "keep"
) -> Iterator[Tweet]:
    """Parse tweet CoNLL lines (with or without line ends) into tweets.

    Repeated IMGIDs are all kept; once the lines are exhausted, one :class:`DuplicateIdWarning`
    gives their count."""
    if orphan_policy not in ORPHAN_POLICIES:
        raise unknown("orphan_policy", orphan_policy, ORPHAN_POLICIES)
    first_line: dict[str, int] = {}
    repeats: list[tuple[str, int]] = []
    for count, tweet in enumerate(_parse_tweets(lines, source, orphan_policy), start=1):
        if count > MAX_FILE_TWEETS:
            raise DataFormatError(
                f"{source}:{tweet.line}: more than MAX_FILE_TWEETS={MAX_FILE_TWEETS} tweets"
            )
        if tweet.id in first_line:
            repeats.append((tweet.id, tweet.line))
        else:
            first_line[tweet.id] = tweet.line
        yield tweet
    _warn_duplicates(source, first_line, repeats)


def _parse_tweets(lines: Iterable[str], source: str, orphan_policy: str) -> Iterator[Tweet]:
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
            if not image_id or len(image_id) > 255 or not image_id.isprintable():
                why = "an image id of over 255 or control characters (CR line ends?)"
                why = why if image_id else "empty image id"
                raise DataFormatError(f"{source}:{number}: {why} in {_excerpt(line)}")
            start = number
            continue
        if image_id is None:
            raise DataFormatError(
                f"{source}:{number}: token line {_excerpt(line)} outside a tweet "
                "(expected an 'IMGID:<id>' line first)"
            )
        token, raw_tag = _split_token_line(line.rstrip(" "), f"{source}:{number}")
        tag = normalise_tag(raw_tag)
        if tag is None:
            raise DataFormatError(
                f"{source}:{number}: unknown tag {_excerpt(raw_tag)} "
                f"(expected O or B-/I- with one of {', '.join(ENTITY_TYPES + ('OTHER',))})"
            )
        if len(tokens) == MAX_TWEET_TOKENS:
            raise DataFormatError(
                f"{source}:{number}: tweet IMGID:{image_id} (line {start}) has more than "
                f"MAX_TWEET_TOKENS={MAX_TWEET_TOKENS} tokens (is a blank line missing?)"
            )
        tokens.append(token)
        tags.append(tag)
    tweet = finish()
    if tweet is not None:
        yield tweet


def read_tweets(
    path: str | os.PathLike, orphan_policy: str = "keep", allow_empty: bool = False
) -> list[Tweet]:
    """Read a whole tweet CoNLL file. Errors name the file and the line.

    A file without a single tweet (empty, or only blank and ``-DOCSTART-`` lines) is a
    :class:`DataFormatError` unless ``allow_empty``: an empty training, gold or prediction file
    is a mistake, never 0 tweets to train on or score."""
    path = Path(path)
    try:
        data = read_regular_file(path, MAX_DATA_BYTES, "data file")
    except RefusedFileError as err:
        raise DataFormatError(str(err)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataFormatError(f"{path}:{line}: not valid UTF-8 ({err.reason})") from err
    # split on LF only: str.splitlines() would also break inside tokens made of U+0085, U+2028,
    # U+001C.. (line-break characters to Python) and shift every line number after them
    tweets = list(parse_lines(text.split("\n"), str(path), orphan_policy))
    if not tweets and not allow_empty:
        raise DataFormatError(
            f"{path}: no tweets ({len(data)} bytes; expected 'IMGID:<id>' lines, each followed "
            "by 'token<TAB>tag' lines)"
        )
    return tweets


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
    Path(path).write_text(format_tweets(tweets, tags), encoding="utf-8", newline="\n")


# ----------------------------------------------------------------------------- datasets
@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: dict[str, tuple[str, ...]]  # split -> candidate file names (first found wins)
    folder: str
    year_note: str = ""


_VALID_FIRST = {"train": ("train.txt",), "dev": ("valid.txt", "dev.txt"), "test": ("test.txt",)}
_DEV_FIRST = {"train": ("train.txt",), "dev": ("dev.txt", "valid.txt"), "test": ("test.txt",)}
DATASETS: dict[str, DatasetSpec] = {
    "twitter2015": DatasetSpec("twitter2015", _VALID_FIRST, "twitter2015"),
    "twitter2017": DatasetSpec("twitter2017", _VALID_FIRST, "twitter2017"),
    "twitter10000": DatasetSpec("twitter10000", _DEV_FIRST, "twitter10000"),
    "demo": DatasetSpec(
        "demo", {"train": ("train.txt",), "dev": ("dev.txt",), "test": ("test.txt",)}, "demo"
    ),
}
DEMO_DIR = Path(__file__).resolve().parents[1] / "demo_data"  # mner_lib/demo_data


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
    named = {split: str(path) for split, path in paths.items()}
    return Dataset(name, splits["train"], splits["dev"], splits["test"], images, named)


# ----------------------------------------------------------------------------- entities
def entity_starts(tags: Sequence[str]) -> list[tuple[int, str]]:
    """(position, type) of every entity start the conlleval way: B-X, or I-X after a non-X."""
    out = []
    prev = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("B-") or (tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:])):
            out.append((i, tag[2:]))
        prev = tag
    return out
