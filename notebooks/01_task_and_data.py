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
# # The task and the data
#
# Multimodal NER on tweets: a tweet's tokens (with its image and hashtags) in, one BIO2 tag per
# token out, over four types: PER, LOC, ORG and MISC (Twitter-2015 calls the fourth type OTHER; the
# loader renames it). Scoring is at the entity level, the conlleval way: a predicted entity counts
# only if its span *and* its type match a gold entity. This chapter looks at the benchmark data the
# papers use, the quirks a loader has to handle, and the synthetic image probe that stands in for the
# tweet images these machines cannot reach.

# %% [markdown] tags=["book-header"]
# **The data.**
#
# - Qi Zhang, Jinlan Fu, Xiaoyu Liu, Xuanjing Huang: *Adaptive co-attention network for named entity recognition in tweets*. Proceedings of the Thirty-Second AAAI Conference on Artificial Intelligence, 2018 {cite}`zhang2018twitter2015`.
# - Di Lu, Leonardo Neves, Vitor Carvalho, Ning Zhang, Heng Ji: *Visual attention model for name tagging in multimodal social media*. Proceedings of the 56th Annual Meeting of the Association for Computational Linguistics (ACL), 2018 {cite}`lu2018twitter2017`.
#
# ::::{admonition} Running this notebook
# :class: tip
#
# - **On Colab** ([open this chapter](https://colab.research.google.com/github/mner-book/mner-book/blob/v0.1.0/notebooks/01_task_and_data.ipynb), or the rocket button
#   above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
#   cell clones the book at `v0.1.0` and installs it.
# - **From a checkout**, the whole book: `make book`; this chapter alone, with the `quick`
#   profile's parameters:
#
#   ```bash
#   python -m mner_lib book run --profile quick --only task_data
#   ```
#
# - **With papermill**, from the repository root, the same run by hand:
#
#   ```bash
#   papermill notebooks/01_task_and_data.ipynb out.ipynb
#   ```
#
#   Add `-p dataset twitter2015` (with `MNER_DATA_DIR` set, or `-p data_dir <folder>`) to run it on the benchmark instead of the shipped demo corpus.
# ::::

# %% [markdown]
# **What you will learn**
#
# - how a tweet, its BIO2 tags and its entities fit together, and how entities are counted (the
#   conlleval way, which every number in this book uses);
# - what the benchmark splits hold: entities per type, tweet lengths, orphan `I-` tags, hashtags and
#   images;
# - what the real images look like as text (captions), and the synthetic visual-clue probe that
#   tests whether a fusion module uses the image at all.

# %% tags=["parameters"]
dataset = "demo"  # demo | twitter2015 | twitter2017 | twitter10000
data_dir = ""  # empty: $MNER_DATA_DIR, or none (the demo needs none)
probe_examples = 4  # how many probe drawings to show
seeds = [0]  # the probe's drawing seed (first one)

# %% tags=["hide-input"]
from mner_lib.book import params as _params
from mner_lib.book import summary as _summary

# a name the chapter does not know, or a bad value, fails here
P = _params.check(globals(), "task_data")
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
from mner_lib.text.data import ENTITY_TYPES, SPLITS, load_dataset, orphan_positions
from mner_lib.text.stats import dataset_stats

data = load_dataset(P["dataset"], P["data_dir"] or None)
stats = dataset_stats(data)
if P["dataset"] == "demo":
    display(Markdown("**This build describes the shipped demo corpus**: synthetic tweets made by "
                     "`mner_lib.text.demo_corpus`, because no data folder was set. Set `MNER_DATA_DIR` "
                     "(or the `data_dir` parameter) to see Twitter-2015/2017."))
else:
    display(Markdown(f"**This build describes `{P['dataset']}`** read from `{data.paths['train']}` and "
                     "its sibling files."))

# %% [markdown]
# ## Tweets and entities per split
#
# Entities are counted twice: by their `B-` tag, and the conlleval way, where an `I-` tag that does
# not continue an entity of its type (an *orphan*) starts a new entity.

# %% tags=["hide-input"]
rows = []
for split in SPLITS:
    s = stats[split]
    row = {"split": split, "tweets": s["tweets"], "tokens": s["tokens"]}
    for t in ENTITY_TYPES:
        row[t] = f"{s['entities_b'][t]} ({s['entities_conlleval'][t]})"
    row["orphan I-"] = s["orphan_i"]
    row["hashtags"] = s["hashtags"]
    rows.append(row)
display(pd.DataFrame(rows).set_index("split"))

# %% tags=["hide-input"]
counts = pd.DataFrame(
    [{"split": s, "type": t, "entities": stats[s]["entities_conlleval"][t]} for s in SPLITS for t in ENTITY_TYPES]
)
lengths = pd.DataFrame([{"split": s, "tokens": len(t)} for s in SPLITS for t in data.split(s)])
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), layout="constrained")
sns.barplot(counts, x="type", y="entities", hue="split", ax=axes[0])
axes[0].set_title("entities per type (conlleval count)")
sns.histplot(lengths, x="tokens", hue="split", element="step", stat="density", common_norm=False, ax=axes[1])
axes[1].set_title("tweet length in tokens")
from mner_lib.figures.figure import captioned

