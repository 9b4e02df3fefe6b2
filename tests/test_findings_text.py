"""The book's written findings against the results (issue 28): every {finding}, {claim} and
{value} role of a page resolves against the committed results, and a claim whose verdict the
results do not give fails, naming the sentence's key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from mner_lib.book import sphinx_findings as sf
from mner_lib.reporting.findings import Finding, Kind, Verdict

ROOT = Path(__file__).resolve().parents[1]
ROLE = re.compile(r"\{(finding|claim|value)\}`([^`\n]*)`")
PAGES = sorted([*ROOT.glob("book/*.md"), *ROOT.glob("notebooks/*.py")])


def _roles(path: Path) -> list[tuple[str, str]]:
    return ROLE.findall(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def committed():
    return sf.load(ROOT / "results")


def test_the_first_page_states_findings_with_claims_and_links():
    intro = (ROOT / "book/intro.md").read_text(encoding="utf-8")
    found = intro.split("## What this book found", 1)[1].split("\n## ", 1)[0]
    items = re.findall(r"^\d+\. \*\*.+?(?=^\d+\. |\Z)", found, flags=re.M | re.S)
    assert 5 <= len(items) <= 8
    for item in items:
        assert "{ref}`" in item, f"a finding without a link to its evidence: {item[:80]}"
        assert "{finding}`" in item or "{value}`" in item, f"a finding with no number: {item[:80]}"
    # every verdict the text states is claimed (checked at build time), apart from the last,
    # which says what is not measured
    assert all("{claim}`" in item for item in items[:-1])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_role_resolves_against_the_committed_results(page, committed):
    records, values = committed
    for role, text in _roles(page):
        if role == "finding":
            sf.finding_text(text, records)
        elif role == "claim":
            sf.claim_text(text, records)
        else:
            sf.value_text(text, values)


def test_the_intro_cites_at_least_one_record_of_each_kind_of_evidence():
    roles = _roles(ROOT / "book/intro.md")
    keys = {t.split("|")[-1] if r == "claim" else t.split("|")[0] for r, t in roles}
    assert any(k.startswith("synthetic/") for k in keys)  # the probe
    assert any(k.endswith("/paper") for k in keys)  # a gap against a paper
    assert any("caption-shuffled" in k for k in keys)  # the control


def _finding(verdict: Verdict, effect: float = 0.5, kind: Kind = Kind.CAPTION) -> Finding:
    return Finding(kind, "hsn", "twitter2015", "caption:blip2", "blank", effect, 0.1, 3, 3, verdict)


def test_a_claim_that_the_results_contradict_fails_naming_the_key():
    records = {"first/hsn/twitter2015/caption:blip2/blank": _finding(Verdict.NOISE)}
    with pytest.raises(sf.FindingError, match="claims 'gain'.*results say 'within noise'"):
        sf.claim_text("gain|first/hsn/twitter2015/caption:blip2/blank", records)
    shown = sf.claim_text("noise|first/hsn/twitter2015/caption:blip2/blank", records)
    assert shown == "within noise, higher in 3 of 3 seeds"
    # a loss counts the seeds that went down, never "0 of 3"
    loss = {"k": dataclasses.replace(_finding(Verdict.LOSS, -0.5), wins=0)}
    assert sf.claim_text("loss|k", loss) == "loss, lower in 3 of 3 seeds"
    one = {"k": dataclasses.replace(_finding(Verdict.ONE_SEED), n=1, wins=1)}
    assert sf.claim_text("one seed|k", one) == "one seed"


def test_paper_claims_speak_of_the_band_and_only_for_paper_findings():
    paper = {"k": _finding(Verdict.GAIN, 2.4, Kind.PAPER)}
    assert sf.claim_text("above|k", paper) == "3 seeds, above the paper"
    with pytest.raises(sf.FindingError, match="claims 'below'"):
        sf.claim_text("below|k", paper)
    with pytest.raises(sf.FindingError, match="unknown verdict 'above'"):
        sf.claim_text("above|k", {"k": _finding(Verdict.GAIN)})


def test_fields_and_unknown_keys():
    records = {"first/hsn/twitter2015/caption:blip2/blank": _finding(Verdict.GAIN, -0.456)}
    key = "first/hsn/twitter2015/caption:blip2/blank"
    assert sf.finding_text(key, records) == "-0.46"
    assert sf.finding_text(f"{key}|abs", records) == "0.46"
    assert sf.finding_text(f"{key}|wins", records) == "3 of 3"
    with pytest.raises(sf.FindingError, match="no field 'total'"):
        sf.finding_text(f"{key}|total", records)
    with pytest.raises(sf.FindingError, match="keys for first/hsn/twitter2015: " + re.escape(key)):
        sf.finding_text("first/hsn/twitter2015/caption:blip2/none", records)
    with pytest.raises(sf.FindingError, match="no value 'leak/x'"):
        sf.value_text("leak/x", {"leak/twitter2015": "7.9%"})


def test_a_gap_decomposition_claims_its_band():
    from mner_lib.reporting.gaps import GapDecomposition

    d = {"k": GapDecomposition("gmf", "twitter2015", "caption:blip2", 71.9, 3, 75.81, 71.81, 69.9)}
    assert sf.claim_text("below|k", d) == "3 seeds, below the paper"
    with pytest.raises(sf.FindingError, match="our row is below the paper's"):
        sf.claim_text("within|k", d)
    assert sf.finding_text("k", d) == "+3.91" and sf.finding_text("k|text_side", d) == "+1.91"
    assert (
        sf.finding_text("k|abs_total", d) == "3.91" and sf.finding_text("k|remainder", d) == "-2.00"
    )
    assert sf.claim_text("within|k", {"k": _finding(Verdict.NOISE, 0.5, Kind.PAPER)}) == (
        "3 seeds, within 2 F1 of the paper"
    )


def test_per_tweet_values_come_from_the_committed_counts(tmp_path):
    from mner_lib.reporting.records import per_tweet_values

    values = per_tweet_values(ROOT / "results")
    settings = {k.rsplit("/", 1)[0] for k in values}
    assert settings, "no counted pair in results/caption_per_tweet.json"
    for s in settings:
        net = int(values[f"{s}/caption-only"]) - int(values[f"{s}/control-only"])
        assert values[f"{s}/net"] == f"{net:+d}"
        assert int(values[f"{s}/net-named"]) + int(values[f"{s}/net-unnamed"]) == net
    assert per_tweet_values(tmp_path) == {}  # no counts file: no values, no error


def test_the_named_against_the_rest_words_follow_the_rates():
    from mner_lib.reporting.records import _rate_words

    assert _rate_words(14, 409, 51, 4798) == "more often than"  # 3.4% against 1.1%
    assert _rate_words(1, 409, 51, 4798) == "less often than"
    assert _rate_words(2, 100, 4, 200) == "as often as"
    assert _rate_words(3, 0, 4, 200) == "as often as"
