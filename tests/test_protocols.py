"""The superseded protocols of the reproducibility appendix (mner_lib.book.protocols): every
experiment folder under results/ is a campaign folder or belongs to exactly one protocol, no
campaign folder reaches the appendix, every protocol says why it was superseded, and a
stranger's folder name is shown as text."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mner_lib.book import protocols
from mner_lib.book.protocols import PROTOCOLS, UNCLASSIFIED, Protocol
from mner_lib.experiments.campaign import PLAN

RESULTS = Path(__file__).resolve().parents[1] / "results"
HOSTILE = "<img src=x onerror=alert(1)>"
#: the campaign's folders, read from its plan here (not from the module under test)
CAMPAIGN = {
    r.experiment for r in PLAN if "--max-train" not in r.args and "--max-eval" not in r.args
}


def write_run(root: Path, experiment: str, f1: float, seed: int = 0, max_train: int = 1000) -> None:
    """A finished HSN run on Twitter-2015 with blank images, test F1 ``f1``."""
    folder = root / experiment / "hsn" / "twitter2015" / "blank" / f"seed{seed}"
    folder.mkdir(parents=True)
    metrics = {
        "model": "hsn",
        "dataset": "twitter2015",
        "condition": "blank",
        "synthetic": False,
        "backbone": "efficientnet-lite0",
        "seed": seed,
        "max_train": max_train,
        "max_eval": 500 if max_train else 0,
        "test": {"f1": f1, "per_type": {"PER": {"f1": f1}}},
        "dev": {"f1": f1},
        "commit": "abc",
        "config": {"optimizer": "adam", "lr": 0.003, "batch_size": 16, "epochs": 3},
        "model_config": {},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))


# ----------------------------------------------------------------------------- the committed results
def test_every_results_folder_is_in_the_campaign_or_in_exactly_one_protocol():
    folders = protocols.experiment_folders(RESULTS)
    campaign = protocols.campaign_folders()
    assert "campaign" in folders and "budget" in folders  # the check below is not vacuous
    wrong = {}
    for folder in folders:
        named = [p.key for p in protocols.protocols_of(folder)]
        if (folder in campaign and named) or (folder not in campaign and len(named) != 1):
            wrong[folder] = named
    assert not wrong, (
        "classify these results/ folders in mner_lib/book/protocols.py (each in exactly one "
        f"protocol, or in the campaign's plan): {wrong}"
    )


def test_every_folder_a_protocol_names_exists_and_none_is_a_campaign_folder():
    present = set(protocols.experiment_folders(RESULTS))
    campaign = protocols.campaign_folders()
    named = [f for p in PROTOCOLS for f in p.folders]
    assert len(named) == len(set(named)), "a folder named by two protocols"
    assert not set(named) - present, "a protocol names a folder results/ does not have"
    assert not set(named) & campaign


def test_the_appendix_tables_hold_no_campaign_folder():
    campaign = CAMPAIGN
    tables = protocols.protocol_tables(RESULTS)
    assert {p.key for p, _, _ in tables} == {p.key for p in PROTOCOLS}  # no unclassified block
    for protocol, folders, table in tables:
        assert not set(folders) & campaign, protocol.key
        if protocol.superseded:
            assert not table.empty, protocol.key
        cells = " ".join(str(v) for v in table.to_numpy().ravel())
        assert "replication campaign" not in cells and "baseline ablation" not in cells
    html = protocols.superseded_html(RESULTS)
    assert "<b>replication campaign</b>" not in html  # the protocol cell of a campaign row
    assert "results/campaign/" not in html and "results/converged/" not in html
    assert "results/budget/" in html and "results/probe_gmf_alpha0.3/" in html


def test_the_campaigns_capped_probes_are_a_protocol_not_campaign_folders():
    campaign = protocols.campaign_folders()
    assert campaign == CAMPAIGN
    assert {"campaign", "captions_bert", "converged", "campaign_gmf_wo-CM"} <= campaign
    assert not {f for f in campaign if f.startswith("probe_")}
    assert protocols.protocols_of("probe_gmf_alpha0.3")[0].key == "gmf-probes"


# ----------------------------------------------------------------------------- the protocols as data
def test_each_protocol_says_what_it_measured_and_why_it_was_superseded():
    keys = [p.key for p in PROTOCOLS]
    assert len(keys) == len(set(keys))
    for p in (*PROTOCOLS, UNCLASSIFIED):
        assert p.name.strip() and p.measured.strip() and p.reason.strip(), p.key
        for text in (p.name, p.measured, p.reason, *p.evidence):
            assert "(s)" not in text, (p.key, text)
    assert all(p.folders and p.evidence for p in PROTOCOLS)


def test_a_folder_named_by_two_protocols_is_refused():
    a = Protocol("a", "A", ("x",), "measured", "reason")
    b = replace(a, key="b")
    with pytest.raises(ValueError, match="'x'.*a, b"):
        protocols.classify(["x"], (a, b), campaign=())


# ----------------------------------------------------------------------------- built from files
def test_campaign_runs_stay_out_and_an_unknown_folder_is_shown(tmp_path: Path):
    root = tmp_path / "results"
    write_run(root, "campaign", 71.23, max_train=0)
    write_run(root, "budget", 64.56)
    write_run(root, "brand_new", 55.55)
    (root / "empty_new").mkdir()
    tables = protocols.protocol_tables(root)
    keys = [p.key for p, _, _ in tables]
    assert keys == ["budget", UNCLASSIFIED.key]
    assert tables[-1][1] == ["brand_new", "empty_new"]
    html = protocols.superseded_html(root)
    assert "64.56" in html and "55.55" in html
    assert "71.23" not in html and "<b>replication campaign</b>" not in html
    assert "results/empty_new/" in html and UNCLASSIFIED.name in html


def test_a_hostile_experiment_name_is_escaped(tmp_path: Path):
    root = tmp_path / "results"
    write_run(root, HOSTILE, 50.0)
    html = protocols.superseded_html(root)
    assert HOSTILE not in html and "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    hostile = Protocol(
        "<b>k</b>", "<i>name</i>", (HOSTILE,), "<script>m</script>", "<u>r</u>", ("<s>e</s>",)
    )
    html = protocols.superseded_html(root, (hostile,), campaign=())
    for tag in ("<img", "<script", "<i>name", "<u>", "<s>", "<b>k"):
        assert tag not in html, tag
    assert "&lt;script&gt;m&lt;/script&gt;" in html and "&lt;u&gt;r&lt;/u&gt;" in html


def test_no_folder_outside_the_campaign_says_so(tmp_path: Path):
    root = tmp_path / "results"
    write_run(root, "campaign", 70.0, max_train=0)
    assert protocols.protocol_tables(root) == []
    assert "No experiment folder outside the replication campaign" in protocols.superseded_html(
        root
    )