_per_type = counts.groupby("type")["entities"].sum()
display(captioned(
    fig,
    f"Entities per type in each split of {P['dataset']} (left) and the tweet lengths in tokens (right).",
    "Left: grouped bar chart of entity counts per type and split; over all splits "
    + ", ".join(f"{k} {int(v)}" for k, v in _per_type.items()) + ". Right: step histograms of "
    "tweet length in tokens, one per split; median length "
    + ", ".join(f"{s} {int(lengths[lengths['split'] == s]['tokens'].median())}" for s in SPLITS) + ".",
))

# %% [markdown]
# ## Orphan `I-` tags
#
# Twitter-2015 has entities that begin with `I-X` with no `B-X` before them (for example
# `St . Louis` tagged `I-LOC I-LOC I-LOC`). The loader keeps them as they are by default
# (`orphan_policy="keep"`) and the scorer reads such an `I-` as the start of an entity, as conlleval
# does; `orphan_policy="repair"` rewrites them to `B-` at load time. The first few orphans of this
# dataset:

# %% tags=["hide-input"]
examples = []
for split in SPLITS:
    for tweet in data.split(split):
        for i in orphan_positions(tweet.tags):
            window = " ".join(f"{w}/{t}" for w, t in zip(tweet.tokens[max(0, i - 2): i + 3], tweet.tags[max(0, i - 2): i + 3]))
            examples.append({"split": split, "tweet": tweet.id, "position": i, "context": window})
if examples:
    display(pd.DataFrame(examples[:8]))
else:
    print(f"{P['dataset']}: no orphan I- tags in any split")

# %% [markdown]
# ## Hashtags
#
# Hashtags join words without spaces (`#StLouisCardinals`); TriMod segments them into words and
# uses them as a third modality. The most frequent hashtags of the training split and what two
# dictionary segmenters (`wordsegment`, `wordninja`) make of them:

# %% tags=["hide-input"]
from collections import Counter

from mner_lib.hashtags import get_segmenter

tags = Counter(h for tweet in data.train for h in tweet.hashtags)
segmenters = {name: get_segmenter(name) for name in ("wordsegment", "wordninja")}
top = tags.most_common(10)
if top:
    display(pd.DataFrame(
        [{"hashtag": "#" + h, "count": n, **{name: " ".join(s.segment(h)) for name, s in segmenters.items()}} for h, n in top]
    ))
share = sum(1 for t in data.train if t.hashtags) / max(1, len(data.train))
print(f"{share:.0%} of the training tweets carry at least one hashtag")

# %% [markdown]
# ## Images
#
# Each tweet names its image (`IMGID:<id>`). The benchmark images are published only as an archive
# on Google Drive that these machines cannot reach, so the project checks which images exist and
# replaces a missing one by a flagged blank image (HSN's rule), never by another tweet's image.

# %% tags=["hide-input"]
from mner_lib.text.data import image_dir

try:
    folder = image_dir(P["dataset"], P["data_dir"] or None)
except FileNotFoundError:
    folder = None
rows = []
for split in SPLITS:
    tweets = data.split(split)
    present = sum(1 for t in tweets if folder is not None and (folder / f"{t.id}.jpg").exists())
    rows.append({"split": split, "tweets": len(tweets), "images found": present,
                 "share": present / max(1, len(tweets))})
print(f"image folder: {folder if folder else '(none)'}" + (" (exists)" if folder and folder.is_dir() else " (missing)"))
if P["dataset"] == "demo":
    print("the demo corpus ships one synthetic probe drawing per tweet as its 'image' (labelled synthetic)")
display(pd.DataFrame(rows).set_index("split"))

# %% [markdown]
# ## Real images, as text
#
# The benchmark images themselves are out of reach, but text that image models wrote **from the
# real images** is in the data folder (`image_text/`, joined to the tweets by IMGID): a BLIP-2
# caption for every image of Twitter-2015 and Twitter-2017, a generic COCO-style caption by CATR,
# longer mPLUG-Owl descriptions for part of the images. These captions are the only real visual
# signal the models here can get, and they are image conditions like the others
# (`caption:blip2`, `caption:catr`, `caption:owl`; `caption-shuffled:<source>` gives each tweet
# another tweet's caption, the control). A fourth source is **not vision**: PGIM's paragraphs
# (`knowledge:pgim`) were written by a language model (ChatGPT) from the tweet *and* its BLIP-2
# caption, so they carry the language model's own knowledge.
#
# First the real tweet images shipped with the data (`samples/images`), each beside its tweet (gold
# entities coloured) and the captions BLIP-2 and CATR wrote from it. A caption part framed in a
# type's colour is an entity string of the tweet that the caption contains.

