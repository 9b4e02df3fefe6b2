"""The replication campaign: its plan resolves to valid runs, its queue resumes, its report."""

from __future__ import annotations

import json
import shlex

import pandas as pd
import pytest

from mner_lib.book.comparison import markdown_blocks
from mner_lib.commands.cli import build_parser, main
from mner_lib.experiments import campaign
from mner_lib.experiments import cost as campaign_cost
from mner_lib.models import get_spec
from mner_lib.reporting import campaign_report, optimisers
from mner_lib.reporting import words as campaign_words
from mner_lib.training.config import overrides_from_args, resolve_config


def _config(job: campaign.Job):
    argv = ["train", "--model", job.row.model, "--dataset", job.dataset, "--condition",
            job.condition, "--seed", str(job.seed), "--out", job.out, *job.row.args]  # fmt: skip
    args = build_parser().parse_args(argv)
    return resolve_config(job.row.model, **overrides_from_args(args))


def test_every_planned_run_is_a_valid_training_command_with_a_unique_folder():
    jobs = list(campaign.jobs())
    assert len({j.out for j in jobs}) == len(jobs)
    for job in jobs:
        cfg = _config(job)  # a typo in an option or a value out of range fails here
        assert (cfg.model, cfg.condition, cfg.seed) == (job.row.model, job.condition, job.seed)
        if job.row.kind == "ablation":  # the paper's name of the ablation it measures
            assert cfg.variant.startswith("w/o "), (job.out, cfg.variant)
        if job.row.kind in ("main", "ablation"):
            assert cfg.max_train is None and cfg.max_eval is None  # full data


def test_the_plan_covers_the_issues_table_with_three_seeds_on_both_datasets():
    cells = {(j.row.model, j.dataset, j.condition) for j in campaign.jobs() if j.row.kind == "main"}
    wanted = {
        "bilstm-crf": ["none"],
        "hbilstm-crf": ["none"],
        "bert-crf": ["none", campaign.CAPTION],
        "hsn": ["blank", campaign.CAPTION, campaign.SHUFFLED],
        "cwi": ["blank", campaign.CAPTION, campaign.SHUFFLED],
        "trimod": ["blank", campaign.CAPTION, campaign.SHUFFLED],
        "gmf": ["blank", campaign.CAPTION],
    }
    for model, conditions in wanted.items():
        for dataset in campaign.BOTH:
            for condition in conditions:
                assert (model, dataset, condition) in cells
    seeds = {j.seed for j in campaign.jobs() if j.row.kind == "main"}
    assert seeds == {0, 1, 2}
    hsn = {a.name for a in get_spec("hsn").ablations if a.options}
    planned = {_config(j).variant.split(" (")[0] for j in campaign.jobs() if j.row.model == "hsn"}
    assert hsn <= planned  # Table 5's model ablations (w/o VF is the blank row)
    # Table 4 under captions: w/o CM is run; the three the model refuses there are said, not run
    gmf = {a.name for a in get_spec("gmf").ablations if a.options}
    planned = {_config(j).variant.split(" (")[0] for j in campaign.jobs() if j.row.model == "gmf"}
    assert gmf & planned == {"w/o CM"}
    assert all(name in campaign.NOT_RUN[0] for name in gmf - planned), gmf - planned


def test_the_queue_lines_and_finished_runs(tmp_path, capsys):
    job = next(campaign.jobs())
    out, model, dataset, condition, seed, args = job.line().split("|")
    assert (model, dataset, condition, int(seed)) == (
        job.row.model,
        job.dataset,
        job.condition,
        job.seed,
    )
    # the row's arguments, then its length buckets (the first round's rows ran without)
    assert shlex.split(args) == [*job.row.args, "--length-buckets", "0"]
    assert not campaign.finished(job, tmp_path)
    (tmp_path / out).mkdir(parents=True)
    (tmp_path / out / "metrics.json").write_text("{}")
    assert campaign.finished(job, tmp_path)
    assert main(["campaign", "jobs"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == job.line()


def test_cost_of_a_run_from_recorded_speeds(tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"models": [
        {"model": "bilstm-crf", "train_tweets_per_second": 100.0, "inference_tweets_per_second": 1000.0}
    ]}))  # fmt: skip
    speeds = campaign.recorded_speeds(bench)
    job = next(
        j for j in campaign.jobs() if j.row.model == "bilstm-crf" and j.dataset == "twitter2015"
    )
    # 30 paper epochs x (4000 train / 100 + 1000 dev / 1000) + 3257 test / 1000, in hours
    assert campaign.job_hours(job, speeds) == pytest.approx((30 * 41 + 3.257) / 3600)
    assert (
        campaign.job_hours(next(j for j in campaign.jobs() if j.row.model == "hsn"), speeds) is None
    )


