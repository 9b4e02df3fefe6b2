"""Readers of the real-image text, coverage, the text conditions and the caption derangement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mner_lib.images.captions import CaptionProvider, derangement, leak_share
from mner_lib.images.conditions import parse_condition
from mner_lib.images.text import (
    content_words,
    coverage,
    image_text_dir,
    load_image_text,
    read_blip2,
    read_catr,
    read_owl,
    source_paths,
)
from mner_lib.text.data import DataFormatError, Tweet, UnknownNameError
from tests.fakes import (
    EMPTY_ID,
    MISSING_ID,
    demo_caption,
    demo_tweets,
    write_demo_image_text,
    write_pgim_zip,
)


@pytest.fixture
def text_dir(tmp_path) -> Path:
    return write_demo_image_text(tmp_path / "data")


# ----------------------------------------------------------------------------- readers
def test_blip2_reader_crlf_bom_and_empty(tmp_path):
    path = tmp_path / "b.txt"
    path.write_bytes(
        "\ufeff12.jpg :a dog on a bed\r\n13.jpg :\r\n16_05_01_1.jpg :x : y\r\n".encode()
    )
    got = read_blip2(path)
    assert got == {"12": "a dog on a bed", "13": "", "16_05_01_1": "x : y"}


def test_blip2_reader_errors_name_file_and_line(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("1.jpg :one\nno separator here\n")
    with pytest.raises(DataFormatError, match=r"b\.txt:2: malformed"):
        read_blip2(path)
    path.write_text("1.jpg :one\n1.jpg :again\n")
    with pytest.raises(DataFormatError, match=r"b\.txt:2: image '1' again \(first at .*b\.txt:1\)"):
        read_blip2(path)


def test_catr_reader(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"1.jpg": "A cat.", "2.jpg": None}))
    assert read_catr(path) == {"1": "A cat.", "2": ""}
    path.write_text("[1, 2]")
    with pytest.raises(DataFormatError, match="JSON object"):
        read_catr(path)


def test_owl_records_span_lines(tmp_path):
    path = tmp_path / "o.txt"
    path.write_text("imgid:5###First line.\n\nSecond  line.\nimgid:O_7###Other.\n")
    got = read_owl(path)
    assert got == {"5": "First line. Second line.", "O_7": "Other."}
    path.write_text("junk before\nimgid:5###x\n")
    with pytest.raises(DataFormatError, match=r"o\.txt:1"):
        read_owl(path)


def test_every_source_reads_the_demo_files(text_dir):
    for source in ("blip2", "catr", "owl", "pgim"):
        table = load_image_text(source, "demo", text_dir)
        assert MISSING_ID not in table.texts or source == "pgim"
    table = load_image_text("blip2", "demo", text_dir)
    tweet = next(t for t in demo_tweets() if t.id == "demo_0001")
    assert table.lookup("demo_0001") == (demo_caption(tweet), "")
    assert table.lookup(EMPTY_ID) == ("", "empty")
    assert table.lookup(MISSING_ID) == ("", "missing")
    owl = load_image_text("owl", "demo", text_dir)
    assert owl.texts["demo_0001"] == "Line one of demo_0001. Line two."
    pgim = load_image_text("pgim", "demo", text_dir)
    assert pgim.kind == "language-model knowledge"
    assert pgim.texts["demo_0001"] == "knowledge about demo_0001"


def test_pgim_misaligned_by_one_tweet_names_file_and_line(tmp_path):
    root = write_demo_image_text(tmp_path / "data")
    write_pgim_zip(root / "image_text" / "pgim-knowledge" / "demo.zip", skip_first_train=True)
    with pytest.raises(DataFormatError) as err:
        load_image_text("pgim", "demo", root)
    message = str(err.value)
    assert "demo.zip:demo/train.txt:1: token" in message
    assert "do not align" in message and "IMGID:demo_0001" in message


def test_missing_folder_and_file_name_the_expected_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty/image_text"):
        image_text_dir(tmp_path / "empty")
    root = write_demo_image_text(tmp_path / "data")
    (root / "image_text" / "catr" / "demo_images.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"catr/demo_images\.json"):
        source_paths("catr", "demo", root)
    with pytest.raises(UnknownNameError, match="valid: blip2, catr, owl, pgim"):
        source_paths("clip", "demo", root)


def test_coverage_counts_empty_and_missing(text_dir):
    table = load_image_text("blip2", "demo", text_dir)
    tweets = demo_tweets()
    counts = coverage(table, tweets)
    assert counts == {"tweets": len(tweets), "covered": len(tweets) - 2, "empty": 1, "missing": 1}


def test_data_stats_reports_coverage(text_dir, capsys):
    from mner_lib.commands.cli import main

    assert main(["data", "stats", "--dataset", "demo", "--data-dir", str(text_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["image_text"]
    train = out["blip2"]["splits"]["train"]
    assert train["covered"] + train["empty"] + train["missing"] == train["tweets"]
    assert out["pgim"]["kind"] == "language-model knowledge"


# ----------------------------------------------------------------------------- conditions
def test_text_conditions_parse_and_reject():
    assert parse_condition("caption:blip2").is_text
    assert parse_condition("caption-shuffled:owl").shuffled_text
    assert parse_condition("knowledge:pgim").text == "knowledge:pgim"
    assert not parse_condition("blank").is_text
    for bad in ("caption", "caption:pgim", "knowledge:blip2", "caption:blip2:x"):
        with pytest.raises(UnknownNameError, match="needs a source"):
            parse_condition(bad)


def test_derangement_never_fixes_a_point_and_is_seeded():
    ids = [f"t{i}" for i in range(50)]
    for seed in range(5):
        pairs = derangement(ids, seed)
        assert all(pairs[i] != i for i in ids)
        assert sorted(pairs.values()) == sorted(ids)  # a permutation
    assert derangement(ids, 3) == derangement(list(reversed(ids)), 3)
    assert derangement(ids, 3) != derangement(ids, 4)
    assert derangement(["only"], 0) == {}


def test_shuffled_captions_are_never_the_tweets_own(text_dir):
    own = CaptionProvider("caption:blip2", "demo", text_dir)
    shuffled = CaptionProvider("caption-shuffled:blip2", "demo", text_dir, seed=1)
    again = CaptionProvider("caption-shuffled:blip2", "demo", text_dir, seed=1)
    tweets = demo_tweets()
    mine, _ = own(tweets)
    theirs, flags = shuffled(tweets)
    assert theirs == again(tweets)[0]
    for tweet, a, b, flag in zip(tweets, mine, theirs, flags):
        if tweet.id in (EMPTY_ID, MISSING_ID):  # coverage is kept: still no caption
            assert b == "" and flag in ("empty", "missing")
        else:
            assert b and b != a and flag == "shuffled"
    info = shuffled.describe()
    assert info["kind"] == "real-image caption" and info["flagged_counts"] == {
        "empty": 1,
        "missing": 1,
    }


def test_leak_share_counts_entity_strings_in_captions():
    tweet = Tweet("1", ["#Obama", "meets", "New", "York"], ["B-PER", "O", "B-LOC", "I-LOC"])
    assert leak_share([tweet], ["barack obama in new york"])["share"] == 1.0
    got = leak_share([tweet], ["obamacare in york"])
    assert got == {"entities": 2, "in_caption": 0, "share": 0.0}


def test_content_words_drop_stop_words():
    assert content_words("A man is standing on a skateboard, in the snow!") == [
        "man",
        "standing",
        "skateboard",
        "snow",
    ]
