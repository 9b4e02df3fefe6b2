"""What the comparison chapter (``notebooks/07_comparison.py``) shows besides its findings
tables (:mod:`mner_lib.book.verdicts`), each a call that returns HTML or Markdown built from
``results/`` (nothing typed by hand):

- :func:`papers_html`: the papers' reported numbers, compact, with a CSV of every column;
- :func:`show_pending`: what the campaign has not finished, priced, and what it leaves out;
- :func:`per_type_html` and :func:`speed_html`: F1 per entity type and tweets per second of the
  settings the ours-vs-paper plot shows;
- :func:`build_runs_html`: this build's own (demo or capped) runs, apart.

Every table is a :func:`mner_lib.book.tables.html_table`: it fits the text column. Markdown
is shown through :func:`mner_lib.io.escape.markdown_guard` (no raw HTML or math from a results
file, whichever module wrote the sentence), its tables' cells read back as plain text and
escaped as HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mner_lib.book.realresults import dataset_name, recorded_settings
from mner_lib.book.tables import STYLE, csv_link, plain_table
from mner_lib.io.escape import html_text, markdown_guard, md_plain
from mner_lib.reporting.results import mean_std

if TYPE_CHECKING:
    import pandas as pd

SMOKE = "quick (smoke)"


_CELL_TOKEN = re.compile(r"\\.|\||[^|\\]+|\\")


def table_cells(line: str) -> list[str]:
    """The cells of a Markdown table row, split at its unescaped ``|`` (a ``\\|`` stays in its
    cell), each read back as plain text (:func:`mner_lib.io.escape.md_plain`)."""
    cells, cell = [], []
    for token in _CELL_TOKEN.findall(line.strip()):
        if token == "|":
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(token)
    cells.append("".join(cell))
    if line.strip().startswith("|"):
        cells = cells[1:]
    if len(cells) > 1 and not cells[-1].strip():
        cells = cells[:-1]
    return [md_plain(c.strip()) for c in cells]


def markdown_blocks(text: str) -> list[tuple[str, str | pd.DataFrame]]:
    """``text`` split into ``("markdown", str)`` and ``("table", DataFrame)`` blocks: the book
    renders a Markdown output's tables as plain text, so tables are shown as HTML instead (the
    cells as plain text: :func:`table_cells`)."""
    import pandas as pd

    cells = table_cells
    blocks: list[tuple[str, str | pd.DataFrame]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and set(lines[i + 1]) <= set("|-: "):
            header, j = cells(lines[i]), i + 2
            rows = []
            while j < len(lines) and lines[j].startswith("|"):
                rows.append((cells(lines[j]) + [""] * len(header))[: len(header)])
                j += 1
            blocks.append(("table", pd.DataFrame(rows, columns=header)))
            i = j
            continue
        if blocks and blocks[-1][0] == "markdown":
            blocks[-1] = ("markdown", f"{blocks[-1][1]}\n{lines[i]}")
        else:
            blocks.append(("markdown", lines[i]))
        i += 1
    return [(k, b) for k, b in blocks if k == "table" or str(b).strip()]


def show_markdown(
    text: str,
    show: Callable[[Any], None] | None = None,
    after_table: Callable[[str], None] | None = None,
) -> None:
    """Display Markdown ``text`` with its tables as the book's fixed-layout HTML tables (a
    Markdown output's tables render as plain text in the book). ``after_table`` is called after
    each table with the last heading above it."""
    from IPython.display import HTML, Markdown

    if show is None:
        from IPython.display import display as show
    heading = ""
    for _kind, block in markdown_blocks(markdown_guard(text)):
        if isinstance(block, str):
            show(Markdown(block))
            headings = [line for line in block.splitlines() if line.startswith("#")]
            heading = headings[-1] if headings else heading
            continue
        show(HTML(STYLE + plain_table(block)))
        if after_table is not None:
            after_table(heading)
        heading = ""


def papers_html() -> str:
    """The papers' reported test numbers (:func:`mner_lib.reporting.results.paper_table`) in seven
    columns, and every column (per-type F1, the paper file) as a CSV link."""
    from mner_lib.reporting.results import paper_table

    papers = paper_table()
    table = papers.assign(
        source=[
            f"{p.split(', papers/')[0]}; {t}" for p, t in zip(papers["paper"], papers["table"])
        ],
        dataset=papers["dataset"].map(dataset_name),
    )[["source", "reported_as", "dataset", "variant", "precision", "recall", "f1"]]
    table = table.rename(
        columns={
            "reported_as": "system (paper's name)",
            "precision": "P",
            "recall": "R",
            "f1": "F1",
        }
    )
    widths = {"source": 37, "system (paper's name)": 18, "dataset": 13, "variant": 10}
    link = csv_link(papers, "paper_numbers.csv")
    return f"{STYLE}{plain_table(table, widths)}<p>Every column, per-type F1 included: {link}</p>"


def _headline(results_dir: str | Path) -> pd.DataFrame:
    from mner_lib.book.realplots import headline_settings

    settings = recorded_settings(None, results_dir)
    if settings.empty:
        return settings
    picked = headline_settings(settings[settings["protocol"] != SMOKE])
    return picked.sort_values(["model", "dataset", "condition"]) if not picked.empty else picked


def _condition(condition: str) -> str:
    return "text only" if condition == "none" else condition


def _setting_columns(rows: pd.DataFrame) -> dict[str, list[str]]:
    return {
        "model": list(rows["model"]),
        "dataset": [dataset_name(d) for d in rows["dataset"]],
        "condition": [
            "SYNTHETIC images" if s else _condition(c)
            for c, s in zip(rows["condition"], rows["synthetic"])
        ],
        "protocol": list(rows["protocol"]),
    }


def per_type_html(results_dir: str | Path = "results") -> str:
    """Test F1 per entity type (mean over seeds) of the settings the paired plot shows."""
    import pandas as pd

    rows = _headline(results_dir)
    if rows.empty:
        return "<p>No recorded runs.</p>"
    table = pd.DataFrame(_setting_columns(rows))
    for t in ("PER", "LOC", "ORG", "MISC"):
        table[t] = list(rows[f"f1_{t}_mean"].astype(float))
    table["all"] = list(rows["f1_mean"].astype(float))
    return STYLE + plain_table(table, {"model": 13, "dataset": 13, "condition": 17, "protocol": 17})


def speed_html(results_dir: str | Path = "results") -> str:
    """Training and inference tweets per second (mean over seeds) of the same settings, with the
    hardware the recorded runs name in the CSV of :func:`mner_lib.book.realresults.full_table`."""
    import pandas as pd

    rows = _headline(results_dir)
    if rows.empty:
        return "<p>No recorded runs.</p>"
    table = pd.DataFrame(_setting_columns(rows))
    table["train tweets/s"] = list(rows["train_tweets_per_second"].astype(float))
    table["inference tweets/s"] = list(rows["inference_tweets_per_second"].astype(float))
    return STYLE + plain_table(table, {"model": 15, "dataset": 15, "condition": 20, "protocol": 20})


def build_runs_html(runs_dir: str | Path) -> str:
    """This build's own runs (the chapters' demo or capped runs), one row per setting."""
    import pandas as pd

    from mner_lib.reporting.results import aggregate, load_runs

    runs = load_runs(runs_dir, relative_to=".")
    if runs.empty:
        return (
            f"<p>No runs under {html_text(runs_dir)}/ (the training chapters were not executed "
            "in this build).</p>"
        )
    build = aggregate(runs)
    table = pd.DataFrame(
        {
            "model": build["model"],
            "variant": build["variant"],
            "dataset": build["dataset"].map(dataset_name),
            "condition": [
                "SYNTHETIC images" if s else _condition(c)
                for c, s in zip(build["condition"], build["synthetic"])
            ],
            "training": build["training"],
            "caps (train / eval)": [
                f"{t or 'all'} / {e or 'all'}"
                for t, e in zip(build["max_train"], build["max_eval"])
            ],
            "test F1": [
                mean_std(m, s, n)
                for m, s, n in zip(build["f1_mean"], build["f1_std"], build["n_seeds"])
            ],
        }
    )
    return STYLE + plain_table(table, {"model": 12, "variant": 14, "training": 24})


def pending_markdown(results_dir: str | Path = "results") -> str:
    """What the campaign's plan has not finished, priced (:func:`mner_lib.experiments.cost.
    pending_lines`), and the rows it leaves out on purpose, with why."""
    from mner_lib.experiments.campaign import NOT_RUN, PLAN
    from mner_lib.experiments.cost import pending_lines
    from mner_lib.reporting.campaign_report import default_bench, load_campaign

    root = Path(results_dir)
    lines = pending_lines(root, load_campaign(root, PLAN), default_bench(root), PLAN)
    lines += ["", "Left out of the plan:", "", *(f"- {why}" for why in NOT_RUN)]
    return "\n".join(lines) + "\n"


def show_pending(results_dir: str | Path = "results", show: Callable[[Any], None] | None = None):
    """Display :func:`pending_markdown` with its table as the book's HTML table."""
    show_markdown(pending_markdown(results_dir), show)
