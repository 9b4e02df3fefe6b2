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
# # HSN: a hierarchical self-adaptation network
#
# Tian et al. (Neurocomputing 2021) let the text pick image regions and the image pick words, with
# several attention heads, and then let every token decide, through a gate, how much of the fused
# feature it takes. They also argue that many real posts have no image, and feed those a blank
# constant image. Reported on Twitter-2015: 74.18 F1 (Table 5 of the paper; the comparison chapter
# quotes all of its rows from `mner_lib.reporting.results`).
#
# The walk below follows the paper's sections. Each block runs on four training tweets with a fresh,
# untrained model (so the weights are not meaningful yet: the point is what each block computes and
# its shapes); the model is then trained, evaluated and looked at after training.

# %% [markdown] tags=["book-header"]
# **The paper.** Yu Tian, Xian Sun, Hongfeng Yu, Ya Li, Kun Fu: *Hierarchical self-adaptation network for multimodal named entity recognition in social media*. Neurocomputing, 2021 {cite}`tian2021hsn`.
#
# ::::{admonition} Running this notebook
# :class: tip
#
# - **On Colab** ([open this chapter](https://colab.research.google.com/github/mner-book/mner-book/blob/v0.1.0/notebooks/04_hsn.ipynb), or the rocket button
#   above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
#   cell clones the book at `v0.1.0` and installs it. `device = "auto"` picks the GPU.
# - **From a checkout**, the whole book: `make book`; this chapter alone, with the `quick`
#   profile's parameters:
#
#   ```bash
#   python -m mner_lib book run --profile quick --only hsn
#   ```
#
# - **With papermill**, from the repository root, the same run by hand:
#
#   ```bash
#   papermill notebooks/04_hsn.ipynb out.ipynb \
#       -p device cpu \
#       -p runs_dir runs/book/quick
#   ```
#
#   Add `-p dataset twitter2015` (with `MNER_DATA_DIR` set, or `-p data_dir <folder>`) to run it on the benchmark instead of the shipped demo corpus.
# ::::

# %% [markdown]
# **What you will learn**
#
# - HSN's blocks in the paper's order: text features (highway + BiLSTM), region features, the
#   multi-head hierarchical attention in both directions, and the self-adaptive gate, each beside
#   the library code that implements its equations;
# - how to read the attention over image regions, the word weights and the gate, before and after
#   training;
# - how the paper's ablations (w/o MI, HA, MP, VF) are switched on from the parameters.

# %% [markdown]
# **Parameters.** The cell below holds every setting a build may change (papermill's
# `-p name value`); the cell after it checks them and shows the build in one line, every
# parameter one click away. The image backbone stands in for the paper's VGG16, whose
# weights are not available offline. A run with `max_train` or `max_eval` set is capped:
# its numbers are not comparable with the papers'. `train_options` replaces the paper's
# training settings for every run of the chapter (`{}`: the paper's).

# %% tags=["parameters"]
dataset = "demo"  # demo | twitter2015 | twitter2017 | twitter10000
data_dir = ""  # empty: $MNER_DATA_DIR, or none (the demo needs none)
condition = "synthetic"  # real, blank, synthetic, shuffled, missing:<p>
backbone = "efficientnet-lite0"  # stands in for the paper's VGG16
models = ["hsn"]
epochs = 3
seeds = [0]
device = "auto"  # auto picks a GPU when there is one
max_train = None  # cap on training tweets (None: all)
max_eval = None  # cap on dev and test tweets (None: all)
train_options = {}  # replaces the paper's settings, e.g. {"lr": 0.01}
model_options = {}  # HSNConfig fields, e.g. {"heads": 8}
ablations = []  # any of: "w/o MI", "w/o HA", "w/o MP", "w/o VF" (Table 5)
runs_dir = "runs/book"
results_dir = "results"  # the recorded runs shown under "Recorded runs"

# %% tags=["hide-input"]
from mner_lib.book import params as _params
from mner_lib.book import summary as _summary

# a name the chapter does not know, or a bad value, fails here
P = _params.check(globals(), "hsn")
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
# (hsn-real)=
# ## Real results first
#
# The replication campaign's test F1 for this chapter's models on the real Twitter data, before
# any code: full training, dev and test sets, seeds 0-2, beside the paper's number (quoted with
# its row and table). The protocols it replaced (budget runs, probes, quick runs) are in the
# {ref}`reproducibility appendix <appendix-protocols>`, labelled.

