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
# # GMF: visual clue guidance and consistency matching
#
# GMF injects the image into *every* layer of a BERT encoder as a visual prefix: extra keys and
# values that each layer's self-attention can attend to. The prefix is built from the four stages of
# an image backbone, sharpened by cross-scale attention and mixed per layer by a learned gate.
# A contrastive consistency loss pulls a tweet's text embedding towards its own image's embedding.
# Reported: 75.81 F1 on Twitter-2015 and 87.11 on Twitter-2017 (the paper's Tables 2-3).
#
# The encoder here is the bundled 6-layer MiniLM (384-d; `bert-base-uncased` in the paper) and the
# backbone EfficientNet-Lite0 (ResNet-50 in the paper): both are named in every result. Each block
# below runs on four training tweets with a fresh model (pretrained encoder, untrained GMF parts);
# then the model is trained.

# %% [markdown] tags=["book-header"]
# **The paper.** *Visual clue guidance and consistency matching framework for multimodal named entity recognition*. The authors, venue and year are not printed in the paper text this project works from (shared/papers/gmf.txt); they are left out here rather than guessed {cite}`gmf`.
#
# ::::{admonition} Running this notebook
# :class: tip
#
# - **On Colab** ([open this chapter](https://colab.research.google.com/github/mner-book/mner-book/blob/v0.1.0/notebooks/06_gmf.ipynb), or the rocket button
#   above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
#   cell clones the book at `v0.1.0` and installs it. `device = "auto"` picks the GPU.
# - **From a checkout**, the whole book: `make book`; this chapter alone, with the `quick`
#   profile's parameters:
#
#   ```bash
#   python -m mner_lib book run --profile quick --only gmf
#   ```
#
# - **With papermill**, from the repository root, the same run by hand:
#
#   ```bash
#   papermill notebooks/06_gmf.ipynb out.ipynb \
#       -p device cpu \
#       -p runs_dir runs/book/quick \
#       -y '{"seeds": [0]}' \
#       -y '{"train_options": {"lr": 0.0003, "encoder_lr": 0.0003, "batch_size": 8}}'
#   ```
#
#   Add `-p dataset twitter2015` (with `MNER_DATA_DIR` set, or `-p data_dir <folder>`) to run it on the benchmark instead of the shipped demo corpus.
# ::::

# %% [markdown]
# **What you will learn**
#
# - GMF's visual path: cross-scale attention on each backbone stage, the structured mapping to one
#   grid, and a gate per encoder layer that mixes the stages, each beside its code;
# - visual clue guidance: image tokens prepended as a prefix to the keys and values of every encoder
#   layer;
# - consistency matching: a contrastive loss that pulls a tweet and its own image together, and how
#   to see it work in the similarity matrices after training.

# %% [markdown]
# **Parameters.** The cell below holds every setting a build may change (papermill's
# `-p name value`); the cell after it checks them and shows the build in one line, every
# parameter one click away. The image backbone stands in for the paper's ResNet-50, whose
# weights are not available offline, and the text encoder for the paper's
# bert-base-uncased (`encoder = "bert-base-uncased"` on Colab, where its weights can be
# had). A run with `max_train` or `max_eval` set is capped: its numbers are not comparable
# with the papers'. `train_options` replaces the paper's training settings for every run
# of the chapter (`{}`: the paper's); the quick book's demo trains with
# `{"lr": 3e-4, "encoder_lr": 3e-4, "batch_size": 8}`.

# %% tags=["parameters"]
dataset = "demo"  # demo | twitter2015 | twitter2017 | twitter10000
data_dir = ""  # empty: $MNER_DATA_DIR, or none (the demo needs none)
condition = "synthetic"  # real, blank, synthetic, shuffled, missing:<p>
backbone = "efficientnet-lite0"  # stands in for the paper's ResNet-50
encoder = "minilm-l6"  # stands in for the paper's bert-base-uncased
models = ["gmf"]
epochs = 3
seeds = [1234]  # the paper's seed
device = "auto"  # auto picks a GPU when there is one
max_train = 100  # cap on training tweets (None: all)
max_eval = None  # cap on dev and test tweets (None: all)
train_options = {}  # replaces the paper's settings, e.g. {"lr": 3e-4}
model_options = {}  # GMFConfig fields, e.g. {"alpha": 0.5}
ablations = []  # "w/o VCG", "w/o CSA", "w/o CM", "w/o all" (Table 4)
runs_dir = "runs/book"
results_dir = "results"  # the recorded runs shown under "Recorded runs"

