"""``python -m mner_lib features`` (compute and cache image features) and the image side of
``python -m mner_lib data download`` (:func:`add_download_parser`, wired by the ``data`` group).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mner_lib.commands.checks import check_out_file, positive_int
from mner_lib.text.data import load_dataset


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "features",
        help="compute and cache image features for a dataset under one or more conditions",
        description="Compute image features once and store them keyed by backbone, "
        "preprocessing and image content hash; a second run computes nothing.",
    )
    parser.add_argument("--dataset", required=True, help="twitter2015 | twitter2017 | ... | demo")
    parser.add_argument("--data-dir", default=None, help="data folder (default $MNER_DATA_DIR)")
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument(
        "--condition",
        nargs="+",
        default=["real"],
        help="real | blank | synthetic | shuffled | missing:<p> (several allowed)",
    )
    parser.add_argument("--seed", type=_nonnegative_int, default=0)
    parser.add_argument(
        "--image-size", type=positive_int, default=224, help="pixels, square (32 to 1024)"
    )
    parser.add_argument(
        "--image-dir", default=None, help="image folder (default <data>/<name>_images)"
    )
    parser.add_argument("--crops", default="none", help="none | saliency | boxes")
    parser.add_argument("--max-crops", type=_nonnegative_int, default=0, help="0 to 16")
    parser.add_argument("--cache-dir", default=None, help="default $MNER_CACHE_DIR or ~/.cache")
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=16,
        help="images per backbone pass (batch x image pixels at most 16 x 512 x 512)",
    )
    parser.add_argument(
        "--random-weights", action="store_true", help="random backbone weights (tests, timing)"
    )
    parser.add_argument(
        "--max-tweets", type=positive_int, default=None, help="only the first N tweets"
    )
    parser.add_argument(
        "--json", default=None, help="append one JSON line per condition here (a regular file)"
    )
    parser.add_argument("--progress", action="store_true")
    parser.set_defaults(func=run_features)


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from err
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def run_features(args: argparse.Namespace) -> int:
    from mner_lib.images import ImageFeatures
    from mner_lib.io.safe_read import append_regular

    if args.json:  # before any work: a folder, a FIFO or a device is refused, never waited on
        check_out_file(Path(args.json), "--json", example="features.jsonl")
    # every condition's settings checked (sizes capped) before the first one computes anything
    all_features = [
        ImageFeatures(
            dataset=args.dataset,
            data_dir=args.data_dir,
            backbone=args.backbone,
            condition=condition,
            seed=args.seed,
            image_dir=args.image_dir,
            crops=args.crops,
            max_crops=args.max_crops,
            cache_dir=args.cache_dir,
            image_size=args.image_size,
            pretrained=not args.random_weights,
            batch_size=args.batch_size,
        )
        for condition in args.condition
    ]
    data = load_dataset(args.dataset, args.data_dir)
    tweets = data.train + data.dev + data.test
    if args.max_tweets is not None:
        tweets = tweets[: args.max_tweets]
    for feats in all_features:
        start = time.perf_counter()
        info = feats.prepare(tweets, progress=args.progress)
        seconds = time.perf_counter() - start
        size = feats.store.size_bytes()
        record = {
            "dataset": args.dataset,
            **{k: v for k, v in feats.describe().items() if k != "flags"},
            **info,
            "seconds": round(seconds, 2),
            "images_per_s": round(info["computed"] / seconds, 2) if info["computed"] else None,
            "cache_bytes": size,
        }
        print(
            f"features {args.dataset} {feats.backbone_name} condition={feats.condition} "
            f"(synthetic={feats.synthetic}): {info['tweets']} tweets, "
            f"{info['unique_images']} distinct images, {info['computed']} computed in "
            f"{seconds:.1f} s; cache {feats.store_dir} = {size / 2**20:.1f} MiB; "
            f"flags {info['flags']}"
        )
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            append_regular(args.json, (json.dumps(record) + "\n").encode(), "--json")
    return 0


def add_download_parser(data_subparsers) -> argparse.ArgumentParser:
    """Add ``download`` to the ``data`` command group (called by mner_lib/commands/data.py)."""
    parser = data_subparsers.add_parser(
        "download",
        help="download a dataset's text (and with --images its images) from the public sources",
        description="Text from the UMT repository (checksums pinned to the shared copy); images "
        "from the archive the UMT README links (Google Drive). Resumable (HTTP Range), "
        "checksum-verified, extracted into <data-dir>/<name>/ and <data-dir>/<name>_images/.",
    )
    parser.add_argument("dataset", choices=["twitter2015", "twitter2017"])
    parser.add_argument("--images", action="store_true", help="also fetch the image archive")
    parser.add_argument("--data-dir", default=None, help="target folder (default $MNER_DATA_DIR)")
    parser.add_argument("--text-url", default=None, help="base URL of the text files (override)")
    parser.add_argument("--images-url", default=None, help="URL of the image archive (override)")
    parser.add_argument("--images-sha256", default=None, help="expected SHA-256 of the archive")
    parser.add_argument("--no-text", action="store_true", help="skip the text files")
    parser.set_defaults(func=run_download)
    return parser


def run_download(args: argparse.Namespace) -> int:
    from mner_lib.images.download import download_dataset

    report = download_dataset(
        args.dataset,
        data_dir=args.data_dir,
        text=not args.no_text,
        images=args.images,
        text_url=args.text_url,
        images_url=args.images_url,
        images_sha256=args.images_sha256,
    )
    for line in report:
        print(line)
    return 0
