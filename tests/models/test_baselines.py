"""The text baselines: shapes, masks, padding invariance, invisible tokens, save/load."""

from __future__ import annotations

import pytest
import torch

from mner_lib.models import Tagger, build_model
from mner_lib.text.data import TAGS, Tweet

SMALL = {"use_glove": False, "hidden": 8, "word_dim": 12, "char_emb": 6, "char_hidden": 5}
INVISIBLE = Tweet(
    "O_1",
    ["I", "\u2764", "\ufe0f", "Paris", "\u200b", "\ufe0f", "!", "\u00ad", "Obama", "\u200d"],
    ["O", "O", "O", "B-LOC", "O", "O", "O", "O", "B-PER", "O"],
)


@pytest.fixture(scope="module")
def bert(demo):
    """bert-crf with random MiniLM-shaped weights (the architecture, not the checkpoint)."""
    try:
        import mner_lib.text.encoders  # noqa: F401
    except ImportError:
        pytest.fail("mner_lib/text/encoders.py (build_text_encoder, align_subwords) is missing")
    torch.manual_seed(0)
    return build_model("bert-crf", demo.train[:50], {"pretrained": False}).eval()


def lstm_model(name: str, demo) -> Tagger:
    torch.manual_seed(0)
    return build_model(name, demo.train, SMALL).eval()


def emissions_of(model: Tagger, tweets) -> tuple[torch.Tensor, dict]:
    batch = model.collate(tweets)
    with torch.no_grad():
        return model(batch).emissions, batch


def check_padding_invariance(model: Tagger, tweets) -> None:
    together, batch = emissions_of(model, tweets)
    assert together.shape == (len(tweets), max(len(t) for t in tweets), len(TAGS))
    assert batch["mask"].dtype == torch.bool
    assert batch["mask"].sum(1).tolist() == [len(t) for t in tweets]
    for i, tweet in enumerate(tweets):
        alone, _ = emissions_of(model, [tweet])
        assert alone.shape == (1, len(tweet), len(TAGS))
        assert torch.allclose(together[i, : len(tweet)], alone[0], atol=1e-5), tweet.id


@pytest.mark.parametrize("name", ["bilstm-crf", "hbilstm-crf"])
def test_lstm_shapes_and_padding_invariance(demo, name):
    model = lstm_model(name, demo)
    tweets = sorted(demo.dev[:6], key=len)  # different lengths, the longest last
    assert len({len(t) for t in tweets}) > 1
    check_padding_invariance(model, tweets)
    assert hasattr(model, "chars") == (name == "hbilstm-crf")
    assert ("chars" in model.collate(tweets)) == (name == "hbilstm-crf")  # only where read


@pytest.mark.parametrize("name", ["bilstm-crf", "hbilstm-crf"])
def test_lstm_loss_predictions_and_save_load(demo, name, tmp_path):
    model = lstm_model(name, demo)
    tweets = demo.dev[:5] + [INVISIBLE]
    batch = model.collate(tweets)
    model.train()
    out = model(batch)
    assert out.loss is not None and out.loss.dim() == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.emit.weight.grad is not None
    model.eval()
    preds = model.predict(tweets)
    assert [len(p) for p in preds] == [len(t) for t in tweets]
    assert all(tag in TAGS for p in preds for tag in p)
    model.save(tmp_path / "m.pt")
    back = Tagger.load(tmp_path / "m.pt").eval()
    assert type(back) is type(model)
    assert torch.equal(emissions_of(back, tweets)[0], emissions_of(model, tweets)[0])
    assert back.predict(tweets) == preds


def test_hbilstm_sees_characters(demo):
    """Two OOV words differ only in characters: HBiLSTM tells them apart, BiLSTM cannot."""
    a = Tweet("a", ["zqxwv"], ["O"])
    b = Tweet("b", ["vwxqz"], ["O"])
    for name, differ in (("bilstm-crf", False), ("hbilstm-crf", True)):
        model = lstm_model(name, demo)
        ea, eb = emissions_of(model, [a])[0], emissions_of(model, [b])[0]
        assert (not torch.allclose(ea, eb)) == differ, name


def test_bert_crf_shapes_and_padding_invariance(bert, demo):
    tweets = sorted(demo.dev[:4], key=len) + [INVISIBLE]
    check_padding_invariance(bert, tweets)


def test_bert_crf_keeps_invisible_tokens_aligned(bert):
    batch = bert.collate([INVISIBLE])
    assert batch["mask"].tolist() == [[True] * len(INVISIBLE)]
    first = batch["first_subword"][0].tolist()
    assert first == sorted(set(first)) and first[0] == 1  # after [CLS], strictly increasing
    assert max(first) < int(batch["attention_mask"].sum())
    preds = bert.predict([INVISIBLE])
    assert len(preds[0]) == len(INVISIBLE.tokens)
    loss = bert(bert.collate([INVISIBLE])).loss
    assert loss is not None and torch.isfinite(loss)


def test_bert_crf_long_tweet_is_cut_not_shifted(bert):
    """A tweet longer than max_length sub-words: the words that fit keep their positions and the
    cut ones are tagged O, so every token still has one tag."""
    tokens = [f"word{i}" for i in range(200)]
    tweet = Tweet("long", tokens, ["O"] * 200)
    preds = bert.predict([tweet])
    assert len(preds[0]) == 200
    mask = bert.collate([tweet])["mask"][0]
    assert 0 < int(mask.sum()) < 200 and mask[: int(mask.sum())].all()
