"""Findings as records (issue 25): verdicts are tested as verdicts, not through sentences."""

from __future__ import annotations

import pandas as pd
import pytest

from mner_lib.reporting.findings import (
    Band,
    Kind,
    Verdict,
    ablation_findings,
    agrees_with_paper,
    as_frame,
    band,
    caption_findings,
    judge,
    paper_findings,
)


@pytest.mark.parametrize(
    "mean, std, n, wins, expected",
    [
        (1.0, 0.2, 1, 1, Verdict.ONE_SEED),
        (1.0, 0.2, 2, 2, Verdict.TENTATIVE_GAIN),
        (-1.0, 0.2, 2, 0, Verdict.TENTATIVE_LOSS),
        (1.0, 0.2, 3, 3, Verdict.GAIN),
        (-1.0, 0.2, 3, 0, Verdict.LOSS),
        (0.1, 0.5, 3, 3, Verdict.NOISE),  # every seed agrees, but the mean is inside the spread
        (1.0, 0.2, 3, 2, Verdict.NOISE),  # a seed disagrees
        (-0.1, 0.5, 3, 0, Verdict.NOISE),
    ],
)
def test_the_verdict_rule(mean, std, n, wins, expected):
    assert judge(mean, std, n, wins) is expected


def test_every_verdict_has_its_words():
    assert {v.words for v in Verdict} >= {"a consistent gain", "within seed-to-seed variation"}
    assert len({v.words for v in Verdict}) == len(Verdict)


def _gaps() -> pd.DataFrame:
    return pd.DataFrame([
        {"model": "bert-crf", "dataset": "twitter2015", "condition": "caption:blip2",
         "baseline": "none", "n_pairs": 3, "gap_mean": 0.64, "gap_std": 0.23, "wins": 3,
         "seeds": "0,1,2"},
        {"model": "bert-crf", "dataset": "twitter2015", "condition": "caption:blip2",
         "baseline": "caption-shuffled:blip2", "n_pairs": 3, "gap_mean": -0.07, "gap_std": 0.96,
         "wins": 1, "seeds": "0,1,2"},
    ])  # fmt: skip


def test_caption_gaps_become_records_with_their_runs():
    runs = pd.DataFrame(
        [
            {"model": "bert-crf", "dataset": "twitter2015", "condition": c, "seed": s,
             "source": f"results/x/{c}/seed{s}"}
            for c in ("none", "caption:blip2", "caption-shuffled:blip2") for s in (0, 1, 2, 3)
        ]
    )  # fmt: skip
    gain, control = caption_findings(_gaps(), runs)
    assert (gain.kind, gain.verdict, gain.seeds) == (Kind.CAPTION, Verdict.GAIN, (0, 1, 2))
    assert not gain.against_control and control.against_control
    assert control.verdict is Verdict.NOISE
    assert len(gain.runs) == 6 and all("seed3" not in r for r in gain.runs)
    assert list(as_frame([gain, control])["verdict"]) == ["gain", "within noise"]


def test_a_row_against_its_paper_is_placed_in_the_band():
    base = pd.DataFrame([
        {"model": "bilstm-crf", "dataset": "twitter2017", "mean": 78.68, "std": 0.2, "n": 3,
         "paper": 76.31, "gap": 2.37},
        {"model": "hbilstm-crf", "dataset": "twitter2017", "mean": 79.0, "std": 0.2, "n": 3,
         "paper": 80.37, "gap": -1.37},
    ])  # fmt: skip
    above, inside = paper_findings(base)
    assert band(above.effect) is Band.ABOVE and above.verdict is Verdict.GAIN
    assert band(inside.effect) is Band.WITHIN and inside.verdict is Verdict.NOISE
    assert above.reference == 76.31


def test_an_ablation_is_compared_with_the_paper_only_when_ours_has_a_sign():
    ablations = pd.DataFrame([
        {"model": "hsn", "dataset": "twitter2015", "ablation": "w/o HA", "n": 3, "mean": -0.19,
         "std": 0.17, "wins": 0, "paper": 0.89},
        {"model": "hsn", "dataset": "twitter2015", "ablation": "w/o MI", "n": 3, "mean": 0.3,
         "std": 0.5, "wins": 2, "paper": 0.5},
        {"model": "gmf", "dataset": "twitter2017", "ablation": "w/o CM", "n": 3, "mean": 0.5,
         "std": 0.1, "wins": 3, "paper": None},
    ])  # fmt: skip
    ha, mi, cm = ablation_findings(ablations)
    assert ha.verdict is Verdict.LOSS and agrees_with_paper(ha) is False
    assert mi.verdict is Verdict.NOISE and agrees_with_paper(mi) is None
    assert cm.verdict is Verdict.GAIN and cm.reference is None and agrees_with_paper(cm) is None


def test_the_conclusion_prints_a_strangers_names_as_literal_markdown():
    """A model or dataset name from a stranger's metrics.json renders as text in the campaign
    report's sentences (issue 26): no HTML, emphasis or code span survives."""
    from mner_lib.reporting.words import conclusion

    gaps = _gaps().assign(model="<img src=x onerror=alert(1)>", dataset="*bold* `x`")
    text = "\n".join(conclusion(gaps, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()))
    assert "<img" not in text and "*bold*" not in text and "`x`" not in text
    assert "onerror" in text  # the value is still shown, as text
