# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["remove-cell"]
# On Colab only: install this project (the book's library) at the book's version.
# Elsewhere this cell does nothing: run the book from a checkout with `make book`.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q",
         "mner-lib[book] @ git+https://github.com/mner-book/mner-book@v0.1.0"],
        check=True,
    )

# %% [markdown]
# # Comparison
#
# This chapter reads every `metrics.json` under the results folder (written by the training runs of
# the `cpu` and `replicate` profiles, the sweeps and the benchmarks) and sets our numbers beside the
# papers'. Ours are the mean ± standard deviation of test F1 over seeds, with the image condition
# and backbone of the runs; the papers' numbers are quoted from their tables, each row naming its
# source. Rows on **synthetic** images are marked and get no paper number: the papers used real
# photos.

# %% [markdown]
# **What you will learn**
#
# - what each paper reports, read from `mner_lib.results`, beside what this project measured with
#   the same protocol where one exists;
# - how the models hold up when the image changes (real, blank, synthetic, shuffled, missing);
# - how to tell a replication from a capped or synthetic run in every table.

# %% tags=["parameters"]
results_dir = "results"  # folder holding results/**/metrics.json
conditions = ["real", "blank", "synthetic", "shuffled", "missing:0.5"]  # robustness table columns
runs_dir = "runs/book"  # this build's own runs (shown apart, in the last section)

# %% tags=["hide-input"]
from mner_lib import params as _params
from mner_lib.book import summary as _summary

P = _params.check(globals(), "comparison")  # unknown names or bad values fail here
print(_summary(P))

# %% tags=["remove-cell"]
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import HTML, Markdown, display

sns.set_theme(context="notebook", style="whitegrid")
pd.set_option("display.precision", 2)
warnings.filterwarnings("ignore", category=UserWarning)

# %% tags=["hide-input"]
from pathlib import Path

from mner_lib.results import aggregate, compare, load_runs, mean_std, paper_table, robustness, with_text

runs = load_runs(P["results_dir"], relative_to=".")
ours = aggregate(runs)
papers = paper_table()
print(f"{len(runs)} training run(s) read from metrics.json files under {P['results_dir']}/")
if runs.attrs.get("skipped"):
    print(f"skipped {len(runs.attrs['skipped'])} metrics.json file(s) that are not training runs: "
          + ", ".join(runs.attrs["skipped"]))

# %% [markdown]
# ## What the papers report
#
# Test F1 (and precision, recall, per type where printed) as the papers give them. CWI's result
# tables are lost from its text, so it has no row.

# %% tags=["hide-input"]
display(papers[["paper", "table", "reported_as", "model", "dataset", "variant", "precision", "recall", "f1",
                "f1_PER", "f1_LOC", "f1_ORG", "f1_MISC"]])

# %% tags=["hide-input"]
from mner_lib.plots import compare_bars

full = papers[papers["variant"] == "full"].copy()
full["label"] = full["reported_as"] + " (" + full["dataset"] + ")"
full["source_kind"] = full["paper"].str.split(" ").str[0] + ", " + full["table"]
display(compare_bars(full, value="f1", error=None, label="label", hue="source_kind",
                     title="reported test F1 (papers' tables)"))

# %% [markdown]
# ## Ours beside the papers
#
# One row per model, variant, dataset, image condition, backbone, training settings and caps; `sources` lists the
# metrics files averaged. A run on a capped training set, a capped test set or few epochs is not a
# replication: the `max_train`, `max_eval` (0 = the full split) and `n_seeds` columns say what each
# row is.

# %% tags=["hide-input"]
if ours.empty:
    display(Markdown(f"No results under `{P['results_dir']}/` yet. Run the `cpu` or `replicate` profile, "
                     "`python -m mner_lib book sweep ...` or `python -m mner_lib sweep ...` to fill it."))
else:
    table = with_text(compare(ours))  # adds 'test F1' (mean ± std) and 'paper'
    table["synthetic"] = table["synthetic"].map({True: "SYNTHETIC", False: ""})
    display(table[["model", "dataset", "variant", "condition", "backbone", "synthetic", "training", "max_train", "max_eval",
                   "test F1", "paper_f1", "paper_variant", "paper_source", "paper_table", "note", "sources"]])

