"""Results tables: one row per metrics.json, mean ± std over seeds, synthetic flag kept, paper rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mner_lib.reporting import paired, results


def metrics(
    model="hsn", seed=0, f1=70.0, condition="blank", synthetic=False, dataset="twitter2015"
):
    per_type = {
        t: {"f1": f1 + k, "precision": 0, "recall": 0}
        for k, t in enumerate(("PER", "LOC", "ORG", "MISC"))
    }
    return {
        "model": model,
        "dataset": dataset,
        "condition": condition,
        "synthetic": synthetic,
        "backbone": "efficientnet-lite0" if condition != "none" else None,
        "text_encoder": None,
        "seed": seed,
        "max_train": None,
        "test": {"precision": f1, "recall": f1, "f1": f1, "per_type": per_type},
        "dev": {"f1": f1 - 1},
        "environment": {"device": "cpu", "cpu_count": 2, "python": "3.11", "torch": "2"},
        "train_tweets_per_second": 100.0 + seed,
        "inference_tweets_per_second": 300.0,
        "config": {"model_options": {}},
        "model_config": {},  # runs record their whole model config (legacy runs lack it)
    }


def write(root, name, m):
    path = root / name / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(m))
    return path


def test_load_runs_one_row_per_file(tmp_path):
    write(tmp_path, "a/seed0", metrics(seed=0, f1=70.0))
    write(tmp_path, "a/seed1", metrics(seed=1, f1=72.0))
    (tmp_path / "notes.json").write_text("{}")
    write(tmp_path, "hashtags", {"segmenter": "wordsegment", "boundary_f1": 0.9})
    runs = results.load_runs(tmp_path, relative_to=tmp_path)
    assert len(runs) == 2
    assert runs.attrs["skipped"] == ["hashtags/metrics.json"]
    with pytest.raises(ValueError, match="hashtags/metrics.json: metrics.json has no 'model'"):
        results.load_runs(tmp_path, relative_to=tmp_path, strict=True)
    assert sorted(runs["source"]) == ["a/seed0/metrics.json", "a/seed1/metrics.json"]
    assert list(runs["f1_PER"]) == [70.0, 72.0]
    assert runs["backbone"].iloc[0] == "efficientnet-lite0"


def test_aggregate_mean_std_over_seeds_and_keeps_synthetic(tmp_path):
    for seed, f1 in enumerate((70.0, 72.0, 74.0)):
        write(tmp_path, f"real/seed{seed}", metrics(seed=seed, f1=f1))
    for seed, f1 in enumerate((80.0, 90.0)):
        write(
            tmp_path,
            f"syn/seed{seed}",
            metrics(seed=seed, f1=f1, condition="synthetic", synthetic=True),
        )
    table = results.aggregate(results.load_runs(tmp_path))
    assert len(table) == 2
    blank = table[table["condition"] == "blank"].iloc[0]
    assert blank["f1_mean"] == pytest.approx(72.0)
    assert blank["f1_std"] == pytest.approx(2.0)  # sample std of 70, 72, 74
    assert blank["n_seeds"] == 3 and blank["seeds"] == "0,1,2"
    assert not bool(blank["synthetic"])
    syn = table[table["condition"] == "synthetic"].iloc[0]
    assert bool(syn["synthetic"])
    assert syn["f1_std"] == pytest.approx(math.sqrt(50.0))
    assert syn["f1_MISC_mean"] == pytest.approx(88.0)
    assert len(syn["sources"].split("; ")) == 2


def test_single_seed_has_zero_std_and_plain_label():
    frame = results.runs_frame([results.run_row(metrics(), "x/metrics.json")])
    row = results.aggregate(frame).iloc[0]
    assert row["f1_std"] == 0.0 and row["n_seeds"] == 1
    assert results.mean_std(row["f1_mean"], row["f1_std"], row["n_seeds"]) == "70.00 (n=1)"
    assert results.mean_std(72.0, 2.0, 3) == "72.00 ± 2.00 (n=3)"


def test_run_row_names_file_when_fields_missing():
    with pytest.raises(ValueError, match="bad/metrics.json: metrics.json has no 'test'"):
        results.run_row({"model": "hsn", "dataset": "demo"}, "bad/metrics.json")


def test_invalid_json_names_file_and_line(tmp_path):
    path = tmp_path / "r" / "metrics.json"
    path.parent.mkdir()
    path.write_text('{"model": \n nope}')
    with pytest.raises(ValueError, match=r"metrics.json:2: not valid JSON"):
        results.load_runs(tmp_path)


def test_paper_rows_name_paper_and_table():
    papers = results.paper_table()
    assert papers["paper"].notna().all() and papers["table"].str.startswith("Table").all()
    gmf = papers[(papers["model"] == "gmf") & (papers["variant"] == "full")].set_index("dataset")[
        "f1"
    ]
    assert gmf["twitter2015"] == 75.81 and gmf["twitter2017"] == 87.11
    hsn = papers[(papers["model"] == "hsn")].set_index("variant")["f1"]
    assert hsn["full"] == 74.18 and hsn["w/o VF"] == 72.11
    assert papers[papers["model"] == "trimod"]["f1"].item() == 80.00


def test_compare_gives_no_paper_number_to_synthetic_rows():
    rows = [results.run_row(metrics(seed=s, model="gmf"), f"g{s}") for s in (0, 1)]
    rows.append(results.run_row(metrics(model="gmf", condition="synthetic", synthetic=True), "s"))
    merged = results.compare(results.aggregate(results.runs_frame(rows)))
    real = merged[~merged["synthetic"]].iloc[0]
    syn = merged[merged["synthetic"]].iloc[0]
    assert real["paper_f1"] == 75.81 and real["paper_table"] == "Table 2"
    assert syn["paper_f1"] is None and "synthetic" in syn["note"]


def test_robustness_pivots_conditions_and_marks_synthetic():
    rows = [
        results.run_row(metrics(condition=c, synthetic=c == "synthetic"), c)
        for c in ("blank", "synthetic")
    ]
    rows.append(results.run_row(metrics(model="bilstm-crf", condition="none"), "text"))
    table = results.robustness(results.aggregate(results.runs_frame(rows)))
    assert list(table.columns) == ["blank", "synthetic"]
    assert table.iloc[0]["synthetic"].endswith("[synthetic]")
    assert "[synthetic]" not in table.iloc[0]["blank"]


def test_runs_with_other_training_settings_are_not_averaged_together(tmp_path):
    """Same model, data and caps but another optimiser or learning rate: two settings, not one."""

    def trained(f1, optimizer, lr, accum):
        m = metrics(seed=0, f1=f1, model="trimod")
        m["config"] = {
            "model_options": {},
            "optimizer": optimizer,
            "lr": lr,
            "batch_size": 10,
            "grad_accum": accum,
            "epochs": 4,
        }
        return m

    sgd, adam = trained(0.0, "sgd", 0.005, 9), trained(40.0, "adam", 0.001, 1)
    write(tmp_path, "paper/seed0", sgd)
    write(tmp_path, "adam/seed0", adam)
    table = results.aggregate(results.load_runs(tmp_path)).set_index("training")
    assert len(table) == 2
    assert table.loc["sgd lr=0.005, batch 10 x9 accumulation, 4 epochs", "f1_mean"] == 0.0
    assert table.loc["adam lr=0.001, batch 10, 4 epochs", "f1_mean"] == 40.0


def test_the_training_name_says_what_else_changed_batches_or_updates():
    sgd = {"optimizer": "sgd", "lr": 0.015, "batch_size": 10, "epochs": 30, "momentum": 0.9}
    assert results.training_name(sgd) == "sgd lr=0.015, batch 10, 30 epochs"  # defaults unsaid
    assert results.training_name({**sgd, "momentum": 0.0}) == (
        "sgd lr=0.015 momentum 0, batch 10, 30 epochs"
    )
    bucketed = {**sgd, "length_buckets": 20}
    assert results.training_name(bucketed).endswith("30 epochs, length buckets of 20 batches")
    assert results.training_name({**sgd, "optimizer": "adam", "momentum": 0.0}) == (
        "adam lr=0.015, batch 10, 30 epochs"  # momentum is SGD's
    )


@pytest.mark.parametrize(
    ("model", "options", "variant", "paper_f1"),
    [
        ("hsn", {"interaction": "concat"}, "w/o MI (interaction=concat)", 73.02),
        ("hsn", {"heads": 1}, "w/o MP (heads=1)", 73.71),
        ("gmf", {"use_cm": False}, "w/o CM (use_cm=False)", 74.94),
        (
            "gmf",
            {"use_vcg": False, "use_csa": False, "use_cm": False},
            "w/o all (use_cm=False,use_csa=False,use_vcg=False)",
            74.63,
        ),
        ("trimod", {"use_hashtag": False}, "w/o hashtags (use_hashtag=False)", None),
        ("hsn", {"hidden": 7}, "hidden=7", None),
    ],
)
def test_ablations_carry_the_papers_names_and_meet_their_rows(
    tmp_path, model, options, variant, paper_f1
):
    m = metrics(model=model, condition="real")
    m["config"] = {"model_options": {**options, "backbone": "efficientnet-lite0"}}
    write(tmp_path, "run/seed0", m)
    row = results.compare(results.aggregate(results.load_runs(tmp_path))).iloc[0]
    assert row["variant"] == variant  # the backbone is an input, not a variant
    if paper_f1 is None:
        assert row["paper_f1"] is None
    else:
        assert row["paper_f1"] == pytest.approx(paper_f1)
        assert row["paper_variant"] == variant.split(" (")[0]


def test_runs_from_before_a_default_changed_are_named_by_what_they_ran(tmp_path):
    """HSN's gate became per token and its OOV rows Gaussian: runs recorded before (no
    model_config in their metrics) ran the per-dimension gate and uniform rows, and say so;
    they meet the paper's row of their variant but never average with runs of the new default."""
    old_full, new_full = metrics(seed=0, f1=60.0), metrics(seed=0, f1=70.0)
    del old_full["model_config"]
    old_full["variant"] = "full"  # what a run stored before the default changed
    old_mp = metrics(seed=0, f1=50.0)
    del old_mp["model_config"]
    old_mp["config"] = {"model_options": {"heads": 1}}
    old_mi = metrics(seed=0, f1=40.0)
    del old_mi["model_config"]
    old_mi["config"] = {"model_options": {"interaction": "concat"}}
    for name, m in (("old", old_full), ("new", new_full), ("mp", old_mp), ("mi", old_mi)):
        write(tmp_path, f"{name}/seed0", m)
    table = results.compare(results.aggregate(results.load_runs(tmp_path))).set_index("variant")
    assert table.loc["full (gate=dimension,oov_init=uniform)", "f1_mean"] == 60.0
    assert table.loc["full", "f1_mean"] == 70.0
    mp = table.loc["w/o MP (gate=dimension,heads=1,oov_init=uniform)"]
    assert mp["f1_mean"] == 50.0 and mp["paper_variant"] == "w/o MP"
    # the gate plays no part without the integration: only the OOV rule is named
    assert table.loc["w/o MI (interaction=concat,oov_init=uniform)", "f1_mean"] == 40.0
    assert table.loc["full (gate=dimension,oov_init=uniform)", "paper_variant"] == "w/o VF"


