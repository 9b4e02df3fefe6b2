"""What the caption changes, tweet by tweet: the gold entities a caption run gets right that its
shuffled control misses, and the reverse, per entity type, paired by seed.

A *pair* is two run folders of one experiment, model, dataset and seed
(``<experiment>/<model>/<dataset>/<condition folder>/seed<k>/`` under the results folder):
``caption:<source>`` and its control ``caption-shuffled:<source>`` (``knowledge:pgim`` and
``knowledge-shuffled:pgim``). Each run keeps its predictions as tags only (``tags_<split>.tsv``,
:mod:`mner_lib.text.predictions`); they rejoin the reader's data file, whose gold tags are the
truth. Every gold entity of the split is then right (exact span and type, as the project scores:
:func:`mner_lib.text.metrics.extract_entities`) under the caption only, the control only, both or
neither; it is *named* when its string occurs in the tweet's own caption (the leak of
:func:`mner_lib.images.captions.leak_share`, asked of a tweet that holds that one entity).

* :func:`find_pairs`: the pairs under a results folder, and those whose tags files are missing
  (:class:`MissingPair`: listed with their folders, never guessed);
* :func:`per_tweet_report`: the counts (:class:`Counts` per type in a :class:`PairCounts` per
  pair; :func:`group_pairs` sums them over seeds with each seed's net), the pairs skipped
  (:class:`SkippedPair`: a tags file that does not rejoin, named by its error) and, when asked,
  example entities (:class:`Outcome`, in memory only: they hold the tweet);
* :mod:`mner_lib.reporting.per_tweet_file` writes and reads the counts as
  ``results/caption_per_tweet.json`` (no tweet text, no gold tag), for the book built without
  the data.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mner_lib.images.captions import CaptionProvider, leak_share
from mner_lib.text.data import ENTITY_TYPES, Tweet, read_tweets, resolve_data_dir, split_path
from mner_lib.text.metrics import extract_entities
from mner_lib.text.predictions import PredictionFileError, rejoin, tweet_keys

#: the rows of a count table: each entity type, then all of them
TYPES = (*ENTITY_TYPES, "all")
#: a text condition's kind -> its control's kind (another tweet's text, the same source)
CONTROL = {"caption": "caption-shuffled", "knowledge": "knowledge-shuffled"}
#: where a gold entity was right: under the caption only, the control only, both, neither
SIDES = ("caption_only", "control_only", "both", "neither")


# ----------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Counts:
    """Gold entities of one type in one pair (or summed over pairs), by where they were right;
    ``named``: how many of all four have their string in the tweet's own caption."""

    caption_only: int = 0
    control_only: int = 0
    both: int = 0
    neither: int = 0
    named: int = 0
    caption_only_named: int = 0
    control_only_named: int = 0

    @property
    def gold(self) -> int:
        return self.caption_only + self.control_only + self.both + self.neither

    @property
    def net(self) -> int:
        """Caption only minus control only: the entities the caption wins, net."""
        return self.caption_only - self.control_only

    @property
    def net_named(self) -> int:
        return self.caption_only_named - self.control_only_named

    @property
    def net_unnamed(self) -> int:
        return self.net - self.net_named

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class _Setting:
    """What a pair and a group of pairs (over seeds) share: the experiment, model, dataset and
    caption-side condition; :attr:`control` is that condition's shuffled control."""

    experiment: str
    model: str
    dataset: str
    condition: str

    @property
    def control(self) -> str:
        return control_of(self.condition)

    @property
    def setting(self) -> tuple[str, str, str, str]:
        """Experiment, model, dataset, condition (a pair without its seed)."""
        return (self.experiment, self.model, self.dataset, self.condition)


@dataclass(frozen=True, order=True)
class PairKey(_Setting):
    """What a pair shares: ``condition`` is the caption side (``caption:<source>`` or
    ``knowledge:pgim``); :attr:`control` its shuffled control."""

    experiment: str
    model: str
    dataset: str
    condition: str
    seed: int


def control_of(condition: str) -> str:
    """The control of a caption or knowledge condition (``caption:blip2`` ->
    ``caption-shuffled:blip2``)."""
    kind, _, source = condition.partition(":")
    return f"{CONTROL[kind]}:{source}"


