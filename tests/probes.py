"""The synthetic probe of the model tests: the type-blind demo (entity types only the synthetic
image reveals), a short training run on it, and the F1 no image-blind tagger reaches on it
(:func:`blind_ceiling`), against which the tests hold a run with the synthetic images."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence

from mner_lib.text.data import Dataset, Tweet, load_dataset

# -- the synthetic probe (shared with test_cwi.py) ---------------------------------------------
PROBE_FILLERS = ("so", "lol", "wow", "today", "!", "great", "news", "this", "is", "the", "at", ".")


def type_blind(tweets: list[Tweet], seed: int) -> list[Tweet]:
    """The probe task: the demo tweets with one entity type per tweet, drawn at random, every
    entity word replaced by ``Xx`` and every other word by a random filler. The text shows where
    the entities are but nothing about their type (the demo's templates and name lists would give
    it away); the synthetic probe image, drawn from the gold types, shows the type and nothing
    about where. Text alone can only guess the type; text + image can get it right."""

    rng = random.Random(seed)
    out = []
    for t in tweets:
        etype = rng.choice(["PER", "LOC", "ORG", "MISC"])
        tags = [g if g == "O" else g[:2] + etype for g in t.tags]
        words = ["Xx" if g != "O" else rng.choice(PROBE_FILLERS) for g in tags]
        out.append(Tweet(t.id, words, tags))
    return out


def train_probe(
    model: str,
    options: dict,
    out_dir,
    epochs: int,
    lr: float,
    n_train: int = 160,
    seed: int = 0,
) -> dict[str, float]:
    """Test F1 of ``model`` trained on the type-blind demo with synthetic and with blank images
    (:func:`demo_probe_f1` for each; the same folders, data and settings)."""
    return {
        condition: demo_probe_f1(model, options, out_dir, condition, epochs, lr, n_train, seed)
        for condition in ("synthetic", "blank")
    }


# ----------------------------------------------------------------------------- the probe
# The demo corpus is no probe of image use: its templates give every entity's type away (a tiny
# text model reaches ~99 F1 with blank images). Here the text cannot tell the type: one invented
# name per tweet, drawn from one pool for all four types, among neutral words. The synthetic
# image (mner_lib.images.probe) shows an icon of the type, so only a model that reads the image
# can beat the ~25 F1 of guessing.
PROBE_NAMES = [
    "Zorvik",
    "Halmet",
    "Quenby",
    "Darrow",
    "Ellish",
    "Morvane",
    "Tesk",
    "Brannoch",
    "Vilmar",
    "Orrin",
    "Kestrel",
    "Juno",
    "Pellam",
    "Sarrow",
    "Fenwick",
    "Ilvan",
]


PROBE_FILLER = [
    "look",
    "at",
    "this",
    "wow",
    "so",
    "today",
    "again",
    "!",
    "lol",
    "nice",
    ".",
    "here",
    "with",
    "new",
    "pic",
]


PROBE_TYPES = ("PER", "LOC", "ORG", "MISC")


def type_blind_probe(train: int = 150, dev: int = 60, test: int = 60, seed: int = 0):
    """A Dataset (named "demo") whose entity types only the images reveal."""

    rng = random.Random(seed)

    def split(name: str, n: int) -> list[Tweet]:
        out = []
        for i in range(n):
            pre = rng.sample(PROBE_FILLER, rng.randint(1, 3))
            post = rng.sample(PROBE_FILLER, rng.randint(1, 3))
            etype = rng.choice(PROBE_TYPES)
            tokens = pre + [rng.choice(PROBE_NAMES)] + post
            tags = ["O"] * len(pre) + ["B-" + etype] + ["O"] * len(post)
            out.append(Tweet(f"probe_{name}_{i:04d}", tokens, tags))
        return out

    return Dataset("demo", split("train", train), split("dev", dev), split("test", test))


#: CWI's probe sizes (larger than its unit tests' tiny model: the model must learn the
#: image-to-type mapping)
CWI_PROBE = {
    "use_glove": False,
    "word_dim": 8,
    "word_length": 12,
    "char_emb": 5,
    "attention_dim": 9,
    "word_hidden": 16,
    "fusion_hidden": 16,
    "image_word_dim": 16,
    "image_hidden": 16,
}


#: cwi-attention's probe run (tests/models/test_cwi.py), the keywords of :func:`demo_probe_f1`:
#: CWI_PROBE's sizes with dropout 0.2, 20 epochs and no early stopping, on the whole demo
#: training split (the image's top-5 label words are weak type cues). The image pathway switches
#: on late: with dropout 0.5, 12 epochs and the trainer's patience of 5, or at batch 16 and lr
#: 0.02, it stayed off for some seeds of 0-5 (benchmarks/probe_seeds.md).
CWI_PROBE_RUN = {
    "options": {**CWI_PROBE, "dropout": 0.2},
    "epochs": 20,
    "lr": 0.01,
    "n_train": 300,
    "patience": 20,
}

#: plain CWI's probe run: cwi-attention's at batch 16 and lr 0.02 (half the steps), with a
#: character CNN of 4-8-8 and 8-4-4 filters instead of the paper's 16-32-64 and 64-32-16 (every
#: entity word of the probe is "Xx": its characters say nothing, and the narrow CNN takes a
#: third less time), for 10 epochs, without early stopping. On for each of seeds 0-5
#: (benchmarks/probe_seeds.md): its dev F1 passes 60 by epoch 4 to 7, so the 20 epochs it had
#: bought nothing but time. At its former settings (dropout 0.5, 8 epochs, patience 5) seed 0
#: scored 39.9 test F1, and 31.0 with oneDNN off. cwi-attention keeps the paper's widths and 20
#: epochs: with the narrow CNN its seed 0 stayed off (27.9), and its dev F1 still climbs at
#: epoch 15 to 18 for some seeds.
CWI_PLAIN_RUN = {
    **CWI_PROBE_RUN,
    "options": {**CWI_PROBE_RUN["options"], "char_filters1": (4, 8, 8), "char_filters2": (8, 4, 4)},
    "batch_size": 16,
    "lr": 0.02,
    "epochs": 10,
    "patience": 10,
}


# ----------------------------------------------------------------------------- probe settings
# The probe runs of the model tests, shared with benchmarks/probe_seeds.py so that the measured
# numbers (benchmarks/probe_seeds.md) come from the tests' own settings.

#: TriMod's probe (tests/models/test_trimod.py): dev F1 on :func:`type_blind_probe`
TRIMOD_PROBE = {
    "epochs": 8,
    "lr": 0.05,
    "grad_accum": 1,
    "model_options": {"hidden": 50, "dropout": 0.3},
}

#: GMF's probe (tests/models/test_gmf.py): dev F1 on :func:`type_blind_probe`; the model is the
#: unit tests' tiny GMF (an untrained 2-layer encoder)
GMF_PROBE = {
    "epochs": 6,
    "batch_size": 16,
    "lr": 2e-3,
    "encoder_lr": 2e-3,
    "schedule": "constant",
    "model_options": {
        "pretrained": False,
        "encoder_layers": 2,
        "hidden": 32,
        "heads": 4,
        "visual_dim": 16,
        "cm_dim": 16,
    },
}


def run_probe(model: str, condition: str, out, data: Dataset, seed: int, settings: dict):
    """One probe run of ``model`` on ``data`` (named "demo") under an image ``condition``: the
    :class:`~mner_lib.training.TrainResult`, one thread, no progress output."""
    from mner_lib.training import resolve_config, run_training

    cfg = resolve_config(
        model,
        dataset="demo",
        condition=condition,
        out=str(out),
        seed=seed,
        progress=False,
        threads=1,
        **settings,
    )
    return run_training(cfg, dataset=data)


def gmf_matching(result, data: Dataset, rounds: int = 12) -> tuple[int, int]:
    """GMF's contrastive heads on the probe: groups of four dev/test tweets with four different
    entity types (so their images differ in what the text can know); (hits, total) of the image
    each tweet's text is most similar to being its own (chance: 1 in 4)."""
    import torch

    model = result.model.eval()
    by_type = {t: [tw for tw in data.dev + data.test if "B-" + t in tw.tags] for t in PROBE_TYPES}
    n = min(min(len(v) for v in by_type.values()), rounds)
    hits = total = 0
    with torch.no_grad():
        for r in range(n):
            group = [by_type[t][r] for t in PROBE_TYPES]
            sim = model.similarity(model.collate(group, result.images(group)))
            hits += int((sim.argmax(dim=1) == torch.arange(4)).sum())
            total += 4
    return hits, total