# %% tags=["hide-input"]
from mner_lib.book.caption_view import ORIGIN_NOTE, show_samples, show_tables, show_tweet_captions

display(Markdown(f"*{ORIGIN_NOTE}*"))
from mner_lib.figures.figure import html_figure

display(html_figure(show_samples(P["data_dir"] or None),
                    "The sample tweet images beside the captions image models wrote for them; the "
                    "tweet's entity strings are marked where a caption contains them."))

# %% [markdown]
# ### Tweets with their caption, and the leak
#
# Six tweets of this dataset's test split with their BLIP-2 caption and their gold entities: the
# first three whose caption contains an entity string of the tweet (framed in the caption), and the
# first three whose caption does not. BLIP-2 reads text in images and names famous people, so a
# caption sometimes *states* an entity of its tweet: that is real visual signal, but a gain from
# captions should be weighed against how often this happens (the leak share below).

# %% tags=["hide-input"]
display(show_tweet_captions(data, P["data_dir"] or None, split="test", n=6, source="blip2"))

# %% [markdown]
# ### Coverage and leak share per source and split
#
# The first table counts, per source and split, the tweets whose image has a text (`covered`), an
# empty one, or none (`missing`: the run gets the empty caption and a flag, never another tweet's
# text), as `python -m mner_lib data stats` reports it. The second gives the **leak share**: the
# share of the gold entities whose string occurs in the tweet's own text (`own %`) and in another
# tweet's text under the seeded shuffle of `caption-shuffled:<source>` (`shuffled %`, the chance
# level). The PGIM rows are language-model knowledge, written with the tweet in view: their
# leak is no measure of vision.

# %% tags=["hide-input"]
for item in show_tables(P["dataset"], P["data_dir"] or None, data=data):
    display(item)

# %% [markdown]
# ## The synthetic visual-clue probe
#
# To test whether a fusion module *uses* visual evidence at all, the project draws an image for each
# tweet from its gold entity types: one icon per entity whose shape and colour name the type (PER a
# red disc, LOC a green triangle, ORG a blue square, MISC an orange star), placed in random cells of
# a 4x4 grid among grey distractors. The probe carries only the multiset of types: no words, no
# positions, no order. A model can use it as a per-tweet prior over which types occur; it still has
# to find the words in the text. Results on it are always labelled **synthetic**. Variants:
# *shuffled* gives each tweet another tweet's probe, *missing:p* replaces a fraction p by the blank
# image.

# %% tags=["hide-input"]
from mner_lib.images import draw_probe, probe_types
from mner_lib.figures import image_gallery

with_entities = [t for t in data.train if probe_types(t.tags)][: P["probe_examples"]]
drawings = [draw_probe(t.id, probe_types(t.tags), seed=P["seeds"][0]) for t in with_entities]
captions = [f"{t.id}: {', '.join(probe_types(t.tags))}" for t in with_entities]
display(image_gallery([d.image for d in drawings], captions, "synthetic probe drawings (one icon per gold entity)"))
for tweet in with_entities:
    print(f"{tweet.id}: {' '.join(tweet.tokens)}")

# %% tags=["hide-input"]
from mner_lib.images import ImageFeatures
from mner_lib.book.explorer import picture

sample = with_entities[:1] + data.train[1:4]
shown, names = [], []
for condition in ("synthetic", "shuffled:synthetic", "missing:0.5:synthetic", "blank"):
    feats = ImageFeatures(dataset=P["dataset"], data_dir=P["data_dir"] or None, condition=condition, seed=P["seeds"][0])
    shown.append(picture(feats, sample[0]))
    names.append(f"{condition}")
display(image_gallery(shown, names, f"what tweet {sample[0].id} gets under each image condition (all synthetic or blank)"))

# %% [markdown]
# ## Try this
#
# Each exercise changes one parameter. Write down what you expect before you run it.
#
# 1. Draw more probe images, `probe_examples=8`. Before you look: can any drawing tell you *where*
#    in the tweet an entity is, or only *which* types occur?
#
#    ```bash
#    papermill notebooks/01_task_and_data.ipynb try_01_more_probes.ipynb -p probe_examples 8
#    ```
#
# 2. Change the drawing seed, `seeds=[1]`. Which parts of a probe image change, and which cannot?
#
#    ```bash
#    papermill notebooks/01_task_and_data.ipynb try_01_seed1.ipynb -y 'seeds: [1]'
#    ```
#
# 3. With the benchmark data (`MNER_DATA_DIR` set), describe Twitter-2017 instead of Twitter-2015.
#    Will it have more or fewer orphan `I-` tags, and a larger share of PER?
#
#    ```bash
#    papermill notebooks/01_task_and_data.ipynb try_01_twitter2017.ipynb -p dataset twitter2017
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