def test_gmf_runs_from_before_alpha_was_tuned_say_alpha_0_5(tmp_path):
    old, old_wo_cm = metrics(model="gmf"), metrics(model="gmf", seed=1)
    del old["model_config"], old_wo_cm["model_config"]
    old_wo_cm["config"] = {"model_options": {"use_cm": False}}  # alpha plays no part there
    write(tmp_path, "a/seed0", old)
    write(tmp_path, "b/seed1", old_wo_cm)
    variants = set(results.aggregate(results.load_runs(tmp_path))["variant"])
    assert variants == {"full (alpha=0.5)", "w/o CM (use_cm=False)"}


def test_trimod_results_name_their_segmenter(tmp_path):
    old, other = metrics(model="trimod"), metrics(model="trimod", seed=1, f1=50.0)
    del old["model_config"]  # recorded before segmenters were named: the default one ran
    other["config"] = {"model_options": {"segmenter": "wordninja"}}
    write(tmp_path, "a/seed0", old)
    write(tmp_path, "b/seed1", other)
    hashtagless = metrics(model="trimod", seed=2)
    hashtagless["config"] = {"model_options": {"use_hashtag": False}}
    write(tmp_path, "c/seed2", hashtagless)
    variants = set(results.aggregate(results.load_runs(tmp_path))["variant"])
    assert variants == {
        "full (segmenter=wordsegment)",
        "full (segmenter=wordninja)",
        "w/o hashtags (use_hashtag=False)",  # no hashtags, no segmenter
    }


