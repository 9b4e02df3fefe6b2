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
# On Colab only: fetch the book at its release and install it beside Colab's own packages; stop if
# pip replaced a package this kernel has already imported. Written from _config.yml
# (repository.url, repository.branch) by `python -m mner_lib.book.header --write`.
import os
import subprocess
import sys


def _install_on_colab():  # a function: its names stay out of the chapter's parameters
    from importlib import invalidate_caches, metadata

    def on_disk(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "none"

    REPO, REF, HOME = "https://github.com/mner-book/mner-book", "v0.1.0", "/content/mner-book"
    did = "found"
    if not os.path.isdir(HOME):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", REF, REPO, HOME], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", HOME], check=True)
        did = "installed"
    invalidate_caches()
    KERNEL = {"torch": "torch", "torchvision": "torchvision", "numpy": "numpy", "pandas": "pandas",
              "pyarrow": "pyarrow", "PIL": "pillow", "matplotlib": "matplotlib",
              "seaborn": "seaborn", "sklearn": "scikit-learn", "transformers": "transformers",
              "tokenizers": "tokenizers", "safetensors": "safetensors", "spacy": "spacy",
              "tqdm": "tqdm"}
    loaded = {d: str(sys.modules[m].__version__) for m, d in KERNEL.items() if m in sys.modules}
    stale = [f"{d} {v} (now {on_disk(d)})" for d, v in loaded.items() if v.split("+")[0] != on_disk(d).split("+")[0]]
    if stale:
        raise SystemExit("Restart the session (Runtime → Restart session), then run all again: pip replaced " + ", ".join(stale) + " under this running kernel")
    print(f"mner-lib {on_disk('mner-lib')} {did} in {HOME} ({REF}); with", ", ".join(f"{d} {on_disk(d)}" for d in ("torch", "numpy", "pandas", "transformers")))
    os.chdir(HOME)


if "google.colab" in sys.modules:
    _install_on_colab()

# %% [markdown]
# # Comparison
#
# This chapter reads every `metrics.json` under the results folder (written by the training runs of
# the `cpu` and `replicate` profiles, the sweeps and the benchmarks) and sets our numbers beside the
# papers'. Ours are the mean ± standard deviation of test F1 over seeds, with the image condition
# and backbone of the runs; the papers' numbers are quoted from their tables, each row naming its
# source. Rows on **synthetic** images are marked and get no paper number: the papers used real
# photos.

# %% [markdown] tags=["book-header"]
# **The papers compared.**
#
# - Meysam Asgari-Chenaghlu et al.: *A multimodal deep learning approach for named entity recognition from social media*. arXiv 2001.06888, 2020 {cite}`asgari2020cwi`.
# - Yu Tian, Xian Sun, Hongfeng Yu, Ya Li, Kun Fu: *Hierarchical self-adaptation network for multimodal named entity recognition in social media*. Neurocomputing, 2021 {cite}`tian2021hsn`.
# - Mosab Alfaqeeh: *TriMod fusion for multimodal named entity recognition in social media*. arXiv 2501.08267, 2025 {cite}`alfaqeeh2025trimod`.
# - *Visual clue guidance and consistency matching framework for multimodal named entity recognition*. The authors, venue and year are not printed in the paper text this project works from (shared/papers/gmf.txt); they are left out here rather than guessed {cite}`gmf`.
#
# ::::{admonition} Running this notebook
# :class: tip
#
# - **On Colab** ([open this chapter](https://colab.research.google.com/github/mner-book/mner-book/blob/v0.1.0/notebooks/07_comparison.ipynb), or the rocket button
#   above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
#   cell clones the book at `v0.1.0` and installs it.
# - **From a checkout**, the whole book: `make book`; this chapter alone, with the `quick`
#   profile's parameters:
#
#   ```bash
#   python -m mner_lib book run --profile quick --only comparison
#   ```
#
# - **With papermill**, from the repository root, the same run by hand:
#
#   ```bash
#   papermill notebooks/07_comparison.ipynb out.ipynb \
#       -p runs_dir runs/book/quick
#   ```
# ::::

# %% [markdown]
# **What you will learn**
#
# - what each paper reports, read from `mner_lib.reporting.results`, beside what this project measured with
#   the same protocol where one exists;
# - how the models hold up when the image input changes (blank and synthetic images, captions
#   written from the real photos and their shuffled control; real, shuffled or missing photos
#   where a run had them);
# - how to tell a replication from a capped or synthetic run in every table.

# %% tags=["parameters"]
results_dir = "results"  # folder holding results/**/metrics.json
# the robustness table's columns, in this order (a condition no run had
# gets no column)
conditions = [
    "blank", "synthetic", "caption:blip2", "caption-shuffled:blip2",
    "real", "shuffled", "missing:0.5",
]
runs_dir = "runs/book"  # this build's own runs (in the last section)

# %% tags=["hide-input"]
from mner_lib.book import params as _params
from mner_lib.book import summary as _summary

# a name the chapter does not know, or a bad value, fails here
P = _params.check(globals(), "comparison")
_summary(P)

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
from mner_lib.book import recorded_settings

settings = recorded_settings(None, P["results_dir"])  # every recorded setting, mean ± std over seeds
print(f"{int(settings['n_seeds'].sum()) if not settings.empty else 0} training run(s) in "
      f"{len(settings)} setting(s), read from metrics.json files under {P['results_dir']}/")

