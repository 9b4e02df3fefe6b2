"""Entity-level P/R/F1 with conlleval semantics; cross-checked against seqeval; ``evaluate``."""

from __future__ import annotations

import json
import random

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

from mner_lib.commands import cli
from mner_lib.text.data import ENTITY_TYPES, TAGS, Tweet, load_dataset, write_tweets
from mner_lib.text.metrics import evaluate, extract_entities


# ------------------------------------------------------------------ hand cases
@pytest.mark.parametrize(
    ("tags", "entities"),
    [
        (["O", "B-PER", "I-PER", "O"], [(1, 3, "PER")]),
        (["I-LOC", "I-LOC", "O"], [(0, 2, "LOC")]),  # orphan I- starts an entity
        (["O", "I-ORG"], [(1, 2, "ORG")]),  # orphan at the end
        (["B-PER", "I-LOC", "I-LOC"], [(0, 1, "PER"), (1, 3, "LOC")]),  # type change
        (["B-PER", "B-PER", "I-PER"], [(0, 1, "PER"), (1, 3, "PER")]),  # B- after B-
        (["I-PER", "B-PER"], [(0, 1, "PER"), (1, 2, "PER")]),
        (["B-MISC", "I-MISC", "I-MISC"], [(0, 3, "MISC")]),
        (["O", "O"], []),
        ([], []),
    ],
)
def test_extract_entities_conlleval(tags, entities):
    assert extract_entities(tags) == entities


