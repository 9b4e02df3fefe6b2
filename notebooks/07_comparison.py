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
# This chapter sets the four papers side by side on the replication campaign's runs: what each
# comparison found, with its verdict; how far each of our rows sits from its paper, and what
# explains the gap; and, tweet by tweet, what a caption written from the real photo changes. The
# papers' own numbers are quoted from their tables, each with its source. Rows on **SYNTHETIC**
# probe images are marked and meet no paper number: the papers used real photos.

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
# - how a comparison of two conditions is paired by seed, and when its effect counts as a gain,
#   a loss or seed noise;
# - which comparisons show a consistent effect, and how far each multimodal row is from its paper
#   once the text encoder and the missing photos are counted;
# - which entities a real-image caption gets right that another tweet's caption misses.

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

# %% tags=["remove-cell"]
from mner_lib.book import recorded_settings
from mner_lib.book import verdicts

settings = recorded_settings(None, P["results_dir"])  # every recorded setting, mean ± std over seeds

# %% [markdown]
# (comparison-methods)=
# ## How the comparisons are made
#
# :::{admonition} Pairs, verdicts and the control
# :class: note
#
# - **A pair** is two runs that differ in one thing and share a seed: the same training tweets in
#   the same order and, wherever both conditions build the same model, the same initialisation.
#   An effect is the mean over seeds of the paired differences in test F1; its spread is their
#   standard deviation.
# - **A verdict.** A *gain* or a *loss* needs every seed to agree in sign and the mean to exceed
#   the spread. Two seeds that agree are *tentative*, since two seeds agree by chance half the
#   time. One seed gets no verdict. Anything else is *within noise*.
# - **The shuffled control.** Each tweet reads another tweet's caption (a seeded derangement).
#   A caption minus its shuffled control is what this photo's text adds beyond having caption text
#   at all.
# - **Against a paper** no seeds are paired: a row *replicates* when its mean is within 2 F1 of the
#   paper's number.
# :::

# %% [markdown]
# (comparison-verdicts)=
# ## The verdicts
#
# Every paired comparison of the campaign (full data, seeds 0-2), and of the SYNTHETIC probe of
# the budget protocol, with its verdict. The papers' ablations read *full model − ablation*: a
# positive effect means the component helps.

# %% tags=["remove-input"]
verdicts.show(verdicts.verdict_html(P["results_dir"]))

# %% [markdown]
# The caption comparisons again, one dot per seed: what the real-image caption adds over blank
# images (over text only for BERT-CRF, which has no image input), and over another tweet's caption.
# A gain over blank that the shuffled caption also gets comes from having caption text at all,
# not from this photo's.

# %% tags=["remove-input"]
from mner_lib.book.realplots import campaign_gap_plot

figure = campaign_gap_plot(P["results_dir"])
if figure is not None:
    display(figure)

# %% [markdown]
# ## Ours beside each paper
#
# One panel per model: for each dataset, the paper's test F1 (dark; HSN's blank-image runs meet its
# "w/o VF" row, the other rows the full model's) beside the campaign's runs per condition, mean ±
# standard deviation over seeds. A caption run reads text an image model wrote from the real photo
# and meets no paper row. CWI's result tables are lost from its text, so it has no paper bar.

# %% tags=["hide-input"]
from mner_lib.book.definitive import campaign_settings
from mner_lib.book.realplots import paired_plot

MODELS = ["bilstm-crf", "hbilstm-crf", "bert-crf", "cwi", "hsn", "trimod", "gmf"]
definitive = campaign_settings(MODELS, P["results_dir"])
if definitive.empty:
    display(Markdown(f"No campaign results under `{P['results_dir']}/` yet."))
else:
    display(paired_plot(definitive, MODELS))

# %% [markdown]
# (comparison-gaps)=
# ## How far from the paper, and why
#
# Each row of ours with a paper number, its distance from the paper split in three: the **text
# side** (the paper's text-only row minus ours: for GMF and BERT-CRF the paper's BERT-CRF against
# our MiniLM BERT-CRF, for HSN its "w/o VF" row against our blank-image HSN), the **paper's image
# gain** (its full model minus that text-only row: photos we do not have), and the **remainder**
# (the rest, which includes minus whatever our caption gained). TriMod's paper prints no text-only
# row, so its gap is not split.

