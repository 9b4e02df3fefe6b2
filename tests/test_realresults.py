"""The chapters' real-results tables, their training curves, the ours-vs-paper plot and the
generated conclusions (mner_lib.book.realresults, realplots, comparison; mner_lib.reporting.report)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from mner_lib.book import comparison, realplots, realresults, tables
from mner_lib.reporting.report import paper_lines


def write_run(root: Path, experiment: str, model: str, condition: str, seed: int, f1: float,
              dataset: str = "twitter2015", max_train: int = 2000, max_eval: int = 1000,
              options: dict | None = None, epochs: int = 3, dirty: bool = False,
              training: dict | None = None) -> Path:  # fmt: skip
    folder = root / experiment / model / dataset / condition.replace(":", "-") / f"seed{seed}"
    folder.mkdir(parents=True)
    metrics = {
        "model": model,
        "dataset": dataset,
        "condition": condition,
        "synthetic": condition == "synthetic",
        "backbone": "none" if model == "bert-crf" else "efficientnet-lite0",
        "seed": seed,
        "max_train": max_train,
        "max_eval": max_eval,
        "test": {"f1": f1, "per_type": {"PER": {"f1": f1 + 5}}},
        "dev": {"f1": f1 + 1},
        "commit": "abc" + ("+dirty" if dirty else ""),
        "config": {
            "model_options": options or {},
            "optimizer": "adam",
            "lr": 0.003,
            "batch_size": 16,
            "epochs": epochs,
            **(training or {}),
        },
        "model_config": {},  # a run of today's format (older ones are named by what they ran)
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    history = [
        {"epoch": e, "loss": 1.0 / e, "dev_f1": f1 - 10 + 3 * e} for e in range(1, epochs + 1)
    ]
    (folder / "history.jsonl").write_text("\n".join(json.dumps(h) for h in history) + "\n")
    return folder


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for seed, f1 in enumerate((60.0, 62.0)):
        write_run(root, "budget", "hsn", "blank", seed, f1, dirty=seed == 1)
        write_run(root, "budget", "hsn", "synthetic", seed, f1 + 3)
        write_run(
            root,
            "budget_hsn_wo-MI",
            "hsn",
            "blank",
            seed,
            f1 - 1,
            options={"interaction": "concat"},
        )
        write_run(root, "captions_bert", "bert-crf", "none", seed, 80.0 + seed, "twitter2017", 0, 0)
        write_run(
            root,
            "captions_bert",
            "bert-crf",
            "caption:blip2",
            seed,
            81.0 + seed,
            "twitter2017",
            0,
            0,
        )
    write_run(root, "multimodal_quick", "hsn", "blank", 0, 40.0, max_train=1000, max_eval=500)
    return root


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<td>(.*?)</td>", html, flags=re.S)]


def test_protocol_names_say_what_each_experiment_measured():
    assert realresults.protocol_name("budget_hsn_wo-MI", 2000, 1000) == "budget protocol"
    assert realresults.protocol_name("captions_bert", 0, 0) == "captions run"
    assert realresults.protocol_name("multimodal_quick", 1000, 500) == "quick (smoke)"
    assert realresults.protocol_name("baselines", 0, 0) == "full data"
    assert realresults.protocol_name("other", 100, 0) == "other"
    assert realresults.protocol_name("campaign", 0, 0) == "replication campaign"
    assert realresults.protocol_name("campaign_hsn_wo-MI", 0, 0) == "replication campaign"
    assert realresults.protocol_name("campaign_text_momentum0", 0, 0) == (
        "baseline ablation: momentum0"
    )


def test_a_baseline_ablation_never_shares_a_cell_with_the_baseline(tmp_path):
    root = tmp_path / "results"
    sgd = {"optimizer": "sgd", "lr": 0.015, "batch_size": 10, "momentum": 0.9}
    for seed in (0, 1):
        for exp, f1, momentum in (("campaign", 63.0, 0.9), ("campaign_text_momentum0", 55.0, 0.0)):
            training = {**sgd, "momentum": momentum}
            write_run(root, exp, "bilstm-crf", "none", seed, f1 + seed, max_train=0, max_eval=0,
                      epochs=30, training=training)  # fmt: skip
        write_run(root, "baselines", "bilstm-crf", "none", seed, 61.0, max_train=0, max_eval=0,
                  epochs=12, training=sgd)  # fmt: skip
    settings = realresults.recorded_settings(["bilstm-crf"], root)
    table = realresults.compact_table(settings, ["bilstm-crf"])
    assert len(table) == 3  # one row each, never two results in one cell
    first, second, third = (table.iloc[i]["protocol"] for i in range(3))
    assert "replication campaign" in first and "30 epochs" in first  # the best replication first
    assert "full data" in second and "12 epochs" in second
    assert "baseline ablation: momentum0" in third and "sgd lr=0.015 momentum 0," in third
    assert table.iloc[0]["text only or blank images"].startswith("<b>63.50</b>")


def test_compact_table_puts_conditions_side_by_side_beside_the_paper(results):
    settings = realresults.recorded_settings(["hsn"], results)
    table = realresults.compact_table(settings, ["hsn"])
    assert list(table.columns) == [
        "setting", "protocol", "paper", "text only or blank images", "SYNTHETIC images",
    ]  # fmt: skip
    assert len(table) == 2  # full and w/o MI of the budget protocol; the quick run left out
    full = table.iloc[0]
    assert full["setting"] == "<b>hsn</b><br>Twitter-2015"
    assert "72.11" in full["paper"] and "w/o VF" in full["paper"] and "Table 5" in full["paper"]
    assert full["text only or blank images"] == "<b>61.00</b> †<br><small>± 1.41, n=2</small>"
    assert full["SYNTHETIC images"] == "<b>64.00</b><br><small>± 1.41, n=2</small>"  # all clean
    assert (
        "budget protocol" in full["protocol"] and "2000 train / 1000 dev/test" in full["protocol"]
    )
    ablation = table.iloc[1]
    assert ablation["setting"].endswith("w/o MI<br><small>(interaction=concat)</small>")
    assert "73.02" in ablation["paper"]
    assert ablation["SYNTHETIC images"] == ""
    with_smoke = realresults.compact_table(settings, ["hsn"], smoke=True)
    assert len(with_smoke) == 3 and "quick (smoke)" in with_smoke.iloc[-1]["protocol"]


def test_caption_runs_get_their_own_column_and_meet_no_paper_row(results):
    settings = realresults.recorded_settings(["bert-crf"], results)
    table = realresults.compact_table(settings)
    assert list(table.columns)[-2:] == ["text only or blank images", "real-image caption"]
    row = table.iloc[0]
    assert "83.44" in row["paper"]  # the text-only run meets BERT-CRF's row of Table 3
    caption = settings[settings["condition"] == "caption:blip2"].iloc[0]
    assert pd.isna(caption["paper_f1"])
    assert (
        "<b>81.50</b>" in row["real-image caption"] and "caption:blip2" in row["real-image caption"]
    )


def test_html_tables_have_a_fixed_layout_that_fills_the_column_and_escape_text():
    from mner_lib.io.escape import Markup

    frame = pd.DataFrame(
        {"setting": ["<b>x</b>"], "a": [Markup("<b>1</b>")], "<th>": ["2"]}, dtype=object
    )
    html = tables.html_table(frame, {"setting": 50})
    widths = [float(w) for w in re.findall(r'<col style="width:([\d.]+)%">', html)]
    assert widths == [50.0, 25.0, 25.0]
    assert f'class="{tables.TABLE_CLASS}"' in html and "table-layout:fixed" in tables.STYLE
    # a cell is text unless it is Markup (HTML our code built); a heading is text; MathJax
    # leaves the table alone
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td><td><b>1</b></td>" in html
    assert "<th>&lt;th&gt;</th>" in html
    assert html.startswith('<div class="tex2jax_ignore mathjax_ignore"><table ')
    plain = tables.plain_table(pd.DataFrame({"v": ["<script>"], "f": [1.234]}))
    assert "&lt;script&gt;" in plain and "<td>1.23</td>" in plain


def test_csv_link_carries_the_whole_table(results):
    full = realresults.full_table(realresults.recorded_settings(None, results))
    link = tables.csv_link(full, "all.csv")
    data = re.search(r'href="data:text/csv;base64,([^"]+)"', link).group(1)
    back = pd.read_csv(__import__("io").StringIO(base64.b64decode(data).decode()))
    assert len(back) == len(full) and list(back.columns) == realresults.FULL_COLUMNS
    assert 'download="all.csv"' in link


def test_real_results_html_notes_synthetic_and_dirty_runs_and_says_when_empty(results, tmp_path):
    html = realresults.real_results_html(["hsn"], results)
    assert "SYNTHETIC images are the probe images" in html and "uncommitted changes" in html
    assert "Tian et al., Neurocomputing 2021" in html
    assert "No recorded runs of cwi" in realresults.real_results_html(["cwi"], results)
    assert "No recorded runs" in realresults.real_results_html(["hsn"], tmp_path / "none")
    # the cells built here are HTML (bold mean, small spread), not text showing their tags
    assert "<td><b>hsn</b><br>Twitter-2015" in html and "&lt;b&gt;" not in html
    robust = realresults.robustness_html(realresults.recorded_settings(["hsn"], results), ["blank"])
    assert "<b>hsn</b>" in robust and "&lt;b&gt;" not in robust


def test_recorded_runs_html_lists_every_setting_collapsed_with_the_csv(results):
    html = realresults.recorded_runs_html(["hsn"], results, name="hsn")
    assert html.count("<details") == 1 and "All 4 recorded settings (7 runs)" in html
    assert 'download="recorded_hsn.csv"' in html


def test_curves_read_each_runs_history_one_line_per_seed(results):
    settings = realresults.recorded_settings(["hsn"], results)
    settings = settings[settings["protocol"] != "quick (smoke)"]
    fig = realplots.recorded_curves(settings)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == len(settings) == 3
    for ax in axes:
        assert len(ax.lines) == 2  # two seeds
        assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    titles = " ".join(ax.get_title() for ax in axes)
    assert "SYNTHETIC images" in titles and "budget protocol" in titles and "w/o MI" in titles


def test_a_long_panel_title_wraps_within_its_panel(results):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    settings = realresults.recorded_settings(["hsn"], results)
    settings = settings[settings["protocol"] != "quick (smoke)"].copy()
    settings["protocol"] = "baseline ablation: momentum0 and a long name besides"
    fig = realplots.recorded_curves(settings)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    for ax in (ax for ax in fig.axes if ax.get_visible()):
        title, panel = ax.title.get_window_extent(renderer), ax.get_window_extent(renderer)
        lines = ax.get_title().splitlines()
        assert max(map(len, lines)) <= realplots.TITLE_CHARS
        assert "a long name besides" in " ".join(lines)
        # no wider than its panel and the gap to the next: it neither overlaps nor leaves the figure
        assert panel.x0 - 10 <= title.x0 and title.x1 <= panel.x1 + 10, ax.get_title()


def test_a_broken_history_line_is_an_error_naming_file_and_line(tmp_path):
    (tmp_path / "history.jsonl").write_text('{"epoch": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r"history.jsonl:2: not valid JSON"):
        realplots.read_history(tmp_path / "metrics.json")
    assert realplots.read_history(tmp_path / "x" / "metrics.json") == []


def test_paired_plot_has_one_panel_per_model_and_a_short_legend(results):
    settings = realresults.recorded_settings(None, results)
    fig = realplots.paired_plot(settings, ["bert-crf", "hsn"])
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["bert-crf", "hsn"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "paper (its table)" and "ours: SYNTHETIC images" in labels
    assert len(labels) <= 5
    hsn = panels[1]
    heights = sorted(round(p.get_height(), 2) for p in hsn.patches)
    assert heights == [61.0, 64.0, 72.11]  # ours blank, ours synthetic, the paper's w/o VF row
    assert sum(1 for p in hsn.patches if p.get_hatch()) == 1  # the synthetic bar
    with pytest.raises(ValueError, match="no recorded run"):
        realplots.paired_plot(settings[settings["model"] == "nothing"])


def test_headline_settings_prefer_more_seeds_then_more_data(results):
    write_run(results, "budget_more", "hsn", "blank", 0, 10.0, max_train=3000)
    picked = realplots.headline_settings(realresults.recorded_settings(["hsn"], results))
    assert set(picked["experiment"]) == {"budget"}  # two seeds beat one seed on more tweets


def test_headline_settings_prefer_full_data_with_a_spread_to_more_seeds_on_capped_data(tmp_path):
    for seed in (0, 1, 2):
        write_run(tmp_path, "budget", "hsn", "blank", seed, 60.0 + seed)  # capped: 2000 tweets
    write_run(tmp_path, "campaign", "hsn", "blank", 0, 70.0, max_train=0, max_eval=0, epochs=30)
    settings = realresults.recorded_settings(["hsn"], tmp_path)
    assert set(realplots.headline_settings(settings)["experiment"]) == {
        "budget"
    }  # one seed: no spread
    write_run(tmp_path, "campaign", "hsn", "blank", 1, 71.0, max_train=0, max_eval=0, epochs=30)
    settings = realresults.recorded_settings(["hsn"], tmp_path)
    assert set(realplots.headline_settings(settings)["experiment"]) == {"campaign"}


def test_a_baseline_ablation_never_takes_the_headline_from_the_campaign_baseline(tmp_path):
    """Adam instead of SGD keeps variant "full" (a training change) with as many seeds and as
    much data as the campaign's baseline: the panel still shows the baseline."""
    for experiment in ("campaign_text_adam", "campaign"):
        for seed in (0, 1, 2):
            write_run(tmp_path, experiment, "bilstm-crf", "none", seed, 60.0 + seed,
                      max_train=0, max_eval=0, epochs=30)  # fmt: skip
    picked = realplots.headline_settings(realresults.recorded_settings(["bilstm-crf"], tmp_path))
    assert set(picked["experiment"]) == {"campaign"}
    assert set(picked["protocol"]) == {"replication campaign"}


