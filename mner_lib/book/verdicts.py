"""The comparison chapter's findings tables, rendered from records (issue 28).

:func:`verdict_html` shows every paired finding of :func:`mner_lib.reporting.records.book_records`
(a caption or knowledge condition against its baseline or its shuffled control, the SYNTHETIC
probe against blank images, the papers' ablations) as one compact table: the effect, its spread,
seeds won and the verdict of :func:`mner_lib.reporting.findings.judge`. :func:`gaps_html` shows
each row's distance from its paper split by :mod:`mner_lib.reporting.gaps`. Neither writes a
sentence: the chapter's discussion, written by a person, cites the same records by key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mner_lib.book.realresults import dataset_name
from mner_lib.book.tables import STYLE, csv_link, html_table
from mner_lib.io.escape import Markup, html_text

#: the rounds in table order, as a reader names them
ROUND_NAMES = {
    "first": "campaign",
    "converged": "converged",
    "synthetic": "SYNTHETIC probe (budget protocol)",
}
#: the conditions as the tables name them
NAMES = {
    "none": "text only",
    "blank": "blank image",
    "synthetic": "SYNTHETIC image",
    "caption:blip2": "caption",
    "caption-shuffled:blip2": "shuffled caption",
    "knowledge:pgim": "PGIM knowledge",
    "knowledge-shuffled:pgim": "shuffled knowledge",
    "full": "full model",
}


def _name(condition: str) -> str:
    return NAMES.get(condition, condition)


def _paired(records: dict[str, Any]) -> list[tuple[str, Any]]:
    from mner_lib.reporting.findings import Finding, Kind

    kinds = (Kind.CAPTION, Kind.ABLATION)
    return [(k, f) for k, f in records.items() if isinstance(f, Finding) and f.kind in kinds]


def verdict_frame(results_dir: str | Path = "results"):
    """One row per paired finding: ``round``, ``model``, ``dataset``, ``comparison``,
    ``effect``, ``spread``, ``seeds won``, ``verdict``, ``key`` (plain values)."""
    import pandas as pd

    from mner_lib.reporting.records import book_records

    order = list(ROUND_NAMES)
    rows = []
    for key, f in _paired(book_records(results_dir)):
        rows.append(
            {
                "round": ROUND_NAMES.get(f.protocol, f.protocol),
                "model": f.model,
                "dataset": dataset_name(f.dataset),
                "comparison": f"{_name(f.condition)} − {_name(f.baseline)}",
                "effect": f.effect,
                "spread": f.spread,
                "seeds won": f"{f.wins} of {f.n}",
                "verdict": f.verdict.value,
                "key": key,
                "_order": (
                    order.index(f.protocol) if f.protocol in order else 9,
                    f.model,
                    f.dataset,
                    f.kind.value,
                    f.baseline,
                ),
            }  # fmt: skip
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values("_order").drop(columns="_order").reset_index(drop=True)


def _verdict_cell(verdict: str) -> Markup:
    strong = verdict in ("gain", "loss")
    return Markup(f"<b>{html_text(verdict)}</b>" if strong else html_text(verdict))


def verdict_html(results_dir: str | Path = "results") -> str:
    """:func:`verdict_frame` as the book's table, consistent verdicts in bold, with the CSV."""
    import pandas as pd

    frame = verdict_frame(results_dir)
    if frame.empty:
        return f"<p>No paired finding under {html_text(results_dir)}/ yet.</p>"
    shown = pd.DataFrame(
        {
            "round": frame["round"],
            "model": frame["model"],
            "dataset": frame["dataset"],
            "comparison": frame["comparison"],
            "effect (F1)": [
                Markup(f"<b>{e:+.2f}</b><small> ± {s:.2f}</small>")
                for e, s in zip(frame["effect"], frame["spread"])
            ],
            "seeds won": frame["seeds won"],
            "verdict": [_verdict_cell(v) for v in frame["verdict"]],
        },
        dtype=object,
    )
    widths = {"round": 15, "model": 9, "dataset": 11, "comparison": 25, "seeds won": 9}
    return (
        STYLE
        + html_table(shown, widths)
        + f'<p style="font-size:0.8em">{csv_link(frame, "verdicts.csv")}</p>'
    )


def gaps_frame(results_dir: str | Path = "results"):
    """One row per gap decomposition (:class:`mner_lib.reporting.gaps.GapDecomposition`):
    ``round``, ``model``, ``dataset``, ``ours`` (and under which condition), ``n``, ``paper``,
    ``paper − ours``, ``text side``, ``paper's image gain``, ``remainder``."""
    import pandas as pd

    from mner_lib.reporting.gaps import GapDecomposition
    from mner_lib.reporting.records import book_records

    rows = []
    for key, d in book_records(results_dir).items():
        if not isinstance(d, GapDecomposition):
            continue
        rows.append(
            {
                "round": ROUND_NAMES.get(key.split("/", 1)[0], key.split("/", 1)[0]),
                "model": d.model,
                "dataset": dataset_name(d.dataset),
                "ours": d.ours,
                "condition": _name(d.condition),
                "n": d.n,
                "paper": d.paper,
                "paper − ours": d.total,
                "text side": d.text_side,
                "paper's image gain": d.image_gain,
                "remainder": d.remainder,
            }  # fmt: skip
        )
    return pd.DataFrame(rows)


def gaps_html(results_dir: str | Path = "results") -> str:
    """:func:`gaps_frame` as the book's table (a part the paper cannot split is empty)."""
    import pandas as pd

    frame = gaps_frame(results_dir)
    if frame.empty:
        return f"<p>No row with a paper number under {html_text(results_dir)}/ yet.</p>"

    def signed(v: Any) -> str:
        return "" if v is None or pd.isna(v) else f"{v:+.2f}"

    shown = pd.DataFrame(
        {
            "round": frame["round"],
            "model": frame["model"],
            "dataset": frame["dataset"],
            "ours": [
                Markup(f"<b>{o:.2f}</b><br><small>{html_text(c)}, n={n}</small>")
                for o, c, n in zip(frame["ours"], frame["condition"], frame["n"])
            ],
            "paper": [f"{p:.2f}" for p in frame["paper"]],
            "paper − ours": [Markup(f"<b>{signed(v)}</b>") for v in frame["paper − ours"]],
            "text side": [signed(v) for v in frame["text side"]],
            "paper's image gain": [signed(v) for v in frame["paper's image gain"]],
            "remainder": [signed(v) for v in frame["remainder"]],
        },
        dtype=object,
    )
    return STYLE + html_table(shown, {"round": 12, "model": 9, "dataset": 11, "ours": 14})


def show(html: str, display: Callable[[Any], None] | None = None) -> None:
    from IPython.display import HTML
    from IPython.display import display as _display

    (display or _display)(HTML(html))