@pytest.mark.parametrize(
    ("dataset", "options", "variant", "paper_f1"),
    [
        ("twitter2017", {"temperature": 0.174}, "full", 87.11),  # the paper's setting there
        ("twitter2015", {"temperature": 0.174}, "temperature=0.174", None),  # not the paper's
        ("twitter2017", {"temperature": 0.21}, "temperature=0.21", None),
        ("twitter2017", {"temperature": 0.174, "use_cm": False}, "w/o CM (use_cm=False)", 86.33),
    ],
)
def test_the_papers_own_per_dataset_settings_are_not_a_variant(
    tmp_path, dataset, options, variant, paper_f1
):
    m = metrics(model="gmf", condition="real", dataset=dataset)
    m["config"] = {"model_options": options}
    write(tmp_path, "run/seed0", m)
    row = results.compare(results.aggregate(results.load_runs(tmp_path))).iloc[0]
    assert row["variant"] == variant
    assert row["paper_f1"] == (None if paper_f1 is None else pytest.approx(paper_f1))


def test_blank_images_meet_the_papers_without_visual_features_row(tmp_path):
    write(tmp_path, "hsn/seed0", metrics(model="hsn", condition="blank"))
    write(tmp_path, "gmf/seed0", metrics(model="gmf", condition="blank"))
    table = results.compare(results.aggregate(results.load_runs(tmp_path))).set_index("model")
    assert table.loc["hsn", "paper_variant"] == "w/o VF"
    assert table.loc["hsn", "paper_f1"] == pytest.approx(72.11)
    assert "w/o VF" in table.loc["hsn", "note"]
    # GMF reports no image-free row: its full row, with a note that the images differ
    assert table.loc["gmf", "paper_variant"] == "full"
    assert table.loc["gmf", "paper_f1"] == pytest.approx(75.81)
    assert table.loc["gmf", "note"] == "blank images here, real images in the paper"


