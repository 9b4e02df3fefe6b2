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
# # Foundations: CRF, metrics and the text baselines
#
# All four papers end in the same head: a linear-chain conditional random field (CRF) over the
# BIO2 tags. They are scored with the same entity-level metric, and they compare with the same
# text-only baselines. This chapter builds those three pieces and trains the baselines, so the
# paper chapters can focus on what each model adds.

# %% [markdown] tags=["book-header"]
# **The baselines.**
#
# - Zhiheng Huang, Wei Xu, Kai Yu: *Bidirectional LSTM-CRF models for sequence tagging*. arXiv 1508.01991, 2015 {cite}`huang2015bilstmcrf`.
# - Guillaume Lample, Miguel Ballesteros, Sandeep Subramanian, Kazuya Kawakami, Chris Dyer: *Neural architectures for named entity recognition*. NAACL-HLT 2016, 2016 {cite}`lample2016neural`.
# - Jacob Devlin, Ming-Wei Chang, Kenton Lee, Kristina Toutanova: *BERT: pre-training of deep bidirectional transformers for language understanding*. NAACL-HLT 2019, 2019 {cite}`devlin2019bert`.
#
# ::::{admonition} Running this notebook
# :class: tip
#
# - **On Colab** ([open this chapter](https://colab.research.google.com/github/mner-book/mner-book/blob/v0.1.0/notebooks/02_foundations.ipynb), or the rocket button
#   above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
#   cell clones the book at `v0.1.0` and installs it. `device = "auto"` picks the GPU.
# - **From a checkout**, the whole book: `make book`; this chapter alone, with the `quick`
#   profile's parameters:
#
#   ```bash
#   python -m mner_lib book run --profile quick --only foundations
#   ```
#
# - **With papermill**, from the repository root, the same run by hand:
#
#   ```bash
#   papermill notebooks/02_foundations.ipynb out.ipynb \
#       -p device cpu \
#       -p runs_dir runs/book/quick
#   ```
#
#   Add `-p dataset twitter2015` (with `MNER_DATA_DIR` set, or `-p data_dir <folder>`) to run it on the benchmark instead of the shipped demo corpus.
# ::::

# %% [markdown]
# **What you will learn**
#
# - the linear-chain CRF every model here ends in: the score of a tag sequence, the partition
#   function, Viterbi decoding, and the BIO2 constraints (with the library code of each);
# - the entity-level precision, recall and F1 every table reports;
# - the text-only baselines (BiLSTM-CRF, HBiLSTM-CRF) the papers compare with, trained here, and
#   what they do with words they have never seen.

# %% [markdown]
# **Parameters.** The cell below holds every setting a build may change (papermill's
# `-p name value`); the cell after it checks them and shows the build in one line, every
# parameter one click away. A run with `max_train` or `max_eval` set is capped: its
# numbers are not comparable with the papers'. `train_options` replaces the paper's
# training settings for every run of the chapter (`{}`: the paper's).

# %% tags=["parameters"]
dataset = "demo"  # demo | twitter2015 | twitter2017 | twitter10000
data_dir = ""  # empty: $MNER_DATA_DIR, or none (the demo needs none)
models = ["bilstm-crf", "hbilstm-crf"]  # text baselines; also: bert-crf
epochs = 3
seeds = [0]
device = "auto"  # auto picks a GPU when there is one
max_train = None  # cap on training tweets (None: all)
max_eval = None  # cap on dev and test tweets (None: all)
train_options = {}  # replaces the paper's settings, e.g. {"lr": 0.01}
constrain_bio = False  # forbid impossible BIO transitions in the CRF
runs_dir = "runs/book"
results_dir = "results"  # the recorded runs shown under "Recorded runs"

# %% tags=["hide-input"]
from mner_lib.book import params as _params
from mner_lib.book import summary as _summary