def test_a_full_model_under_a_named_deviation_is_still_the_headline(tmp_path):
    """Runs from before HSN's per-token gate read ``full (gate=dimension,...)``: still the full
    model's panel, never averaged with today's ``full`` runs (a separate candidate)."""
    for seed in (0, 1):
        folder = write_run(tmp_path, "budget", "hsn", "blank", seed, 60.0 + seed)
        metrics = json.loads((folder / "metrics.json").read_text())
        del metrics["model_config"]  # recorded before runs held their whole model config
        (folder / "metrics.json").write_text(json.dumps(metrics))
    write_run(tmp_path, "new", "hsn", "blank", 0, 70.0)
    picked = realplots.headline_settings(realresults.recorded_settings(["hsn"], tmp_path))
    assert set(picked["variant"]) == {"full (gate=dimension,oov_init=uniform)"}  # two seeds
    fig = realplots.paired_plot(realresults.recorded_settings(["hsn"], tmp_path))
    assert "gate=dimension" in fig.axes[0].get_title()


def test_paper_lines_are_generated_from_the_rows_that_meet_a_paper(results):
    settings = realresults.recorded_settings(None, results)
    lines = paper_lines(settings)
    assert lines[0].startswith("- With the full training and test sets: 1 setting meets")
    assert lines[1].startswith("- With a capped training or test set: 3 settings meet")
    assert "3 are below the paper's number" in lines[1]
    body = "\n".join(lines[2:])
    assert (
        "61.00 ± 1.41 over 2 seeds against the paper's 72.11 (w/o VF; Table 5): 11.11 F1 below"
        in body
    )
    assert "synthetic" not in body.lower() and "caption" not in body.split("(captions run")[0]
    assert len(lines) == 2 + 4  # hsn full, hsn w/o MI, hsn quick, bert-crf text only