def test_paired_gaps_subtract_blank_from_synthetic_seed_by_seed(tmp_path):
    for seed, (syn, blank) in enumerate(((60.0, 50.0), (52.0, 54.0), (70.0, 61.0))):
        write(
            tmp_path,
            f"syn/seed{seed}",
            metrics(seed=seed, f1=syn, condition="synthetic", synthetic=True),
        )
        write(tmp_path, f"blank/seed{seed}", metrics(seed=seed, f1=blank))
    write(tmp_path, "blank/seed9", metrics(seed=9, f1=99.0))  # no synthetic partner: left out
    gaps = paired.paired_gaps(results.load_runs(tmp_path))
    assert len(gaps) == 1
    row = gaps.iloc[0]
    assert row["n_pairs"] == 3 and row["seeds"] == "0,1,2"
    assert row["gap_mean"] == pytest.approx((10 - 2 + 9) / 3)
    assert row["gap_std"] == pytest.approx(float(np.std([10, -2, 9], ddof=1)))
    assert row["wins"] == 2
    assert paired.paired_gaps(results.load_runs(tmp_path / "nothing")).empty


def test_paired_stats_count_seeds_spread_and_strict_wins():
    import pandas as pd

    stats = paired.paired_stats(pd.Series([1.5, -0.5, 0.0, 2.0]))
    assert stats["n"] == 4 and stats["wins"] == 2  # a tie (0.0) is no win
    assert stats["mean"] == pytest.approx(0.75)
    assert stats["std"] == pytest.approx(float(np.std([1.5, -0.5, 0.0, 2.0], ddof=1)))
    one = paired.paired_stats(pd.Series([-0.3]))
    assert (one["n"], one["std"], one["wins"]) == (1, 0.0, 0)  # one seed measures no spread