@dataclass(frozen=True)
class RunRef:
    """A run folder (relative to the results folder) and the commit that wrote it."""

    folder: str
    commit: str


@dataclass(frozen=True)
class Pair:
    """A caption run and its control run (the records below add what became of them)."""

    key: PairKey
    caption: RunRef
    control: RunRef


@dataclass(frozen=True)
class PairCounts(Pair):
    """One pair counted: ``counts`` per type of :data:`TYPES`, over ``tweets`` tweets."""

    tweets: int
    counts: dict[str, Counts]


@dataclass(frozen=True)
class MissingPair(Pair):
    """A pair whose runs are recorded but ``without`` (its folders) lack the tags ``file``."""

    without: tuple[str, ...]
    file: str


@dataclass(frozen=True)
class SkippedPair(Pair):
    """A pair not counted: ``error`` names the file that did not rejoin (or the data not read)."""

    error: str


@dataclass(frozen=True)
class GroupCounts(_Setting):
    """The pairs of one setting summed over seeds; ``nets``: ``(seed, net over all types)``."""

    experiment: str
    model: str
    dataset: str
    condition: str
    seeds: tuple[int, ...]
    counts: dict[str, Counts]
    nets: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Outcome:
    """One gold entity of one pair: ``tweet.tokens[start:end]`` of type ``etype``, whether each
    run got it right, whether the tweet's own ``caption_text`` names it, and both runs' tags
    over the tweet (kept in memory for the book's examples, never written)."""

    key: PairKey
    tweet: Tweet
    start: int
    end: int
    etype: str
    caption_right: bool
    control_right: bool
    named: bool
    caption_text: str
    caption_tags: tuple[str, ...]
    control_tags: tuple[str, ...]

    @property
    def side(self) -> str:
        """Where it was right, one of :data:`SIDES`."""
        if self.caption_right:
            return "both" if self.control_right else "caption_only"
        return "control_only" if self.control_right else "neither"

    @property
    def text(self) -> str:
        return " ".join(self.tweet.tokens[self.start : self.end])


@dataclass
class PerTweetReport:
    """Every pair under a results folder, counted, missing or skipped, for one ``split``;
    ``data_files``: the data files read (relative to the data folder) and their SHA-256;
    ``examples``: setting -> side -> outcomes (only when asked for, never written)."""

    split: str
    pairs: list[PairCounts]
    missing: list[MissingPair]
    skipped: list[SkippedPair]
    data_files: dict[str, str]
    date: str
    examples: dict[tuple[str, str, str, str], dict[str, list[Outcome]]] = field(
        default_factory=dict
    )

    @property
    def groups(self) -> list[GroupCounts]:
        return group_pairs(self.pairs)


def group_pairs(pairs: Iterable[PairCounts]) -> list[GroupCounts]:
    """The pairs of each setting summed over seeds, with each seed's net (sorted by setting)."""
    by_setting: dict[tuple[str, str, str, str], list[PairCounts]] = {}
    for pair in sorted(pairs, key=lambda p: p.key):
        by_setting.setdefault(pair.key.setting, []).append(pair)
    out = []
    for setting, members in sorted(by_setting.items()):
        total = {t: sum((p.counts[t] for p in members), Counts()) for t in TYPES}
        nets = tuple((p.key.seed, p.counts["all"].net) for p in members)
        out.append(GroupCounts(*setting, tuple(p.key.seed for p in members), total, nets))
    return out


# ----------------------------------------------------------------------------- finding pairs
def n_pairs(n: int) -> str:
    """``1 pair``, ``3 pairs``: the count and its noun, never ``pair(s)``."""
    return f"{n} pair" if n == 1 else f"{n} pairs"


def condition_folder(condition: str) -> str:
    """The folder name of a condition in a run's path (``caption:blip2`` -> ``caption-blip2``)."""
    return condition.replace(":", "-")