# a name the chapter does not know, or a bad value, fails here
P = _params.check(globals(), "foundations")
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
# (foundations-real)=
# ## Real results first
#
# The replication campaign's test F1 for this chapter's models on the real Twitter data, before
# any code: full training, dev and test sets, seeds 0-2, beside the paper's number (quoted with
# its row and table). The protocols it replaced (budget runs, probes, quick runs) are in the
# {ref}`reproducibility appendix <appendix-protocols>`, labelled.

# %% tags=["remove-input"]
from mner_lib.book.definitive import show_definitive

show_definitive(['bilstm-crf', 'hbilstm-crf', 'bert-crf'], P["results_dir"])

# %% [markdown]
# **Discussion.** The GloVe baselines replicate. BiLSTM-CRF on Twitter-2015 is
# {finding}`first/bilstm-crf/twitter2015/ours/paper` F1 from the GMF paper's row
# ({claim}`within|first/bilstm-crf/twitter2015/ours/paper`), and HBiLSTM-CRF
# {finding}`first/hbilstm-crf/twitter2015/ours/paper` and
# {finding}`first/hbilstm-crf/twitter2017/ours/paper`. BiLSTM-CRF on Twitter-2017 beats its paper
# by {finding}`first/bilstm-crf/twitter2017/ours/paper`
# ({claim}`above|first/bilstm-crf/twitter2017/ours/paper`); lowercasing the words costs it
# {finding}`first/bilstm-crf/twitter2017/lowercase/baseline|abs`
# ({claim}`loss|first/bilstm-crf/twitter2017/lowercase/baseline`), which hints that the paper's
# run lowercased but proves nothing. SGD without momentum costs most
# ({finding}`first/bilstm-crf/twitter2017/momentum0/baseline`,
# {claim}`loss|first/bilstm-crf/twitter2017/momentum0/baseline`). BERT-CRF, with a 6-layer MiniLM
# in place of bert-base, ends 3 epochs {finding}`first/bert-crf/twitter2015/none/paper|abs_total` and
# {finding}`first/bert-crf/twitter2017/none/paper|abs_total` F1 below the paper
# ({claim}`below|first/bert-crf/twitter2017/none/paper`). Trained to early stopping, its first seed
# comes within {finding}`converged/bert-crf/twitter2015/none/paper|abs_total` and
# {finding}`converged/bert-crf/twitter2017/none/paper|abs_total` F1; two more seeds are queued.

# %% [markdown]
# ### One change at a time
#
# The campaign changed one setting of a GloVe baseline at a time, paired by seed, on the rows
# furthest from their papers in an earlier 12-epoch run (and the fourth under `lowercase`). A
# change that brings a row to its paper without pushing the others out is a candidate cause of the
# gap, not a proof; for a row above its paper, any change that costs F1 closes the gap.

# %% tags=["remove-input"]
from mner_lib.book.definitive import show_changes

show_changes(P["results_dir"])

# %% [markdown]
# ## The CRF
#
# A tagger produces emission scores $E \in \mathbb{R}^{T \times K}$ (one score per token and tag).
# The CRF adds a transition score $A_{ij}$ for tag $i$ followed by tag $j$ and scores a whole tag
# sequence $y$ as $s(x, y) = \sum_t E_{t, y_t} + \sum_t A_{y_{t-1}, y_t}$ (plus start and end
# scores). Training maximises $\log p(y \mid x) = s(x, y) - \log \sum_{y'} e^{s(x, y')}$, and
# prediction is the Viterbi path $\arg\max_y s(x, y)$.
#
# BIO2 makes some transitions impossible: `O` followed by `I-PER`, `B-PER` followed by `I-LOC`,
# or a tweet starting with `I-`. `mner_lib.models.crf.CRF(..., constrain_bio=True)` reads those start
# and transition scores as -1e4 in the likelihood and in Viterbi, without changing the learned
# parameters, so Viterbi never produces them and the partition function ignores them (allennlp's
# CRF applies the same mask, in Viterbi only). The allowed transitions:

# %% tags=["remove-input"]
from mner_lib.book.source import show_source
from mner_lib.models.crf import CRF, log_partition, path_score, viterbi_decode

