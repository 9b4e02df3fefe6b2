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
# # CWI: characters, words and image words
#
# Asgari-Chenaghlu et al. (arXiv 2001.06888) feed a tagger three views of a tweet: a deep character
# CNN per word, pretrained word vectors, and the image read as *words*: the names of the top-5
# ImageNet classes a full classifier sees in it. Plain CWI concatenates the three; "CWI + attention"
# weighs them per token with modality attention before the CRF. The paper's result tables were lost
# from its text, so this chapter has no reported number to compare with.
#
# Each block below runs on four training tweets with a fresh, untrained model; then the models are
# trained, evaluated and looked at.

# %% [markdown] tags=["book-header"]
# **The paper.** Meysam Asgari-Chenaghlu et al.: *A multimodal deep learning approach for named entity recognition from social media*. arXiv 2001.06888, 2020 {cite}`asgari2020cwi`.
#
# ::::{admonition} Running this notebook
# :class: tip
#
# - **On Colab** ([open this chapter](https://colab.research.google.com/github/mner-book/mner-book/blob/v0.1.0/notebooks/03_cwi.ipynb), or the rocket button
#   above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
#   cell clones the book at `v0.1.0` and installs it. `device = "auto"` picks the GPU.
# - **From a checkout**, the whole book: `make book`; this chapter alone, with the `quick`
#   profile's parameters:
#
#   ```bash
#   python -m mner_lib book run --profile quick --only cwi
#   ```
#
# - **With papermill**, from the repository root, the same run by hand:
#
#   ```bash
#   papermill notebooks/03_cwi.ipynb out.ipynb \
#       -p device cpu \
#       -y '{"models": ["cwi-attention"]}' \
#       -p runs_dir runs/book/quick \
#       -y '{"train_options": {"lr": 0.006}}'
#   ```
#
#   Add `-p dataset twitter2015` (with `MNER_DATA_DIR` set, or `-p data_dir <folder>`) to run it on the benchmark instead of the shipped demo corpus.
# ::::

# %% [markdown]
# **What you will learn**
#
# - CWI's character encoder: convolutions with group norm, the SineReLU activation and targeted
#   dropout (and the code of each);
# - how an image becomes words (the classifier's top-5 class names) and one vector per tweet;
# - two fusions, concatenation and per-token modality attention, and how to read the attention's
#   weights after training.

# %% [markdown]
# **Parameters.** The cell below holds every setting a build may change (papermill's
# `-p name value`); the cell after it checks them and shows the build in one line, every
# parameter one click away. The image backbone stands in for the paper's InceptionV3,
# whose weights are not available offline. A run with `max_train` or `max_eval` set is
# capped: its numbers are not comparable with the papers'. `train_options` replaces the
# paper's training settings for every run of the chapter (`{}`: the paper's); the quick
# book's demo trains with `{"lr": 0.006}`.

# %% tags=["parameters"]
dataset = "demo"  # demo | twitter2015 | twitter2017 | twitter10000
data_dir = ""  # empty: $MNER_DATA_DIR, or none (the demo needs none)
condition = "synthetic"  # real, blank, synthetic, shuffled, missing:<p>
backbone = "efficientnet-lite0"  # stands in for the paper's InceptionV3
models = ["cwi", "cwi-attention"]  # concatenation; modality attention
epochs = 4
seeds = [0]
device = "auto"  # auto picks a GPU when there is one
max_train = None  # cap on training tweets (None: all)
max_eval = None  # cap on dev and test tweets (None: all)
train_options = {}  # replaces the paper's settings, e.g. {"lr": 0.006}
model_options = {}  # CWIConfig fields, e.g. {"td_rate": 0.5}
ablations = []  # "w/o image (blank)": the last model with blank images
runs_dir = "runs/book"
results_dir = "results"  # the recorded runs shown under "Recorded runs"

# %% tags=["hide-input"]
from mner_lib.book import params as _params
from mner_lib.book import summary as _summary

