"""What the caption changes, tweet by tweet, as the comparison chapter shows it.

:func:`per_tweet_html` draws the records of :mod:`mner_lib.reporting.per_tweet`: per setting
(experiment, model, dataset, caption condition against its shuffled control), a compact table of
the gold entities right under the caption only and under the control only, the net, and how many
of them the tweet's own caption names; the number of pairs and each seed's net above it. Where
the reader's data folder is there, the counts are computed from the run folders and five example
tweets are shown each way (the tweet with the entity marked, its type, the tweet's own caption
with the named span marked, what the other run predicted). Without it (the published book has no
benchmark data) the counts come from ``results/caption_per_tweet.json`` and one line says that
the examples need the data folder. Pairs whose runs kept no tags, and pairs skipped (a tags file
that does not rejoin the data), are listed, never guessed.

Every value from a file (a name, a folder, a token, a caption, an IMGID, an error) is escaped
(:func:`mner_lib.io.escape.html_text`); every table is a
:func:`mner_lib.book.tables.html_table`, so none is wider than the text column.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mner_lib.book.caption_view import SOURCE_NAMES, highlight
from mner_lib.book.explorer import entities_html
from mner_lib.book.realresults import dataset_name
from mner_lib.book.tables import STYLE, TABLE_CLASS, html_table
from mner_lib.io.escape import Markup, html_text
from mner_lib.reporting.per_tweet import (
    TYPES,
    GroupCounts,
    MissingPair,
    Outcome,
    PerTweetReport,
    SkippedPair,
    n_pairs,
    per_tweet_report,
)
from mner_lib.reporting.per_tweet_file import COUNTS_FILE, read_counts
from mner_lib.text.data import resolve_data_dir
from mner_lib.text.metrics import extract_entities

#: the count table's columns (after the type) and their relative widths
COLUMNS = {
    "type": 10,
    "caption only": 14,
    "control only": 14,
    "net": 10,
    "named in the caption": 20,
    "named: caption only": 16,
    "named: control only": 16,
}
EXAMPLE_WIDTHS = {"tweet": 11, "the tweet, the entity marked": 36, "type": 7,
                  "its own caption": 28}  # fmt: skip
_NOTE = '<p style="font-size:0.8em;line-height:1.35;margin:0.2em 0">{}</p>'
SIDE_HEADINGS = {
    "caption_only": ("right with the caption, missed by the control", "the control predicted"),
    "control_only": (
        "right with the control, missed with the caption",
        "the caption run predicted",
    ),
}


def _signed(n: int) -> str:
    return f"{n:+d}" if n else "0"


def _condition(condition: str) -> str:
    """``caption:blip2`` -> ``caption:blip2 (BLIP-2)``."""
    source = condition.partition(":")[2]
    name = SOURCE_NAMES.get(source)
    return f"{condition} ({name})" if name else condition


# ----------------------------------------------------------------------------- counts
def counts_table(group: GroupCounts) -> str:
    """The counts of one setting summed over its seeds: one row per entity type and ``all``."""
    import pandas as pd

    rows = []
    for t in TYPES:
        c = group.counts[t]
        values = [t, c.caption_only, c.control_only, _signed(c.net), f"{c.named} of {c.gold}",
                  c.caption_only_named, c.control_only_named]  # fmt: skip
        rows.append([str(v) for v in values])
    return html_table(pd.DataFrame(rows, columns=list(COLUMNS), dtype=object), COLUMNS)


def group_heading(group: GroupCounts) -> str:
    """``model · dataset · experiment``, the two conditions, the pairs and each seed's net."""
    seeds = ", ".join(str(s) for s in group.seeds)
    nets = ", ".join(f"seed {s}: {_signed(n)}" for s, n in group.nets)
    return (
        f'<p style="margin:0.8em 0 0.1em 0"><b>{html_text(group.model)}</b> · '
        f"{html_text(dataset_name(group.dataset))} · {html_text(group.experiment)} · "
        f"{html_text(_condition(group.condition))} against {html_text(group.control)}<br>"
        f"<small>{n_pairs(len(group.seeds))} ({'seed' if len(group.seeds) == 1 else 'seeds'} "
        f"{html_text(seeds)}); net per seed (all types): {html_text(nets)}</small></p>"
    )


def _setting(m: MissingPair | SkippedPair) -> str:
    k = m.key
    return (
        f"{html_text(k.experiment)} · {html_text(k.model)} · "
        f"{html_text(dataset_name(k.dataset))} · {html_text(k.condition)} / "
        f"{html_text(k.control)} · seed {int(k.seed)}"
    )


def missing_html(missing: Sequence[MissingPair], skipped: Sequence[SkippedPair]) -> str:
    """The pairs not counted, in collapsed blocks: without tags files (the folders that lack
    them), and skipped (the error naming the file)."""
    out = []
    if missing:
        items = "".join(
            f"<li>{_setting(m)}: <small>{html_text(m.file)} missing in "
            f"{html_text('; '.join(m.without))}</small></li>"
            for m in missing
        )
        out.append(
            f'<details class="{TABLE_CLASS}"><summary>Without tags files: '
            f"{n_pairs(len(missing))}</summary><ul>{items}</ul></details>"
        )
    if skipped:
        items = "".join(
            f"<li>{_setting(s)}: <small>{html_text(s.error)}</small></li>" for s in skipped
        )
        out.append(
            f'<details class="{TABLE_CLASS}" open><summary>Skipped (tags that do not rejoin the '
            f"data): {n_pairs(len(skipped))}</summary><ul>{items}</ul></details>"
        )
    return "".join(out)


