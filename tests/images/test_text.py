"""Readers of the real-image text, coverage, the text conditions and the caption derangement."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from mner_lib.data import DataFormatError, Tweet, UnknownNameError, load_dataset
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

EMPTY_ID = "demo_0002"  # written with an empty caption
MISSING_ID = "demo_0003"  # left out of every file


def demo_tweets() -> list[Tweet]:
    data = load_dataset("demo")
    return data.train + data.dev + data.test


def demo_caption(tweet: Tweet) -> str:
    """A caption that names the tweet's first token (so captions differ between tweets)."""
    return f"a picture about {tweet.tokens[0].lower()} number {tweet.id[-4:]}"


def _pgim_block(tweet: Tweet) -> str:
    lines = [f"{tok}\t{tag}" for tok, tag in zip(tweet.tokens, tweet.tags)]
    lines += ["<EOS>\tX"] + [f"{w}\tX" for w in f"knowledge about {tweet.id}".split()]
    return "\r\n".join(lines) + "\r\n"


def write_pgim_zip(path: Path, skip_first_train: bool = False) -> None:
    data = load_dataset("demo")
    with zipfile.ZipFile(path, "w") as archive:
        for split, member in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
            tweets = data.split(split)[1 if skip_first_train and split == "train" else 0 :]
            archive.writestr(f"demo/{member}", "\r\n".join(_pgim_block(t) for t in tweets))


def write_demo_image_text(root: Path) -> Path:
    """``<root>/image_text`` with BLIP-2, CATR, Owl and PGIM files for the demo corpus (CRLF
    in BLIP-2 and PGIM); ``EMPTY_ID`` has an empty caption, ``MISSING_ID`` none."""
    tweets = [t for t in demo_tweets() if t.id != MISSING_ID]
    folder = root / "image_text"
    for sub in ("blip2", "catr", "mplug-owl", "pgim-knowledge"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    caption = {t.id: ("" if t.id == EMPTY_ID else demo_caption(t)) for t in tweets}
    lines = [f"{i}.jpg :{c}" for i, c in caption.items()]
    (folder / "blip2" / "BLIP2_demo.txt").write_bytes("\r\n".join(lines).encode())
    catr = {f"{i}.jpg": f"generic {c}" for i, c in caption.items()}
    (folder / "catr" / "demo_images.json").write_text(json.dumps(catr))
    owl = "".join(f"imgid:{i}###Line one of {i}.\n\nLine two.\n" for i in caption)
    (folder / "mplug-owl" / "owl_demo.txt").write_text(owl)
    write_pgim_zip(folder / "pgim-knowledge" / "demo.zip")
    return root


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
    from mner_lib.cli import main

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
