"""``python -m mner_lib campaign jobs|status``: the replication campaign's queue (issue 15).

``jobs`` prints one line per run of :data:`mner_lib.campaign.PLAN` in priority order
(``out|model|dataset|condition|seed|train arguments``), what ``benchmarks/campaign.sh`` works
through; ``status`` prints each with ``done``, ``started`` (an unfinished folder: it resumes) or
``-``. ``python -m mner_lib report`` without ``--experiments`` writes the campaign report."""

from __future__ import annotations

import argparse
from pathlib import Path


def _campaign(args: argparse.Namespace) -> int:
    from mner_lib.campaign import finished, jobs

    for job in jobs():
        if args.action == "jobs":
            print(job.line())
        else:
            state = "done" if finished(job) else "started" if Path(job.out).is_dir() else "-"
            print(f"{state:<8} {job.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("campaign", help="the replication campaign's job queue (issue 15)")
    c.add_argument("action", choices=("jobs", "status"))
    c.set_defaults(func=_campaign)
