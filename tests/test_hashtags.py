"""The hashtag segmenter (TriMod IV-C/D): labels, front end, model, training, save/load,
baselines, evaluation, the per-token helper for TriMod and the CLI."""

from __future__ import annotations

import random

import pytest
import torch

from mner_lib.commands import cli
from mner_lib.hashtags import (
    DictionarySegmenter,
    HashtagSegmenter,
    HashtagSegmenterConfig,
    JoinedExample,
    TrainConfig,
    boundary_labels,
    chance_boundary_f1,
    evaluate_segmenter,
    get_segmenter,
    heldout_split,
    make_joined_examples,
    presplit,
    segment_hashtags,
    split_by_labels,
    split_examples,
    train_segmenter,
)
from mner_lib.text.data import Tweet, load_dataset

TINY = HashtagSegmenterConfig(
    char_dim=12, cnn_filters=24, cnn_kernel=3, lstm_hidden=24, dropout=0.0
)
WORDS = ["red", "blue", "cat", "dog", "sun", "moon", "big", "car", "tree", "fish", "hat", "box"]


def _synthetic(n: int, seed: int) -> list[JoinedExample]:
    rng = random.Random(seed)
    return [JoinedExample(tuple(rng.choices(WORDS, k=rng.randint(1, 3)))) for _ in range(n)]


# ----------------------------------------------------------------------------- labels and data
@pytest.mark.parametrize(
    "words", [("new", "york", "city"), ("a",), ("i", "am", "a", "cat"), ("amwriting",)]
)
def test_labels_round_trip(words):
    labels = boundary_labels(words)
    text = "".join(words)
    assert len(labels) == len(text) and labels[-1] == 0
    assert sum(labels) == len(words) - 1
    assert split_by_labels(text, labels) == list(words)


def test_labels_mark_the_last_char_of_each_word():
    assert boundary_labels(["ab", "c", "de"]) == [0, 1, 1, 0, 0]
    with pytest.raises(ValueError, match="non-empty"):
        boundary_labels(["ab", ""])
    with pytest.raises(ValueError, match="3 characters but 2 labels"):
        split_by_labels("abc", [0, 1])


def test_joined_examples_come_from_alphabetic_runs():
    tweets = [
        Tweet(
            "1", ["RT", "@bob", ":", "New", "York", "City", "rocks", "#nyc", "http://x"], ["O"] * 9
        ),
        ["I", "love", "2", "Big", "Dogs"],
    ]
    examples = make_joined_examples(tweets, seed=1, min_words=1, max_words=4)
    assert all(1 <= len(ex.words) <= 4 for ex in examples)
    assert all(ex.text == ex.text.lower() and ex.text.isalpha() for ex in examples)
    # runs are cut in order and nothing crosses a non-word token
    words = [w for ex in examples for w in ex.words]
    assert words == ["rt", "new", "york", "city", "rocks", "i", "love", "big", "dogs"]
    assert make_joined_examples(tweets, seed=1) == examples  # seeded
    two_plus = make_joined_examples(tweets, seed=1, min_words=2, max_words=2)
    assert [ex.words for ex in two_plus] == [
        ("new", "york"), ("city", "rocks"), ("i", "love"), ("big", "dogs"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="min_words"):
        make_joined_examples(tweets, min_words=3, max_words=2)


def test_splits_never_share_a_joined_text():
    examples = _synthetic(400, seed=0)
    train, test = split_examples(examples, 0.2, seed=3)
    assert not {ex.text for ex in train} & {ex.text for ex in test}
    assert split_examples(examples, 0.2, seed=3) == (train, test)
    tweets = [list(ex.words) + ["!"] + list(ex.words) for ex in examples]
    train, test = heldout_split(tweets, seed=0, test_fraction=0.2)
    assert test and not {ex.text for ex in train} & {ex.text for ex in test}
    with pytest.raises(ValueError, match="test_fraction"):
        split_examples(examples, 1.5)


# ----------------------------------------------------------------------------- front end
def test_presplit_strips_hash_and_cuts_digits_symbols_and_camel_case():
    assert presplit("#NewYorkCity") == [("New", True), ("York", True), ("City", True)]
    assert presplit("#NewYorkCity", case_prior=False) == [("NewYorkCity", True)]
    assert presplit("NBAFinals_2015") == [("NBA", True), ("Finals", True), ("2015", False)]
    assert presplit("#café-Paris") == [("café", True), ("Paris", True)]
    for bad in ("", "#", "#  "):
        with pytest.raises(ValueError, match="empty hashtag"):
            presplit(bad)


# ----------------------------------------------------------------------------- model
def test_output_shapes_probabilities_and_padding():
    torch.manual_seed(0)
    model = HashtagSegmenter(TINY).eval()
    ids, lengths = model.encode(["abc", "hello", "z"])
    assert ids.shape == (3, 5) and lengths.tolist() == [3, 5, 1]
    labels = torch.zeros_like(ids)
    out = model(ids, lengths, labels)
    assert out.logits.shape == (3, 5, 2) and out.probs.shape == (3, 5)
    assert torch.all((out.probs >= 0) & (out.probs <= 1))
    assert torch.all(out.probs[~out.mask] == 0)  # nothing on padding
    assert out.loss is not None and out.loss.ndim == 0
    single = model(*model.encode(["abc"])).probs[0]
    assert torch.allclose(single, out.probs[0, :3], atol=1e-6)  # batching does not change it
    assert model.encode(["a?"])[0][0, 1].item() == 1  # unknown character -> <unk>
    with pytest.raises(ValueError, match="empty text"):
        model.encode(["abc", ""])


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="cnn_kernel must be odd"):
        HashtagSegmenterConfig(cnn_kernel=4)
    with pytest.raises(ValueError, match="lstm_hidden"):
        HashtagSegmenterConfig(lstm_hidden=0)