def demo_probe_f1(
    model: str,
    options: dict,
    out_dir,
    condition: str,
    epochs: int,
    lr: float,
    n_train: int = 160,
    seed: int = 0,
    batch_size: int = 8,
    **settings,
) -> float:
    """Test F1 of one probe run under any image ``condition`` (e.g. the
    reshuffled-images control ``shuffled:synthetic``), with train_probe's data and settings;
    ``settings``: other training settings (e.g. ``patience``)."""
    from mner_lib.training import resolve_config, run_training

    ds = demo_probe_data(n_train)
    cfg = resolve_config(
        model,
        dataset="demo",
        condition=condition,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        out=str(out_dir / f"{condition.replace(':', '-')}_seed{seed}"),
        model_options=options,
        progress=False,
        resume=False,
        **settings,
    )
    return run_training(cfg, dataset=ds).metrics["test"]["f1"]


def demo_probe_data(n_train: int = 160) -> Dataset:
    """The data of :func:`demo_probe_f1`: the demo corpus made type-blind (:func:`type_blind`),
    its first ``n_train`` training tweets, 60 dev tweets and the whole test split."""
    ds = load_dataset("demo")
    return dataclasses.replace(
        ds,
        train=type_blind(ds.train[:n_train], 1),
        dev=type_blind(ds.dev[:60], 2),
        test=type_blind(ds.test, 3),
    )