def test_comparison_tables_fit_and_name_synthetic(results):
    assert 'download="paper_numbers.csv"' in comparison.papers_html()
    settings = realresults.recorded_settings(None, results)
    rob = realresults.robustness_html(settings, ["blank", "synthetic"])
    assert "synthetic (SYNTHETIC images)" in rob
    assert "No recorded run under" in realresults.robustness_html(settings, ["real"])
    rob = realresults.robustness_html(settings, ["blank", "caption:blip2", "real"])
    assert "real-image caption (blip2)" in rob and "caption:blip2" not in rob
    assert ">real<" not in rob  # never run: no column
    assert "SYNTHETIC images" in comparison.per_type_html(results)
    assert "train tweets/s" in comparison.speed_html(results)


def test_written_reports_carry_the_same_sentences_against_the_papers(results, tmp_path):
    from mner_lib.reporting.report import write_report

    out = write_report(results, ["budget", "budget_*"], tmp_path / "report.md")
    text = out.read_text()
    section = text.split("## Against the papers")[1].split("## The runs")[0]
    assert "- With a capped training or test set: 2 settings meet a paper row" in section
    assert "61.00 ± 1.41 over 2 seeds against the paper's 72.11 (w/o VF; Table 5)" in section
    assert "synthetic" not in section.lower()


