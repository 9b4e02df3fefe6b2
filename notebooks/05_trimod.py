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
# # TriMod: text, image and hashtags
#
# Alfaqeeh (arXiv 2501.08267) adds a third modality to the text and the image: the tweet's hashtags,
# segmented into words by a trained segmenter. A caption of the image and object-level features
# form the visual side, and modality attention (eq. 11-12) weighs text, visual and hashtag features
# per token. The paper reports 80.00 F1 on Twitter-2015, far above every other system on that
# dataset; a faithful rebuild that lands lower is a finding to report, not a bug to hide.
#
# No captioning model runs on these machines. With pixels, the "caption" is the text of the image's
# top-k recognised ImageNet labels; under a caption condition (`caption:blip2`) it is the caption
# BLIP-2 wrote from the real photo (shipped as text with the data, section *Visual* below). The
# object features are the backbone's region vectors. Each block below runs on four training tweets
# with a fresh, untrained model; then the model is trained.

# %% [markdown] tags=["book-header"]
# **The paper.** Mosab Alfaqeeh: *TriMod fusion for multimodal named entity recognition in social media*. arXiv 2501.08267, 2025 {cite}`alfaqeeh2025trimod`.
#
# ::::{admonition} Running this notebook
# :class: tip
#
# - **On Colab** ([open this chapter](https://colab.research.google.com/github/mner-book/mner-book/blob/v0.1.0/notebooks/05_trimod.ipynb), or the rocket button
#   above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
#   cell clones the book at `v0.1.0` and installs it. `device = "auto"` picks the GPU.
# - **From a checkout**, the whole book: `make book`; this chapter alone, with the `quick`
#   profile's parameters:
#
#   ```bash
#   python -m mner_lib book run --profile quick --only trimod
#   ```
#
# - **With papermill**, from the repository root, the same run by hand:
#
#   ```bash
#   papermill notebooks/05_trimod.ipynb out.ipynb \
#       -p device cpu \
#       -p runs_dir runs/book/quick \
#       -y '{"train_options": {"lr": 0.1, "grad_accum": 1}}'
#   ```
#
#   Add `-p dataset twitter2015` (with `MNER_DATA_DIR` set, or `-p data_dir <folder>`) to run it on the benchmark instead of the shipped demo corpus.
# ::::

# %% [markdown]
# **What you will learn**
#
# - TriMod's three modalities: text (char and word Bi-GRUs), visual objects (caption words and image
#   regions, attended by each token) and hashtags (segmented into words), each beside its library
#   code;
# - how the hashtag segmenters compare on held-out joined phrases;
# - how modality attention weighs text, visual and hashtag features per token.

# %% [markdown]
# **Parameters.** The cell below holds every setting a build may change (papermill's
# `-p name value`); the cell after it checks them and shows the build in one line, every
# parameter one click away. The image backbone stands in for the paper's ResNet-50, whose
# weights are not available offline; `segmenter` also takes the path of a trained
# segmenter (`.pt`). A run with `max_train` or `max_eval` set is capped: its numbers are
# not comparable with the papers'. `train_options` replaces the paper's training
# settings for every run of the chapter (`{}`: the paper's); the quick book's demo trains
# with `{"lr": 0.1, "grad_accum": 1}`.

# %% tags=["parameters"]
dataset = "demo"  # demo | twitter2015 | twitter2017 | twitter10000
data_dir = ""  # empty: $MNER_DATA_DIR, or none (the demo needs none)
condition = "synthetic"  # real, blank, synthetic, shuffled, missing:<p>
backbone = "efficientnet-lite0"  # stands in for the paper's ResNet-50
models = ["trimod"]
segmenter = "wordsegment"  # wordsegment | wordninja | path/to/model.pt
epochs = 4
seeds = [0]
device = "auto"  # auto picks a GPU when there is one
max_train = None  # cap on training tweets (None: all)
max_eval = None  # cap on dev and test tweets (None: all)
train_options = {}  # replaces the paper's settings, e.g. {"lr": 0.1}
model_options = {}  # TriModConfig fields, e.g. {"caption_labels": 5}
ablations = []  # any of: "w/o hashtags", "w/o visual"
runs_dir = "runs/book"
results_dir = "results"  # the recorded runs shown under "Recorded runs"

# %% tags=["hide-input"]
from mner_lib.book import params as _params
from mner_lib.book import summary as _summary

# a name the chapter does not know, or a bad value, fails here
P = _params.check(globals(), "trimod")
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
# (trimod-real)=
# ## Real results first
#
# The replication campaign's test F1 for this chapter's models on the real Twitter data, before
# any code: full training, dev and test sets, seeds 0-2, beside the paper's number (quoted with
# its row and table). The protocols it replaced (budget runs, probes, quick runs) are in the
# {ref}`reproducibility appendix <appendix-protocols>`, labelled.