# ----------------------------------------------------------------------------- the ceiling
#: how many standard deviations above chance :func:`blind_ceiling` sits
BLIND_Z = 5.0


def blind_ceiling(tweets: Sequence[Tweet], z: float = BLIND_Z) -> float:
    """The F1 (in %) on ``tweets`` of a type-blind probe that a tagger which does not see the
    image reaches only by a fluke of chance below 1 in 10,000.

    The probes draw each tweet's entity type uniformly from the four, independently of its
    words (:func:`type_blind`, :func:`type_blind_probe`), so a tagger blind to the image gets a
    tweet's type right with probability 1/4, whatever it learnt from the text. With ``n_i``
    entities in tweet ``i`` and ``N`` in all, its true positives have mean at most ``N / 4`` and
    standard deviation at most ``sigma = sqrt(3/16 * sum(n_i**2))`` (all of a tweet's entities
    share its type, so a tweet's guesses are right or wrong together). Micro F1 is
    ``2 TP / (N + predicted)``: ``TP / N`` when it predicts every gold span; predicting fewer
    leaves fewer guesses to get right, predicting more adds false positives, and on the probes'
    splits neither lifts F1 above the bound for all spans. The ceiling is
    ``1/4 + z * sigma / N``; Hoeffding's inequality (a tweet's right guesses lie in
    ``[0, n_i]``) puts a blind tagger above it with probability at most ``exp(-3 z**2 / 8)``
    (8e-5 for z = 5). A run with blank images is such a tagger; so, near enough, is the
    reshuffled-images control (each tweet gets another tweet's image, which says nothing of its
    own type)."""
    counts = [sum(tag.startswith("B-") for tag in tweet.tags) for tweet in tweets]
    total = sum(counts)
    if not total:
        raise ValueError("blind_ceiling: the tweets hold no entity")
    chance = 1 / len(PROBE_TYPES)
    sigma = math.sqrt(chance * (1 - chance) * sum(n * n for n in counts))
    return 100 * (chance + z * sigma / total)
