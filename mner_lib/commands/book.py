"""``python -m mner_lib book run|sweep``: execute the chapter notebooks and build the book."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    from mner_lib.book import BookError, run_book

    only = [c for item in (args.only or []) for c in item.split(",") if c]
    try:
        report = run_book(
            args.profile,
            only=only or None,
            data_dir=args.data_dir,
            build=not args.no_build,
            force=args.force,
        )
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    done = ", ".join(f"{k} ({s:.0f}s)" for k, s in report.executed.items()) or "none"
    print(f"executed: {done}")
    if report.stubs:
        print(f"not executed in this build (stub pages): {', '.join(report.stubs)}")
    if report.html:
        print(f"book: {report.html / 'index.html'}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mner_lib.book import BookError, parse_grid, sweep
    from mner_lib.commands.sweep import engine_options

    grid = parse_grid(" ".join(args.grid))
    try:
        copied = sweep(
            args.notebook,
            grid,
            args.profile,
            Path(args.out),
            Path(args.results),
            data_dir=args.data_dir,
            **engine_options(args),
        )
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    from mner_lib.io.plural import counted

    print(f"collected {counted(len(copied), 'metrics.json file')} into {args.results}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from mner_lib.book import CHAPTER_KEYS, profile_names

    book = subparsers.add_parser("book", help="run the chapter notebooks and build the book")
    sub = book.add_subparsers(dest="book_command", required=True)

    run = sub.add_parser(
        "run", help="execute the notebooks with papermill, then jupyter-book build"
    )
    run.add_argument(
        "--profile", default="quick", help=f"one of {', '.join(profile_names())} or a .yml path"
    )
    run.add_argument(
        "--only",
        action="append",
        metavar="CHAPTER",
        help=f"run only these chapters (repeatable or comma separated): {', '.join(CHAPTER_KEYS)}",
    )
    run.add_argument("--data-dir", default=None, help="data folder (default $MNER_DATA_DIR)")
    run.add_argument(
        "--no-build", action="store_true", help="execute only; skip jupyter-book build"
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="execute every chapter and rebuild the HTML even when nothing changed; by default a "
        "chapter whose notebook, parameters, library (mner_lib/), results, data folder and kernel "
        "settings are those of its last successful run keeps its executed copy (its key: "
        "book/_executed/03_cwi.key.json for cwi), and an unchanged book is not rebuilt",
    )
    run.set_defaults(func=_run)

    sw = sub.add_parser("sweep", help="run one chapter over a grid; collect metrics into results/")
    sw.add_argument("--notebook", required=True, help=f"chapter: {', '.join(CHAPTER_KEYS)}")
    sw.add_argument(
        "--grid",
        nargs="+",
        required=True,
        help="KEY=V1,V2 ... with keys models, datasets, seeds, conditions, backbones",
    )
    sw.add_argument("--profile", default="cpu", help="profile whose values the grid overrides")
    sw.add_argument("--out", default="runs/sweep", help="folder of the executed notebooks and runs")
    sw.add_argument("--results", default="results/book-sweep", help="where metrics.json files go")
    sw.add_argument("--data-dir", default=None)
    from mner_lib.commands.sweep import add_engine_options

    add_engine_options(sw)
    sw.set_defaults(func=_sweep)
