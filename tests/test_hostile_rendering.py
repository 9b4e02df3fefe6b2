"""A stranger's results folder, data file or parameter reaches every rendering path escaped:
the written reports and the book's Markdown outputs render (as MyST renders them) to text with
no active HTML and no math; the book's HTML tables and cards hold no active HTML and are kept
from MathJax; every figure with such a string in its title, labels or ticks draws. Each path
gets an XSS string and a mathtext string (``$\\undefinedmacro$``: raw in a figure title it
fails the drawing, in Markdown it becomes math)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mner_lib.book import comparison, definitive, realplots, realresults, verdicts
from mner_lib.figures.figure import png_bytes
from mner_lib.io.escape import html_text
from tests.markup import active, read, render

XSS = "<img src=x onerror=alert(document.domain)>"
SCRIPT = "<script>alert(1)</script>"
LINK = "[x](javascript:alert(1))"
MATH = r"blank $\undefinedmacro$"


def metrics(seed: int, **changes) -> dict:
    m = {
        "model": "hsn",
        "dataset": "twitter2015",
        "condition": "blank",
        "synthetic": False,
        "backbone": f"effnet {SCRIPT}",
        "variant": f"full ({MATH})",
        "seed": seed,
        "commit": LINK,
        "test": {"precision": 70.0, "recall": 70.0, "f1": 70.0 + seed, "per_type": {}},
        "dev": {"f1": 69.0},
        "environment": {"device": XSS, "cpu_count": 2, "python": "3.11", "torch": SCRIPT},
        "train_tweets_per_second": 100.0,
        "inference_tweets_per_second": 300.0,
        "wall_seconds": 60.0,
        "epochs_run": 2,
        "best_epoch": 2,
        "config": {"model_options": {}, "optimizer": f"adam {XSS}", "lr": 0.001},
        "model_config": {},
    }
    m.update(changes)
    return m


@pytest.fixture(scope="module")
def results_root(tmp_path_factory) -> Path:
    """A results folder: the campaign's HSN under blank images and the caption (three seeds
    each, so there are paired gaps), and a run whose model and condition are hostile."""
    root = tmp_path_factory.mktemp("hostile") / "results"
    runs = [(c, s, {"condition": c}) for c in ("blank", "caption:blip2") for s in (0, 1, 2)]
    runs.append((f"{MATH} {XSS}", 0, {"model": XSS, "condition": f"{MATH} {XSS}"}))
    for condition, seed, change in runs:
        model = change.get("model", "hsn")
        folder = (
            root / "campaign" / "x" / f"{abs(hash((model, condition))) % 10**6}" / f"seed{seed}"
        )
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(metrics(seed, **change)))
        history = [{"epoch": e, "loss": 1.0 / e, "dev_f1": 50.0 + e} for e in (1, 2)]
        (folder / "history.jsonl").write_text("\n".join(map(json.dumps, history)) + "\n")
    return root


def assert_inert_markdown(text: str) -> str:
    """``text`` rendered as the book renders Markdown: no active HTML, no raw tag, no math."""
    html = render(text)
    assert active(html) == [], html
    tags = set(read(html).tags)
    assert tags <= {"p", "ul", "ol", "li", "h1", "h2", "h3", "h4", "strong", "em", "code",
                    "table", "thead", "tbody", "tr", "th", "td", "blockquote", "pre", "br"}, tags  # fmt: skip
    assert 'class="math' not in html
    return html


def assert_inert_html(html: str) -> None:
    assert active(html) == [], html
    assert "<img src=x" not in html and "<script>" not in html


# ----------------------------------------------------------------------------- Markdown reports
def test_the_experiments_report_renders_every_value_as_text(results_root, tmp_path):
    from mner_lib.reporting.report import write_report

    text = write_report(results_root, ["campaign"], tmp_path / "report.md").read_text()
    html = assert_inert_markdown(text)
    shown = read(html).text
    for value in (XSS, SCRIPT, MATH):  # (the commit, LINK, is cut to 10 characters)
        assert value in shown  # shown literally, in the table and the sentences
    assert "| " + XSS not in text  # a table cell holds the escaped value


def test_the_campaign_report_renders_every_value_as_text(results_root, tmp_path):
    from mner_lib.commands.cli import main

    out = tmp_path / "campaign.md"
    assert main(["report", "--root", str(results_root), "--out", str(out)]) == 0
    html = assert_inert_markdown(out.read_text())
    assert XSS in read(html).text  # the hardware line names the device as text


# ----------------------------------------------------------------------------- the book's Markdown
def test_the_comparison_chapter_shows_what_is_left_without_active_html(results_root):
    from IPython.display import HTML, Markdown

    shown: list = []
    comparison.show_pending(results_root, show=shown.append)
    markdown = [o.data for o in shown if isinstance(o, Markdown)]
    tables = [o.data for o in shown if isinstance(o, HTML)]
    assert markdown and tables
    for text in markdown:
        assert_inert_markdown(text)
    for html in tables:
        assert_inert_html(html)
        assert "mathjax_ignore" in html


def test_a_markdown_table_cell_reaches_the_page_as_its_text():
    from IPython.display import HTML

    value = f"{XSS} {LINK} {MATH} {SCRIPT}"
    from mner_lib.reporting.report import table_row

    shown: list = []
    comparison.show_markdown(
        "\n".join(["## T", "", table_row(["a", "b"]), "|---|---|", table_row([value, "x"])]),
        show=shown.append,
    )
    html = next(o.data for o in shown if isinstance(o, HTML))
    assert_inert_html(html)
    assert read(html).text.count(value) == 1  # one cell, the value as it is


def test_a_chapter_table_note_escapes_the_backbone(tmp_path):
    from IPython.display import Markdown

    from mner_lib.book.chapters import TABLE_COLUMNS, show_table

    row = {c: "x" for c in TABLE_COLUMNS} | {"backbone": f"{XSS} {MATH}", "synthetic": False}
    shown: list = []
    show_table(pd.DataFrame([row]), shown.append)
    notes = [o.data for o in shown if isinstance(o, Markdown)]
    assert notes and XSS in read(assert_inert_markdown(notes[0])).text


# ----------------------------------------------------------------------------- the book's HTML
def test_every_results_table_of_the_book_holds_no_active_html(results_root):
    settings = realresults.recorded_settings(None, results_root)
    pages = [
        realresults.real_results_html(None, results_root),
        realresults.recorded_runs_html(None, results_root, name=XSS),
        realresults.robustness_html(settings, ["blank", f"{MATH} {XSS}"]),
        realresults.robustness_html(settings, [XSS]),  # a sentence naming the parameter
        realresults.real_results_html([XSS], results_root / "none"),
        verdicts.verdict_html(results_root),
        verdicts.gaps_html(results_root),
        definitive.definitive_html(["hsn", XSS], results_root),
        definitive.changes_html(results_root),
        comparison.per_type_html(results_root),
        comparison.speed_html(results_root),
        comparison.build_runs_html(results_root),
        comparison.build_runs_html(f"{results_root}/{XSS}"),
    ]
    for html in pages:
        assert_inert_html(html)
    assert html_text(XSS) in pages[0] + pages[1]  # the values are there, as text
    assert "mathjax_ignore" in pages[0]


def test_caption_cards_and_the_explorer_escape_tokens_tags_and_captions(tmp_path):
    from mner_lib.book.caption_view import SampleCaptions, samples_html, tweet_captions_html
    from mner_lib.book.explorer import Example, example_html
    from mner_lib.text.data import Tweet

    tokens = [XSS, "Obama", MATH]
    tags = ["B-PER", f"B-{XSS}", "O"]
    tweet = Tweet("1", tokens, tags)
    image = tmp_path / "1.jpg"
    from PIL import Image

    Image.new("RGB", (4, 4)).save(image)
    pages = [
        tweet_captions_html([(tweet, f"{XSS} Obama {SCRIPT}")], source=XSS),
        samples_html([SampleCaptions("1", image, XSS, "test", tweet, {XSS: f"Obama {LINK}"})]),
        example_html(Example(XSS, tokens, tags, tags, caption=SCRIPT, caption_kind=XSS)),
    ]
    for html in pages:
        assert_inert_html(html)


# ----------------------------------------------------------------------------- figures
def draws(fig) -> str:
    """``fig`` drawn to PNG (what the book shows); every text drawn, joined."""
    assert png_bytes(fig, "caption", "alt").startswith(b"\x89PNG")
    from matplotlib.text import Text

    return " ".join(t.get_text() for t in fig.findobj(Text))


def test_the_recorded_results_figures_draw_hostile_names(results_root):
    settings = realresults.recorded_settings(None, results_root)
    curves = realplots.recorded_curves(settings)
    assert MATH in draws(curves)  # the panel title names the condition, as it is
    assert draws(realplots.paired_plot(settings))
