"""``python -m mner_lib campaign jobs|status|lock``: the replication campaign's queue (issue 15).

``jobs`` prints one line per run of :data:`mner_lib.experiments.campaign.PLAN` in priority order
(``out|model|dataset|condition|seed|train arguments``), what ``benchmarks/campaign.sh`` works
through; ``status`` prints each with ``done``, ``started`` (an unfinished folder: it resumes) or
``-``. ``lock`` is the queue's owner: ``campaign.sh`` opens its lock file on a descriptor
(``exec 9<>.campaign-claims/lock``) and has it locked for as long as the script (and its jobs)
keep it open, so a second queue in the same checkout is refused at once, naming the first.
``python -m mner_lib report`` without ``--experiments`` writes the campaign report."""

from __future__ import annotations

import argparse
from pathlib import Path


def _campaign(args: argparse.Namespace) -> int:
    from mner_lib.experiments.campaign import finished, jobs

    if args.action == "lock":
        from mner_lib.training.runlock import lock_descriptor

        if args.fd is None or args.file is None or args.pid is None:
            raise ValueError(
                "campaign lock needs --fd, --file and --pid (see benchmarks/campaign.sh)"
            )
        try:
            lock_descriptor(
                args.fd,
                args.file,
                "a checkout's campaign queue",
                "rerun benchmarks/campaign.sh",
                command="benchmarks/campaign.sh",
                pid=args.pid,
            )
        except OSError as err:  # not an open descriptor
            raise ValueError(f"campaign lock: --fd {args.fd}: {err.strerror or err}") from None
        return 0
    for job in jobs():
        if args.action == "jobs":
            print(job.line())
        else:
            state = "done" if finished(job) else "started" if Path(job.out).is_dir() else "-"
            print(f"{state:<8} {job.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("campaign", help="the replication campaign's job queue (issue 15)")
    c.add_argument("action", choices=("jobs", "status", "lock"))
    c.add_argument("--fd", type=int, default=None, help="lock: the open descriptor to lock")
    c.add_argument("--file", default=None, help="lock: the file the descriptor has open")
    c.add_argument("--pid", type=int, default=None, help="lock: the queue's process id")
    c.set_defaults(func=_campaign)