# %% tags=["remove-input"]
from mner_lib.book.definitive import show_definitive

show_definitive(['trimod'], P["results_dir"])

# %% [markdown]
# **Discussion.** TriMod is {finding}`first/trimod/twitter2015/caption:blip2/paper|abs_total` F1 below its
# paper on Twitter-2015 ({claim}`below|first/trimod/twitter2015/caption:blip2/paper`), the largest
# gap in the book, and its paper prints no text-only row to split it. Its fusion can read a visual
# signal: SYNTHETIC probe images lift it by {finding}`synthetic/trimod/twitter2015/synthetic/blank`
# F1 on Twitter-2015 ({claim}`gain|synthetic/trimod/twitter2015/synthetic/blank`). Real captions do
# not: against blank images {finding}`first/trimod/twitter2015/caption:blip2/blank`
# ({claim}`noise|first/trimod/twitter2015/caption:blip2/blank`), against another tweet's caption
# {finding}`first/trimod/twitter2015/caption:blip2/caption-shuffled:blip2`
# ({claim}`noise|first/trimod/twitter2015/caption:blip2/caption-shuffled:blip2`). The hashtag
# channel adds nothing measurable either
# ({finding}`first/trimod/twitter2015/full/w/o hashtags` for the full model,
# {claim}`noise|first/trimod/twitter2015/full/w/o hashtags`).
#
# These rows use the `wordsegment` stand-in, and it is not what holds TriMod back. With the
# paper's own learned segmenter (sec. IV-C, `results/hashtags/learned/`), Twitter-2015 moves by
# {finding}`first/trimod/twitter2015/learned-segmenter/wordsegment` ({claim}`noise|first/trimod/twitter2015/learned-segmenter/wordsegment`)
# and Twitter-2017 by {finding}`first/trimod/twitter2017/learned-segmenter/wordsegment` ({claim}`loss|first/trimod/twitter2017/learned-segmenter/wordsegment`).
# One reason, untested: it learned from this corpus alone, `wordsegment` from web-scale counts.

# %% tags=["hide-input"]
import torch

from mner_lib.book import walkthrough
from mner_lib.book.explorer import picture

# four training tweets, their image features and a fresh TRIMOD model (mner_lib.book.walkthrough)
W = walkthrough(P, "trimod")
data, features, few, images, model, batch = W.data, W.features, W.few, W.images, W.model, W.batch
print(W.describe())

# %% [markdown]
# ## Text (sec. IV-A, eq. 1-7)
#
# Word embeddings (word2vec 200-d in the paper, GloVe 50-d here) and a character Bi-GRU (char
# embedding 30, hidden 30, the last states of both directions) are concatenated and run through a
# word-level Bi-GRU (hidden 150): $h_t \in \mathbb{R}^{300}$.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.trimod import TriMod

show_source((TriMod.text_features, "eq. 1-7"))

# %% tags=["hide-input"]
with torch.no_grad():
    text = model.text_features(batch)
print("h_t:", tuple(text.shape), "(B, T, 2 x 150)")

# %% [markdown]
# ## Visual (sec. IV-B)
#
# Visual objects are the caption's words and the image's regions, projected to one size; every
# token attends over them with $h_t$ as the query (scaled dot product) and takes the weighted sum
# as its visual feature. Under a caption condition (`condition="caption:blip2"`) the caption slot
# holds the caption an image model wrote from the real image, as the paper designs it, and the
# figure shows each token's weights over its words.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.trimod import TriMod

show_source((TriMod.visual_features, "sec. IV-B: attention over the visual objects"))

# %% tags=["hide-input"]
with torch.no_grad():
    visual, visual_weights = model.visual_features(batch, text)
print("caption of tweet", few[0].id, ":", " ".join(batch["caption_words"][0]), "(SYNTHETIC image)" if features.synthetic else "")
print("visual feature:", tuple(visual.shape), " weights over caption words + regions:", tuple(visual_weights.shape))
if images.captions is not None and batch["caption_words"][0]:  # a real caption: weights over its words
    from mner_lib.figures import caption_attention

    _n, _k = len(few[0].tokens), len(batch["caption_words"][0])
    display(caption_attention(few[0].tokens, batch["caption_words"][0], visual_weights[0, :_n, :_k],
                              f"untrained attention of tweet {few[0].id}'s tokens on its {images.caption_kind}'s words"))

# %% [markdown]
# ## Hashtags (sec. IV-C/D)
#
# The paper trains a segmenter (character embeddings -> CNN + BiLSTM -> "space after this
# character?"). `mner_lib.hashtags` trains the same kind of model self-supervised on the corpus's
# own text and offers dictionary segmenters (`wordsegment`, `wordninja`) as baselines; this build
# uses the one named by the `segmenter` parameter. Below, the segmenters on the training hashtags
# and, on held-out joined phrases of the corpus, their boundary F1.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.trimod import TriMod