# %% tags=["remove-input"]
verdicts.show(verdicts.gaps_html(P["results_dir"]))

# %% [markdown]
# (comparison-per-tweet)=
# ## What the caption changes, tweet by tweet
#
# For each caption run and its shuffled control of the same seed: the test entities (exact span and
# type) that only the real caption gets right, and those that only the control gets right, by
# entity type, and how many of them the tweet's own caption names (the leak). Counts come from the
# runs' committed predictions, kept as tags only and rejoined with the data; a run without them is
# listed as missing, never guessed. With your data folder in `MNER_DATA_DIR`, five example tweets
# each way follow each table; without it, the counts come from `results/caption_per_tweet.json`.

# %% tags=["remove-input"]
from mner_lib.book.per_tweet import show_per_tweet

show_per_tweet(P["results_dir"])  # examples when $MNER_DATA_DIR names your data folder

# %% [markdown]
# In the one pair counted so far (BERT-CRF trained to early stopping on Twitter-2015, seed 0), the
# entities the caption names are
# {value}`tweets/converged/bert-crf/twitter2015/caption:blip2/named-share` of the test entities but
# {value}`tweets/converged/bert-crf/twitter2015/caption:blip2/net-named-share` of the caption's net
# margin over its control ({value}`tweets/converged/bert-crf/twitter2015/caption:blip2/net-named`
# of {value}`tweets/converged/bert-crf/twitter2015/caption:blip2/net`): where the caption spells an
# entity out, it helps
# {value}`tweets/converged/bert-crf/twitter2015/caption:blip2/named-vs-rest` elsewhere. Most of the margin, though, falls on entities the
# caption does not name. One pair is one seed; the grid's other seeds will say whether this holds.

# %% [markdown]
# ## Discussion
#
# A caption written from the real photo is the only real visual signal these machines have, and it
# moves little. Against another tweet's caption it makes a consistent difference on
# {value}`first/caption-vs-control/consistent` of {value}`first/caption-vs-control/rows` rows, and
# never by more than {value}`first/caption-vs-control/largest` F1. The clearest case, BERT-CRF on
# Twitter-2017 ({finding}`first/bert-crf/twitter2017/caption:blip2/caption-shuffled:blip2`,
# {claim}`gain|first/bert-crf/twitter2017/caption:blip2/caption-shuffled:blip2`), is a caption
# that costs against text alone ({finding}`first/bert-crf/twitter2017/caption:blip2/none`,
# {claim}`loss|first/bert-crf/twitter2017/caption:blip2/none`): the control hurts more than the
# real caption helps. The fusion designs are not deaf, though. The SYNTHETIC probe, which draws the
# entity's type into the picture, lifts TriMod
# ({claim}`gain|synthetic/trimod/twitter2017/synthetic/blank` on Twitter-2017), CWI
# ({claim}`gain|synthetic/cwi/twitter2017/synthetic/blank`) and GMF
# ({claim}`gain|synthetic/gmf/twitter2017/synthetic/blank`).
#
# The gaps to the papers mostly have names. GMF's
# {finding}`first/gmf/twitter2015/caption:blip2/paper|abs_total` F1 on Twitter-2015 is more than covered
# by the encoder stand-in ({finding}`first/gmf/twitter2015/caption:blip2/paper|text_side`) and the
# paper's photos ({finding}`first/gmf/twitter2015/caption:blip2/paper|image_gain`); the negative
# remainder, {finding}`first/gmf/twitter2015/caption:blip2/paper|remainder`, says our GMF beats our
# own BERT-CRF even without a useful image. TriMod's
# {finding}`first/trimod/twitter2015/caption:blip2/paper|abs_total` F1 cannot be split and stays the open
# question of this book.

# %% [markdown]
# (comparison-unmeasured)=
# ## What is still to run
#
# The campaign's queue, priced from the recorded speeds of finished runs, and the rows it leaves
# out on purpose.

# %% tags=["remove-input"]
from mner_lib.book.comparison import show_pending

show_pending(P["results_dir"])

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