# %% tags=["remove-input"]
from mner_lib.book.definitive import show_definitive

show_definitive(['hsn'], P["results_dir"])

# %% [markdown]
# **Discussion.** HSN is the only paper here with a text-only row ("w/o VF", Table 5), which our
# blank-image runs meet. Under captions HSN is
# {finding}`first/hsn/twitter2015/caption:blip2/paper|abs_total` F1 below the paper on Twitter-2015
# ({claim}`below|first/hsn/twitter2015/caption:blip2/paper`):
# {finding}`first/hsn/twitter2015/caption:blip2/paper|abs_text_side` of that is there before any image
# (its "w/o VF" row against our blank images), and
# {finding}`first/hsn/twitter2015/caption:blip2/paper|abs_image_gain` is what the paper's photos added.
# The caption beats the shuffled control on Twitter-2017
# ({finding}`first/hsn/twitter2017/caption:blip2/caption-shuffled:blip2`,
# {claim}`gain|first/hsn/twitter2017/caption:blip2/caption-shuffled:blip2`) but not on
# Twitter-2015 ({claim}`noise|first/hsn/twitter2015/caption:blip2/caption-shuffled:blip2`). The
# self-adaptive gate lets nothing of the SYNTHETIC probe through
# ({finding}`synthetic/hsn/twitter2015/synthetic/blank`,
# {claim}`noise|synthetic/hsn/twitter2015/synthetic/blank`), and without its hierarchical attention
# the model does better ({finding}`first/hsn/twitter2015/full/w/o HA` for the full model,
# {claim}`loss|first/hsn/twitter2015/full/w/o HA`), where the paper reports
# {finding}`first/hsn/twitter2015/full/w/o HA|reference`.

# %% tags=["hide-input"]
import torch

from mner_lib.book import walkthrough
from mner_lib.book.explorer import picture

# four training tweets, their image features and a fresh HSN model (mner_lib.book.walkthrough)
W = walkthrough(P, "hsn")
data, features, few, images, model, batch = W.data, W.features, W.few, W.images, W.model, W.batch
print(W.describe())

# %% [markdown]
# ## Text features (sec. 3.2.1, eq. 5-6)
#
# Each token is the concatenation of a word embedding (GloVe 6B 50-d here), a character CNN and a
# POS embedding over the paper's ten POS classes (spaCy's tagger stands in for NLTK's):
# $x_i = [x^w_i; x^c_i; x^p_i]$. A highway layer with tanh, $\tilde h_i = \tanh(\mathrm{Highway}(x_i))$
# (eq. 5), then a BiLSTM gives $H \in \mathbb{R}^{n \times d}$, $d = 400$ (eq. 6).

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.hsn import HSN, Highway

show_source((Highway, "eq. 5"), (HSN.text_features, "eq. 5-6"))

# %% tags=["hide-input"]
with torch.no_grad():
    H = model.text_features(batch)
print("POS class ids of the first tweet:", batch["pos"][0, : len(few[0].tokens)].tolist())
print("H:", tuple(H.shape), "(B, n tokens, d)")

# %% [markdown]
# ## Image features (sec. 3.2.2, eq. 7)
#
# The backbone's last feature map is a 7x7 grid of $k = 49$ regions (VGG16's last pooling layer in
# the paper, EfficientNet-Lite0's last stage here); each region is projected,
# $v_j = \mathrm{relu}(W_v \tilde v_j + b_v)$, to $V \in \mathbb{R}^{k \times d}$.
#
# Under a caption condition (`condition="caption:blip2"`: text that an image model wrote from the
# real image, not in the paper) the $k$ "regions" are the caption's words instead, one frozen MiniLM
# vector per word, and the figures below name those words instead of grid cells.

# %% tags=["hide-input"]
with torch.no_grad():
    V = torch.relu(model.image_proj(batch["regions"]))
