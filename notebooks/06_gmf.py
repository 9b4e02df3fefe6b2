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

# %% tags=["parameters"]
dataset = "demo"  # demo | twitter2015 | twitter2017 | twitter10000
data_dir = ""  # empty: $MNER_DATA_DIR, or none (the demo corpus needs none)
condition = "synthetic"  # image condition: real | blank | synthetic | shuffled | missing:<p>
backbone = "efficientnet-lite0"  # the paper: ResNet-50 (weights not available offline)
encoder = "minilm-l6"  # the paper: bert-base-uncased (on Colab, where its weights can be had)
models = ["gmf"]
epochs = 3
seeds = [1234]  # the paper's seed
device = "auto"  # auto picks a GPU when there is one
max_train = 100  # cap on training tweets (None: all)
max_eval = None  # cap on dev and test tweets (None: all; a capped run is not comparable)
train_options = {}  # training settings replacing the paper's ({}: the paper's); the quick book's demo: {"lr": 3e-4, "encoder_lr": 3e-4, "batch_size": 8}
model_options = {}  # GMFConfig fields, e.g. {"alpha": 0.5}
ablations = []  # any of: "w/o VCG", "w/o CSA", "w/o CM", "w/o all" (Table 4)
runs_dir = "runs/book"
results_dir = "results"  # the recorded runs shown under "Recorded runs"

# %% tags=["hide-input"]
from mner_lib import params as _params
from mner_lib.book import summary as _summary

P = _params.check(globals(), "gmf")  # unknown names or bad values fail here
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
import torch

from mner_lib.book import walkthrough
from mner_lib.explorer import picture

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

# %% tags=["hide-input"]
from mner_lib.plots import layer_gates

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

# %% tags=["hide-input"]
from mner_lib.plots import prefix_attention

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

# %% tags=["hide-input"]
from mner_lib.plots import embedding_pairs, similarity_matrices

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
# the trainer of `mner_lib.train` (the paper's optimiser and schedule, early stopping on dev F1), on
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
# The runs above are this build's. The table below reads the runs recorded under the results folder (`results_dir`) for `gmf`, `bert-crf`: test F1 as mean ± standard deviation over seeds, each setting with its training settings and caps (`max_train`, `max_eval`; `all` is the full split), the paper's row it is compared with and the `metrics.json` files averaged. A capped run or one with few epochs is not a replication, and rows on synthetic images have no paper number. `results/README.md` says which command wrote each experiment.
#
# Rows whose training column reads `lr=0.001 (encoder 5e-05)` trained the new layers (prefix projection, cross-scale attention, gates, heads, CRF) at 1e-3, our first default: GMF stayed at F1 0, and learned unevenly with the `prefix_logit_bias` option, which is not the paper's. Rows at `lr=5e-05` train every parameter at the paper's rate, the default now; why the difference, in the docstring of `mner_lib/models/gmf_blocks.py`.

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
from mner_lib.explorer import collect_examples, explorer, picture, static_view

_label = "gmf"
_result = trained.runs[_label][0]
_tweets = trained.test[:12]
_pictures = [picture(_result.images, t) for t in _tweets] if _result.images is not None else None
examples = collect_examples(_result.model, _tweets, _result.images, _pictures,
                            synthetic=bool(_result.metrics["synthetic"]))
explorer(examples)

# %% tags=["remove-input"]
static_view(examples, limit=2)