# %% tags=["hide-input"]
from mner_lib.book import params as _params
from mner_lib.book import summary as _summary

# a name the chapter does not know, or a bad value, fails here
P = _params.check(globals(), "gmf")
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
# (gmf-real)=
# ## Real results first
#
# The replication campaign's test F1 for this chapter's models on the real Twitter data, before
# any code: full training, dev and test sets, seeds 0-2, beside the paper's number (quoted with
# its row and table). The protocols it replaced (budget runs, probes, quick runs) are in the
# {ref}`reproducibility appendix <appendix-protocols>`, labelled.

# %% tags=["remove-input"]
from mner_lib.book.definitive import show_definitive

show_definitive(['gmf'], P["results_dir"])

# %% [markdown]
# **Discussion.** GMF under captions is {finding}`first/gmf/twitter2015/caption:blip2/paper|abs_total`
# F1 below its paper on Twitter-2015 and {finding}`first/gmf/twitter2017/caption:blip2/paper|abs_total`
# on Twitter-2017 ({claim}`below|first/gmf/twitter2017/caption:blip2/paper`). Most of that has a
# name. On Twitter-2015, {finding}`first/gmf/twitter2015/caption:blip2/paper|abs_text_side` is the
# MiniLM stand-in for bert-base (the paper's BERT-CRF row against ours), and
# {finding}`first/gmf/twitter2015/caption:blip2/paper|abs_image_gain` is what the paper's own photos
# added over that row: pixels we cannot read. A caption in the visual prefix changes nothing beyond
# seed noise, against blank images ({finding}`first/gmf/twitter2015/caption:blip2/blank`,
# {claim}`noise|first/gmf/twitter2015/caption:blip2/blank`) or another tweet's caption
# ({finding}`first/gmf/twitter2017/caption:blip2/caption-shuffled:blip2`,
# {claim}`noise|first/gmf/twitter2017/caption:blip2/caption-shuffled:blip2`). The prefix can carry a
# signal: the SYNTHETIC probe lifts GMF by {finding}`synthetic/gmf/twitter2017/synthetic/blank` on
# Twitter-2017 ({claim}`gain|synthetic/gmf/twitter2017/synthetic/blank`). These rows trained for 3
# epochs; the converged round is queued.

# %% tags=["hide-input"]
import torch

from mner_lib.book import walkthrough
from mner_lib.book.explorer import picture

# four training tweets, their image features and a fresh GMF model (mner_lib.book.walkthrough)
W = walkthrough(P, "gmf")
data, features, few, images, model, batch = W.data, W.features, W.few, W.images, W.model, W.batch
print(W.describe())

# %% [markdown]
# ## Cross-scale attention (eq. 1-4)
#
# Each backbone stage $F$ is reweighted by $F' = F + F \odot \sigma(M_c(F) + M_s(F))$: a channel
# branch (average pool, an MLP with reduction $r$, batch norm) and a spatial branch (1x1 conv to
# $C/r$, two dilated 3x3 convs, 1x1 conv to one channel, batch norm).

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.gmf_blocks import ChannelAttention, CrossScaleAttention, SpatialAttention

show_source((ChannelAttention, "M_c"), (SpatialAttention, "M_s"),
            (CrossScaleAttention, "F' = F + F * sigmoid(M_c(F) + M_s(F))"))

# %% tags=["hide-input"]
if model.use_caption:  # a caption condition: the prefix is the caption's words (no CSA, no gate)
    print(f"caption condition {features.condition!r}: no cross-scale attention, mapping or gate; "
          f"the prefix is the {images.caption_kind}'s words, e.g. tweet {few[0].id}: {images.captions[0]!r}")
with torch.no_grad():
    stages = [p.float() for p in images.pyramid]
    maps = [csa.attention_map(s) for csa, s in zip(model.csa, stages)] if hasattr(model, "csa") else []
for i, s in enumerate(stages):
    print(f"stage F{i + 1}: {tuple(s.shape)}" + (f"; attention map mean {float(maps[i].mean()):.3f}" if maps else ""))