# %% tags=["hide-input"]
if not ours.empty:
    bars = ours.copy()
    bars["label"] = (bars["model"] + " " + bars["dataset"] + " " + bars["condition"]
                     + np.where(bars["synthetic"], " [synthetic]", ""))
    bars["source_kind"] = np.where(bars["synthetic"], "ours, synthetic images", "ours")
    ref = full[full["model"].isin(bars["model"]) & full["dataset"].isin(bars["dataset"])].copy()
    ref = ref.assign(f1_mean=ref["f1"], f1_std=0.0, source_kind="paper")
    both = pd.concat([bars[["label", "f1_mean", "f1_std", "source_kind"]], ref[["label", "f1_mean", "f1_std", "source_kind"]]])
    display(compare_bars(both, title="test F1: ours (mean ± std over seeds) and the papers"))

# %% [markdown]
# ## Robustness over image conditions
#
# The same model under each image condition: `real` (the tweet's own photo, where available),
# `blank` (the papers' "without visual features"), `synthetic` (the probe), `shuffled` (another
# tweet's image), `missing:p` (a fraction p blank). Cells on synthetic images say so.

# %% tags=["hide-input"]
rob = robustness(ours, P["conditions"])
if rob.empty:
    display(Markdown("No multimodal results under the listed conditions yet."))
else:
    display(rob)

# %% [markdown]
# ## F1 per entity type, and speed

# %% tags=["hide-input"]
if not ours.empty:
    per_type = ours.melt(id_vars=["model", "dataset", "condition", "synthetic"],
                         value_vars=["f1_PER_mean", "f1_LOC_mean", "f1_ORG_mean", "f1_MISC_mean"],
                         var_name="type", value_name="F1")
    per_type["type"] = per_type["type"].str.slice(3, -5)
    per_type["setting"] = per_type["model"] + " " + per_type["dataset"] + " " + per_type["condition"] + np.where(per_type["synthetic"], " [synthetic]", "")
    g = sns.catplot(per_type, x="type", y="F1", hue="setting", kind="bar", height=3.2, aspect=2.2)
    g.set_titles("test F1 per entity type (mean over seeds)")
    from mner_lib.figure import captioned

    _best = per_type.groupby("type")["F1"].max()
    display(captioned(
        g.figure,
        "Test F1 per entity type (mean over seeds), one bar per recorded setting; synthetic-image settings are marked.",
        f"Grouped bar chart of test F1 per entity type for {per_type['setting'].nunique()} settings; "
        "the highest per type: " + ", ".join(f"{k} {v:.1f}" for k, v in _best.items()) + ".",
    ))
    speed = ours[["model", "dataset", "condition", "backbone", "train_tweets_per_second", "inference_tweets_per_second", "sources"]]
    display(speed.rename(columns={"train_tweets_per_second": "train tweets/s", "inference_tweets_per_second": "inference tweets/s"}))

# %% [markdown]
# ## This build's own runs
#
# The chapters of this build trained small models (the profile's data, epochs and seeds). They are
# listed here for completeness, apart from the results above: on the demo corpus or a capped
# training set they show that the pipeline runs, not what the papers' models reach.

# %% tags=["hide-input"]
build_runs = load_runs(P["runs_dir"], relative_to=".")
if build_runs.empty:
    display(Markdown(f"No runs under `{P['runs_dir']}/` (the training chapters were not executed in this build)."))
else:
    build = aggregate(build_runs)
    build["test F1"] = [mean_std(m, s, n) for m, s, n in zip(build["f1_mean"], build["f1_std"], build["n_seeds"])]
    build["synthetic"] = build["synthetic"].map({True: "SYNTHETIC", False: ""})
    display(build[["model", "variant", "dataset", "condition", "backbone", "synthetic", "training", "max_train", "max_eval", "test F1",
                   "train_tweets_per_second", "sources"]])

# %% [markdown]
# ## Try this
#
# Each exercise changes one parameter. Write down what you expect before you run it.
#
# 1. Only the image-free conditions in the robustness table, `conditions=["blank", "synthetic"]`.
#    Which models will have no row?
#
#    ```bash
#    papermill notebooks/07_comparison.ipynb /tmp/07_conditions.ipynb -y 'conditions: [blank, synthetic]'
#    ```
#
# 2. Read this build's own runs as if they were the results, `results_dir="runs/book"`. How far
#    below the papers will they sit, and why is that no replication?
#
#    ```bash
#    papermill notebooks/07_comparison.ipynb /tmp/07_build_runs.ipynb -p results_dir runs/book
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