show_source((TriMod.hashtag_features, "sec. IV-D: the hashtag feature"))

# %% tags=["hide-input"]
from mner_lib.hashtags import evaluate_segmenter, get_segmenter, heldout_split
from mner_lib.figures import segmented_hashtags

tags = sorted({h for t in data.train for h in t.hashtags})[:8]
chosen = get_segmenter(P["segmenter"])
if tags:
    display(segmented_hashtags({h: chosen.segment(h) for h in tags}, f"training hashtags, segmented by {P['segmenter']}"))
_, heldout = heldout_split(data.train, seed=P["seeds"][0])
rows = []
for name in ("wordsegment", "wordninja"):
    r = evaluate_segmenter(get_segmenter(name), heldout[:300])
    rows.append({"segmenter": name, **{k: v for k, v in r.items() if not isinstance(v, dict)}})
display(pd.DataFrame(rows))
with torch.no_grad():
    hashtag = model.hashtag_features(batch)
print("hashtag feature:", tuple(hashtag.shape), "(B, T, [own hashtag; tweet's hashtags])")

# %% [markdown]
# ## Fusion: modality attention (eq. 11-12)
#
# Each modality feature $f_i$ of a token is projected to one size;
# $\gamma_i = \exp(u^\top \tanh(W f_i + b))$ and $f_s = \sum_i \gamma_i f_i / \sum_i \gamma_i$.
# Linear emissions from $f_s$ and the CRF follow (eq. 13-16).

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.attention import ModalityAttention

show_source((ModalityAttention, "eq. 11-12"))

# %% tags=["hide-input"]
from mner_lib.figures import modality_attention

with torch.no_grad():
    out = model(batch, decode=True, return_attention=True)
n = len(few[0].tokens)
print({k: tuple(v.shape) for k, v in out.attentions.items()})
display(modality_attention(few[0].tokens, out.attentions["modality"][0, :n], ("text", "visual", "hashtag"),
                           "untrained modality attention"))

# %% [markdown]
# ## Training and evaluation
#
# Every model of the chapter, and each ablation the parameters name, is trained once per seed with
# the trainer of `mner_lib.training` (the paper's optimiser and schedule, early stopping on dev F1), on
# the data and for the epochs this build's parameters say, in the configuration `python -m mner_lib
# train` makes from the same settings. Each run writes a run folder (`config.json`, `metrics.json`,
# `history.jsonl`, predictions); the table below is read from those files, then come the training
# curves, the test F1 per entity type and the entity confusion of the first run. An ablation's row
# carries the name every results table gives it (`w/o hashtags (use_hashtag=False)`), so it averages
# with the same ablation trained from the command line.

# %%
from mner_lib.book import train_and_tabulate

# each model and ablation, once per seed
trained = train_and_tabulate(P, "trimod")

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

show_recorded_runs(["trimod"], P["results_dir"])

# %% [markdown]
# ## After training: modality attention
#
# The weights over the modalities of the first test tweet with an entity, now from the model
# trained in this build (its best epoch on dev): which feature each token relies on once the model
# has learned the data. The title says what it was trained on; on the demo corpus the images are
# synthetic probes.

# %% tags=["hide-input"]
from mner_lib.book import show_trained_modality

show_trained_modality(trained, "trimod", ("text", "visual", "hashtag"))

# %% [markdown]
# ## Explorer: one tweet at a time
#
# Pick a tweet to see its gold and predicted entities and what the model attended to. In a live
# notebook (Jupyter, Colab) the widget below is interactive; the built book shows the same view,
# rendered statically, for the first test tweets.

# %% tags=["remove-output"]
from mner_lib.book.explorer import collect_examples, explorer, picture, static_view

_label = "trimod"
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
# 1. Segment hashtags with `wordninja` instead of `wordsegment`. Which of the hashtags above will be
#    split differently, and will F1 notice?
#
#    ```bash
#    papermill notebooks/05_trimod.ipynb try_05_wordninja.ipynb -p segmenter wordninja
#    ```
#
# 2. Train without the hashtag modality too (`w/o hashtags`). How much of TriMod's F1 do the
#    hashtags carry on this corpus?
#
#    ```bash
#    papermill notebooks/05_trimod.ipynb try_05_no_hashtags.ipynb -y 'ablations: ["w/o hashtags"]'
#    ```
#
# 3. A one-word caption, `model_options={"caption_labels": 1}`. Will the visual attention move from
#    the caption to the regions?
#
#    ```bash
#    papermill notebooks/05_trimod.ipynb try_05_one_label.ipynb -y 'model_options: {caption_labels: 1}'
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