print("regions:", tuple(batch["regions"].shape), "-> V:", tuple(V.shape), "(B, k regions, d)")
if images.captions is not None:  # a text condition: V holds the caption's words
    print(f"{images.caption_kind} of tweet {few[0].id}: {images.captions[0]!r}")
    print("its k words:", images.caption_tokens()[0])

# %% [markdown]
# ## Multi-head hierarchical attention, text to image (eq. 8-16)
#
# The affinity $M = V H^\top$ ($k \times n$) is normalised two ways: $A$, a softmax over the regions
# for every word (column-wise, eq. 9-10), and $\beta$, the mean over words of a softmax over the
# words for every region (eq. 11-12). The region weights are $s = A^\top \beta$ (eq. 13): a region
# matters when the words that matter attend to it. With $e$ heads, each on linearly projected $V$
# and $H$, the heads' softmaxes are averaged into $s_{img}$ (eq. 14-15), and $G = s_{img} \odot V$
# (eq. 16) is the text-guided image. The image-to-text unit is the same block with the roles
# swapped, giving word weights $s_{sen}$ and $F = s_{sen} \odot H$.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.attention import MultiHeadHierarchicalAttention, hierarchical_attention

show_source((hierarchical_attention, "eq. 8-13, one head"),
            (MultiHeadHierarchicalAttention.attend, "eq. 14-15, the heads"))

# %% tags=["hide-input"]
with torch.no_grad():
    s_img, heads_img = model.text_to_image(V, H, None, batch["mask"])
    G = s_img.unsqueeze(-1) * V
    s_sen, heads_sen = model.image_to_text(H, G, batch["mask"], None)
    F_ = s_sen.unsqueeze(-1) * H
print("s_img:", tuple(s_img.shape), "sums to", [round(float(x), 3) for x in s_img.sum(-1)])
print("per-head weights:", tuple(heads_img.shape), "(B, e heads, k)")
print("G:", tuple(G.shape), " s_sen:", tuple(s_sen.shape), " F:", tuple(F_.shape))

# %% [markdown]
# ## Self-adaptive integration (eq. 17-18)
#
# A gate, $\gamma = \sigma(W H + U F + b)$, mixes the text feature and the fused one:
# $O = \gamma \odot H + (1 - \gamma) \odot F$. The paper says "the integration $\gamma$ consists
# $n$ scalars": one gate per token, shared by its $d$ dimensions (`gate="token"`, the default: $W$
# and $U$ map $d \to 1$). The other reading, one gate per token and dimension, is
# `model_options={"gate": "dimension"}`; every HSN run recorded before the paper's form became the
# default used it, and the tables name those runs `gate=dimension`. $\gamma$ near 1 means the token
# keeps its text feature; near 0, it takes the image-informed one. A linear layer and the CRF follow.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.hsn import SelfAdaptiveIntegration

show_source((SelfAdaptiveIntegration, "eq. 17-18"))

# %% tags=["hide-input"]
with torch.no_grad():
    out = model(batch, decode=True, return_attention=True)
for key, value in out.attentions.items():
    print(f"attentions[{key!r}]: {tuple(value.shape)}")
from mner_lib.figures import caption_attention, region_attention, token_weights

n = len(few[0].tokens)
if images.captions is not None:  # s_img weighs the caption's words (caption condition)
    display(caption_attention(None, images.caption_tokens()[0], out.attentions["text_to_image"][0],
                              f"untrained s_img of tweet {few[0].id} over its {images.caption_kind}"))
else:
    display(region_attention(picture(features, few[0]), out.attentions["text_to_image"][0],
                             f"untrained s_img of tweet {few[0].id}" + (" (synthetic image)" if features.synthetic else "")))
display(token_weights(few[0].tokens, {"s_sen": out.attentions["image_to_text"][0, :n], "gate": out.attentions["gate"][0, :n]},
                      "untrained image-to-text weights and gate"))

# %% [markdown]
# ## Training and evaluation
#
# Every model of the chapter, and each ablation the parameters name, is trained once per seed with
# the trainer of `mner_lib.training` (the paper's optimiser and schedule, early stopping on dev F1), on
# the data and for the epochs this build's parameters say, in the configuration `python -m mner_lib
# train` makes from the same settings. Each run writes a run folder (`config.json`, `metrics.json`,
# `history.jsonl`, predictions); the table below is read from those files, then come the training
# curves, the test F1 per entity type and the entity confusion of the first run. An ablation's row
# carries the name every results table gives it (`w/o MI (interaction=concat)`), so it averages with
# the same ablation trained from the command line. The `w/o VF` ablation trains with blank images,
# as the paper's Table 5 row does (the `hsn` run itself when the chapter's images are blank).