# a name the chapter does not know, or a bad value, fails here
P = _params.check(globals(), "cwi")
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

# %% [markdown]
# (cwi-real)=
# ## Real results first
#
# The replication campaign's test F1 for this chapter's models on the real Twitter data, before
# any code: full training, dev and test sets, seeds 0-2, beside the paper's number (quoted with
# its row and table). The protocols it replaced (budget runs, probes, quick runs) are in the
# {ref}`reproducibility appendix <appendix-protocols>`, labelled.

# %% tags=["remove-input"]
from mner_lib.book.definitive import show_definitive

show_definitive(['cwi'], P["results_dir"])

# %% [markdown]
# **Discussion.** CWI's paper lost its result tables, so no paper row meets ours. The real-image
# caption, read through CWI's image-word channel, is no better than a blank image
# ({finding}`first/cwi/twitter2015/caption:blip2/blank` on Twitter-2015,
# {claim}`noise|first/cwi/twitter2015/caption:blip2/blank`;
# {finding}`first/cwi/twitter2017/caption:blip2/blank` on Twitter-2017,
# {claim}`noise|first/cwi/twitter2017/caption:blip2/blank`), nor than another tweet's caption
# ({finding}`first/cwi/twitter2015/caption:blip2/caption-shuffled:blip2`,
# {claim}`noise|first/cwi/twitter2015/caption:blip2/caption-shuffled:blip2`). The channel itself
# works: on SYNTHETIC probe images, which draw each entity's type, CWI gains
# {finding}`synthetic/cwi/twitter2015/synthetic/blank` F1 over blank images
# ({claim}`gain|synthetic/cwi/twitter2015/synthetic/blank`). What the caption says about the photo
# adds nothing the tweet's words do not already carry.

# %% tags=["hide-input"]
import torch

from mner_lib.book import walkthrough
from mner_lib.book.explorer import picture

# four training tweets, their image features and a fresh CWI model (mner_lib.book.walkthrough)
W = walkthrough(P, P["models"][-1])
data, features, few, images, model, batch = W.data, W.features, W.few, W.images, W.model, W.batch
print(W.describe())

# %% [markdown]
# ## Characters: "TD + GN + SineReLU"
#
# Every word becomes a fixed number $k$ of character ids, embedded (uniform initialisation), then
# two blocks of three 1-D convolutions (kernels 2, 3, 4 with 16, 32, 64 filters; then 4, 3, 2 with
# 64, 32, 16), each followed by GroupNorm, the SineReLU activation and *targeted dropout*, with
# pooling in between; the blocks' outputs are concatenated. SineReLU is
# $f(x) = x$ for $x > 0$ and $\varepsilon(\sin x - \cos x)$ otherwise: a small, wavy negative side.
# Targeted dropout, as the paper describes it, drops (during training) units whose output is over a
# threshold.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.cwi_blocks import SineReLU, TargetedDropout

show_source((SineReLU, "f(x) = x if x > 0, else eps (sin x - cos x)"), (TargetedDropout, "targeted dropout"))

# %% tags=["hide-input"]
from mner_lib.models.cwi_blocks import SineReLU, TargetedDropout

x = torch.linspace(-6, 3, 400)
fig, axes = plt.subplots(1, 2, figsize=(9, 3), layout="constrained")
axes[0].plot(x, SineReLU(eps=0.25)(x), label="eps = 0.25 (to see the shape)")
axes[0].plot(x, SineReLU(eps=model.config.sine_eps)(x), label=f"eps = {model.config.sine_eps} (used)")
axes[0].set(title="SineReLU", xlabel="x")
axes[0].legend(fontsize=8)
td = TargetedDropout(rate=model.config.td_rate, threshold=model.config.td_threshold).train()
values = torch.randn(2000) * 1.5
dropped = td(values)
axes[1].hist([values.numpy(), dropped[dropped != 0].numpy()], bins=40, label=["input", "kept (non-zero)"], histtype="step")
axes[1].axvline(model.config.td_threshold, color="k", ls="--", lw=0.8)
axes[1].set(title="targeted dropout: only units over the threshold are dropped", xlabel="value")
axes[1].legend(fontsize=8)
from mner_lib.figures.figure import captioned

