"""Core commands: ``data stats``, ``evaluate``, ``train``, ``predict``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mner_lib.commands.checks import positive_int
from mner_lib.io.safe_read import read_regular_file
from mner_lib.text.data import (
    DATASETS,
    MAX_DATA_BYTES,
    ORPHAN_POLICIES,
    DataFormatError,
    Tweet,
    load_dataset,
    read_tweets,
)
from mner_lib.text.stats import dataset_stats, format_stats


def _data_stats(args: argparse.Namespace) -> int:
    from mner_lib.images.text import dataset_coverage, format_coverage

    dataset = load_dataset(args.dataset, args.data_dir, args.orphan_policy)
    stats = dataset_stats(dataset)
    cover = dataset_coverage(args.dataset, args.data_dir, data=dataset)  # image text per split
    if args.json:
        record = {"dataset": args.dataset, "paths": dataset.paths, "splits": stats}
        print(json.dumps({**record, "image_text": cover}, indent=2))
    else:
        print(format_stats(args.dataset, stats) + "\n\n" + format_coverage(args.dataset, cover))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from mner_lib.text.metrics import evaluate, format_scores

    gold = read_tweets(args.gold)
    pred = read_tweets(args.pred)
    check_aligned(gold, pred, args.gold, args.pred)
    scores = evaluate([t.tags for t in gold], [t.tags for t in pred])
    print(json.dumps(scores, indent=2) if args.json else format_scores(scores))
    return 0


def check_aligned(gold: list[Tweet], pred: list[Tweet], gold_path: str, pred_path: str) -> None:
    """Gold and predicted files must hold the same tweets with the same tokens, in order."""
    if len(gold) != len(pred):
        raise DataFormatError(f"{pred_path}: {len(pred)} tweets, but {gold_path} has {len(gold)}")
    for g, p in zip(gold, pred):
        if g.id != p.id:
            raise DataFormatError(
                f"{pred_path}:{p.line}: tweet IMGID:{p.id} where {gold_path}:{g.line} has IMGID:{g.id}"
            )
        if len(g.tokens) != len(p.tokens):
            raise DataFormatError(
                f"{pred_path}:{p.line}: tweet IMGID:{p.id} has {len(p.tokens)} tokens, "
                f"{gold_path}:{g.line} has {len(g.tokens)}"
            )
        for k, (gt, pt) in enumerate(zip(g.tokens, p.tokens)):
            if gt != pt:
                raise DataFormatError(
                    f"{pred_path}:{p.line + 1 + k}: token {pt!r} where {gold_path}:{g.line + 1 + k} "
                    f"has {gt!r} (tweet IMGID:{g.id})"
                )


def _train(args: argparse.Namespace) -> int:
    from mner_lib.training import run_training
    from mner_lib.training.config import overrides_from_args, resolve_config

    cfg = resolve_config(args.model, **overrides_from_args(args))
    result = run_training(cfg)
    m = result.metrics
    print(
        f"{cfg.model} ({cfg.variant}) on {cfg.dataset} (condition {cfg.condition}, seed "
        f"{cfg.seed}): dev F1 {m['dev']['f1']:.2f}, test F1 {m['test']['f1']:.2f}; "
        f"run folder {result.run_dir}"
    )
    return 0


def _read_raw(args: argparse.Namespace) -> list[Tweet]:
    lines: list[str] = []
    if args.file:
        path = Path(args.file)
        if not path.exists():
            raise FileNotFoundError(f"file of tweets not found: {path}")
        try:
            text = read_regular_file(path, MAX_DATA_BYTES, "file of tweets").decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not UTF-8 text (byte {err.start})") from None
        if text.lstrip("\ufeff").startswith("IMGID:"):
            return [
                Tweet(t.id, t.tokens, ["O"] * len(t.tokens), t.source, t.line)
                for t in read_tweets(path)
            ]
        lines = [ln for ln in text.splitlines() if ln.strip()]
    lines.extend(args.text or [])
    if not lines and not args.text and not args.file:
        raise ValueError("predict needs tweet text as arguments or --file")
    # an empty or blank text is a tweet with no tokens: it gets no entities
    return [
        Tweet(f"input_{i + 1}", ln.split(), ["O"] * len(ln.split())) for i, ln in enumerate(lines)
    ]


def _predict(args: argparse.Namespace) -> int:
    import sys

    from mner_lib.text.metrics import extract_entities
    from mner_lib.training.runfolder import RunFolder
    from mner_lib.training.runload import load_run, unfinished_message

    folder = RunFolder(args.run)
    unfinished = folder.state == "unfinished"
    model, _config = load_run(args.run, trust_legacy=args.trust_legacy_pickle, partial=args.partial)
    if unfinished and args.partial:  # load_run refuses it without: said before any output
        print(f"warning: PARTIAL MODEL: {unfinished_message(folder, True)}", file=sys.stderr)
    tweets = _read_raw(args)
    tags = model.run(tweets, batch_size=args.batch_size).predictions  # image models: blank images
    for tweet, pred in zip(tweets, tags):
        if args.conll:
            print(f"IMGID:{tweet.id}")
            for token, tag in zip(tweet.tokens, pred):
                print(f"{token}\t{tag}")
            print()
        else:
            ents = [f"[{' '.join(tweet.tokens[s:e])}]{t}" for s, e, t in extract_entities(pred)]
            print(" ".join(tweet.tokens), "=>", ", ".join(ents) if ents else "(no entities)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="dataset commands")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    stats = data_sub.add_parser("stats", help="tweets per split and entities per type")
    stats.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    stats.add_argument("--data-dir", default=None, help="data folder (default: $MNER_DATA_DIR)")
    stats.add_argument("--orphan-policy", default="keep", choices=ORPHAN_POLICIES)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=_data_stats)
    try:
        from mner_lib.commands.images import add_download_parser
    except ImportError:
        pass
    else:
        add_download_parser(data_sub)

    ev = sub.add_parser("evaluate", help="entity-level P/R/F1 of a prediction file")
    ev.add_argument("--gold", required=True)
    ev.add_argument("--pred", required=True)
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=_evaluate)

    from mner_lib.models import available_models
    from mner_lib.training.config import add_config_arguments

    tr = sub.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train a model; every option not given takes the model's paper setting. "
        "Image conditions: real, blank (the papers' w/o VF), synthetic (the visual-clue probe), "
        "shuffled, missing:P (none for text models).",
    )
    tr.add_argument("--model", required=True, choices=available_models())
    tr.add_argument("--out", required=True, help="run folder (a finished one needs --overwrite)")
    add_config_arguments(tr)
    tr.add_argument("--quiet", action="store_true", help="no progress output")
    tr.set_defaults(func=_train)

    pr = sub.add_parser("predict", help="tag raw tweets with a trained run")
    pr.add_argument("--run", required=True, help="a run folder written by train")
    pr.add_argument("--file", default=None, help="one tweet per line, or a tweet-format file")
    pr.add_argument("--conll", action="store_true", help="print the tweet format")
    pr.add_argument("--batch-size", type=positive_int, default=64, help="tweets per batch")
    pr.add_argument(
        "--trust-legacy-pickle",
        action="store_true",
        help="read a run folder of an older version (a pickled model.pt): only for a file you "
        "trust, since loading a pickle can run any code",
    )
    pr.add_argument(
        "--partial",
        action="store_true",
        help="predict with an unfinished run's best model so far (refused without it; a "
        "warning says so)",
    )
    pr.add_argument("text", nargs="*")
    pr.set_defaults(func=_predict)