show_source(
    (path_score, "s(x, y)"),
    (log_partition, "log of the sum over y' of exp s(x, y')"),
    (viterbi_decode, "Viterbi: argmax over y of s(x, y)"),
    (CRF.constrained_scores, "the BIO2 constraints"),
)

# %% tags=["hide-input"]
from mner_lib.models.crf import CRF, bio_allowed
from mner_lib.text.data import TAGS

start, trans = bio_allowed(TAGS)
fig, ax = plt.subplots(figsize=(5.5, 4.6), layout="constrained")
sns.heatmap(trans.int().numpy(), cmap="Greens", cbar=False, xticklabels=TAGS, yticklabels=TAGS, ax=ax, linewidths=0.5)
ax.set(xlabel="next tag", ylabel="previous tag", title="allowed BIO2 transitions (green)")
from mner_lib.figures.figure import captioned

display(captioned(
    fig,
    "The BIO2 transitions the constrained CRF allows (green): the row's tag followed by the column's.",
    f"A {len(TAGS)} by {len(TAGS)} grid of tags, previous tag in rows, next tag in columns; "
    f"{int(trans.sum())} of {trans.numel()} transitions are allowed (green). The forbidden ones "
    "(white) put an I- tag after O or after a tag of another type.",
))
print("tags that may start a tweet:", [t for t, ok in zip(TAGS, start.tolist()) if ok])

# %% [markdown]
# A small demonstration: random emissions for a six-token tweet, decoded by a CRF with and
# without the constraints (the transition scores are untrained, so the emissions decide).

# %% tags=["hide-input"]
import torch

torch.manual_seed(P["seeds"][0])
emissions = torch.randn(1, 6, len(TAGS)) * 2
mask = torch.ones(1, 6, dtype=torch.bool)
free = CRF(len(TAGS), TAGS, constrain_bio=False)
constrained = CRF(len(TAGS), TAGS, constrain_bio=True)
with torch.no_grad():
    constrained.crf.transitions.copy_(free.crf.transitions)
    constrained.crf.start_transitions.copy_(free.crf.start_transitions)
    constrained.crf.end_transitions.copy_(free.crf.end_transitions)
for name, crf in (("unconstrained", free), ("constrained", constrained)):
    path = crf.decode(emissions, mask)[0]
    print(f"{name:>13}: {' '.join(TAGS[i] for i in path)}")

# %% [markdown]
# ## The metric
#
# An entity is a maximal run of tags of one type that starts at `B-X`, or at `I-X` when the
# previous tag is `O` or of another type (an orphan `I-` starts an entity, as in conlleval). A
# predicted entity is right only if its span and type both equal a gold entity's; precision,
# recall and F1 are micro averages over all entities, and per type. A worked example:

# %% tags=["hide-input"]
from mner_lib.text.metrics import evaluate, extract_entities