# %%
from mner_lib.book import train_and_tabulate

# each model and ablation, once per seed
trained = train_and_tabulate(P, "hsn")

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

show_recorded_runs(["hsn"], P["results_dir"])

# %% [markdown]
# ## After training: where the model looks
#
# The same weights as in the walk above, now from the model trained in this build (its best epoch
# on dev), for the first test tweet with an entity: the averaged text-to-image weights $s_{img}$
# over its image, the image-to-text weights $s_{sen}$ and the gate $\gamma$ per token, then each
# head's own text-to-image weights (eq. 14, before averaging): different heads may pick different
# regions (under a caption condition, different caption words). Each title says what the model was
# trained on; on the demo corpus the images are synthetic probes.

# %% tags=["hide-input"]
from mner_lib.book import trained_on
from mner_lib.figures import caption_attention, head_attention, region_attention, token_weights

_r = trained.runs["hsn"][0]
_t = [next(t for t in trained.test if any(tag != "O" for tag in t.tags))]
_o = _r.model.run(_t, _r.images, return_attention=True)  # the library's one inference path
_source = trained_on(_r)
_n = len(_t[0].tokens)
_heads = _o.attentions["text_to_image_heads"][0].numpy()
_words = (_o.extras.get("caption_tokens") or [None])[0]  # a caption condition: the caption's words
if _words:
    display(caption_attention(None, _words, _o.attentions["text_to_image"][0],
                              f"tweet {_t[0].id}: s_img over its caption\n{_source}"))
else:
    display(region_attention(picture(_r.images, _t[0]), _o.attentions["text_to_image"][0],
                             f"tweet {_t[0].id}: trained s_img\n{_source}"))
display(token_weights(_t[0].tokens, {"s_sen": _o.attentions["image_to_text"][0][:_n],
                                     "gate": _o.attentions["gate"][0][:_n]},
                      f"trained image-to-text weights and gate\n{_source}"))
if _words:
    display(caption_attention([f"head {h + 1}" for h in range(len(_heads))], _words, _heads,
                              f"tweet {_t[0].id}: text-to-caption weights per head\n{_source}"))
else:
    display(head_attention(_heads, f"tweet {_t[0].id}: text-to-image weights per head\n{_source}"))

# %% [markdown]
# ## Explorer: one tweet at a time
#
# Pick a tweet to see its gold and predicted entities and what the model attended to. In a live
# notebook (Jupyter, Colab) the widget below is interactive; the built book shows the same view,
# rendered statically, for the first test tweets.

# %% tags=["remove-output"]
from mner_lib.book.explorer import collect_examples, explorer, picture, static_view

_label = "hsn"
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
# 1. One head instead of eight, `model_options={"heads": 1}` (the paper's w/o MP). What will the
#    per-head figure show, and will test F1 move by more than a point?
#
#    ```bash
#    papermill notebooks/04_hsn.ipynb try_04_one_head.ipynb -y 'model_options: {heads: 1}'
#    ```
#
# 2. Blank images, `condition="blank"` (the paper's w/o VF). With nothing to see, will the gate keep
#    the text feature (values near 1) or not?
#
#    ```bash
#    papermill notebooks/04_hsn.ipynb try_04_blank.ipynb -p condition blank
#    ```
#
# 3. The other reading of the gate, `model_options={"gate": "dimension"}`: one gate per token and
#    dimension. Will the image-to-text weights or test F1 change?
#
#    ```bash
#    papermill notebooks/04_hsn.ipynb try_04_gate_dimension.ipynb -y 'model_options: {gate: dimension}'
#    ```
#
# 4. Give every tweet another tweet's probe, `condition="shuffled"`. If HSN uses the probe, F1
#    should drop below the blank-image run; will it?
#
#    ```bash
#    papermill notebooks/04_hsn.ipynb try_04_shuffled.ipynb -p condition shuffled
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