def find_pairs(
    results_dir: str | os.PathLike = "results", split: str = "test"
) -> tuple[list[Pair], list[MissingPair]]:
    """The pairs under ``results_dir`` whose two runs both have ``tags_<split>.tsv``, and those
    where one or both lack it. A caption run's control is the run beside it:
    ``../<control folder>/seed<k>`` with the control's condition and the same seed."""
    from mner_lib.reporting.results import load_runs

    root = Path(results_dir)
    runs = load_runs(root, relative_to=root) if root.is_dir() else None
    if runs is None or runs.empty:
        return [], []
    by_folder = {}  # folder -> (condition, seed, model, dataset, commit)
    for row in runs.itertuples(index=False):
        by_folder[Path(row.source).parent.as_posix()] = (
            str(row.condition), int(row.seed), str(row.model), str(row.dataset),
            row.commit if isinstance(row.commit, str) and row.commit else "unknown",
        )  # fmt: skip
    found, missing = [], []
    file = f"tags_{split}.tsv"
    for folder, (condition, seed, model, dataset, commit) in sorted(by_folder.items()):
        place = Path(folder)
        if (
            condition.partition(":")[0] not in CONTROL
            or place.is_absolute()
            or len(place.parts) < 2
        ):
            continue  # not a caption run, or not in an experiment folder
        key = PairKey(place.parts[0], model, dataset, condition, seed)
        other = (place.parent.parent / condition_folder(key.control) / place.name).as_posix()
        beside = by_folder.get(other)
        if beside is None or beside[:4] != (key.control, seed, model, dataset):
            continue  # no control run beside it: not a pair
        caption, control = RunRef(folder, commit), RunRef(other, beside[4])
        without = tuple(
            r.folder for r in (caption, control) if not (root / r.folder / file).exists()
        )
        if without:
            missing.append(MissingPair(key, caption, control, without, file))
        else:
            found.append(Pair(key, caption, control))
    return sorted(found, key=lambda p: p.key), sorted(missing, key=lambda m: m.key)


# ----------------------------------------------------------------------------- the reader's data
class ReaderData:
    """The reader's data folder, each file read once: a dataset's split, a caption source's own
    texts; ``files`` records the SHA-256 of every file read (relative to the data folder)."""

    def __init__(self, data_dir: str | os.PathLike, split: str = "test"):
        self.root = Path(data_dir)
        self.split = split
        self.files: dict[str, str] = {}
        self._cache: dict[tuple[str, ...], Any] = {}

    def _once(self, key: tuple[str, ...], make: Any) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = make()
            except (OSError, ValueError) as err:
                self._cache[key] = err
        value = self._cache[key]
        if isinstance(value, Exception):
            raise value
        return value

    def _hash(self, path: str | os.PathLike) -> None:
        path = Path(path)
        try:
            name = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:  # the demo corpus ships with the package
            name = "/".join(path.parts[-2:])
        with open(path, "rb") as f:
            self.files[name] = hashlib.file_digest(f, "sha256").hexdigest()

    def tweets(self, dataset: str) -> list[Tweet]:
        """The split's tweets as the data file holds them (orphan ``I-`` kept: conlleval)."""

        def read() -> list[Tweet]:
            path = split_path(dataset, self.split, self.root)
            self._hash(path)
            return read_tweets(path)

        return self._once(("tweets", dataset), read)

    def captions(self, condition: str, dataset: str) -> CaptionProvider:
        """The texts of ``condition``'s source, each tweet its own (the caption side)."""

        def load() -> CaptionProvider:
            provider = CaptionProvider(condition, dataset, self.root)
            for path in provider.table.paths:
                self._hash(path)
            return provider

        return self._once(("captions", condition, dataset), load)

    def clean(self, message: str) -> str:
        """An error message without the local path of the data folder."""
        for root in {str(self.root.resolve()), str(self.root)}:
            message = message.replace(root, "$MNER_DATA_DIR")
        return message


# ----------------------------------------------------------------------------- counting
def entity_named(tweet: Tweet, start: int, end: int, caption: str) -> bool:
    """Whether the gold entity ``tweet.tokens[start:end]`` is named in ``caption``: the leak rule
    of :func:`mner_lib.images.captions.leak_share`, asked of a tweet holding only that entity."""
    one = Tweet(tweet.id, list(tweet.tokens[start:end]), list(tweet.tags[start:end]))
    return leak_share([one], [caption])["in_caption"] > 0


def _predicted(path: Path, tweets: Sequence[Tweet], keys: dict[int, tuple[str, int]]) -> dict:
    joined = rejoin(path, tweets)
    out = {keys[id(tweet)]: tags for tweet, tags in joined}
    if len(out) != len(joined):
        raise PredictionFileError(f"{path}: a tweet is listed twice")
    return out


