"""``python -m mner_lib hashtags train|segment|evaluate``: the hashtag segmenter of TriMod.

- ``train --dataset NAME [--dataset NAME2] [--data-dir D] --out FILE [--epochs N --seed S]
  [--overwrite]``: self-supervised training on the datasets' training text (a seeded tenth of
  the tweets is held out), then the held-out scores of the model and both dictionary baselines.
  FILE is checked before training (not a folder; an existing file is replaced only with
  ``--overwrite``) and written atomically.
- ``segment (--model FILE | --baseline wordsegment|wordninja) "#tag1" "#tag2" ...``: one line per
  tag, ``#tag<TAB>word word word``.
- ``evaluate --model FILE [--data-dir D] [--json OUT]``: rebuilds the held-out phrases the model
  was trained without (datasets, seed and split stored in the model file) and scores the model and
  both baselines: exact-match accuracy and boundary F1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mner_lib.commands.checks import check_out_file
from mner_lib.hashtags import (
    BASELINES,
    DictionarySegmenter,
    HashtagSegmenter,
    HashtagSegmenterConfig,
    JoinedExample,
    TrainConfig,
    heldout_split,
    train_segmenter,
)
from mner_lib.io.atomicfile import atomic_write_json
from mner_lib.text.data import load_dataset


def _corpus(datasets: list[str], data_dir: str | None) -> list:
    tweets = []
    for name in datasets:
        tweets.extend(load_dataset(name, data_dir).train)
    return tweets


#: The longest hashtag ``segment`` takes (a tweet has at most 280 characters).
MAX_HASHTAG_CHARS = 280
#: The most training epochs of ``hashtags train`` (the default is 5).
MAX_SEGMENTER_EPOCHS = 1000
#: The most words a training phrase joins (``--max-words``; the default is 4).
MAX_PHRASE_WORDS = 20


def _int_in(low: int, high: int):
    """An argparse type: an integer from ``low`` to ``high``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from err
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low} to {high}, got {value}")
        return value

    convert.__name__ = "int"
    return convert


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from err
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value}")
    return value


def _hashtag(text: str) -> str:
    if len(text) > MAX_HASHTAG_CHARS:
        raise argparse.ArgumentTypeError(
            f"a hashtag of {len(text)} characters, over the limit of {MAX_HASHTAG_CHARS} "
            "(MAX_HASHTAG_CHARS)"
        )
    return text


#: what a model file's ``meta["split"]`` holds (written by ``hashtags train``)
SPLIT_FIELDS = {"seed": int, "test_fraction": float, "min_words": int, "max_words": int}


def trained_on(meta: dict, path: str) -> tuple[list[str], dict]:
    """The datasets and held-out split a model file says it was trained with, checked for shape,
    type and range; a ``ValueError`` names the file and the field."""
    from mner_lib.text.data import DATASETS

    if "split" not in meta or "datasets" not in meta:
        raise ValueError(
            f"{path}: the model file does not say which data it was trained on "
            "(meta 'datasets'/'split' missing); train it with 'hashtags train'"
        )
    datasets, split = meta["datasets"], meta["split"]
    if not isinstance(datasets, list) or not datasets:
        raise ValueError(
            f"{path}: meta.datasets: must be a list of dataset names, got {datasets!r}"
        )
    for name in datasets:
        if not isinstance(name, str) or name not in DATASETS:
            raise ValueError(
                f"{path}: meta.datasets: unknown dataset {name!r}; valid: {', '.join(DATASETS)}"
            )
    if not isinstance(split, dict):
        raise ValueError(f"{path}: meta.split: must be a mapping of {', '.join(SPLIT_FIELDS)}")
    for key in sorted(set(split) | set(SPLIT_FIELDS)):
        if key not in SPLIT_FIELDS:
            raise ValueError(f"{path}: meta.split: unknown field {key!r}")
        if key not in split:
            raise ValueError(f"{path}: meta.split.{key}: missing")
        value, kind = split[key], SPLIT_FIELDS[key]
        if isinstance(value, bool) or not isinstance(value, int | kind):
            raise ValueError(f"{path}: meta.split.{key}: must be a number, got {value!r}")
    if not 0 < split["test_fraction"] < 1:
        raise ValueError(f"{path}: meta.split.test_fraction: must be in (0, 1)")
    if not 1 <= split["min_words"] <= split["max_words"]:
        raise ValueError(f"{path}: meta.split: need 1 <= min_words <= max_words")
    return datasets, split


def _heldout(meta: dict, data_dir: str | None) -> tuple[list[JoinedExample], list[JoinedExample]]:
    split = meta["split"]
    tweets = _corpus(meta["datasets"], data_dir)
    return heldout_split(
        tweets, split["seed"], split["test_fraction"], split["min_words"], split["max_words"]
    )


