"""Text from a stranger made safe for the place it is shown.

A model or GPU name in a ``metrics.json``, a token or caption of a data file, a condition given
as a chapter parameter: each reaches a reader through HTML (the book's tables and cards), Markdown
(the reports in ``results/`` and the book's text outputs, which MyST renders with raw HTML,
``$...$`` math and ``{role}`` syntax), or a figure (matplotlib reads ``$...$`` as mathtext). One
function per place, called where the value is put into it, never earlier:

- :func:`html_text`: text content or a quoted attribute value of HTML. :class:`Markup` marks a
  string that is HTML already (built by our code, its data escaped); :func:`html_cell` escapes
  anything else, so a table's cells are escaped unless marked.
- :func:`md_text`: inline Markdown text (a sentence, a list item, a table cell): no HTML, link,
  emphasis, code, math, role or table pipe survives; it renders as the literal value.
  :func:`md_plain` reads such a table cell back as plain text (the book shows the reports'
  tables as HTML). :func:`md_code`: the value as a code span.
- :func:`markdown_guard`: Markdown assembled elsewhere made inert as a whole (raw HTML and math
  outside code), for the reports and the book's Markdown outputs; idempotent.
- :func:`mathtext`: text drawn by a matplotlib figure that parses mathtext (the book's own
  figures draw their text literally instead: :func:`mner_lib.figures.figure.literal_text`).
"""

from __future__ import annotations

import html
import re
from typing import Any


class Markup(str):
    """A string that is HTML already (our markup around escaped data): :func:`html_cell` keeps
    it as it is."""

    __slots__ = ()


def html_text(value: Any) -> str:
    """``value`` as HTML text content or a quoted attribute value (``& < > " '`` escaped)."""
    return html.escape(str(value), quote=True)


def html_cell(value: Any) -> str:
    """A table cell: :class:`Markup` as it is, anything else escaped (:func:`html_text`)."""
    return str(value) if isinstance(value, Markup) else html_text(value)


#: characters of inline Markdown (CommonMark, GFM tables, MyST's dollarmath, roles and
#: footnotes) that can start markup, escaped with a backslash: ``_`` only where it can open or
#: close emphasis, ``[`` before ``^`` (a footnote), ``]`` where a link or reference could follow
_MD_SPECIAL = re.compile(r"[\\`*|$~{}]|\[(?=\^)|\](?=[(\[:])|(?<![^\W_])_|_(?![^\W_])")
_MD_ENTITY = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def md_text(value: Any) -> str:
    """``value`` as inline Markdown text that renders as itself: line breaks and control
    characters become a space (a line break would end a table row or start a block), ``& < >``
    become entities (no raw HTML, no autolink) and the characters that start emphasis, code,
    links, math, roles or a table cell get a backslash. Not for the start of a line (a leading
    ``-`` or ``#`` stays as it is). A name without those characters is unchanged."""
    text = _CONTROL.sub(" ", str(value))
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(), text)
    return re.sub(r"[&<>]", lambda m: _MD_ENTITY[m.group()], text)


_MD_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])|&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|\w{1,32});")


def md_plain(cell: str) -> str:
    """A Markdown table cell read back as plain text: backslash escapes and entities resolved
    (the inverse of :func:`md_text`); the caller escapes the result for where it goes."""
    return _MD_UNESCAPE.sub(lambda m: m.group(1) or html.unescape(m.group()), cell)


def md_code(value: Any) -> str:
    """``value`` as a Markdown code span (shown literally, in code font): fenced with more
    backticks than the longest run inside it; line breaks become spaces. Not inside a table cell
    (a ``|`` still ends the cell there): use :func:`md_text`."""
    text = _CONTROL.sub(" ", str(value))
    runs = re.findall(r"`+", text)
    fence = "`" * (max(map(len, runs), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE = re.compile(r"\\[!-/:-@\[-`{-~]|`+|[<$]")


def _guard_line(line: str) -> str:
    out, i = [], 0
    for m in _INLINE.finditer(line):
        if m.start() < i:  # inside a code span already copied
            continue
        token = m.group()
        out.append(line[i : m.start()])
        i = m.end()
        if token.startswith("`"):  # a code span: copied as it is up to its closing run
            close = re.compile(rf"(?<!`){token}(?!`)").search(line, i)
            if close is not None:
                out.append(line[m.start() : close.end()])
                i = close.end()
                continue
            out.append(token)
        elif token == "<":
            out.append("&lt;")
        elif token == "$":
            out.append("\\$")
        else:
            out.append(token)  # an escaped character stays escaped
    out.append(line[i:])
    return "".join(out)


def markdown_guard(text: str) -> str:
    """Markdown that others assembled (trusted words around values that may not have been
    escaped) made inert: outside code spans and fenced code, every ``<`` becomes ``&lt;`` (no raw
    HTML, no autolink) and every unescaped ``$`` is escaped (no math). Links need nothing:
    MyST and GitHub refuse ``javascript:`` URLs. Text whose values went through :func:`md_text`
    is unchanged, as is the guard's own output."""
    lines, fence = [], ""
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            lines.append(line)
        elif opened:
            fence = opened.group(1)
            lines.append(line)
        else:
            lines.append(_guard_line(line))
    return "\n".join(lines)


def mathtext(value: Any) -> str:
    """``value`` drawn literally by a matplotlib text that parses mathtext: every ``$`` escaped
    (matplotlib then shows the text as it is, backslashes included)."""
    return str(value).replace("$", r"\$")