def test_report_command_puts_conditions_side_by_side_with_paired_gaps(tmp_path, capsys):
    from mner_lib.commands import cli

    for seed, (syn, blank) in enumerate(((60.0, 50.0), (58.0, 54.0))):
        write(
            tmp_path,
            f"exp_a/hsn/syn/seed{seed}",
            metrics(seed=seed, f1=syn, condition="synthetic", synthetic=True),
        )
        write(tmp_path, f"exp_a/hsn/blank/seed{seed}", metrics(seed=seed, f1=blank))
    write(tmp_path, "exp_b/bert/seed0", metrics(model="bert-crf", condition="none", f1=64.0))
    out = tmp_path / "report.md"
    argv = ["report", "--root", str(tmp_path), "--experiments", "exp_*", "--out", str(out)]
    assert cli.main(argv) == 0
    text = out.read_text()
    assert "| hsn | full | twitter2015 |" in text
    assert "| 52.00 ± 2.83 (n=2) | 59.00 ± 1.41 (n=2) | 72.11 (w/o VF; Table 5) |" in text
    assert "| bert-crf | full | twitter2015 |" in text and "71.81 (full; Table 2)" in text
    assert "+7.00 ± 4.24 (n=2) | 2 of 2 |" in text
    assert "- 5 runs, seeds 0, 1;" in text
    with pytest.raises(SystemExit, match="no experiment folder under .* matches 'nope'"):
        cli.main(["report", "--root", str(tmp_path), "--experiments", "nope"])


def test_runs_from_a_dirty_tree_are_marked_in_tables(tmp_path):
    clean = metrics(seed=0, f1=70.0) | {"commit": "abc"}
    dirty = metrics(seed=1, f1=72.0) | {
        "commit": "abc+dirty",
        "provenance": {"commit": "abc", "dirty": True, "diff_sha256": "f" * 64},
    }
    write(tmp_path, "a/seed0", clean)
    write(tmp_path, "a/seed1", dirty)
    runs = results.load_runs(tmp_path)
    assert sorted(runs["dirty"]) == [False, True]
    table = results.with_text(results.compare(results.aggregate(runs)))
    assert table["test F1"].iloc[0].endswith("[1 run from a dirty tree]")
    write(tmp_path, "b/seed0", metrics(seed=0, f1=70.0, model="cwi") | {"commit": "abc"})
    table = results.with_text(results.compare(results.aggregate(results.load_runs(tmp_path / "b"))))
    assert "dirty" not in table["test F1"].iloc[0]


def test_report_pairs_caption_runs_with_text_and_shuffled_captions_and_shows_the_leak(
    tmp_path, capsys
):
    from mner_lib.commands import cli

    for seed, (text, cap, shuffled) in enumerate([(70.0, 73.0, 70.5), (71.0, 72.0, 71.5)]):
        for condition, f1 in (
            ("none", text),
            ("caption:blip2", cap),
            ("caption-shuffled:blip2", shuffled),
        ):
            m = metrics(
                model="bert-crf", seed=seed, f1=f1, condition=condition, dataset="twitter2017"
            )
            m["backbone"] = None if condition == "none" else "efficientnet-lite0"
            m["images"] = {"leak": {"share": 0.109}} if condition == "caption:blip2" else {}
            m |= {"commit": "abc", "wall_seconds": 1.0}
            write(tmp_path, f"exp_cap/{condition.replace(':', '-')}/seed{seed}", m)
    out = tmp_path / "report.md"
    assert (
        cli.main(["report", "--root", str(tmp_path), "--experiments", "exp_cap", "--out", str(out)])
        == 0
    )
    text = out.read_text()
    assert (
        "| real-image caption (blip2) |"
        in text.splitlines()[text.splitlines().index("## Test F1 per setting") + 2]
    )
    row = next(
        line for line in text.splitlines() if line.startswith("| bert-crf | full | twitter2017")
    )
    assert row.endswith("| 83.44 (full; Table 3) |")  # the text-only row meets the paper's
    caption_vs_text = next(
        line for line in text.splitlines() if "real-image caption (blip2) − text only" in line
    )
    assert (
        "+2.00 ± 1.41 (n=2)" in caption_vs_text
        and "2 of 2" in caption_vs_text
        and "10.9%" in caption_vs_text
    )
    caption_vs_shuffled = next(
        line for line in text.splitlines() if "− shuffled blip2 caption" in line
    )
    assert "+1.50 ± 1.41 (n=2)" in caption_vs_shuffled
    said = text[text.index("## What the numbers say") :]
    assert (
        "minus text only is +2.00 F1 over 2 seeds, won 2 of 2: a gain in both seeds, tentative "
        "at two." in said
    )
    assert "minus shuffled blip2 caption (control) is +1.50 F1" in said