_gone = values[dropped == 0]
display(captioned(
    fig,
    "SineReLU for two values of eps (left); targeted dropout in training mode on 2000 normal "
    "values, the threshold dashed (right).",
    f"Left: line plot of SineReLU for x from -6 to 3: the identity above 0 and a small wave below, "
    f"for eps 0.25 and for the model's eps {model.config.sine_eps}. Right: histograms of the 2000 "
    f"input values and of the values kept; {len(_gone)} were dropped, {int((_gone > model.config.td_threshold).sum())} "
    f"of them above the threshold {model.config.td_threshold}.",
))
with torch.no_grad():
    word, char, image = model.modality_features(batch)
print("char ids:", tuple(batch["chars"].shape), "(B, T, k) -> char feature:", tuple(char.shape))

# %% [markdown]
# ## Words
#
# GloVe and fastText vectors concatenated (500-d) in the paper; offline only GloVe 6B 50-d exists.
# Out-of-vocabulary words get uniform vectors in $[-0.25, 0.25]$, the paper's rule. A BiLSTM runs
# over them.

# %% tags=["hide-input"]
print(f"word feature: {tuple(word.shape)}; share of training words not in GloVe: {model.oov_rate:.1%}")

# %% [markdown]
# ## The image as words
#
# The full ImageNet classifier (InceptionV3 in the paper, EfficientNet-Lite0 here) names the top-5
# classes of the image; each class name is embedded and an LSTM over the five gives the image
# feature, shared by every token of the tweet. On synthetic probe drawings the classifier's names
# are unrelated to the drawn icons (ImageNet has no "red disc for a person" class) but consistent:
# the same icon gets the same names, so they can still tell the entity type; the comparison
# chapter's paired gaps measure what they are worth.
# Under a caption condition (`condition="caption:blip2"`, not in the paper) the image words are the
# content words of the caption an image model wrote from the real image (stop words out), read by
# the same LSTM.

# %% tags=["hide-input"]
from mner_lib.figures import image_words

if images.captions is not None:  # a caption condition: the image words are the caption's content words
    display(pd.DataFrame({"tweet": [t.id for t in few], images.caption_kind: images.captions,
                          "image words (content words)": [" ".join(w) for w in batch["image_words"]]}))
else:
    display(image_words(picture(features, few[0]), images.labels[0],
                        f"top-5 ImageNet classes of tweet {few[0].id}'s image" + (" (synthetic)" if features.synthetic else "")))
print("image feature:", tuple(image.shape), "(the same vector at every token)")

# %% [markdown]
# ## Fusion: concatenation or modality attention
#
# Plain CWI concatenates $[w_t; c_t; i]$ and runs a stacked BiLSTM. CWI + attention projects the
# three features to one size and weighs them per token, $a_{t,m} = \mathrm{softmax}_m(u^\top
# \tanh(W p_{t,m} + b))$, $f_t = \sum_m a_{t,m} p_{t,m}$ (modality attention as in Moon et al.
# 2018), then the same BiLSTM and CRF.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.attention import ModalityAttention

show_source((ModalityAttention, "a_{t,m} = softmax_m(u^T tanh(W p_{t,m} + b)), f_t = sum_m a_{t,m} p_{t,m}"))

# %% tags=["hide-input"]
from mner_lib.figures import modality_attention

if getattr(model, "use_attention", False):
    with torch.no_grad():
        fused, weights = model.modality_attention([word, char, image], batch["mask"])
    n = len(few[0].tokens)
    print("fused:", tuple(fused.shape), " weights:", tuple(weights.shape), "(B, T, 3 modalities)")
    display(modality_attention(few[0].tokens, weights[0, :n], ("word", "char", "image"), "untrained modality attention"))
