"""The trainer: run folder, repeatability, resume after a kill, early stopping, accumulation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mner_lib.text.data import TAGS, UnknownNameError, load_dataset, read_tweets
from mner_lib.training import (
    TrainConfig,
    load_run,
    paper_defaults,
    resolve_config,
    run_training,
)

TINY = {"use_glove": False, "hidden": 16, "word_dim": 16}


def config(out: Path, **kwargs) -> TrainConfig:
    values = dict(
        dataset="demo",
        out=str(out),
        epochs=3,
        max_train=60,
        batch_size=10,
        device="cpu",
        progress=False,
        model_options=dict(TINY),
        seed=7,
    )
    values.update(kwargs)
    return resolve_config("bilstm-crf", **values)


def scores(metrics: dict) -> dict:
    return {
        s: {k: metrics[s][k] for k in ("precision", "recall", "f1", "per_type")}
        for s in ("dev", "test")
    }


@pytest.fixture(scope="module")
def run_a(tmp_path_factory):
    out = tmp_path_factory.mktemp("run_a")
    return run_training(config(out))


def test_run_folder_layout_and_metrics(run_a):
    out = run_a.run_dir
    for name in (
        "config.json",
        "metrics.json",
        "history.jsonl",
        "model.safetensors",
        "model.json",
        "manifest.json",
        "predictions_dev.txt",
        "predictions_test.txt",
    ):
        assert (out / name).is_file(), name
    assert not (out / "checkpoint").exists()  # removed once the run finished
    assert not list(out.glob("*.pt"))  # nothing pickled
    m = json.loads((out / "metrics.json").read_text())
    assert (m["model"], m["dataset"], m["condition"], m["seed"]) == (
        "bilstm-crf",
        "demo",
        "none",
        7,
    )
    for split in ("dev", "test"):
        for key in ("precision", "recall", "f1"):
            assert 0.0 <= m[split][key] <= 100.0
        assert set(m[split]["per_type"]) >= {"PER", "LOC", "ORG", "MISC"}
        assert {"precision", "recall", "f1"} <= set(m[split]["per_type"]["PER"])
    assert m["commit"]
    env = m["environment"]
    assert env["torch"] == torch.__version__ and env["device"] == "cpu" and "python" in env
    from importlib.metadata import version

    assert env["transformers"] == version("transformers")  # read without importing it
    # the precision it trained in here, not the setting ("auto" differs from machine to machine)
    from mner_lib.models.precision import resolve_precision

    assert env["precision"] == resolve_precision("auto", "cpu") in ("fp32", "bf16")
    assert m["wall_seconds"] > 0 and m["train_tweets_per_second"] > 0
    assert m["inference_tweets_per_second"] > 0
    assert m["train_tweets"] == 60 and m["epochs_run"] == 3
    assert len((out / "history.jsonl").read_text().splitlines()) == 3
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == "bilstm-crf" and cfg["model_options"] == TINY and cfg["seed"] == 7
    # the whole model config, defaults included, so a later change of a default cannot relabel it
    assert m["model_config"]["hidden"] == 16 and "dropout" in m["model_config"]


def test_the_tagging_head_gets_its_own_learning_rate(tmp_path):
    """head_lr: the emission layer and the CRF in their own optimiser group (GMF, as HVPNeT)."""
    from mner_lib.models import build_model
    from mner_lib.training.trainer import build_optimizer

    cfg = config(tmp_path, head_lr=0.05, lr=0.001)
    model = build_model("bilstm-crf", load_dataset("demo").train[:20], TINY)
    groups = build_optimizer(model, cfg).param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    head = [g for g in groups if g["lr"] == 0.05]
    assert len(groups) == 2 and len(head) == 1
    assert {names[id(p)].split(".")[0] for p in head[0]["params"]} == {"emit", "crf"}
    assert all(not names[id(p)].startswith(("emit.", "crf.")) for p in groups[0]["params"])
    assert len(build_optimizer(model, config(tmp_path)).param_groups) == 1  # none: lr for all


def test_predictions_are_readable_and_aligned(run_a):
    demo = load_dataset("demo")
    m = run_a.metrics
    for split, gold in (("dev", demo.dev), ("test", demo.test)):
        pred = read_tweets(run_a.run_dir / f"predictions_{split}.txt")
        assert [t.id for t in pred] == [t.id for t in gold]
        assert [t.tokens for t in pred] == [t.tokens for t in gold]
        assert all(tag in TAGS for t in pred for tag in t.tags)
        from mner_lib.text.metrics import evaluate

        again = evaluate([t.tags for t in gold], [t.tags for t in pred])
        assert again["f1"] == pytest.approx(m[split]["f1"])


def test_seeded_runs_repeat_and_resume_loses_nothing(run_a, tmp_path):
    # the same seed again: identical scores and predictions
    b = run_training(config(tmp_path / "b"))
    assert scores(b.metrics) == scores(run_a.metrics)
    for split in ("dev", "test"):
        name = f"predictions_{split}.txt"
        assert (tmp_path / "b" / name).read_text() == (run_a.run_dir / name).read_text()
    # killed after one epoch, then started again with the same configuration
    cfg = config(tmp_path / "c")
    with pytest.raises(KeyboardInterrupt):
        run_training(cfg, stop_after_epochs=1)
    assert (tmp_path / "c" / "checkpoint" / "manifest.json").is_file()
    assert not (tmp_path / "c" / "metrics.json").exists()
    # a different configuration may not reuse the unfinished folder
    with pytest.raises(ValueError, match="unfinished run of another configuration"):
        run_training(config(tmp_path / "c", seed=8))
    c = run_training(config(tmp_path / "c"))
    assert c.metrics["epochs_run"] == 3
    assert scores(c.metrics) == scores(run_a.metrics)
    assert (tmp_path / "c" / "predictions_test.txt").read_text() == (
        run_a.run_dir / "predictions_test.txt"
    ).read_text()
    losses = [h["loss"] for h in c.history]
    assert losses == [h["loss"] for h in run_a.history]
    assert not (tmp_path / "c" / "checkpoint").exists()
    history = (tmp_path / "c" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in history] == [1, 2, 3]  # no repeated epoch


def test_a_run_resumed_from_another_checkout_names_every_commit_it_trained_under(
    run_a, tmp_path, monkeypatch
):
    """metrics.json's ``commit`` is the checkout that finished the run; its provenance lists
    every commit whose code trained an epoch, so a resume under other code is not hidden."""
    import mner_lib.training.trainer as trainer

    assert run_a.metrics["provenance"]["trained_under"] == [run_a.metrics["commit"]]
    monkeypatch.setattr(trainer, "provenance", lambda: {"commit": "a" * 40, "dirty": False})
    with pytest.raises(KeyboardInterrupt):
        run_training(config(tmp_path), stop_after_epochs=1)
    monkeypatch.setattr(trainer, "provenance", lambda: {"commit": "b" * 40, "dirty": True})
    done = run_training(config(tmp_path))
    assert done.metrics["commit"] == "b" * 40 + "+dirty"
    assert done.metrics["provenance"]["trained_under"] == ["a" * 40, "b" * 40 + "+dirty"]
    assert scores(done.metrics) == scores(run_a.metrics)  # the code label changes nothing else


def test_another_seed_differs(run_a, tmp_path):
    other = run_training(config(tmp_path / "s", seed=8))
    assert [h["loss"] for h in other.history] != [h["loss"] for h in run_a.history]


def test_early_stopping_with_patience(tmp_path):
    # a learning rate too small to change anything: dev F1 never improves after epoch 1
    r = run_training(
        config(tmp_path, epochs=10, patience=2, optimizer="sgd", lr=1e-12, max_train=20)
    )
    assert r.metrics["epochs_run"] == 3  # epoch 1 best, then 2 epochs without improvement
    assert r.metrics["best_epoch"] == 1


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(run_dir / "model.safetensors")


def test_gradient_accumulation_equals_a_bigger_batch(tmp_path):
    """8 tweets, one epoch: batch 8 makes one update; batch 4 x accumulation 2 makes the same one
    update; batch 4 without accumulation makes two different updates."""
    common = dict(
        epochs=1,
        max_train=8,
        length_buckets=0,  # the same tweet order in both (buckets sort per pool of batches)
        # fp32, not "auto": on a CPU with AMX-BF16 (or a GPU) "auto" is bf16 autocast, whose
        # rounding of the LSTM and emission layer depends on the batch's shape (8 rows vs 4, its
        # padded length), so batch 8 and 4 x 2 then differ by bf16 noise (emit.bias gradient
        # ~4e-3, as far as either is from fp32), not by an accumulation error
        precision="fp32",
        optimizer="sgd",
        lr=0.1,
        model_options={**TINY, "dropout": 0.0},
    )
    big = run_training(config(tmp_path / "big", batch_size=8, **common))
    acc = run_training(config(tmp_path / "acc", batch_size=4, grad_accum=2, **common))
    two = run_training(config(tmp_path / "two", batch_size=4, **common))
    from mner_lib.models import build_model
    from mner_lib.training import set_seed

    set_seed(7)  # the weights before training, as run_training builds them
    init = build_model(
        "bilstm-crf", load_dataset("demo", max_train=8, seed=7).train, common["model_options"]
    ).state_dict()
    w_big, w_acc, w_two = _weights(big.run_dir), _weights(acc.run_dir), _weights(two.run_dir)
    assert not torch.allclose(w_big["emit.weight"], init["emit.weight"])  # an update happened
    for name in w_big:
        gap = float((w_big[name] - w_acc[name]).abs().max())
        assert torch.allclose(w_big[name], w_acc[name], atol=1e-6), (name, gap)
    assert not torch.allclose(w_big["emit.weight"], w_two["emit.weight"], atol=1e-6)


def test_load_run_from_the_folder(run_a):
    model, cfg = load_run(run_a.run_dir)
    assert cfg["model"] == "bilstm-crf"
    demo = load_dataset("demo")
    assert model.predict(demo.test[:5]) == [
        t.tags for t in read_tweets(run_a.run_dir / "predictions_test.txt")[:5]
    ]
    with pytest.raises(ValueError, match="no model.safetensors"):
        load_run(run_a.run_dir / "nothing")


# ------------------------------------------------------------------ configuration errors
def test_paper_defaults_and_overrides():
    cfg = resolve_config("bilstm-crf")
    for key, value in paper_defaults("bilstm-crf").items():
        assert getattr(cfg, key) == value
    assert resolve_config("bilstm-crf", lr=0.1, optimizer="adam").lr == 0.1
    assert resolve_config("bert-crf").encoder_lr == 5e-5


@pytest.mark.parametrize(
    ("kwargs", "error", "listed"),
    [
        ({"model": "bilstm"}, UnknownNameError, ["bilstm-crf", "hbilstm-crf", "bert-crf"]),
        ({"dataset": "twitter2016"}, UnknownNameError, ["twitter2015", "twitter2017", "demo"]),
        ({"optimizer": "rmsprop"}, UnknownNameError, ["adam", "adamw", "sgd"]),
        ({"schedule": "cosine"}, UnknownNameError, ["constant", "inverse-decay", "linear-warmup"]),
        ({"device": "tpu"}, UnknownNameError, ["auto", "cpu", "cuda"]),
        ({"orphan_policy": "fix"}, UnknownNameError, ["keep", "repair", "error"]),
        ({"learning_rate": 0.1}, ValueError, ["lr", "epochs", "grad_accum"]),
        ({"epochs": 0}, ValueError, ["epochs must be at least 1"]),
        ({"condition": "real"}, ValueError, ["uses no images"]),
    ],
)
def test_config_errors_list_the_valid_values(kwargs, error, listed):
    model = kwargs.pop("model", "bilstm-crf")
    with pytest.raises(error) as info:
        resolve_config(model, **kwargs)
    for word in listed:
        assert word in str(info.value)


def test_unknown_model_option_lists_valid_ones(tmp_path):
    with pytest.raises(ValueError) as info:
        run_training(config(tmp_path, model_options={"hiden": 3}))
    message = str(info.value)
    assert "hiden" in message and "hidden" in message and "use_glove" in message


def test_cap_eval_samples_dev_and_test_the_same_way_for_every_seed():
    from mner_lib.text.data import load_dataset
    from mner_lib.training import cap_eval

    data = load_dataset("demo")
    capped = cap_eval(data, 10, seed=0)
    again = cap_eval(data, 10, seed=0)
    assert len(capped.dev) == len(capped.test) == 10
    assert [t.id for t in capped.test] == [t.id for t in again.test]
    order = [t.id for t in data.test]
    assert [order.index(t.id) for t in capped.test] == sorted(
        order.index(t.id) for t in capped.test
    )
    assert capped.train is data.train
    with pytest.raises(ValueError, match="max_eval"):
        cap_eval(data, 0, seed=0)


@pytest.mark.parametrize("augment", [True, False])
def test_dev_and_test_words_glove_knows_join_the_vocabulary(tmp_path, augment):
    """Lample et al.'s rule: a test word unseen in training gets its GloVe vector, not <unk>;
    words GloVe lacks stay unknown, and tags are never read."""
    import dataclasses

    import numpy as np

    from mner_lib.text.data import Tweet, seeded_subset
    from mner_lib.text.encoders import glove_index, glove_matrix
    from mner_lib.text.vocab import Vocabularies
    from mner_lib.training import Tagger

    demo = load_dataset("demo")
    seen = {t for tweet in demo.train for t in tweet.tokens}
    assert "zanzibar" not in seen and "zanzibar" in glove_index()
    unseen = Tweet("u1", ["Zanzibar", "qqxqzzq"], ["B-LOC", "O"])
    data = dataclasses.replace(demo, test=[*demo.test[:20], unseen])
    cfg = config(tmp_path, epochs=1, model_options={"hidden": 16}, augment_vocab=augment)
    result = run_training(cfg, dataset=data)
    model = Tagger.load(result.run_dir)
    words = model.vocab.words
    assert "qqxqzzq" not in words
    assert ("Zanzibar" in words) is augment
    trained_on = Vocabularies.from_tweets(seeded_subset(demo.train, cfg.max_train, cfg.seed))
    added = len(words) - len(trained_on.words)
    assert result.metrics["glove_added_words"] == added and (added > 0) is augment
    if augment:  # a row no training tweet looks up gets no gradient: still GloVe's vector
        row = model.words.embedding.weight[words.index("Zanzibar")].detach().numpy()
        assert np.allclose(row, glove_matrix()[glove_index()["zanzibar"]], atol=1e-6)


def test_recorded_paths_name_no_folder_of_this_machine(tmp_path, monkeypatch):
    from mner_lib.training import portable_config, portable_path

    data, home = tmp_path / "data", tmp_path / "home"
    (data / "twitter2015_images").mkdir(parents=True)
    (home / ".cache").mkdir(parents=True)
    monkeypatch.setenv("MNER_DATA_DIR", str(data))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MNER_CACHE_DIR", str(tmp_path / "features"))
    assert portable_path(str(tmp_path / "features" / "lite0")) == "$MNER_CACHE_DIR/lite0"
    assert portable_path(str(data)) == "$MNER_DATA_DIR"
    assert portable_path(str(data / "twitter2015_images")) == "$MNER_DATA_DIR/twitter2015_images"
    assert portable_path(str(home / ".cache" / "f")) == "~/.cache/f"
    assert portable_path("/elsewhere/x") == "/elsewhere/x" and portable_path(None) is None
    record = portable_config(
        TrainConfig(
            model="bilstm-crf", dataset="twitter2015", data_dir=str(data), out=str(tmp_path / "o")
        )
    )
    assert record["data_dir"] == "$MNER_DATA_DIR"


def test_length_buckets_keep_every_tweet_once_and_pad_less():
    import random as _random

    from mner_lib.training.trainer import epoch_batches

    rng = _random.Random(0)
    lengths = [rng.randint(1, 40) for _ in range(230)]
    order = list(range(230))
    rng.shuffle(order)
    cfg = resolve_config("bilstm-crf", batch_size=10, length_buckets=5)
    batches = epoch_batches(order, lengths, cfg, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(230))
    assert batches == epoch_batches(order, lengths, cfg, epoch=0)  # seeded
    plain = epoch_batches(
        order, lengths, resolve_config("bilstm-crf", batch_size=10, length_buckets=0), 0
    )

    def padding(bs):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in bs)

    assert padding(batches) < padding(plain) / 2
    assert plain == [order[i : i + 10] for i in range(0, 230, 10)]
