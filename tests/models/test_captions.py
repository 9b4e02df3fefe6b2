"""A caption reaches every model, and every model trains end to end under ``caption:blip2``."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from mner_lib.images.captions import CaptionEncoder
from mner_lib.models import build_model
from mner_lib.text.data import Tweet
from tests.fakes import CAPTION_TINY as TINY
from tests.fakes import caption_batch, emissions, write_demo_image_text

MODELS = tuple(TINY)


@pytest.fixture(scope="module")
def tweets(demo) -> list[Tweet]:
    return demo.train[:3]


@pytest.fixture(scope="module")
def encoder() -> CaptionEncoder:
    return CaptionEncoder()


@pytest.mark.parametrize("name", MODELS)
def test_the_caption_reaches_the_model(name, demo, tweets, encoder):
    torch.manual_seed(0)
    model = build_model(name, demo.train[:30], TINY[name]).eval()
    first = ["a man holding a trophy at the stadium", "a red car", "two dogs on a beach"]
    other = ["a bowl of soup on a wooden table", "a red car", "two dogs on a beach"]
    blank = ["", "", ""]
    a = emissions(model, tweets, caption_batch(first, encoder))
    b = emissions(model, tweets, caption_batch(other, encoder))
    c = emissions(model, tweets, caption_batch(blank, encoder))
    assert torch.equal(a, emissions(model, tweets, caption_batch(first, encoder)))  # deterministic
    assert not torch.allclose(a[0], b[0]), "changing tweet 0's caption must change its scores"
    assert torch.allclose(a[1:], b[1:], atol=1e-5), "other tweets' scores must not move"
    assert not torch.allclose(a, c), "a blank caption and a caption must differ"


@pytest.mark.parametrize("name", ["hsn", "gmf"])
def test_caption_models_refuse_pixel_batches_and_vice_versa(name, demo, tweets, encoder):
    model = build_model(name, demo.train[:30], TINY[name])
    pixels = dataclasses.replace(caption_batch(["x"] * 3, encoder), captions=None)
    with pytest.raises(ValueError, match="carries no captions"):
        model.collate(tweets, pixels)
    options = {**TINY[name], "visual_input": "pixels"}
    if name == "hsn":
        options["image_feature_dim"] = 1280
    plain = build_model(name, demo.train[:30], options)
    with pytest.raises(ValueError, match="visual_input='caption'"):
        plain.collate(tweets, caption_batch(["x"] * 3, encoder))


def test_attention_names_caption_tokens(demo, tweets, encoder):
    model = build_model("hsn", demo.train[:30], TINY["hsn"]).eval()
    images = caption_batch(["a man with a guitar", "", "two dogs"], encoder)
    out = model(model.collate(tweets, images), return_attention=True)
    tokens = out.extras["caption_tokens"]
    assert tokens == [["a", "man", "with", "a", "guitar"], ["(no caption)"], ["two", "dogs"]]
    weights = out.attentions["text_to_image"]  # (B, K) over caption words
    assert weights.shape[1] == 5
    assert torch.allclose(weights[2, 2:], torch.zeros(3))  # padding gets no attention


def test_bert_crf_reads_tweet_sep_caption(demo, tweets, encoder):
    model = build_model("bert-crf", demo.train[:30], TINY["bert-crf"])
    batch = model.collate(tweets, caption_batch(["a red car", "", "dogs"], encoder))
    pieces = model.tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    sep = pieces.index("[SEP]")
    assert pieces[sep + 1 : sep + 5] == ["a", "red", "car", "[SEP]"]
    assert batch["token_type_ids"][0, sep + 1 : sep + 5].tolist() == [1, 1, 1, 1]
    assert int(batch["first_subword"].max()) < sep  # the CRF reads tweet words only
    plain = model.collate(tweets)
    assert torch.equal(plain["first_subword"], batch["first_subword"])


def test_caption_model_options_switch_hsn_and_gmf_only():
    from mner_lib.images.captions import caption_model_options
    from mner_lib.models import get_model_class

    hsn, cwi = get_model_class("hsn"), get_model_class("cwi")
    assert caption_model_options(hsn, "caption:blip2") == {"visual_input": "caption"}
    assert caption_model_options(hsn, "caption:blip2", {"visual_input": "pixels"}) == {
        "visual_input": "pixels"
    }
    assert caption_model_options(hsn, "blank") == {}
    assert caption_model_options(cwi, "knowledge:pgim") == {}
    assert caption_model_options(get_model_class("bert-crf"), "none") == {}


# ----------------------------------------------------------------------------- end to end
def run_demo(name: str, condition: str, tmp_path) -> dict:
    from mner_lib.training import TrainConfig, run_training

    data = write_demo_image_text(tmp_path / "data")
    cfg = TrainConfig(
        model=name,
        dataset="demo",
        data_dir=str(data),
        out=str(tmp_path / "run"),
        epochs=1,
        max_train=12,
        max_eval=6,
        batch_size=6,
        condition=condition,
        model_options=dict(TINY[name]),
        progress=False,
        threads=1,
    )
    result = run_training(cfg)
    return json.loads((result.run_dir / "metrics.json").read_text())["images"]


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_end_to_end_on_the_demo_corpus_with_captions(name, tmp_path, cache_dir):
    """A training run under a caption condition records the captions' source, kind, coverage,
    flags and entity leak in its metrics.

    Fast sibling: :func:`tests/images/test_text.py::test_shuffled_captions_are_never_the_tweets_own`
    (the provider's record: kind and flag counts); the model's side:
    :func:`test_the_caption_reaches_the_model`."""
    images = run_demo(name, "caption:blip2", tmp_path)
    assert images["condition"] == "caption:blip2" and images["source"] == "blip2"
    assert images["kind"] == "real-image caption"
    assert images["flagged_counts"] == {"empty": 1, "missing": 1}
    assert set(images["coverage"]) == {"train", "dev", "test"}
    assert 0.0 <= images["leak"]["share"] <= 1.0 and images["leak"]["entities"] > 0
    assert sum(images["caption_flags"].values()) > 0


@pytest.mark.slow
def test_pgim_knowledge_is_labelled_language_model_knowledge(tmp_path, cache_dir):
    """A run on PGIM's knowledge says so in its metrics: language-model knowledge, shuffled.

    Fast sibling: :func:`tests/images/test_text.py::test_every_source_reads_the_demo_files`
    (PGIM's table is labelled language-model knowledge)."""
    images = run_demo("bert-crf", "knowledge-shuffled:pgim", tmp_path)
    assert images["kind"] == "language-model knowledge" and images["shuffled"]
    assert images["caption_flags"].get("shuffled", 0) > 0