@pytest.fixture(scope="module")
def trained():
    train = _synthetic(400, seed=1)
    seen = {ex.text for ex in train}
    heldout = [ex for ex in _synthetic(400, seed=2) if ex.text not in seen and len(ex.words) > 1]
    model, history = train_segmenter(
        train, TINY, TrainConfig(epochs=6, batch_size=32, lr=1e-2, seed=0), meta={"note": "t"}
    )
    return model, history, heldout


def test_training_lowers_loss_and_splits_unseen_joins(trained):
    model, history, heldout = trained
    assert len(history.epoch_loss) == 6
    assert history.epoch_loss[-1] < 0.5 * history.epoch_loss[0]
    scores = evaluate_segmenter(model, heldout)
    assert scores["boundary_f1"] > chance_boundary_f1(heldout) + 0.3
    assert scores["exact_match"] > 0.5
    assert model.segment("#redcatbox") == ["red", "cat", "box"]
    assert model.segment("#RedDog2") == ["red", "dog", "2"]
    with pytest.raises(ValueError, match="empty hashtag"):
        model.segment("")


def test_training_is_seeded():
    data = _synthetic(100, seed=4)
    cfg = TrainConfig(epochs=1, batch_size=16, seed=7)
    a, ha = train_segmenter(data, TINY, cfg)
    b, hb = train_segmenter(data, TINY, cfg)
    assert ha.epoch_loss == hb.epoch_loss
    ids, lengths = a.encode(["reddog"])
    assert torch.equal(a(ids, lengths).logits, b(ids, lengths).logits)
    with pytest.raises(ValueError, match="no training phrases"):
        train_segmenter([], TINY, cfg)


def test_save_load_gives_identical_outputs(trained, tmp_path):
    model, _, heldout = trained
    path = tmp_path / "seg.pt"
    model.save(path)
    loaded = HashtagSegmenter.load(path)
    assert loaded.config == model.config and loaded.chars == model.chars
    assert loaded.meta["note"] == "t"
    texts = [ex.text for ex in heldout[:20]]
    ids, lengths = model.encode(texts)
    assert torch.equal(model.eval()(ids, lengths).logits, loaded(ids, lengths).logits)
    assert loaded.segment_many(texts) == model.segment_many(texts)
    assert isinstance(get_segmenter(str(path)), HashtagSegmenter)
    with pytest.raises(FileNotFoundError, match="not found"):
        HashtagSegmenter.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a hashtag segmenter file"):
        HashtagSegmenter.load(tmp_path / "junk.pt")