def test_what_is_left_is_also_priced_at_the_wall_time_finished_runs_took(tmp_path):
    from mner_lib.reporting import results

    plan = (campaign.Row("campaign", "hsn", campaign.BOTH, ("blank",), (0, 1, 2)),)
    root = tmp_path / "results"
    root.mkdir()

    def row(dataset, wall, max_train=0):  # 0: the whole training set (as run_row records it)
        return {"model": "hsn", "dataset": dataset, "wall_seconds": wall, "max_train": max_train}

    # Twitter-2015 has a finished run (30 min); a capped probe run (2 h) is not the full protocol
    runs = results.runs_frame([row("twitter2015", 1800.0), row("twitter2015", 7200.0, 1000)])
    lines = campaign_cost.pending_lines(root, runs, tmp_path / "none.json", plan)
    assert "| campaign | hsn | twitter2015 | 0 | 3 | unknown | 1.5 |" in lines  # 3 x 0.5 h
    # no finished run on Twitter-2017: the model's runs on the other dataset price it
    assert "| campaign | hsn | twitter2017 | 0 | 3 | unknown | 1.5 |" in lines
    assert "about 3.0 hours (two workers: about 1.5 h)." in lines[-1]
    # no finished run of the model at all: unknown, and no wall-time total is claimed
    lines = campaign_cost.pending_lines(root, results.runs_frame([]), tmp_path / "none.json", plan)
    assert "| campaign | hsn | twitter2015 | 0 | 3 | unknown | unknown |" in lines
    assert "At the median wall time" not in lines[-1]
    said = "6 runs have none (no finished run of their model and no benchmark file), so their"
    assert said in lines[-1]
    one = (campaign.Row("campaign", "hsn", ("twitter2015",), ("blank",), (0,)),)
    lines = campaign_cost.pending_lines(root, results.runs_frame([]), tmp_path / "none.json", one)
    said = "1 run has none (no finished run of its model and no benchmark file), so its cost"
    assert said in lines[-1]


def test_a_paused_run_does_not_move_the_price_of_what_is_left(tmp_path):
    """A run paused for a while (its wall time and tweets/s include the pause) is one of several:
    both prices are medians over runs, so it moves neither."""
    from mner_lib.reporting import results

    plan = (campaign.Row("campaign", "hsn", ("twitter2015",), ("blank",), (0, 1, 2, 3)),)
    root = tmp_path / "results"
    root.mkdir()
    runs = results.runs_frame([
        {"model": "hsn", "dataset": "twitter2015", "wall_seconds": wall, "max_train": 0,
         "train_tweets_per_second": rate, "inference_tweets_per_second": 1000.0}
        for wall, rate in ((1800.0, 100.0), (1800.0, 100.0), (1800.0 + 3600, 25.0))
    ])  # fmt: skip
    assert campaign.recorded_speeds(tmp_path / "none.json", runs)["hsn"] == (100.0, 1000.0)
    lines = campaign_cost.pending_lines(root, runs, tmp_path / "none.json", plan)
    # 4 x (30 x (4000 / 100 + 1000 / 1000) + 3.257) s at the median speed; 4 x 0.5 h at the median wall
    assert "| campaign | hsn | twitter2015 | 0 | 4 | 1.4 | 2.0 |" in lines


def _metrics(model, dataset, condition, seed, f1, options=None):
    return {
        "model": model, "dataset": dataset, "condition": condition, "seed": seed,
        "synthetic": False, "backbone": None, "test": {"f1": f1, "precision": f1, "recall": f1},
        "dev": {"f1": f1}, "config": {"model_options": options or {}, "optimizer": "sgd", "lr": 0.015,
        "batch_size": 10, "epochs": 30}, "model_config": {}, "commit": "abc", "wall_seconds": 60,
        "environment": {"device": "cpu", "cpu_count": 2}, "train_tweets_per_second": 100.0,
        "inference_tweets_per_second": 1000.0,
    }  # fmt: skip