gold = [["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "O", "B-ORG"]]
pred = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-MISC"]]
print("gold entities:", extract_entities(gold[0]))
print("predicted:    ", extract_entities(pred[0]))
scores = evaluate(gold, pred)
print(f"P {scores['precision']:.1f}  R {scores['recall']:.1f}  F1 {scores['f1']:.1f}")
display(pd.DataFrame(scores["per_type"]).T[["precision", "recall", "f1", "gold", "predicted"]])

# %% [markdown]
# The orphan `I-LOC I-LOC` is one gold LOC entity spanning tokens 3-4, and the prediction
# `B-LOC I-LOC` has the same span and type, so it counts as right; the ORG predicted as MISC is a
# miss for ORG and a false positive for MISC.
#
# ## The text baselines
#
# | name | what it is | reported in |
# |---|---|---|
# | `bilstm-crf` | word embeddings (GloVe) -> BiLSTM -> CRF | GMF paper, Tables 2-3 |
# | `hbilstm-crf` | + a character BiLSTM per word (Lample et al.) | GMF paper, Tables 2-3 |
# | `bert-crf` | a BERT-family encoder (offline: the bundled 6-layer MiniLM) -> CRF | GMF paper, Tables 2-3 |
#
# A live look at one model's shapes on two tweets, before training:

# %% tags=["hide-input"]
from mner_lib.text.data import load_dataset
from mner_lib.models import build_model

data = load_dataset(P["dataset"], P["data_dir"] or None, max_train=P["max_train"], seed=P["seeds"][0])
demo_model = build_model(P["models"][0], data.train)
batch = demo_model.collate(data.train[:2])
out = demo_model(batch, decode=True)
for key, value in batch.items():
    if hasattr(value, "shape"):
        print(f"batch[{key!r}]: {tuple(value.shape)}")
print("emissions:", tuple(out.emissions.shape), "(B, T, tags); loss", round(float(out.loss), 3))
print("untrained prediction:", out.predictions[0])

# %% [markdown]
# ### Words the model has never seen
#
# Social-media test sets are full of names that never occur in training. A word-level model maps
# such a word to one shared unknown vector unless its vocabulary knows it. Following Lample et al.
# (2016), whose BiLSTM-CRF and HBiLSTM-CRF are the papers' baselines, the trainer adds the dev and
# test words that GloVe knows to the vocabulary (`TrainConfig.augment_vocab`, on by default; only
# words are read, never tags), so each gets its pretrained vector. How much this matters on this
# build's data:

# %% tags=["hide-input"]
from mner_lib.text.encoders import glove_index, glove_key

_seen = {t for tweet in data.train for t in tweet.tokens}
_index = glove_index()
_rows = []
for _kind, _keep in (("all tokens", lambda tag: True), ("entity tokens", lambda tag: tag != "O")):
    _tokens = [tok for tweet in data.test for tok, tag in zip(tweet.tokens, tweet.tags) if _keep(tag)]
    _unseen = [tok for tok in _tokens if tok not in _seen]
    _rows.append({"test": _kind, "tokens": len(_tokens),
                  "not training words (%)": 100 * len(_unseen) / max(1, len(_tokens)),
                  "of those, GloVe knows (%)": 100 * sum(glove_key(t) in _index for t in _unseen) / max(1, len(_unseen))})
display(pd.DataFrame(_rows).set_index("test"))
print(f"training words: {len(_seen)} ({len(data.train)} training tweets of {P['dataset']})")

# %% [markdown]
# ## Training and evaluation
#
# Every model of the chapter, and each ablation the parameters name, is trained once per seed with
# the trainer of `mner_lib.training` (the paper's optimiser and schedule, early stopping on dev F1), on
# the data and for the epochs this build's parameters say, in the configuration `python -m mner_lib
# train` makes from the same settings. Each run writes a run folder (`config.json`, `metrics.json`,
# `history.jsonl`, predictions); the table below is read from those files, then come the training
# curves, the test F1 per entity type and the entity confusion of the first run.

# %%
from mner_lib.book import train_and_tabulate

# each model and ablation, once per seed
trained = train_and_tabulate(P, "foundations")

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

show_recorded_runs(["bilstm-crf", "hbilstm-crf", "bert-crf"], P["results_dir"])

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
# 1. Turn the BIO2 constraints on, `constrain_bio=True`. Will test F1 go up, down or stay? Will any
#    predicted tweet still contain an impossible `O I-PER`?
#
#    ```bash
#    papermill notebooks/02_foundations.ipynb try_02_bio.ipynb -p constrain_bio True
#    ```
#
# 2. Train on a quarter of the tweets, `max_train=50`. How much F1 do you expect the baselines to
#    lose, and on which entity type first?
#
#    ```bash
#    papermill notebooks/02_foundations.ipynb try_02_small.ipynb -p max_train 50
#    ```
#
# 3. Train for more epochs, `epochs=6`. Where will the dev-F1 curve flatten?
#
#    ```bash
#    papermill notebooks/02_foundations.ipynb try_02_epochs.ipynb -p epochs 6
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

