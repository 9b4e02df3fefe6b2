"""The book's HTML tables: a fixed layout 100 % of the text column wide, wrapping cells, so no
table is wider than the page (the book test measures that in headless Chromium), and a CSV link
that carries a whole table inside the link itself.

A cell is text, escaped, unless it is :class:`mner_lib.io.escape.Markup` (HTML our code built, its
data escaped): a value from a results file never reaches the page as HTML. A table sits in a
``div`` marked ``tex2jax_ignore mathjax_ignore``, so MathJax (which reads the book's output cells) never
typesets a ``$$...$$`` or ``\\(...\\)`` of a value.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from mner_lib.io.escape import html_cell, html_text

if TYPE_CHECKING:
    import pandas as pd

TABLE_CLASS = "mner-table"
#: the classes MathJax skips (MathJax 2's and 3's names)
NO_MATH = "tex2jax_ignore mathjax_ignore"
#: the CSS every table of this module carries (one copy per output; fixed layout, wrapping)
_T = f"table.{TABLE_CLASS}"
STYLE = (
    "<style>"
    + f"{_T}{{table-layout:fixed;width:100%;border-collapse:collapse;font-size:0.8em;"
    + "line-height:1.3;margin:0.4em 0}"
    + f"{_T} th,{_T} td{{white-space:normal;overflow-wrap:anywhere;padding:3px 4px;"
    + "border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    + f"{_T} th{{background:#f4f4f4;font-size:0.92em}}{_T} small{{color:#555;font-size:0.85em}}"
    + f"details.{TABLE_CLASS}>summary{{cursor:pointer;font-weight:600;margin:0.5em 0}}"
    + "</style>"
)


def html_table(frame: pd.DataFrame, widths: dict[str, float] | None = None) -> str:
    """``frame`` as a fixed-layout table 100 % of the text column wide, each cell escaped unless
    it is :class:`mner_lib.io.escape.Markup` (:func:`mner_lib.io.escape.html_cell`), a missing value
    empty: ``widths`` are relative column widths (the rest share what is left). A Markup cell
    stays Markup only in a column of dtype object (pandas 3 turns other strings into its own
    string type): build such a frame with ``dtype=object``; otherwise it shows as text."""
    import pandas as pd

    widths = dict(widths or {})
    columns = list(frame.columns)
    rest = [c for c in columns if c not in widths]
    left = max(100 - sum(widths.get(c, 0) for c in columns), 10 * len(rest))
    share = {c: widths.get(c, left / max(len(rest), 1)) for c in columns}
    total = sum(share.values()) or 1
    cols = "".join(f'<col style="width:{100 * share[c] / total:.1f}%">' for c in columns)
    head = "".join(f"<th>{html_cell(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, pd)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (
        f'<div class="{NO_MATH}"><table class="{TABLE_CLASS}"><colgroup>{cols}</colgroup>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _cell(value: Any, pd: Any) -> str:
    if not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value):
        return ""
    return html_cell(value)


def plain_table(frame: pd.DataFrame, widths: dict[str, float] | None = None) -> str:
    """A table of plain values (escaped; floats with two decimals) as :func:`html_table`."""
    import pandas as pd

    def cell(v: Any) -> Any:
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.2f}"
        return str(v)  # Markup too: a plain table's values are text

    return html_table(frame.map(cell), widths)


def csv_link(frame: pd.DataFrame, filename: str, text: str | None = None) -> str:
    """A link that downloads ``frame`` as a CSV file (the data is in the link itself, so it
    works in the built book, offline and on any host)."""
    data = base64.b64encode(frame.to_csv(index=False).encode()).decode()
    label = text or f"{filename} ({len(frame)} rows, {len(frame.columns)} columns)"
    return (
        f'<a download="{html_text(filename)}" href="data:text/csv;base64,{data}">'
        f"{html_text(label)}</a>"
    )