# ----------------------------------------------------------------------------- examples
def _only(o: Outcome) -> list[str]:
    tags = ["O"] * len(o.tweet.tokens)
    tags[o.start] = f"B-{o.etype}"
    for i in range(o.start + 1, o.end):
        tags[i] = f"I-{o.etype}"
    return tags


def other_prediction(o: Outcome, tags: Sequence[str]) -> Markup:
    """The entities ``tags`` predict that overlap ``o``'s span (tokens and type), or ``O``."""
    found = [
        f"{html_text(' '.join(o.tweet.tokens[s:e]))} <b>{html_text(t)}</b>"
        for s, e, t in extract_entities(tags)
        if s < o.end and e > o.start
    ]
    return Markup("; ".join(found) if found else "<i>no entity (O)</i>")


def examples_table(outcomes: Sequence[Outcome], side: str) -> str:
    """One row per example entity of ``side`` (``caption_only`` or ``control_only``)."""
    import pandas as pd

    other_column = SIDE_HEADINGS[side][1]
    rows = []
    for o in outcomes:
        other = o.control_tags if side == "caption_only" else o.caption_tags
        caption = highlight(o.caption_text, [(o.text, o.etype)]) if o.caption_text else ""
        rows.append({
            "tweet": Markup(f"{html_text(o.tweet.id)}<br><small>seed {int(o.key.seed)}</small>"),
            "the tweet, the entity marked": Markup(entities_html(o.tweet.tokens, _only(o))),
            "type": o.etype,
            "its own caption": Markup(caption or "<i>(none)</i>"),
            other_column: other_prediction(o, other),
        })  # fmt: skip
    return html_table(pd.DataFrame(rows, dtype=object), EXAMPLE_WIDTHS)


def examples_html(chosen: dict[str, list[Outcome]], n: int) -> str:
    """Both directions' examples of one setting, each under its heading."""
    out = []
    for side, (heading, _) in SIDE_HEADINGS.items():
        outcomes = chosen.get(side, [])[:n]
        title = f"<p style='margin:0.4em 0 0 0'><small><b>{html_text(heading)}</b>"
        if not outcomes:
            out.append(f"{title}: none</small></p>")
            continue
        out.append(
            f"{title}: {len(outcomes)} {'example' if len(outcomes) == 1 else 'examples'}</small></p>"
        )
        out.append(examples_table(outcomes, side))
    return "".join(out)


# ----------------------------------------------------------------------------- the section
def _report(
    results_dir: str | os.PathLike, data_dir: str | os.PathLike | None, n: int
) -> tuple[PerTweetReport | None, bool, str]:
    """The report, whether it has examples, and the line that says where the counts came from
    (or why there are none)."""
    try:
        root = resolve_data_dir(data_dir)
    except FileNotFoundError:
        root = None
    if root is not None:
        try:
            report = per_tweet_report(results_dir, root, examples=n)
        except (OSError, ValueError) as err:
            return None, False, f"No counts: the run folders were not read ({err})."
        return report, True, "Counts computed now from the run folders and the data folder."
    path = Path(results_dir) / COUNTS_FILE
    try:
        report = read_counts(path)
    except FileNotFoundError:
        return None, False, (
            f"No counts: {path} is not there (python -m mner_lib report writes it where the "
            "data folder is present)."
        )  # fmt: skip
    except ValueError as err:
        return None, False, f"No counts: {err}"
    return report, False, f"Counts from {path}, written {report.date}."


def per_tweet_html(
    results_dir: str | os.PathLike = "results",
    data_dir: str | os.PathLike | None = None,
    n_examples: int = 5,
    models: Sequence[str] | None = None,
) -> str:
    """The section's HTML: per setting of ``models`` (all: None) the counts table, and with the
    data folder (``data_dir``, else ``$MNER_DATA_DIR``) ``n_examples`` example tweets each way;
    the pairs without tags files or skipped, listed."""
    report, live, origin = _report(results_dir, data_dir, n_examples)
    if report is None:
        return _NOTE.format(html_text(origin))
    keep = (lambda m: True) if models is None else (lambda m: m in set(models))
    groups = [g for g in report.groups if keep(g.model)]
    missing = [m for m in report.missing if keep(m.key.model)]
    skipped = [s for s in report.skipped if keep(s.key.model)]
    parts = [STYLE]
    for group in groups:
        parts.append(group_heading(group) + counts_table(group))
        if live:
            parts.append(examples_html(report.examples.get(group.setting, {}), n_examples))
    if not groups:
        parts.append(_NOTE.format("No pair counted yet (split: " + html_text(report.split) + ")."))
    parts.append(missing_html(missing, skipped))
    notes = [
        html_text(origin),
        f"Split: {html_text(report.split)}. Gold entities, exact span and type; caption only: "
        "right with the tweet's own caption and missed with another tweet's (the control); net: "
        "caption only minus control only; named: the entity's string occurs in the tweet's own "
        "caption (the leak). Counts are summed over the seeds of a setting.",
    ]
    if not live:
        notes.append("Example tweets need your copy of the data (set MNER_DATA_DIR to its folder).")
    parts.extend(_NOTE.format(n) for n in notes)
    return "".join(parts)


def show_per_tweet(
    results_dir: str | os.PathLike = "results",
    data_dir: str | os.PathLike | None = None,
    n_examples: int = 5,
    models: Sequence[str] | None = None,
    show: Callable[[Any], None] | None = None,
) -> None:
    """Display :func:`per_tweet_html` (``show``: IPython's ``display`` by default)."""
    from IPython.display import HTML, display

    (show or display)(HTML(per_tweet_html(results_dir, data_dir, n_examples, models)))