def test_the_report_pairs_conditions_meets_papers_and_prices_what_is_left(tmp_path):
    plan = (
        campaign.Row("campaign", "bilstm-crf", ("twitter2015",), ("none",), (0, 1)),
        campaign.Row("campaign_text_adam", "bilstm-crf", ("twitter2015",), ("none",), (0, 1), kind="text-gap"),
        campaign.Row("campaign", "hsn", ("twitter2015",), ("blank", campaign.CAPTION), (0, 1)),
        campaign.Row("campaign_hsn_wo-MP", "hsn", ("twitter2015",), (campaign.CAPTION,), (0, 1),
                     ("--option", "heads=1"), kind="ablation"),
    )  # fmt: skip
    root = tmp_path / "results"
    runs = {
        ("campaign", "bilstm-crf", "none"): ([63.0, 64.0], {}),
        ("campaign_text_adam", "bilstm-crf", "none"): ([65.0, 65.5], {}),
        ("campaign", "hsn", "blank"): ([70.0, 71.0], {}),
        ("campaign", "hsn", campaign.CAPTION): ([72.0, 73.5], {}),
        ("campaign_hsn_wo-MP", "hsn", campaign.CAPTION): (
            [71.0],
            {"heads": 1},
        ),  # seed 1 unfinished
    }
    for (exp, model, condition), (f1s, options) in runs.items():
        for seed, f1 in enumerate(f1s):
            folder = (
                root / exp / model / "twitter2015" / condition.replace(":", "-") / f"seed{seed}"
            )
            folder.mkdir(parents=True)
            m = _metrics(model, "twitter2015", condition, seed, f1, options)
            if condition == campaign.CAPTION:  # what the caption runs record of the test set
                m["images"] = {"leak": {"share": 0.125}}
            (folder / "metrics.json").write_text(json.dumps(m))
    out = campaign_report.write_campaign_report(
        root, tmp_path / "r.md", tmp_path / "none.json", plan
    )
    text = out.read_text()
    assert "9 of 10 planned runs" in text
    assert "Not run, and why" not in text  # the reasons belong to the campaign's own plan
    assert (
        "| bilstm-crf | twitter2015 | 63.50 ± 0.71 (n=2) | 64.42 (Table 2) | -0.92 | yes |" in text
    )
    assert "| adam | bilstm-crf | twitter2015 | 65.25 | +1.75 ± 0.35 (n=2) | 2 of 2 |" in text
    # the change's name is spelled out as the arguments the plan adds to the baseline's command
    assert "Each change is the baseline's command plus: adam: `--optimizer adam --lr 1e-3" in text
    # a paper cell names row and table; the note under the table names the paper it quotes
    assert "Paper numbers quote, per model: bilstm-crf: GMF (visual clue guidance" in text
    assert "; hsn: Tian et al., Neurocomputing 2021, papers/hsn.txt." in text
    assert "real-image caption (blip2) − blank | +2.25 ± 0.35 | 2 of 2 |" in text
    assert "understanding): twitter2015: 12.5% of test entities." in text  # the caption leak
    assert (
        "- The largest gain of a caption over blank: hsn on twitter2015, +2.25 F1, a gain in "
        "both seeds, tentative at two; hsn has no shuffled-caption control in the plan" in text
    )
    # the paper's w/o MP costs 74.18 - 73.71 = 0.47; ours (seed 0 only): 72.0 - 71.0
    assert "| hsn | twitter2015 | w/o MP | +1.00 (n=1) | +0.47 |" in text  # one seed: no ±
    # one seed measures no spread: no sign is compared with the paper's
    assert (
        "- hsn w/o MP on twitter2015: the full model minus the ablation is +1.00 F1 in our runs "
        "(one seed: no verdict yet, full better in 1 of 1 seeds), +0.47 in the paper's; ours can "
        "tell no sign, so it neither confirms nor contradicts the paper's." in text
    )
    # within the band, no explanation is asked for
    assert "comes nearest the paper" not in text
    # the unfinished run, priced at the speed the finished runs recorded (hsn: 100 tweets/s)
    assert "| campaign_hsn_wo-MP | hsn | twitter2015 | 1 | 1 | 0.3 |" in text


def test_the_caption_gap_figure_pairs_each_seed_within_the_main_grid(tmp_path):
    from mner_lib.book.realplots import CAPTION_GAPS, campaign_gap_plot, campaign_gaps

    plan = (
        campaign.Row("captions_bert", "bert-crf", ("twitter2017",), ("none", campaign.CAPTION)),
        campaign.Row("campaign", "hsn", ("twitter2015",), ("blank", campaign.CAPTION, campaign.SHUFFLED)),
        campaign.Row("campaign_hsn_wo-MP", "hsn", ("twitter2015",), (campaign.CAPTION,), kind="ablation"),
    )  # fmt: skip
    root = tmp_path / "results"
    assert campaign_gaps(root, plan).empty and campaign_gap_plot(root, plan) is None
    runs = {
        ("captions_bert", "bert-crf", "twitter2017", "none"): [80.0, 81.0],
        ("captions_bert", "bert-crf", "twitter2017", campaign.CAPTION): [80.5, 80.0],
        ("campaign", "hsn", "twitter2015", "blank"): [70.0, 71.0],
        ("campaign", "hsn", "twitter2015", campaign.CAPTION): [72.0, 70.5, 69.0],  # seed 2: no pair
        ("campaign", "hsn", "twitter2015", campaign.SHUFFLED): [71.0],
        ("campaign_hsn_wo-MP", "hsn", "twitter2015", campaign.CAPTION): [60.0],  # not the main grid
    }
    for (exp, model, dataset, condition), f1s in runs.items():
        for seed, f1 in enumerate(f1s):
            folder = root / exp / model / dataset / condition.replace(":", "-") / f"seed{seed}"
            folder.mkdir(parents=True)
            m = _metrics(model, dataset, condition, seed, f1)
            (folder / "metrics.json").write_text(json.dumps(m))
    gaps = campaign_gaps(root, plan)
    got = {(r.model, r.baseline, r.seed): round(r.diff, 2) for r in gaps.itertuples()}
    assert got == {
        ("bert-crf", "none", 0): 0.5,  # no image input: the caption against text only
        ("bert-crf", "none", 1): -1.0,
        ("hsn", "blank", 0): 2.0,
        ("hsn", "blank", 1): -0.5,
        ("hsn", campaign.SHUFFLED, 0): 1.0,
    }
    fig = campaign_gap_plot(root, plan)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["Twitter-2015", "Twitter-2017"]
    dots = sum(len(c.get_offsets()) for ax in panels for c in ax.collections)
    assert dots == len(gaps) == 5  # one dot per paired seed
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [g[0] for g in CAPTION_GAPS]
    assert "not pixels" in fig.caption and "hsn on Twitter-2015: +1.00 F1 over 1 seed" in fig.alt


