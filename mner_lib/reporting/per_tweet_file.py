"""``results/caption_per_tweet.json``: the per-tweet counts of :mod:`mner_lib.reporting.per_tweet`
as a committed file, for the book built without the benchmark data.

:func:`write_counts` writes it (atomically) where the reader's data folder is there, and leaves it
as it is otherwise (``python -m mner_lib report`` calls it after the campaign report);
:func:`read_counts` reads it back into the same records, each field checked (a stranger may have
made the file). It holds counts only: the pairs with their run folders and commits, the pairs
without tags files, the pairs skipped with their error, the data files' SHA-256 and the date; no
token, caption or gold tag (the datasets are not ours to redistribute).
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from mner_lib.io import safe_read
from mner_lib.io.atomicfile import atomic_write_json
from mner_lib.reporting.per_tweet import (
    CONTROL,
    TYPES,
    Counts,
    MissingPair,
    Pair,
    PairCounts,
    PairKey,
    PerTweetReport,
    RunRef,
    SkippedPair,
    n_pairs,
    per_tweet_report,
)
from mner_lib.text.data import resolve_data_dir

COUNTS_FILE = "caption_per_tweet.json"
FORMAT = "mner-lib caption per tweet v1"
MAX_COUNTS_BYTES = 8 << 20
WHAT = (
    "Gold entities of the split right (exact span and type) under a caption run only, under its "
    "shuffled control only, under both or under neither, per pair (same experiment, model, "
    "dataset and seed) and entity type; *_named: of those, the entities whose string occurs in "
    "the tweet's own caption (the leak). Counts only: no tweet text, no gold tag."
)


def _key_json(key: PairKey, caption: RunRef, control: RunRef) -> dict[str, Any]:
    return {
        "experiment": key.experiment, "model": key.model, "dataset": key.dataset,
        "condition": key.condition, "control": key.control, "seed": key.seed,
        "caption_run": {"folder": caption.folder, "commit": caption.commit},
        "control_run": {"folder": control.folder, "commit": control.commit},
    }  # fmt: skip


def counts_json(report: PerTweetReport) -> dict[str, Any]:
    """What ``caption_per_tweet.json`` holds: the counts, the runs and data files they come
    from; no token, caption or gold tag (the examples are left out)."""
    listed = [*report.pairs, *report.skipped]
    runs = {r.folder: r.commit for p in listed for r in (p.caption, p.control)}
    return {
        "format": FORMAT,
        "what": WHAT,
        "date": report.date,
        "split": report.split,
        "data_files": dict(sorted(report.data_files.items())),
        "runs_read": [{"folder": f, "commit": c} for f, c in sorted(runs.items())],
        "pairs": [
            {**_key_json(p.key, p.caption, p.control), "tweets": p.tweets,
             "counts": {t: p.counts[t].as_dict() for t in TYPES}}
            for p in report.pairs
        ],
        "settings": [
            {"experiment": g.experiment, "model": g.model, "dataset": g.dataset,
             "condition": g.condition, "control": g.control, "seeds": list(g.seeds),
             "net_per_seed": {str(s): n for s, n in g.nets},
             "counts": {t: g.counts[t].as_dict() for t in TYPES}}
            for g in report.groups
        ],
        "missing": [
            {**_key_json(m.key, m.caption, m.control), "file": m.file, "without": list(m.without)}
            for m in report.missing
        ],
        "skipped": [{**_key_json(s.key, s.caption, s.control), "error": s.error}
                    for s in report.skipped],
    }  # fmt: skip


def write_counts(
    results_dir: str | os.PathLike = "results",
    out: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> str:
    """Write ``<results_dir>/caption_per_tweet.json`` (atomically) where the data folder is
    there; without it the file is left as it is. Returns one line saying which."""
    path = Path(out) if out is not None else Path(results_dir) / COUNTS_FILE
    try:
        root = resolve_data_dir(data_dir)
    except FileNotFoundError as err:
        return f"{path}: left as it is ({err})"
    if root is None:
        return f"{path}: left as it is (no data folder to rejoin the tags: set MNER_DATA_DIR)"
    report = per_tweet_report(results_dir, root)
    atomic_write_json(path, counts_json(report))
    return (
        f"{path}: {n_pairs(len(report.pairs))} counted, "
        f"{n_pairs(len(report.missing))} without tags files, "
        f"{n_pairs(len(report.skipped))} skipped"
        + "".join(f"\n  skipped: {s.error}" for s in report.skipped)
    )


# ----------------------------------------------------------------------------- reading it back
_KINDS = {
    "text": lambda v: isinstance(v, str) and len(v) <= 2000,
    "count": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict),
}


def _get(obj: Any, name: str, kind: str, where: str) -> Any:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not _KINDS[kind](value):
        raise ValueError(
            f"{where}: field {name!r} is not {'a number' if kind == 'count' else kind}"
        )
    return value


def _pair_back(entry: Any, where: str) -> Pair:
    """The pair an entry names: its key and its two runs (folder and commit)."""
    names = ("experiment", "model", "dataset", "condition")
    text = {n: _get(entry, n, "text", where) for n in names}
    key = PairKey(**text, seed=_get(entry, "seed", "count", where))
    if key.condition.partition(":")[0] not in CONTROL:
        raise ValueError(f"{where}: condition {key.condition!r:.60} is not a caption condition")
    refs = []
    for name in ("caption_run", "control_run"):
        run = _get(entry, name, "dict", where)
        refs.append(RunRef(_get(run, "folder", "text", where), _get(run, "commit", "text", where)))
    return Pair(key, *refs)


def _entries(obj: dict, name: str, path: Path) -> list[tuple[Pair, Any, str]]:
    """``(pair, entry, where)`` of each entry of the list ``name``."""
    entries = _get(obj, name, "list", str(path))
    where = [f"{path}: {name}[{i}]" for i in range(len(entries))]
    return [(_pair_back(e, w), e, w) for e, w in zip(entries, where)]


def _counts_back(entry: Any, where: str) -> dict[str, Counts]:
    table = _get(entry, "counts", "dict", where)
    out = {}
    for t in TYPES:
        row = _get(table, t, "dict", where)
        out[t] = Counts(
            **{f.name: _get(row, f.name, "count", f"{where} {t}") for f in fields(Counts)}
        )
    return out


def read_counts(path: str | os.PathLike) -> PerTweetReport:
    """``caption_per_tweet.json`` as a :class:`PerTweetReport` (no examples). A field of the
    wrong kind is a ValueError naming the file and the entry; no file: FileNotFoundError."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    obj = safe_read.read_json(path, MAX_COUNTS_BYTES, "counts file")
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path}: not a counts file (expected format {FORMAT!r})")
    pairs = [
        PairCounts(p.key, p.caption, p.control, _get(e, "tweets", "count", w), _counts_back(e, w))
        for p, e, w in _entries(obj, "pairs", path)
    ]
    missing = [
        MissingPair(
            p.key,
            p.caption,
            p.control,
            tuple(map(str, _get(e, "without", "list", w))),
            _get(e, "file", "text", w),
        )
        for p, e, w in _entries(obj, "missing", path)
    ]
    skipped = [
        SkippedPair(p.key, p.caption, p.control, _get(e, "error", "text", w))
        for p, e, w in _entries(obj, "skipped", path)
    ]
    files = {str(k): str(v) for k, v in _get(obj, "data_files", "dict", str(path)).items()}
    date = _get(obj, "date", "text", str(path))
    return PerTweetReport(
        _get(obj, "split", "text", str(path)), pairs, missing, skipped, files, date
    )
