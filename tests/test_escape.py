"""mner_lib.io.escape: a stranger's string, escaped for HTML, Markdown or a figure, shows as itself
and runs nothing. Markdown is rendered as the book renders it (MyST's markdown-it, raw HTML on,
dollarmath and amsmath on); what comes out is read back with the site check's own parser."""

from __future__ import annotations

import io

import pytest

from mner_lib.io.escape import (
    Markup,
    html_cell,
    html_text,
    markdown_guard,
    mathtext,
    md_code,
    md_plain,
    md_text,
)
from tests.browser import html_tables
from tests.markup import active, read, render

HOSTILE = [
    "<img src=x onerror=alert(document.domain)>",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "[x](https://example.com) [y][z] [^1]",
    "<javascript:alert(1)>",
    "| pipe | in | cells |",
    r"blank $\undefinedmacro$",
    r"$$\undefinedmacro$$ and \(x\)",
    "`code` ``two`` {role}`x`",
    "*em* **strong** _em_ __strong__ ~~gone~~",
    r"back\slash \\ and \* escaped",
    "&lt;b&gt; &amp; &#60;script&#62;",
    "_leading and trailing_",
    "a line\nbreak\rand\ttab",
]
ORDINARY = [
    "bert-crf",
    "w/o VF",
    "full (gate=dimension,oov_init=uniform)",
    "cuda (NVIDIA H100 80GB HBM3), 16 CPUs",
    "caption:blip2",
    "adam lr=0.003, batch 16, 5 epochs",
    "60.47 ± 2.17 (n=3) [3 runs from a dirty tree]",
]


def flat(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\t", " ").replace("\n", " ").split(" "))


@pytest.mark.parametrize("value", HOSTILE)
def test_md_text_renders_as_the_literal_value_and_nothing_else(value):
    html = render(f"Device: {md_text(value)}.")
    parsed = read(html)
    assert parsed.tags == ["p"], html  # no link, image, code, emphasis, math or raw HTML
    assert parsed.text.strip() == f"Device: {flat(value)}."
    assert active(html) == []


@pytest.mark.parametrize("value", HOSTILE)
def test_md_text_in_a_table_cell_stays_in_its_cell(value):
    from mner_lib.reporting.report import table_row

    html = render("\n".join([table_row(["model", "device"]), "|---|---|", table_row(["m", value])]))
    assert set(read(html).tags) == {"table", "thead", "tbody", "tr", "th", "td"}, html
    assert html_tables(html) == [[{"model": "m", "device": " ".join(flat(value).split())}]]
    assert active(html) == []


@pytest.mark.parametrize("value", HOSTILE + ORDINARY)
def test_md_plain_reads_a_cell_back(value):
    assert md_plain(md_text(value)) == flat(value)


@pytest.mark.parametrize("value", ORDINARY)
def test_an_ordinary_name_is_left_as_it_is(value):
    assert md_text(value) == value  # the reports of ordinary runs do not change
    assert markdown_guard(value) == value


@pytest.mark.parametrize("value", ["a `tick` inside", "`starts", "ends`", "``", "<b>$x$</b>"])
def test_md_code_shows_the_value_in_code_font(value):
    html = render(f"Under {md_code(value)} here.")
    parsed = read(html)
    assert parsed.tags == ["p", "code"], html
    assert read(html.split("<code>")[1].split("</code>")[0]).text == value


def test_markdown_guard_defuses_html_and_math_outside_code_only():
    text = (
        "- Hardware: <img src=x onerror=alert(1)>, $\\undefinedmacro$ and "
        "`summary_<experiment>.md`\n\n```\n<kept>\n```\n"
    )
    guarded = markdown_guard(text)
    assert guarded == (
        "- Hardware: &lt;img src=x onerror=alert(1)>, \\$\\undefinedmacro\\$ and "
        "`summary_<experiment>.md`\n\n```\n<kept>\n```\n"
    )
    assert markdown_guard(guarded) == guarded  # idempotent
    html = render(guarded)
    assert active(html) == []
    assert "<img" not in html and 'class="math' not in html
    assert "<code>summary_&lt;experiment&gt;.md</code>" in html  # a code span is not touched
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_guard_leaves_escaped_values_as_they_are(value):
    escaped = f"- {md_text(value)}: {md_code(value)}"
    assert markdown_guard(escaped) == escaped


@pytest.mark.parametrize("value", HOSTILE)
def test_html_text_is_text_and_markup_stays_markup(value):
    assert active(f"<td title='{html_text(value)}'>{html_text(value)}</td>") == []
    assert read(html_text(value)).text == value
    assert html_cell(value) == html_text(value)
    assert html_cell(Markup("<b>1</b>")) == "<b>1</b>"
    assert isinstance(html_cell(Markup("<b>1</b>")), str)


@pytest.mark.parametrize("value", [v for v in HOSTILE if v.isprintable()])
def test_mathtext_draws_as_itself_in_a_figure_that_parses_mathtext(value):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    title = ax.set_title(mathtext(value))
    ax.set_xticks([0, 1], [mathtext(value), mathtext("$x$")])
    assert title.get_parse_math()  # the figure does parse mathtext
    FigureCanvasAgg(fig).draw()  # the raw title would fail here: Unknown symbol
    fig.savefig(io.BytesIO(), format="png")
    shown, is_math = title._preprocess_math(title.get_text())
    assert (shown, is_math) == (value, False)


def test_an_unescaped_mathtext_title_fails_where_the_escaped_one_draws():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    fig.subplots().set_title(r"blank $\undefinedmacro$")
    with pytest.raises(ValueError, match="undefinedmacro"):
        FigureCanvasAgg(fig).draw()  # what the escaping prevents (the test can fail)