def test_report_command_without_experiments_writes_the_campaign_report(tmp_path):
    (tmp_path / "results").mkdir()
    out = tmp_path / "rep.md"
    assert main(["report", "--root", str(tmp_path / "results"), "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# The replication campaign") and "No run has finished yet." in text
    assert "## Not finished yet" in text
    # nothing has run and no benchmark file lies beside the results: the cost is not known,
    # and the report says so rather than "0.0 hours left"
    n = sum(1 for _ in campaign.jobs())
    assert f"{n} runs have none (no finished run of their model and no benchmark file)" in text
    # the issue's rows the plan leaves out are named with the reason (GMF w/o VCG... captions)
    assert "## Not run, and why\n\n- GMF w/o VCG, w/o CSA and w/o all (Table 4)" in text


def test_report_on_a_mistyped_results_folder_is_an_error(tmp_path, capsys):
    missing = tmp_path / "reslts"
    assert main(["report", "--root", str(missing), "--out", str(tmp_path / "r.md")]) == 2
    assert f"--root {missing}: no such results folder" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()


@pytest.mark.parametrize(
    "experiments", ["..", "../../etc", "/etc", "a/b", ".hidden", "**", "", ","]
)
def test_report_experiments_outside_the_results_folder_are_refused(tmp_path, experiments):
    results = tmp_path / "proj" / "results"
    (results / "budget").mkdir(parents=True)
    (tmp_path / "etc").mkdir()  # a folder outside the results root that '..' patterns reach
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as err:
        main(["report", "--root", str(results), "--experiments", experiments])
    message = str(err.value)
    assert message.startswith("report: ") and ("experiment" in message)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_report_file_is_named_after_the_first_pattern_without_glob_characters(tmp_path):
    results = tmp_path / "results"
    run = results / "budget_x" / "bilstm-crf" / "twitter2015" / "none" / "seed0"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(
        json.dumps(_metrics("bilstm-crf", "twitter2015", "none", 0, 60.0))
    )
    (run / "config.json").write_text(json.dumps({"model": "bilstm-crf"}))
    assert main(["report", "--root", str(results), "--experiments", "budget_[x]*"]) == 0
    assert [p.name for p in results.glob("report_*.md")] == ["report_budget_x.md"]


def test_the_queue_takes_one_seed_of_every_main_row_before_the_next_seed():
    baselines = ("bilstm-crf", "hbilstm-crf")  # their own stage, before the text-gap ablations
    main = [j for j in campaign.jobs() if j.row.kind == "main" and j.row.model not in baselines]
    # two main stages: the first round, then the converged BERT side (issue 27)
    stage = [j for j in main if j.row.experiment != "converged"]
    converged = [j for j in main if j.row.experiment == "converged"]
    assert main == stage + converged
    for jobs in (stage, converged):
        seeds = [j.seed for j in jobs]
        assert seeds == sorted(seeds), "a later seed is queued before an earlier one"
    assert {j.row.model for j in stage if j.seed == 0} == {
        "hsn",
        "cwi",
        "trimod",
        "bert-crf",
        "gmf",
    }
    # the paired conditions of a seed are next to each other in the queue
    hsn = [j for j in stage if j.row.model == "hsn" and j.seed == 0 and j.dataset == "twitter2015"]
    assert [j.condition for j in hsn] == ["blank", campaign.CAPTION, campaign.SHUFFLED]
    # stages keep plan order: the papers' ablations come after the first round's main grid, the
    # converged round (probe, papers' optimisers, grid) after them
    first = [j.row.kind for j in campaign.jobs() if j.row.experiment != "converged"]
    assert first.index("ablation") > max(i for i, k in enumerate(first) if k == "main")
    kinds = [j.row.kind for j in campaign.jobs()]
    last_ablation = max(i for i, k in enumerate(kinds) if k == "ablation")
    assert kinds.index("converge-probe") > last_ablation


def _plus(frame: pd.DataFrame, **row) -> pd.DataFrame:
    return pd.concat([frame, pd.DataFrame([row])], ignore_index=True)


def _said(base: pd.DataFrame, effects: pd.DataFrame) -> str:
    """The conclusion on the baselines alone (no gaps, no ablations)."""
    return "\n".join(campaign_words.conclusion(pd.DataFrame(), base, effects, pd.DataFrame()))


def test_a_baseline_outside_the_band_names_the_ablation_nearest_the_paper():
    base = pd.DataFrame([
        {"model": "bilstm-crf", "dataset": "twitter2017", "mean": 78.68, "std": 0.2, "n": 3,
         "paper": 76.31, "table": "Table 3", "gap": 78.68 - 76.31},
        {"model": "hbilstm-crf", "dataset": "twitter2017", "mean": 77.0, "std": 0.2, "n": 3,
         "paper": 80.37, "table": "Table 3", "gap": 77.0 - 80.37},
    ])  # fmt: skip
    effects = pd.DataFrame([
        {"change": "adam", "model": "bilstm-crf", "dataset": "twitter2017", "n": 2, "mean": -1.9,
         "std": 0.1, "wins": 0, "f1": 76.78},
        {"change": "momentum0", "model": "bilstm-crf", "dataset": "twitter2017", "n": 2,
         "mean": -8.0, "std": 0.1, "wins": 0, "f1": 70.68},
    ])  # fmt: skip
    text = _said(base, effects)
    assert (
        "'adam' comes nearest the paper: 76.78 (+0.47, n=2); that change alone brings it within 2 F1"
        in text
    )
    assert "hbilstm-crf on twitter2017 reaches 77.00 against the paper's 80.37 (3 seeds): -3.37, " \
        "outside 2 F1 (below the paper)." in text  # fmt: skip
    assert "No one-change ablation has been measured on this row yet." in text
    # above its paper, any handicap can close the gap: every change that does is named, and so is
    # the caveat
    assert "The row is above its paper, so any change that costs F1 can close the gap" in text
    more = _plus(effects, change="hidden200", model="bilstm-crf", dataset="twitter2017", n=2,
                 mean=-1.0, std=0.2, wins=0, f1=77.68)  # fmt: skip
    assert "'hidden200' (77.68, +1.37) also bring it within 2 F1." in _said(base, more)
    # the same change measured on another baseline row: how far it moves that one from its paper
    base3 = _plus(base, model="bilstm-crf", dataset="twitter2015", mean=63.5, std=0.5, n=3,
                  paper=64.42, table="Table 2", gap=63.5 - 64.42)  # fmt: skip
    elsewhere = _plus(effects, change="adam", model="bilstm-crf", dataset="twitter2015", n=2,
                      mean=-3.4, std=0.5, wins=0, f1=60.1)  # fmt: skip
    text = _said(base3, elsewhere)
    assert "'adam' elsewhere: bilstm-crf on twitter2015 60.10 (-4.32, outside 2 F1, n=2)." in text
    assert "Measured on all" not in text  # hbilstm-crf on twitter2017 has no 'adam' run yet
    everywhere = _plus(elsewhere, change="adam", model="hbilstm-crf", dataset="twitter2017", n=2,
                       mean=2.0, std=0.5, wins=2, f1=79.0)  # fmt: skip
    assert (
        "Measured on all 3 baseline rows, 'adam' puts 2 of them within 2 F1 of their papers."
        in _said(base3, everywhere)
    )
    text = _said(base, effects.assign(f1=[72.0, 70.68]))
    assert (
        "'adam' comes nearest the paper: 72.00 (-4.31, n=2); no single measured change brings it"
        in text
    )


def test_the_book_shows_what_is_left_as_html_tables(tmp_path):
    from IPython.display import HTML, Markdown

    from mner_lib.book import comparison

    root = tmp_path / "results"
    for seed, f1 in enumerate((63.0, 64.0)):
        folder = root / "campaign" / "bilstm-crf" / "twitter2015" / "none" / f"seed{seed}"
        folder.mkdir(parents=True)
        metrics = _metrics("bilstm-crf", "twitter2015", "none", seed, f1)
        (folder / "metrics.json").write_text(json.dumps(metrics))
    shown = []
    comparison.show_pending(root, shown.append)
    text = "\n".join(o.data for o in shown if isinstance(o, Markdown))
    tables = [o.data for o in shown if isinstance(o, HTML)]
    assert not [line for line in text.splitlines() if line.startswith("|")]  # no raw table left
    assert any("<th>cost left (single-thread h)</th>" in t for t in tables)
    assert "Left out of the plan" in text and "GMF w/o VCG" in text


def test_markdown_blocks_keep_text_and_ragged_rows():
    blocks = markdown_blocks("intro\n\n| a | b |\n|---|---|\n| 1 |\n| 2 | 3 | 4 |\nafter")
    assert [k for k, _ in blocks] == ["markdown", "table", "markdown"]
    table = blocks[1][1]
    assert table.values.tolist() == [["1", ""], ["2", "3"]]  # short rows padded, long cut
    assert blocks[2][1] == "after"


def test_the_foundations_chapter_shows_the_one_change_ablations_from_records(tmp_path):
    from mner_lib.book.definitive import changes_html

    root = tmp_path / "results"
    assert changes_html(root) == "<p>No one-change run has finished yet.</p>"
    runs = {"campaign": (78.5, 78.9), "campaign_text_lowercase": (77.0, 77.2)}
    for exp, f1s in runs.items():
        for seed, f1 in enumerate(f1s):
            folder = root / exp / "bilstm-crf" / "twitter2017" / "none" / f"seed{seed}"
            folder.mkdir(parents=True)
            options = {"lowercase": True} if exp != "campaign" else {}
            metrics = _metrics("bilstm-crf", "twitter2017", "none", seed, f1, options)
            (folder / "metrics.json").write_text(json.dumps(metrics))
    html = changes_html(root)
    # lowercase, paired by seed: -1.50 and -1.70, both seeds worse, two seeds: tentative
    assert "<td>77.10</td><td><b>-1.60</b><small> ± 0.14</small></td><td>0 of 2</td>" in html
    assert "<td>tentative loss</td>" in html and "--option lowercase=true" in html


def _gap(model, condition, baseline, mean, n=2, wins=2):
    return {"model": model, "dataset": "twitter2017", "condition": condition, "baseline": baseline,
            "gap_mean": mean, "gap_std": 0.1, "n_pairs": n, "wins": wins}  # fmt: skip


@pytest.mark.parametrize(
    "control, said",
    [
        (0.5, "it gains +0.50 (n=2), so most of the gain (75%) comes with any tweet's caption and "
              "25% needs this photo's own."),
        (1.5, "it gains +1.50 (n=2), so most of the gain (75%) needs this photo's own caption."),
        (3.0, "so most of the gain (100%) needs this photo's own caption."),
        (-0.2, "it does no better: -0.20 (n=2), so none of the gain needs this photo's caption: "
               "any tweet's caption gives it."),
    ],
)  # fmt: skip
def test_the_largest_caption_gain_says_how_much_of_it_needs_the_photos_own_caption(control, said):
    gaps = pd.DataFrame([
        _gap("gmf", campaign.CAPTION, "blank", 2.0),
        _gap("gmf", campaign.CAPTION, campaign.SHUFFLED, control),
        _gap("hsn", campaign.CAPTION, "blank", 0.5),
    ])  # fmt: skip
    text = "\n".join(
        campaign_words.conclusion(gaps, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    )
    line = next(s for s in text.splitlines() if s.startswith("- The largest gain"))
    assert line.startswith(
        "- The largest gain of a caption over blank: gmf on twitter2017, +2.00 F1"
    )
    assert said in line, line
    # the per-model line names the control in words, without a parenthesis beside the verdict's
    assert "against the shuffled-caption control (" in text and ") (" not in text, text


@pytest.mark.parametrize(
    "mean, std, wins, paper, said",
    [
        (1.2, 0.3, 3, 0.47, "(a consistent gain, full better in 3 of 3 seeds), +0.47 in the "
                            "paper's; the sign agrees with the paper's (ours read BLIP-2 "
                            "captions, the paper's model its images)."),
        (-1.2, 0.3, 0, 0.47, "the sign disagrees with the paper's (ours read BLIP-2 captions"),
        (0.2, 0.9, 2, 0.47, "ours can tell no sign, so it neither confirms nor contradicts"),
        (1.2, 0.3, 3, None, "full better in 3 of 3 seeds); the paper reports no such row."),
    ],
)  # fmt: skip
def test_an_ablation_is_compared_with_the_papers_sign_only_beyond_the_seed_spread(
    mean, std, wins, paper, said
):
    ablations = pd.DataFrame([{"model": "hsn", "dataset": "twitter2015", "ablation": "w/o MP",
                               "n": 3, "mean": mean, "std": std, "wins": wins, "paper": paper}])  # fmt: skip
    text = "\n".join(
        campaign_words.conclusion(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), ablations)
    )
    assert text.startswith("- hsn w/o MP on twitter2015: the full model minus the ablation is ")
    assert said in text, text


def test_the_best_use_of_caption_content_says_when_the_caption_does_not_beat_no_caption():
    gaps = pd.DataFrame([
        _gap("bert-crf", campaign.CAPTION, "none", -0.19, n=3, wins=0),
        _gap("bert-crf", campaign.CAPTION, campaign.SHUFFLED, 0.96, n=3, wins=3),
    ])  # fmt: skip
    text = "\n".join(
        campaign_words.conclusion(gaps, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    )
    assert (
        "is bert-crf on twitter2017: +0.96 F1, a consistent gain; but its caption does not beat "
        "text only (-0.19), so the margin is the shuffled caption's harm more than this caption's "
        "help." in text
    )
    helped = gaps.assign(gap_mean=[0.5, 0.96])
    said = "\n".join(
        campaign_words.conclusion(helped, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    )
    assert "+0.96 F1, a consistent gain.\n" in said and "harm" not in said


def test_the_report_says_when_bert_rows_ran_on_another_encoder_than_the_papers():
    from mner_lib.reporting import results

    def runs(*encoders):
        return results.runs_frame([{"model": "gmf", "text_encoder": e} for e in encoders])

    said = campaign_report._encoder_words(runs("minilm-l6", "none"))
    assert "ran on the text encoder minilm-l6, where the papers use bert-base-uncased" in said
    assert "not like for like" in said
    assert campaign_report._encoder_words(runs("bert-base-uncased")) == ""  # the papers' own
    # still improving when the epochs ran out: the best dev epoch is the last one
    epochs = results.runs_frame([
        {"model": "gmf", "text_encoder": "minilm-l6", "max_train": 0, "epochs_run": 3, "best_epoch": b}
        for b in (3, 3, 2)
    ] + [{"model": "gmf", "text_encoder": "minilm-l6", "max_train": 1000, "epochs_run": 3,
          "best_epoch": 3}])  # fmt: skip
    assert "their best dev epoch was the last one in 2 of 3 first-round runs." in (
        campaign_report._encoder_words(epochs)
    )
    # the converged round is counted apart (issue 27: there most runs should stop earlier)
    epochs["experiment"] = ["campaign", "campaign", "converged", "campaign"]
    assert "in 2 of 2 first-round runs and in 0 of 1 converged runs." in (
        campaign_report._encoder_words(epochs)
    )
    assert campaign_report._encoder_words(runs("none")) == ""  # no BERT-based row


@pytest.mark.parametrize(
    "variant, cell",
    [
        ("full", "hsn"),
        ("full (segmenter=wordsegment)", "hsn, segmenter=wordsegment"),
        ("w/o MI (interaction=concat)", "hsn w/o MI (interaction=concat)"),
    ],
)
def test_a_rows_model_cell_names_its_setting_without_nested_parentheses(variant, cell):
    assert campaign_report._model_cell("hsn", variant) == cell


def test_the_run_count_says_how_many_are_capped_probes():
    from mner_lib.reporting import results

    runs = results.runs_frame([{"max_train": 0}, {"max_train": 1000}, {"max_train": 0}])
    assert campaign_report._capped_words(runs.assign(experiment=["c", "probe_x", "c"])) == (
        ", 1 of them capped probes that no table above shows (probe_x: at most 1000 training tweets)"
    )
    assert campaign_report._capped_words(runs.iloc[[0, 2]]) == ""


def test_the_report_names_the_rows_trained_with_other_settings_than_their_papers():
    plan = (
        campaign.Row("campaign", "cwi", ("twitter2015",), ("blank",), args=campaign.ADAM),
        campaign.Row("campaign", "hsn", ("twitter2015",), ("blank",)),
    )
    said = optimisers.deviation_words(plan)
    assert said.startswith(" cwi train with `--optimizer adam --lr 1e-3")
    assert "instead of their papers' optimiser settings" in said and "hsn" not in said
    assert optimisers.deviation_words(plan[1:]) == ""


def test_the_converged_round_lists_each_run_once_with_its_buckets():
    """Issue 27's probe runs are seed 0 of the converged grid: the queue lists them once, first,
    and every converged run trains with length buckets (the new default, named explicitly)."""
    outs = [j.out for j in campaign.jobs()]
    assert len(outs) == len(set(outs))
    converged = [j for j in campaign.jobs() if j.out.startswith("results/converged/")]
    assert [j.row.kind for j in converged[:2]] == ["converge-probe"] * 2
    assert {(j.row.model, j.seed) for j in converged[:2]} == {("bert-crf", 0)}
    cells = {(j.row.model, j.dataset, j.condition) for j in converged}
    assert len(converged) == 3 * len(cells) == 3 * (2 * 5 + 2 * 3)
    assert all(j.line().endswith("--patience 5 --length-buckets 20") for j in converged)


def test_the_papers_optimisers_are_paired_with_adam_by_seed():
    """Issue 27: each paper-optimiser run beside the campaign's Adam run of the same model,
    dataset, condition and seed; a run without its Adam twin is left out, not guessed."""
    row = dict(model="cwi", dataset="twitter2015", condition=campaign.CAPTION, variant="full",
               best_epoch=10, epochs_run=10, training="adam lr=8e-05")  # fmt: skip
    runs = pd.DataFrame(
        [
            {**row, "experiment": "campaign_paper-optimiser", "seed": 0, "f1": 43.5},
            {**row, "experiment": "campaign", "seed": 0, "f1": 63.5},
            {**row, "experiment": "campaign", "seed": 1, "f1": 64.0},
            {**row, "experiment": "campaign_paper-optimiser", "seed": 2, "f1": 40.0},
        ]
    )
    effects = optimisers.optimiser_effects(runs)
    assert list(effects["seed"]) == [0]
    assert effects["adam_minus_paper"].iloc[0] == pytest.approx(20.0)
    lines = optimisers.optimiser_lines(runs)
    assert "| cwi | twitter2015 | 0 | adam lr=8e-05 | 43.50 | 10 of 10 | 63.50 | +20.00 |" in lines
    assert optimisers.optimiser_lines(runs[runs["experiment"] == "campaign"]) == []


def test_the_knowledge_leak_is_stated_as_language_model_knowledge():
    """Issue 27: PGIM's leak share is reported beside the caption's, and labelled as knowledge a
    language model wrote, never as vision."""
    runs = pd.DataFrame(
        [
            {"condition": campaign.CAPTION, "dataset": "twitter2015", "caption_leak": 0.079},
            {"condition": campaign.KNOWLEDGE, "dataset": "twitter2015", "caption_leak": 0.96},
            {"condition": "blank", "dataset": "twitter2015", "caption_leak": None},
        ]
    )
    lines = campaign_report._leak_lines(runs)
    caption = next(line for line in lines if line.startswith("Caption leak"))
    knowledge = next(line for line in lines if line.startswith("Knowledge leak"))
    assert "twitter2015: 7.9% of test entities" in caption
    assert "twitter2015: 96.0% of test entities" in knowledge
    assert "language-model knowledge" in knowledge and "not vision" in knowledge
    assert campaign_report._leak_lines(runs[runs["condition"] == "blank"]) == []


def test_trimods_learned_segmenter_runs_the_campaign_rows_with_only_the_segmenter_changed():
    """Issue 27: the segmenter row is campaign/'s TriMod caption row (same optimiser, buckets
    off as it ran, 3 seeds, both datasets) with the learned segmenter file, queued before the
    converged grid."""
    (row,) = [r for r in campaign.PLAN if r.kind == "segmenter"]
    (base,) = [r for r in campaign.PLAN if r.experiment == "campaign" and r.model == "trimod"]
    assert row.model == "trimod" and row.datasets == base.datasets == campaign.BOTH
    assert row.conditions == (campaign.CAPTION,) and row.seeds == campaign.SEEDS
    assert row.length_buckets == base.length_buckets == 0
    assert row.args == base.args + ("--option", f"segmenter={campaign.LEARNED_SEGMENTER}")
    kinds = [j.row.kind for j in campaign.jobs()]
    assert max(i for i, k in enumerate(kinds) if k == "segmenter") < kinds.index(
        "main", kinds.index("converge-probe")
    )


def test_the_learned_segmenter_is_paired_with_the_stand_in_by_seed():
    from mner_lib.reporting import segmenter

    row = dict(model="trimod", dataset="twitter2017", condition=campaign.CAPTION)
    wordsegment = dict(row, experiment="campaign", variant="full (segmenter=wordsegment)")
    learned = dict(row, experiment="campaign_learned-segmenter", variant="full (segmenter=x.pt)")
    runs = pd.DataFrame(
        [
            {**learned, "seed": 0, "f1": 80.0},
            {**wordsegment, "seed": 0, "f1": 79.0},
            {**learned, "seed": 1, "f1": 78.0},
            {**wordsegment, "seed": 1, "f1": 79.0},
            {**learned, "seed": 2, "f1": 81.0},  # no stand-in twin: left out
            {**wordsegment, "seed": 2, "f1": 70.0, "variant": "w/o hashtags"},  # not the stand-in
        ]
    )
    (effect,) = segmenter.segmenter_effects(runs).to_dict("records")
    assert (effect["n"], effect["wins"], effect["mean"]) == (2, 1, pytest.approx(0.0))
    assert effect["std"] == pytest.approx(2**0.5)
    lines = segmenter.segmenter_lines(runs)
    assert "| twitter2017 | caption:blip2 | 79.00 | 79.00 | +0.00 ± 1.41 (n=2) | 1 of 2 |" in lines
    assert segmenter.segmenter_lines(runs[runs["experiment"] == "campaign"]) == []


def test_the_segmenter_effect_is_a_finding_with_its_verdict_and_the_runs_behind_it():
    """The book cites the segmenter comparison by key (first/trimod/<dataset>/learned-segmenter/
    wordsegment): its verdict is judged like every paired effect, and it names its runs."""
    from mner_lib.reporting import findings, segmenter

    row = dict(model="trimod", dataset="twitter2015", condition=campaign.CAPTION)
    stand_in = dict(row, experiment="campaign", variant="full (segmenter=wordsegment)")
    learned = dict(row, experiment="campaign_learned-segmenter", variant="full (segmenter=x.pt)")
    runs = pd.DataFrame(
        [{**learned, "seed": s, "f1": 75.0 + s, "source": f"l/{s}"} for s in range(3)]
        + [{**stand_in, "seed": s, "f1": 74.0 + s, "source": f"w/{s}"} for s in range(3)]
        + [{**stand_in, "seed": 0, "f1": 1.0, "source": "blank", "condition": "blank"}]
    )
    (f,) = findings.segmenter_findings(segmenter.segmenter_effects(runs), runs)
    assert (f.kind, f.condition, f.baseline) == ("segmenter", "learned-segmenter", "wordsegment")
    assert (f.effect, f.n, f.wins, f.seeds) == (pytest.approx(1.0), 3, 3, (0, 1, 2))
    assert f.verdict == findings.Verdict.GAIN and f.reference is None
    assert f.runs == ("l/0", "l/1", "l/2", "w/0", "w/1", "w/2")  # not the blank run
    runs.loc[runs["source"] == "l/1", "f1"] = 70.0  # one seed disagrees: no consistent gain
    (f,) = findings.segmenter_findings(segmenter.segmenter_effects(runs), runs)
    assert f.verdict == findings.Verdict.NOISE and f.wins == 2