def pair_outcomes(pair: Pair, results_dir: str | os.PathLike, data: ReaderData) -> list[Outcome]:
    """Every gold entity of the tweets both runs of ``pair`` predicted, with where it was right.
    A tags file that does not rejoin is a :class:`PredictionFileError` naming it; so are two
    files that hold different tweets (runs scored on different samples)."""
    root = Path(results_dir)
    tweets = data.tweets(pair.key.dataset)
    provider = data.captions(pair.key.condition, pair.key.dataset)
    keys = dict(zip(map(id, tweets), tweet_keys(tweets)))
    paths = [root / run.folder / f"tags_{data.split}.tsv" for run in (pair.caption, pair.control)]
    caption, control = (_predicted(path, tweets, keys) for path in paths)
    if caption.keys() != control.keys():
        raise PredictionFileError(
            f"{paths[0]} and {paths[1]} hold different tweets ({len(caption)} and "
            f"{len(control)}): the two runs were scored on different samples"
        )
    out = []
    for tweet in tweets:
        key = keys[id(tweet)]
        if key not in caption:
            continue
        text = provider.lookup(tweet)[0]
        right = set(extract_entities(caption[key]))
        right_control = set(extract_entities(control[key]))
        for entity in extract_entities(tweet.tags):
            start, end, etype = entity
            named = entity_named(tweet, start, end, text)
            rights = (entity in right, entity in right_control, named)
            tags = (tuple(caption[key]), tuple(control[key]))
            out.append(Outcome(pair.key, tweet, start, end, etype, *rights, text, *tags))
    return out


def count_outcomes(outcomes: Iterable[Outcome]) -> dict[str, Counts]:
    """The :class:`Counts` of each type of :data:`TYPES` (``all``: every type)."""
    tally = {t: Counter() for t in TYPES}
    for o in outcomes:
        for t in (o.etype, "all"):
            counter = tally.setdefault(t, Counter())
            counter[o.side] += 1
            if o.named:
                counter["named"] += 1
                if o.side in ("caption_only", "control_only"):
                    counter[f"{o.side}_named"] += 1
    return {t: Counts(**c) for t, c in tally.items()}


def _examples(outcomes: Sequence[Outcome], chosen: dict[str, list[Outcome]], n: int) -> None:
    """Add to ``chosen`` the first caption-only and control-only entities, one per tweet."""
    for side in ("caption_only", "control_only"):
        picked = chosen.setdefault(side, [])
        seen = {id(o.tweet) for o in picked}
        for o in outcomes:
            if len(picked) >= n:
                break
            if o.side == side and id(o.tweet) not in seen:
                picked.append(o)
                seen.add(id(o.tweet))


def per_tweet_report(
    results_dir: str | os.PathLike = "results",
    data_dir: str | os.PathLike | None = None,
    split: str = "test",
    examples: int = 0,
) -> PerTweetReport:
    """Every pair under ``results_dir`` counted against the reader's data (``data_dir``, else
    ``$MNER_DATA_DIR``: a FileNotFoundError without one); ``examples``: how many caption-only and
    control-only entities to keep per setting (distinct tweets, the lowest seed first)."""
    root = resolve_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError("no data folder: set MNER_DATA_DIR or pass data_dir")
    data = ReaderData(root, split)
    found, missing = find_pairs(results_dir, split)
    counted_pairs, skipped = [], []
    chosen: dict[tuple[str, str, str, str], dict[str, list[Outcome]]] = {}
    for pair in found:
        try:
            outcomes = pair_outcomes(pair, results_dir, data)
        except (OSError, ValueError) as err:  # PredictionFileError, a refused or missing file
            skipped.append(SkippedPair(pair.key, pair.caption, pair.control, data.clean(str(err))))
            continue
        n_tweets = len({id(o.tweet) for o in outcomes})
        counted_pairs.append(
            PairCounts(pair.key, pair.caption, pair.control, n_tweets, count_outcomes(outcomes))
        )
        if examples > 0:
            _examples(outcomes, chosen.setdefault(pair.key.setting, {}), examples)
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    return PerTweetReport(split, counted_pairs, missing, skipped, data.files, today, chosen)