def test_scores_on_a_hand_case():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["I-ORG", "O", "B-MISC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "B-MISC"]]
    s = evaluate(gold, pred)
    # gold: PER(0,2) LOC(3,4) ORG(0,1) MISC(2,3); pred: PER, ORG(3,4), ORG(0,1), MISC
    assert (s["true_positives"], s["gold"], s["predicted"]) == (3, 4, 4)
    assert s["precision"] == pytest.approx(75.0)
    assert s["recall"] == pytest.approx(75.0)
    assert s["f1"] == pytest.approx(75.0)
    assert s["per_type"]["LOC"]["recall"] == 0.0 and s["per_type"]["LOC"]["predicted"] == 0
    assert s["per_type"]["ORG"]["precision"] == pytest.approx(50.0)
    assert s["per_type"]["ORG"]["recall"] == pytest.approx(100.0)
    assert s["per_type"]["ORG"]["f1"] == pytest.approx(200 / 3)


def test_partial_span_is_wrong_and_empty_is_zero():
    s = evaluate([["B-PER", "I-PER"]], [["B-PER", "O"]])
    assert s["true_positives"] == 0 and s["f1"] == 0.0
    empty = evaluate([["O"]], [["O"]])
    assert empty["f1"] == 0.0 and empty["gold"] == 0
    assert set(empty["per_type"]) == set(ENTITY_TYPES)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="sequence 1: 2 gold tags but 1 predicted"):
        evaluate([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="1 gold sequences but 2 predicted"):
        evaluate([["O"]], [["O"], ["O"]])


# ------------------------------------------------------------------ seqeval on real predictions
def assert_same_as_seqeval(gold: list[list[str]], pred: list[list[str]]) -> dict:
    ours = evaluate(gold, pred)
    assert ours["precision"] / 100 == pytest.approx(precision_score(gold, pred), abs=1e-6)
    assert ours["recall"] / 100 == pytest.approx(recall_score(gold, pred), abs=1e-6)
    assert ours["f1"] / 100 == pytest.approx(f1_score(gold, pred), abs=1e-6)
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    for etype in ENTITY_TYPES:
        if etype in report:
            assert ours["per_type"][etype]["f1"] / 100 == pytest.approx(
                report[etype]["f1-score"], abs=1e-6
            ), etype
            assert ours["per_type"][etype]["gold"] == report[etype]["support"]
        else:
            assert (
                ours["per_type"][etype]["gold"] == 0 and ours["per_type"][etype]["predicted"] == 0
            )
    return ours


@pytest.fixture(scope="module")
def trained_predictions():
    """Dev predictions of a tiny BiLSTM-CRF trained one epoch on the demo corpus."""
    import torch

    from mner_lib.models import build_model

    torch.manual_seed(0)
    demo = load_dataset("demo")
    model = build_model(
        "bilstm-crf", demo.train, {"use_glove": False, "hidden": 16, "dropout": 0.0}
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for i in range(0, len(demo.train), 16):
        loss = model(model.collate(demo.train[i : i + 16])).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    pred = model.predict(demo.dev)
    return [t.tags for t in demo.dev], pred


def test_seqeval_agrees_on_trained_model_predictions(trained_predictions):
    gold, pred = trained_predictions
    ours = assert_same_as_seqeval(gold, pred)
    # a real, non-trivial case: some entities right, some wrong
    assert 0 < ours["true_positives"] < max(ours["predicted"], ours["gold"])


def test_seqeval_agrees_on_noisy_real_tags(data_dir):
    """Gold tags of the shared data (with its orphan I-) or the demo corpus, and a seeded noisy
    tagger over them: swaps types, drops B-, starts orphans, so every conlleval rule is hit."""
    if data_dir is not None and (data_dir / "twitter2015").is_dir():
        gold = [t.tags for t in load_dataset("twitter2015", data_dir).dev]
    else:
        gold = [t.tags for t in load_dataset("demo").dev]
    rng = random.Random(0)
    pred = [[tag if rng.random() < 0.8 else rng.choice(TAGS) for tag in seq] for seq in gold]
    assert_same_as_seqeval(gold, pred)
    orphan_gold = [
        ["I-" + t[2:] if t.startswith("B-") and rng.random() < 0.3 else t for t in s] for s in gold
    ]
    assert_same_as_seqeval(orphan_gold, pred)


# ------------------------------------------------------------------ the evaluate command
def two_tweets() -> list[Tweet]:
    return [
        Tweet("10", ["Obama", "in", "New", "York"], ["B-PER", "O", "B-LOC", "I-LOC"]),
        Tweet("11", ["go", "Yankees"], ["O", "B-ORG"]),
    ]


def test_evaluate_command_identical_files(tmp_path, capsys):
    gold = tmp_path / "gold.txt"
    write_tweets(gold, two_tweets())
    assert cli.main(["evaluate", "--gold", str(gold), "--pred", str(gold), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] == 100.0 and scores["gold"] == 3
    assert cli.main(["evaluate", "--gold", str(gold), "--pred", str(gold)]) == 0
    assert "100.00" in capsys.readouterr().out


def test_evaluate_command_scores_a_prediction(tmp_path, capsys):
    gold, pred = tmp_path / "gold.txt", tmp_path / "pred.txt"
    write_tweets(gold, two_tweets())
    write_tweets(pred, two_tweets(), [["B-PER", "O", "B-LOC", "O"], ["O", "B-ORG"]])
    assert cli.main(["evaluate", "--gold", str(gold), "--pred", str(pred), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["precision"] == pytest.approx(200 / 3)
    assert scores["recall"] == pytest.approx(200 / 3)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("id", r"pred.txt:7: tweet IMGID:99 where .*gold.txt:7 has IMGID:11"),
        ("count", r"pred.txt:7: tweet IMGID:11 has 3 tokens, .*gold.txt:7 has 2"),
        ("token", r"pred.txt:9: token 'Mets' where .*gold.txt:9 has 'Yankees' \(tweet IMGID:11\)"),
        ("tweets", r"pred.txt: 1 tweets, but .*gold.txt has 2"),
    ],
)
def test_evaluate_command_misaligned_files(tmp_path, capsys, change, expected):
    gold, pred = tmp_path / "gold.txt", tmp_path / "pred.txt"
    write_tweets(gold, two_tweets())
    tweets = two_tweets()
    if change == "id":
        tweets[1].id = "99"
    elif change == "count":
        tweets[1] = Tweet("11", ["go", "Yankees", "!"], ["O", "B-ORG", "O"])
    elif change == "token":
        tweets[1].tokens[1] = "Mets"
    else:
        tweets = tweets[:1]
    write_tweets(pred, tweets)
    assert cli.main(["evaluate", "--gold", str(gold), "--pred", str(pred)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    import re

    assert re.search(expected, err), err


def test_evaluate_command_bad_file(tmp_path, capsys):
    gold = tmp_path / "gold.txt"
    write_tweets(gold, two_tweets())
    bad = tmp_path / "bad.txt"
    bad.write_text("IMGID:10\nObama\tB-PRESIDENT\n", encoding="utf-8")
    assert cli.main(["evaluate", "--gold", str(gold), "--pred", str(bad)]) == 2
    assert f"{bad}:2: unknown tag 'B-PRESIDENT'" in capsys.readouterr().err
    assert cli.main(["evaluate", "--gold", str(gold), "--pred", str(tmp_path / "no.txt")]) == 2
    assert "no.txt" in capsys.readouterr().err
