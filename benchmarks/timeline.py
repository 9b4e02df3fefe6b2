"""Is ``make test`` bound by its CPU time or by how xdist lays the tests out? A timeline says.

A pytest plugin and a report. The plugin records, in each test process, when every test started
and ended (setup to teardown), one JSON line per test in ``$MNER_TIMELINE_DIR/<worker>.jsonl``;
the report reads them back and prints each worker's busy time, its idle gaps and the tests that
ran last. When both workers are busy until the end, the suite is as long as its CPU time allows
and only less work shortens it; when one waits while the other runs a long tail, the order does.

    MNER_TIMELINE_DIR=/tmp/timeline PYTHONPATH=benchmarks \\
        .venv/bin/python -m pytest -q -n 2 --dist worksteal -p timeline
    python benchmarks/timeline.py /tmp/timeline --since <the run's start, epoch seconds>
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: where the plugin writes (one file per test process); unset: the plugin records nothing
TIMELINE_DIR = "MNER_TIMELINE_DIR"


# ----------------------------------------------------------------------------- the plugin
def pytest_runtest_protocol(item, nextitem):
    item._timeline_start = time.time()


def pytest_runtest_makereport(item, call):
    folder = os.environ.get(TIMELINE_DIR)
    if call.when != "teardown" or not folder:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    line = {"id": item.nodeid, "start": item._timeline_start, "end": time.time()}
    with open(Path(folder) / f"{worker}.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


# ----------------------------------------------------------------------------- the report
@dataclass
class Span:
    test: str
    start: float  # seconds since the run's start
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def read_spans(path: Path, since: float) -> list[Span]:
    """One worker's tests in the order they started; a line that is not a test's record is an
    error naming the file and the line."""
    spans = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            spans.append(Span(str(row["id"]), row["start"] - since, row["end"] - since))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{number}: not a timeline record ({err})") from None
    return sorted(spans, key=lambda s: s.start)


def gaps(spans: list[Span], least: float = 2.0) -> list[tuple[float, float]]:
    """The stretches of at least ``least`` seconds in which the worker ran no test."""
    out, reached = [], spans[0].end if spans else 0.0
    for span in spans[1:]:
        if span.start - reached >= least:
            out.append((reached, span.start))
        reached = max(reached, span.end)
    return out


def report(spans_by_worker: dict[str, list[Span]], tail: int = 5) -> str:
    """Each worker's first start, last end, busy seconds, idle gaps and last tests; then the
    busy seconds of all workers, with and without the longest test."""
    lines = []
    end = max((s.end for spans in spans_by_worker.values() for s in spans), default=0.0)
    for worker, spans in sorted(spans_by_worker.items()):
        if not spans:
            lines.append(f"{worker}: no test")
            continue
        busy = sum(s.seconds for s in spans)
        lines.append(
            f"{worker}: {len(spans)} tests from {spans[0].start:.0f} s to "
            f"{max(s.end for s in spans):.0f} s, busy {busy:.0f} s; "
            f"the run ended at {end:.0f} s"
        )
        lines += [f"  idle from {a:.0f} s to {b:.0f} s" for a, b in gaps(spans)]
        lines += [f"  last: {s.start:6.0f} s {s.seconds:6.1f} s  {s.test}" for s in spans[-tail:]]
    every = [s for spans in spans_by_worker.values() for s in spans]
    if every:
        longest = max(every, key=lambda s: s.seconds)
        busy = sum(s.seconds for s in every)
        lines.append(
            f"all workers: busy {busy:.0f} s; the longest test {longest.seconds:.0f} s "
            f"({longest.test}), the others {busy - longest.seconds:.0f} s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the plugin's $MNER_TIMELINE_DIR")
    parser.add_argument("--since", type=float, default=None, help="the run's start (epoch s)")
    args = parser.parse_args(argv)
    files = sorted(args.folder.glob("*.jsonl"))
    if not files:
        print(f"{args.folder}: no timeline (*.jsonl) here", file=sys.stderr)
        return 2
    try:
        spans = {f.stem: read_spans(f, 0.0) for f in files}
    except (OSError, UnicodeDecodeError, ValueError) as err:
        print(err, file=sys.stderr)
        return 2
    since = args.since
    if since is None:  # the first test's start
        since = min((s.start for runs in spans.values() for s in runs), default=0.0)
    shifted = {
        worker: [Span(s.test, s.start - since, s.end - since) for s in runs]
        for worker, runs in spans.items()
    }
    print(report(shifted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