# %% [markdown]
# ## Structured mapping and dynamic gating (eq. 5-9)
#
# A 1x1 convolution and pooling map every stage to the same $7 \times 7$ grid of `visual_dim`
# channels. For every encoder layer $l$, a gate $g(l) = \mathrm{softmax}(\mathrm{LeakyReLU}(W_p
# \, \overline{\mathrm{pool}(V_i)}))$ over the four stages mixes them:
# $\tilde V_{gated}(l) = \sum_i g_i(l) V_i$. Early layers may prefer fine stages, late layers coarse
# ones; after training the gates say which.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.gmf_blocks import DynamicGate, StructuredMapping, gated_sum

show_source((StructuredMapping, "eq. 5-6"), (DynamicGate, "eq. 7-8: g(l)"), (gated_sum, "eq. 9"))

# %% tags=["hide-input"]
from mner_lib.figures import layer_gates

with torch.no_grad():
    visual, visual_mask, gates = model.visual_tokens(batch)
print("V_gated:", tuple(visual.shape), "(B, layers, prefix tokens, visual_dim); gates:", tuple(gates.shape))
if gates.shape[-1]:
    display(layer_gates(gates, title="untrained gates g(l), mean over the four tweets"))
else:
    print("no gate: a caption has one scale, the same caption words in every layer")

# %% [markdown]
# ## Visual clue guidance: the prefix (eq. 11-13)
#
# Per layer, $\tilde V_{gated}(l)$ is projected to prefix keys and values $\phi_k^l, \phi_v^l$ that
# are prepended to the layer's own keys and values, so every text token can attend to image tokens
# in every layer. Under a caption condition (`condition="caption:blip2"`, not in the paper) the
# prefix is the caption's words (one frozen MiniLM vector per word, mapped to `visual_dim`), and the
# figure names them.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.gmf_blocks import PrefixProjection, prefix_self_attention

show_source((PrefixProjection, "eq. 11: phi_k, phi_v"), (prefix_self_attention, "eq. 12-13"))

# %% tags=["hide-input"]
from mner_lib.figures import prefix_attention

with torch.no_grad():
    out = model(batch, decode=True, return_attention=True)
print("prefix attention per layer:", [tuple(a.shape) for a in out.attentions["prefix"]][:2], "... (B, heads, subwords, prefix)")
display(prefix_attention([a[0] for a in out.attentions["prefix"]], picture(features, few[0]),
                         f"untrained text-to-prefix attention, tweet {few[0].id}" + (" (synthetic image)" if features.synthetic else ""),
                         caption_tokens=images.caption_tokens()[0] if images.captions is not None else None))

# %% [markdown]
# ## Consistency matching (eq. 14-16, 22)
#
# Two MLP heads map the text's $C_g$ (the [CLS] output through linear + tanh) and the image's global
# vector $P_g$ into one space. Over a batch, a symmetric InfoNCE loss with temperature $\tau$ treats
# the matched pairs (the diagonal of the similarity matrix) as positives and every other pair as a
# negative. The training loss is $(1 - \alpha) L_{CM} + \alpha L_{CRF}$. Below, the batch
# similarities before training; after training they are drawn again.

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.gmf_blocks import ConsistencyHeads, symmetric_info_nce

show_source((ConsistencyHeads, "eq. 14: the heads"), (symmetric_info_nce, "eq. 15-16: L_CM"))

# %% tags=["hide-input"]
from mner_lib.figures import embedding_pairs, similarity_matrices

sim_tweets = data.train[:16]
sim_batch = model.collate(sim_tweets, features(sim_tweets))
sim_batch["tags"] = None
with torch.no_grad():
    _o = model(sim_batch)
before = (_o.extras["text_embedding"], _o.extras["image_embedding"]) if "text_embedding" in _o.extras else None
if before is not None:
    print("L_CM on these 16 tweets before training:", round(float(_o.extras.get("cm_loss", float("nan"))), 3))