def score_all(model: HashtagSegmenter, heldout: list[JoinedExample]) -> dict[str, dict]:
    """Held-out scores of the model and both baselines."""
    from mner_lib.hashtags import evaluate_segmenter

    scores = {"learned": evaluate_segmenter(model, heldout)}
    for name in BASELINES:
        scores[name] = evaluate_segmenter(DictionarySegmenter(name), heldout)
    return scores


def _print_scores(scores: dict[str, dict]) -> None:
    print(f"{'segmenter':<12} {'n':>6} {'exact':>7} {'bound-P':>8} {'bound-R':>8} {'bound-F1':>9}")
    for name, s in scores.items():
        print(
            f"{name:<12} {s['n']:>6} {s['exact_match']:>7.3f} {s['boundary_precision']:>8.3f} "
            f"{s['boundary_recall']:>8.3f} {s['boundary_f1']:>9.3f}"
        )


def cmd_train(args: argparse.Namespace) -> int:
    check_out_file(Path(args.out), "--out", args.overwrite, example="seg.pt")
    if args.min_words > args.max_words:
        raise ValueError(f"--min-words {args.min_words} is more than --max-words {args.max_words}")
    tweets = _corpus(args.dataset, args.data_dir)
    split = {
        "seed": args.seed,
        "test_fraction": args.test_fraction,
        "min_words": args.min_words,
        "max_words": args.max_words,
    }
    train, heldout = heldout_split(tweets, **split)
    print(f"{len(tweets)} tweets: {len(train)} training phrases, {len(heldout)} held-out phrases")
    meta = {"datasets": list(args.dataset), "split": split}
    model, history = train_segmenter(
        train,
        HashtagSegmenterConfig(),
        TrainConfig(epochs=args.epochs, seed=args.seed),
        meta=meta,
        log=print,
    )
    model.meta["epoch_loss"] = history.epoch_loss
    model.save(args.out)
    print(f"saved {args.out}")
    _print_scores(score_all(model, heldout))
    return 0


def cmd_segment(args: argparse.Namespace) -> int:
    if (args.model is None) == (args.baseline is None):
        raise ValueError("give exactly one of --model FILE or --baseline NAME")
    if args.baseline is not None:
        segmenter = DictionarySegmenter(args.baseline)
    else:
        segmenter = HashtagSegmenter.load(args.model)
    for tag, words in zip(args.tags, segmenter.segment_many(args.tags, not args.no_case_prior)):
        print(f"{tag}\t{' '.join(words)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise ValueError(f"--limit must be 0 (all) or more, got {args.limit}")
    if args.json:
        check_out_file(Path(args.json), "--json")
    model = HashtagSegmenter.load(args.model)
    trained_on(model.meta, args.model)
    _, heldout = _heldout(model.meta, args.data_dir)
    if args.limit:
        heldout = heldout[: args.limit]
    scores = score_all(model, heldout)
    _print_scores(scores)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.json, scores)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("hashtags", help="train, run and evaluate the hashtag segmenter")
    sub = parser.add_subparsers(dest="hashtags_command", required=True)

    train = sub.add_parser("train", help="self-supervised training on a corpus's own text")
    train.add_argument("--dataset", action="append", required=True, help="repeat to combine")
    train.add_argument("--data-dir", default=None)
    train.add_argument("--out", required=True, help="model file to write (.pt)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    train.add_argument(
        "--epochs", type=_int_in(1, MAX_SEGMENTER_EPOCHS), default=TrainConfig.epochs
    )
    train.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=0)
    train.add_argument("--test-fraction", type=_fraction, default=0.1)
    train.add_argument("--min-words", type=_int_in(1, MAX_PHRASE_WORDS), default=1)
    train.add_argument("--max-words", type=_int_in(1, MAX_PHRASE_WORDS), default=4)
    train.set_defaults(func=cmd_train)

    seg = sub.add_parser("segment", help="segment hashtags given on the command line")
    seg.add_argument(
        "tags", nargs="+", type=_hashtag, help="hashtags, with or without '#' (280 characters)"
    )
    seg.add_argument("--model", default=None, help="a model file from 'hashtags train'")
    seg.add_argument("--baseline", default=None, choices=BASELINES)
    seg.add_argument("--no-case-prior", action="store_true", help="ignore CamelCase boundaries")
    seg.set_defaults(func=cmd_segment)

    ev = sub.add_parser("evaluate", help="score a model and the baselines on held-out phrases")
    ev.add_argument("--model", required=True)
    ev.add_argument("--data-dir", default=None)
    ev.add_argument(
        "--limit",
        type=_int_in(0, 2**31 - 1),
        default=0,
        help="score only the first N held-out phrases (0: all)",
    )
    ev.add_argument("--json", default=None, help="also write the scores to this file")
    ev.set_defaults(func=cmd_evaluate)