def test_the_comparison_shows_every_setting_open_with_its_notes(results):
    html = realresults.recorded_runs_html(None, results, name="all", collapsed=False)
    assert "<details" not in html and "SYNTHETIC images are the probe images" in html
    # a caption column is text written from the photo, never pixels through the backbone
    assert "Image columns (blank, synthetic): pixels through efficientnet-lite0." in html
    assert "Caption columns read no pixels" in html
    pixels_only = realresults.recorded_runs_html(["hsn"], results, name="hsn", collapsed=False)
    assert "Caption columns" not in pixels_only
    assert html.count("<tr>") == 1 + 4  # header; hsn full, w/o MI, quick; bert-crf


def test_the_caption_note_follows_the_text_conditions_of_the_image_module():
    def notes(*conditions):
        settings = pd.DataFrame({
            "condition": list(conditions), "paper_source": [None] * len(conditions),
            "backbone": ["none"] * len(conditions), "synthetic": [False] * len(conditions),
            "dirty_runs": [0] * len(conditions),
        })  # fmt: skip
        return " ".join(realresults.notes(settings))

    for text in (
        "caption:blip2",
        "caption-shuffled:owl",
        "knowledge:pgim",
        "knowledge-shuffled:pgim",
    ):
        assert "Caption columns read no pixels" in notes("blank", text), text
    # a pixel condition whose name merely starts like a text one is not a caption
    assert "Caption columns" not in notes("blank", "captionless", "text")