def test_verdicts_need_every_seed_and_a_mean_above_the_spread():
    from mner_lib.reporting.report import verdict

    assert verdict(2.0, 1.0, 3, 3) == "a consistent gain"
    assert verdict(2.0, 3.0, 3, 3) == "within seed-to-seed variation"
    assert verdict(2.0, 1.0, 3, 2) == "within seed-to-seed variation"
    assert verdict(-2.0, 1.0, 3, 0) == "a consistent loss"
    assert verdict(5.0, 0.0, 1, 1) == "one seed: no verdict yet"  # one seed measures no spread
    # two seeds agree in sign half the time by chance: tentative, never "consistent"
    assert verdict(2.0, 1.0, 2, 2) == "a gain in both seeds, tentative at two"
    assert verdict(-2.0, 1.0, 2, 0) == "a loss in both seeds, tentative at two"


def test_caption_rows_meet_no_paper_row():
    rows = [
        results.run_row(metrics(model="bert-crf", condition=c, dataset="twitter2017"), c)
        for c in ("none", "caption:blip2")
    ]
    table = results.compare(results.aggregate(results.runs_frame(rows)))
    by_condition = dict(zip(table["condition"], table["paper_f1"]))
    assert by_condition["none"] == 83.44 and by_condition["caption:blip2"] is None
    assert "no paper row" in table[table["condition"] == "caption:blip2"]["note"].iloc[0]
    assert "efficientnet" not in results.label(table[table["condition"] == "caption:blip2"].iloc[0])


def test_a_caption_run_sits_and_pairs_with_the_blank_run_of_its_setting(tmp_path):
    """Caption runs record the command line's backbone though they read no pixels: HSN's caption
    run pairs with its blank run, BERT-CRF's with its text-only run, and an ambiguous setting
    (blank runs at two backbones) leaves the caption run to the text-only side."""
    for seed in (0, 1):
        write(tmp_path, f"hsn/blank/seed{seed}", metrics("hsn", seed, 70.0 + seed))
        write(tmp_path, f"hsn/cap/seed{seed}", metrics("hsn", seed, 72.0 + seed, "caption:blip2"))
        write(tmp_path, f"bert/none/seed{seed}", metrics("bert-crf", seed, 80.0, "none"))
        write(tmp_path, f"bert/cap/seed{seed}", metrics("bert-crf", seed, 81.0, "caption:blip2"))
    runs = paired.share_backbone(results.load_runs(tmp_path))
    hsn = runs[runs["model"] == "hsn"]
    assert set(hsn["backbone"]) == {"efficientnet-lite0"}  # one row, blank beside caption
    assert set(runs[runs["model"] == "bert-crf"]["backbone"]) == {"none"}
    hsn_gap = paired.paired_gaps(runs, "caption:blip2", "blank")
    assert list(hsn_gap["model"]) == ["hsn"] and hsn_gap["gap_mean"].iloc[0] == 2.0
    bert_gap = paired.paired_gaps(runs, "caption:blip2", "none")
    assert list(bert_gap["model"]) == ["bert-crf"] and bert_gap["n_pairs"].iloc[0] == 2
    other = metrics("hsn", 0, 60.0)
    other["backbone"] = "resnet50"
    write(tmp_path, "hsn/blank-resnet/seed0", other)
    runs = paired.share_backbone(results.load_runs(tmp_path))
    cap = runs[(runs["model"] == "hsn") & (runs["condition"] == "caption:blip2")]
    assert set(cap["backbone"]) == {"none"}  # which blank row it belongs to is not known


def test_results_readme_names_every_experiment_folder():
    """Every committed experiment folder is described (what it measured, the command that wrote
    it) by a row of results/README.md's table."""
    import fnmatch
    import re
    from pathlib import Path

    results = Path(__file__).resolve().parent.parent / "results"
    table = results.joinpath("README.md").read_text().split("## Experiments", 1)[1]
    patterns = [
        p.rstrip("/")
        for line in table.splitlines()
        if line.startswith("| `")
        for p in re.findall(r"`([^`]+/)`", line.split("|")[1])
    ]
    assert patterns
    not_experiments = {"book", "hashtags", "images_demo"}  # described in the README's prose
    folders = [p.name for p in results.iterdir() if p.is_dir() and p.name not in not_experiments]
    missing = [f for f in folders if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert not missing, f"results/README.md does not describe {missing}"