else:
    print("the last model in `models` has no modality attention; concatenated size:", word.shape[-1] + char.shape[-1] + image.shape[-1])

# %% [markdown]
# ## Training and evaluation
#
# Every model of the chapter, and each ablation the parameters name, is trained once per seed with
# the trainer of `mner_lib.training` (the paper's optimiser and schedule, early stopping on dev F1), on
# the data and for the epochs this build's parameters say, in the configuration `python -m mner_lib
# train` makes from the same settings. Each run writes a run folder (`config.json`, `metrics.json`,
# `history.jsonl`, predictions); the table below is read from those files, then come the training
# curves, the test F1 per entity type and the entity confusion of the first run. The `w/o image
# (blank)` ablation is the last model trained with blank images.

# %%
from mner_lib.book import train_and_tabulate

# each model and ablation, once per seed
trained = train_and_tabulate(P, "cwi")

# %% [markdown]
# ## Recorded runs
#
# The runs above are this build's. Below are the recorded real-data runs of the table at the top of
# the chapter: their training curves (dev F1 per epoch from each run's committed `history.jsonl`, one
# line per seed; quick smoke runs left out), every recorded setting in a collapsed table (quick smoke
# runs included), and the complete table, every column (per-type F1, speed, the paper row met, the
# `metrics.json` files averaged), as a CSV download. `results/README.md` says which command wrote
# each experiment.

# %% tags=["hide-input"]
from mner_lib.book import show_recorded_runs

show_recorded_runs(["cwi", "cwi-attention"], P["results_dir"])

# %% [markdown]
# ## After training: modality attention
#
# The weights over the modalities of the first test tweet with an entity, now from the model
# trained in this build (its best epoch on dev): which feature each token relies on once the model
# has learned the data. The title says what it was trained on; on the demo corpus the images are
# synthetic probes.

# %% tags=["hide-input"]
from mner_lib.book import show_trained_modality

show_trained_modality(trained, P["models"][-1], ("word", "char", "image"))

# %% [markdown]
# ## Explorer: one tweet at a time
#
# Pick a tweet to see its gold and predicted entities and what the model attended to. In a live
# notebook (Jupyter, Colab) the widget below is interactive; the built book shows the same view,
# rendered statically, for the first test tweets.

# %% tags=["remove-output"]
from mner_lib.book.explorer import collect_examples, explorer, picture, static_view

_label = P["models"][-1]
_result = trained.runs[_label][0]
_tweets = trained.test[:12]
_pictures = [picture(_result.images, t) for t in _tweets] if _result.images is not None else None
examples = collect_examples(_result.model, _tweets, _result.images, _pictures,
                            synthetic=bool(_result.metrics["synthetic"]))
explorer(examples)

# %% tags=["remove-input"]
static_view(examples, limit=3)

# %% [markdown]
# ## Try this
#
# Each exercise changes one parameter. Write down what you expect before you run it.
#
# 1. Train CWI + attention without the image words too (`w/o image (blank)`). On synthetic probe
#    images, whose class names are unrelated to the drawings, how large a gap do you expect?
#
#    ```bash
#    papermill notebooks/03_cwi.ipynb try_03_no_image.ipynb -y 'ablations: ["w/o image (blank)"]'
#    ```
#
# 2. Switch targeted dropout off, `model_options={"td_rate": 0.0}`. Will the training loss fall
#    faster? Will dev F1 follow?
#
#    ```bash
#    papermill notebooks/03_cwi.ipynb try_03_no_td.ipynb -y 'model_options: {td_rate: 0.0}'
#    ```
#
# 3. Compare plain concatenation with modality attention, `models=["cwi", "cwi-attention"]`. Which
#    one wins on this corpus, and by how much?
#
#    ```bash
#    papermill notebooks/03_cwi.ipynb try_03_both.ipynb -y 'models: [cwi, cwi-attention]'
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

