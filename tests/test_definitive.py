"""A model chapter's definitive table holds the campaign's full-data runs only; the comparison
chapter's verdict and gap tables come from the same records as the written findings (issue 28)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mner_lib.book import definitive, verdicts
from mner_lib.reporting.records import ROUNDS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
CAMPAIGN = {e for r in ROUNDS for e in r.experiments}
CHAPTER_MODELS = {
    "02_foundations": ["bilstm-crf", "hbilstm-crf", "bert-crf"],
    "03_cwi": ["cwi"],
    "04_hsn": ["hsn"],
    "05_trimod": ["trimod"],
    "06_gmf": ["gmf"],
}


@pytest.mark.parametrize("models", CHAPTER_MODELS.values(), ids=list(CHAPTER_MODELS))
def test_each_chapter_table_holds_campaign_rows_only(models):
    table = definitive.definitive_table(models, RESULTS)
    assert not table.empty
    experiments = {e for cell in table["experiments"] for e in cell.split(",")}
    assert experiments <= CAMPAIGN, experiments - CAMPAIGN
    assert set(table["round"]) <= {"first", "converged"}


def test_the_chapters_show_the_definitive_table_of_their_models():
    for stem, models in CHAPTER_MODELS.items():
        source = (ROOT / "notebooks" / f"{stem}.py").read_text(encoding="utf-8")
        assert f"show_definitive({models!r}" in source, stem
        assert "show_real_results(" not in source, stem


def _copy(experiment: str, model: str, dataset: str, dest: Path) -> None:
    shutil.copytree(RESULTS / experiment / model / dataset, dest / experiment / model / dataset)


def test_a_budget_run_beside_a_campaign_run_stays_out(tmp_path):
    _copy("campaign", "gmf", "twitter2015", tmp_path)
    _copy("budget_gmf_lr5e-5", "gmf", "twitter2015", tmp_path)
    _copy("probe_gmf_alpha0.5", "gmf", "twitter2017", tmp_path)  # capped: a probe
    table = definitive.definitive_table(["gmf"], tmp_path)
    assert list(table["experiments"]) == ["campaign"]
    assert list(table["n"]) == ["3"]
    html = definitive.definitive_html(["gmf"], tmp_path)
    assert html.count("<tr>") == 2  # the head and one row


def test_an_unfinished_round_says_how_many_seeds_it_has():
    table = definitive.definitive_table(["bert-crf"], RESULTS)
    converged = table[table["round"] == "converged"]
    assert not converged.empty
    assert all(re.fullmatch(r"[0-3](–[0-3])? of 3|3", n) for n in converged["n"])


def test_no_campaign_run_means_a_sentence_not_a_table(tmp_path):
    _copy("budget_gmf_lr5e-5", "gmf", "twitter2015", tmp_path)
    assert "No finished campaign run of gmf" in definitive.definitive_html(["gmf"], tmp_path)
    assert verdicts.verdict_frame(tmp_path / "nothing").empty


def test_the_verdict_table_is_the_records():
    frame = verdicts.verdict_frame(RESULTS)
    from mner_lib.reporting.records import book_records

    records = book_records(RESULTS)
    for _, row in frame.iterrows():
        f = records[row["key"]]
        assert row["verdict"] == f.verdict.value and row["effect"] == f.effect
    # every caption finding against its control appears
    against = [k for k, f in records.items() if getattr(f, "against_control", False)]
    assert set(against) <= set(frame["key"])


def test_the_gap_table_adds_up():
    frame = verdicts.gaps_frame(RESULTS)
    split = frame.dropna(subset=["text side"])
    assert not split.empty
    total = split["text side"] + split["paper's image gain"] + split["remainder"]
    assert (abs(total - split["paper − ours"]) < 1e-9).all()


def test_discussions_are_short():
    """At most 150 words, a role counted as the words it shows (a number, or a verdict)."""
    for stem in [*CHAPTER_MODELS, "07_comparison"]:
        source = (ROOT / "notebooks" / f"{stem}.py").read_text(encoding="utf-8")
        found = re.findall(r"# \*\*Discussion\.\*\*(.*?)(?=\n# %%|\Z)", source, flags=re.S)
        if stem == "07_comparison":
            found = re.findall(r"# ## Discussion\n(.*?)(?=\n# %%|\Z)", source, flags=re.S)
        assert len(found) == 1, stem
        text = re.sub(r"\{claim\}`[^`]*`", "gain, 3 of 3 seeds", found[0])
        text = re.sub(r"\{(finding|value)\}`[^`]*`", "0.00", text)
        words = len(re.sub(r"^# ?", "", text, flags=re.M).split())
        limit = 150 if stem != "07_comparison" else 250  # the comparison discusses all four
        assert words <= limit, (stem, words)


def test_the_note_names_only_the_text_conditions_the_table_shows():
    note = definitive.definitive_html(["hsn"], RESULTS).rsplit("<p", 1)[1]
    assert "BLIP-2" in note and "PGIM" not in note and "it meets no paper row" in note
    assert "neither" not in note