# %% [markdown]
# ## Ours beside each paper
#
# One panel per model: for each dataset, the paper's test F1 (dark; HSN's blank-image runs meet its
# "w/o VF" row, the others the full model's row) beside ours per condition, mean ± standard
# deviation over seeds. Each panel shows the full model under one protocol, named under its dataset:
# among those with two seeds or more, the one with the most training data (a full-data replication
# before a capped budget run), then the most seeds; never a baseline ablation (the GloVe baselines
# trained with one deliberate change, such as Adam) while the baseline itself was run. SYNTHETIC
# images (hatched) are probes and meet no paper number; a caption run is text an image model wrote
# from the real image and meets none either. CWI's result tables are lost from its text, so it has
# no paper bar.

# %% tags=["hide-input"]
from mner_lib.book.realplots import paired_plot

if settings.empty:
    display(Markdown(f"No results under `{P['results_dir']}/` yet."))
else:
    display(paired_plot(settings, ["bilstm-crf", "hbilstm-crf", "bert-crf", "cwi", "hsn", "trimod", "gmf"]))

# %% [markdown]
# ## What the numbers say
#
# Generated from the recorded runs by the sentence writers of `mner_lib.reporting.report` (the code that writes
# `results/report_budget.md` and `results/report_captions.md`); nothing below is typed by hand.

# %% tags=["remove-input"]
from mner_lib.book.comparison import conclusions

display(Markdown(conclusions(P["results_dir"])))

# %% [markdown]
# ## The replication campaign
#
# The best replication these machines allow (issue 15): full training, dev and test sets, the papers'
# epochs with early stopping on dev F1 (BERT-based models: 3 epochs for every condition), seeds 0-2,
# both datasets, real-image BLIP-2 captions as the visual signal. On two CPU cores the grid took
# several working sessions; the section says what has finished, prices whatever has not, and ends
# with the runs' commits, hardware and wall time.

# %% tags=["remove-input"]
from mner_lib.book.comparison import show_campaign

show_campaign(P["results_dir"])

# %% [markdown]
# ## What the papers report
#
# Test F1 (and precision and recall where printed) as the papers give them, each row with its paper
# and table; the CSV adds the F1 per entity type. CWI's result tables are lost from its text, so it
# has no row.

# %% tags=["hide-input"]
from mner_lib.book.comparison import papers_html

display(HTML(papers_html()))

# %% [markdown]
# ## Every recorded setting
#
# One row per model, variant, dataset, protocol and training settings; the image conditions side by
# side (test F1, mean ± std over seeds, n seeds). Quick smoke runs (one seed, small caps) are
# included here and marked by their protocol. The CSV holds every column: per-type F1, speed, the
# paper row met and the `metrics.json` files averaged.

# %% tags=["hide-input"]
from mner_lib.book.realresults import recorded_runs_html

display(HTML(recorded_runs_html(None, P["results_dir"], name="all", collapsed=False)))

# %% [markdown]
# ## Paired gaps
#
# A condition minus its baseline for the same seed (the same training tweets in the same order; the
# same initialisation wherever both conditions build the same model): SYNTHETIC images minus blank
# images, a real-image caption minus text only and minus the shuffled caption control. Settings
# with one seed are left out.

# %% tags=["hide-input"]
from mner_lib.book.comparison import gaps_html

display(HTML(gaps_html(P["results_dir"])))

# %% [markdown]
# ## Robustness over image conditions
#
# The same models under the image conditions this chapter's `conditions` parameter lists: `blank`
# (the papers' "without visual features"), `synthetic` (the probe), `caption:blip2` (text BLIP-2
# wrote from the real photo, read instead of pixels), `caption-shuffled:blip2` (another tweet's
# caption: the control), and, where a run had the photos, `real` (the tweet's own photo),
# `shuffled` (another tweet's photo) and `missing:p` (a fraction p blank). A condition no recorded
# run used has no column; on these machines the photos are out of reach, so `real`, `shuffled` and
# `missing:p` have none.

# %% tags=["hide-input"]
from mner_lib.book.realresults import robustness_html

display(HTML(robustness_html(settings, P["conditions"])))

# %% [markdown]
# ## F1 per entity type, and speed
#
# For the settings of the plot above: the test F1 of each entity type (mean over seeds), then the
# training and inference speed (tweets per second, mean over seeds, on the hardware each run
# recorded; the CSV above names it per setting).

# %% tags=["hide-input"]
from mner_lib.book.comparison import per_type_html, speed_html

display(HTML(per_type_html(P["results_dir"])))
display(HTML(speed_html(P["results_dir"])))

# %% [markdown]
# ## This build's own runs
#
# The chapters of this build trained small models (the profile's data, epochs and seeds). They are
# listed here for completeness, apart from the results above: on the demo corpus or a capped
# training set they show that the pipeline runs, not what the papers' models reach.

# %% tags=["hide-input"]
from mner_lib.book.comparison import build_runs_html

display(HTML(build_runs_html(P["runs_dir"])))

# %% [markdown]
# ## Try this
#
# Each exercise changes one parameter. Write down what you expect before you run it.
#
# 1. Only the conditions that carry nothing of the real photos in the robustness table,
#    `conditions=["blank", "synthetic"]`. Which models will have no row?
#
#    ```bash
#    papermill notebooks/07_comparison.ipynb try_07_conditions.ipynb -y 'conditions: [blank, synthetic]'
#    ```
#
# 2. Read this build's own runs as if they were the results, `results_dir="runs/book"`. How far
#    below the papers will they sit, and why is that no replication?
#
#    ```bash
#    papermill notebooks/07_comparison.ipynb try_07_build_runs.ipynb -p results_dir runs/book
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