# ----------------------------------------------------------------------------- baselines, helpers
@pytest.mark.parametrize("name", ["wordsegment", "wordninja"])
def test_baselines_share_the_interface(name):
    seg = get_segmenter(name)
    assert seg.segment("#newyorkcity") == ["new", "york", "city"]
    assert seg.segment("#NewYorkCity") == ["new", "york", "city"]
    assert seg.segment("MyFest2015") == ["my", "fest", "2015"]
    with pytest.raises(ValueError, match="empty hashtag"):
        seg.segment("#")


def test_unknown_segmenter_names_the_valid_ones():
    with pytest.raises(ValueError, match="valid: wordsegment, wordninja"):
        DictionarySegmenter("symspell")
    with pytest.raises(ValueError, match="unknown segmenter 'symspell'"):
        get_segmenter("symspell")


def test_segment_hashtags_per_token():
    seg = DictionarySegmenter("wordsegment")
    out = segment_hashtags(["Go", "#NewYorkCity", "#", "@bob", "#lovelife"], seg)
    assert out == [[], ["new", "york", "city"], [], [], ["love", "life"]]


class _NeverSplit:
    name = "never"

    def segment(self, text: str, case_prior: bool = True) -> list[str]:
        return [text]


def test_evaluation_values_by_hand():
    examples = [JoinedExample(("ab",)), JoinedExample(("ab", "cd")), JoinedExample(("a", "b", "c"))]
    scores = evaluate_segmenter(_NeverSplit(), examples)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["boundary_recall"] == 0.0 and scores["boundary_f1"] == 0.0
    assert scores["exact_match_by_words"] == {"1": 1.0, "2": 0.0, "3": 0.0}
    with pytest.raises(ValueError, match="at least one example"):
        evaluate_segmenter(_NeverSplit(), [])


# ----------------------------------------------------------------------------- CLI
def test_cli_segment_with_a_baseline(capsys):
    assert cli.main(["hashtags", "segment", "--baseline", "wordninja", "#newyorkcity"]) == 0
    assert capsys.readouterr().out == "#newyorkcity\tnew york city\n"
    assert cli.main(["hashtags", "segment", "#a"]) == 2  # neither --model nor --baseline
    assert "exactly one of --model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        cli.main(["hashtags", "segment", "--baseline", "nope", "#a"])
    assert err.value.code == 2


def test_cli_train_segment_evaluate(tmp_path, capsys, data_dir):
    dataset = "demo"
    tweets = load_dataset(dataset).train
    assert make_joined_examples(tweets)  # the demo corpus has text to learn from
    out = tmp_path / "seg.pt"
    argv = ["hashtags", "train", "--dataset", dataset, "--out", str(out), "--epochs", "1"]
    assert cli.main(argv) == 0
    assert "wordsegment" in capsys.readouterr().out
    assert cli.main(["hashtags", "segment", "--model", str(out), "#NewYork"]) == 0
    assert capsys.readouterr().out == "#NewYork\tnew york\n"  # case prior
    scores = tmp_path / "scores.json"
    assert cli.main(["hashtags", "evaluate", "--model", str(out), "--json", str(scores)]) == 0
    assert '"learned"' in scores.read_text()


def test_real_corpus_gives_many_disjoint_phrases(need_data):
    tweets = load_dataset("twitter2015", need_data).train
    train, test = heldout_split(tweets, seed=0)
    assert len(train) > 10_000 and len(test) > 1_000
    assert not {ex.text for ex in train} & {ex.text for ex in test}
    assert all(1 <= len(ex.words) <= 4 and ex.text.isascii() for ex in train[:500])
    seg = DictionarySegmenter("wordninja")
    hashtags = [t for tw in tweets for t in tw.tokens if t.startswith("#") and len(t) > 1]
    assert all(segment_hashtags([t], seg)[0] or not presplit(t) for t in hashtags[:300])