# %% [markdown]
# ## Training and evaluation
#
# Every model of the chapter, and each ablation the parameters name, is trained once per seed with
# the trainer of `mner_lib.training` (the paper's optimiser and schedule, early stopping on dev F1), on
# the data and for the epochs this build's parameters say, in the configuration `python -m mner_lib
# train` makes from the same settings. Each run writes a run folder (`config.json`, `metrics.json`,
# `history.jsonl`, predictions); the table below is read from those files, then come the training
# curves, the test F1 per entity type and the entity confusion of the first run. An ablation's row
# carries the name every results table gives it (`w/o CM (use_cm=False)`), so it averages with the
# same ablation trained from the command line. The paper's own settings for Twitter-2017 (batch 32,
# temperature 0.174) apply by themselves there, as they do on the command line.

# %%
from mner_lib.book import train_and_tabulate

# each model and ablation, once per seed
trained = train_and_tabulate(P, "gmf")

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

show_recorded_runs(["gmf", "bert-crf"], P["results_dir"])

# %% [markdown]
# ## After training: gates, similarities, embeddings
#
# The gates, the consistency heads' similarities and the embeddings of the same 16 training tweets
# as above, now from the model trained in this build (its best epoch on dev). Each title says what
# it was trained on; on the demo corpus the images are synthetic probes, which show only which
# entity types a tweet has: tweets with the same types have interchangeable images there, so the
# matrices show rows and columns alike by type rather than one sharp diagonal.

# %% tags=["hide-input"]
from mner_lib.book import trained_on

_r = trained.runs["gmf"][0]
_source = trained_on(_r)
# the library's one inference path, all 16 tweets in one batch; per-tweet outputs stacked back
_after = _r.model.run(sim_tweets, _r.images, batch_size=len(sim_tweets), return_attention=True)
_stack = {k: torch.stack(v) for k, v in {**_after.attentions, **_after.extras}.items()
          if v and isinstance(v[0], torch.Tensor)}
if _stack["gates"].shape[-1]:  # a caption condition has no gate
    display(layer_gates(_stack["gates"], title=f"trained gates g(l), mean over 16 tweets\n{_source}"))
if before is not None and "text_embedding" in _stack:
    display(similarity_matrices({"before training": before,
                                 "after training": (_stack["text_embedding"], _stack["image_embedding"])},
                                f"consistency heads: cosine similarity, texts x images (16 training tweets)\n{_source}"))
    display(embedding_pairs(_stack["text_embedding"], _stack["image_embedding"],
                            f"text and image embeddings after training (PCA), matched pairs joined\n{_source}"))

# %% [markdown]
# ## Explorer: one tweet at a time
#
# Pick a tweet to see its gold and predicted entities and what the model attended to. In a live
# notebook (Jupyter, Colab) the widget below is interactive; the built book shows the same view,
# rendered statically, for the first test tweets.

# %% tags=["remove-output"]
from mner_lib.book.explorer import collect_examples, explorer, picture, static_view

_label = "gmf"
_result = trained.runs[_label][0]
_tweets = trained.test[:12]
_pictures = [picture(_result.images, t) for t in _tweets] if _result.images is not None else None
examples = collect_examples(_result.model, _tweets, _result.images, _pictures,
                            synthetic=bool(_result.metrics["synthetic"]))
explorer(examples)

# %% tags=["remove-input"]
static_view(examples, limit=2)

# %% [markdown]
# ## Try this
#
# Each exercise changes one parameter. Write down what you expect before you run it.
#
# 1. Train on the CRF loss alone, `model_options={"alpha": 1.0}` (eq. 22 with alpha = 1). Will the
#    similarity matrix after training still show a diagonal?
#
#    ```bash
#    papermill notebooks/06_gmf.ipynb try_06_alpha1.ipynb -y 'model_options: {alpha: 1.0}'
#    ```
#
# 2. A much sharper contrast, `model_options={"temperature": 0.05}`. Will the diagonal get brighter,
#    and will the tagging F1 care?
#
#    ```bash
#    papermill notebooks/06_gmf.ipynb try_06_tau.ipynb -y 'model_options: {temperature: 0.05}'
#    ```
#
# 3. Train without the visual clue guidance too (`w/o VCG`: every layer's prefix comes from the
#    last CNN stage alone, with no dynamic gate; the image still enters). Which of the figures
#    above will have nothing to show, and how much F1 is lost? Under a caption condition GMF
#    refuses `w/o VCG` and `w/o CSA`: a caption has one scale, so both are bypassed there.
#
#    ```bash
#    papermill notebooks/06_gmf.ipynb try_06_no_vcg.ipynb -y 'ablations: ["w/o VCG"]'
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

