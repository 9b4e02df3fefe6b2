"""The tweet CoNLL reader, the dataset registry and ``data stats``."""

from __future__ import annotations

import errno
import json
import os
import warnings
from pathlib import Path

import pytest

from mner_lib.commands import cli
from mner_lib.text.data import (
    MAX_TOKEN_CHARS,
    DataFormatError,
    DuplicateIdWarning,
    Tweet,
    UnknownNameError,
    dataset_dir,
    load_dataset,
    read_tweets,
    resolve_data_dir,
    split_path,
    write_tweets,
)
from mner_lib.text.stats import corpus_stats

CANON = "IMGID:1\nRT\tO\nSt\tI-LOC\nLouis\tI-LOC\nrocks\tO\n\nIMGID:2\nObama\tB-PER\nvisits\tO\nNBA\tB-OTHER\n\n"
EXPECTED = [
    ("1", ["RT", "St", "Louis", "rocks"], ["O", "I-LOC", "I-LOC", "O"]),
    ("2", ["Obama", "visits", "NBA"], ["B-PER", "O", "B-MISC"]),
]


def write_bytes(tmp_path: Path, data: bytes, name: str = "f.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def as_triples(tweets: list[Tweet]) -> list[tuple[str, list[str], list[str]]]:
    return [(t.id, t.tokens, t.tags) for t in tweets]


# ------------------------------------------------------------------ tolerated variations
@pytest.mark.parametrize(
    "variant",
    [
        "canonical",
        "spaces_after_tag",
        "crlf",
        "bom",
        "docstart",
        "trailing_blanks",
        "no_final_blank",
        "all",
    ],
)
def test_variants_parse_to_the_same_tweets(tmp_path, variant):
    text = CANON
    if variant in ("spaces_after_tag", "all"):
        text = text.replace("O\n", "O  \n")
    if variant in ("docstart", "all"):
        text = "-DOCSTART- -X- O O\n\n" + text
    if variant in ("trailing_blanks", "all"):
        text = text + "\n\n   \n\n"
    if variant == "no_final_blank":
        text = text.rstrip("\n")
    if variant in ("crlf", "all"):
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    if variant in ("bom", "all"):
        data = b"\xef\xbb\xbf" + data
    tweets = read_tweets(write_bytes(tmp_path, data))
    assert as_triples(tweets) == EXPECTED
    assert [t.line for t in tweets] == [
        1 + (2 if variant in ("docstart", "all") else 0),
        7 + (2 if variant in ("docstart", "all") else 0),
    ]


def test_other_becomes_misc():
    tweets = read_tweets_from_text("IMGID:9\nFIFA\tB-OTHER\nCup\tI-OTHER\n")
    assert tweets[0].tags == ["B-MISC", "I-MISC"]


def read_tweets_from_text(text: str, tmp: Path | None = None, **kwargs) -> list[Tweet]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.txt"
        path.write_text(text, encoding="utf-8")
        return read_tweets(path, **kwargs)


# ------------------------------------------------------------------ errors with file and line
@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("IMGID:1\nhello\tO\nworld\n\n", 3, "malformed line"),
        ("IMGID:1\nhello\tO\nworld\t\n\n", 3, "malformed line"),
        ("IMGID:1\nhello\tO\n\nIMGID:2\nParis\tB-CITY\n", 5, "unknown tag 'B-CITY'"),
        ("IMGID:1\nhello\tX-PER\n", 2, "unknown tag 'X-PER'"),
        ("hello\tO\nIMGID:1\nx\tO\n", 1, "expected an 'IMGID:<id>' line first"),
        ("IMGID:1\na\tO\n\nIMGID:2\n\nIMGID:3\nb\tO\n", 4, "IMGID:2 has no tokens"),
        ("IMGID:1\na\tO\n\nIMGID:2\n", 4, "IMGID:2 has no tokens"),
        ("IMGID:\na\tO\n", 1, "empty image id"),
    ],
)
def test_format_errors_name_file_and_line(tmp_path, text, line, what):
    path = write_bytes(tmp_path, text.encode("utf-8"), "bad.txt")
    with pytest.raises(DataFormatError) as info:
        read_tweets(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert what in message


def test_line_numbers_count_crlf_bom_and_docstart(tmp_path):
    text = "-DOCSTART- O\r\n\r\nIMGID:1\r\na\tO\r\nb\tB-PERSON\r\n"
    path = write_bytes(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8"))
    with pytest.raises(DataFormatError, match=rf"^{path}:5: unknown tag 'B-PERSON'"):
        read_tweets(path)


def test_invalid_utf8_names_the_line(tmp_path):
    data = b"IMGID:1\na\tO\n\nIMGID:2\n" + b"caf\xe9\tO\n"
    path = write_bytes(tmp_path, data, "latin.txt")
    with pytest.raises(DataFormatError) as info:
        read_tweets(path)
    assert str(info.value).startswith(f"{path}:5: not valid UTF-8")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.txt"):
        read_tweets(tmp_path / "nothere.txt")


# ------------------------------------------------------------------ hostile and mistaken input
def test_three_columns_are_refused_not_read_as_a_token_with_a_tab(tmp_path):
    path = write_bytes(tmp_path, b"IMGID:1\nObama\tNNP\tB-PER\nsays\tVBZ\tO\n\n", "pos.txt")
    with pytest.raises(DataFormatError) as info:
        read_tweets(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: 3 tab-separated columns"), message
    assert "expected 'token<TAB>tag'" in message


@pytest.mark.parametrize("tag", ["B-PER", "O", "I-OTHER", "B-CITY"])
def test_space_separated_lines_are_refused(tmp_path, tag):
    path = write_bytes(tmp_path, f"IMGID:1\nhello\tO\nObama {tag}\n\n".encode(), "sp.txt")
    with pytest.raises(DataFormatError) as info:
        read_tweets(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: space-separated line"), message
    assert "expected a TAB between token and tag" in message


def test_a_space_separated_file_never_becomes_one_huge_token(tmp_path):
    # one tweet whose token lines lost both their tabs and their line breaks: 1 MB on a line
    line = " ".join(["word O"] * 150_000)
    path = write_bytes(tmp_path, f"IMGID:1\n{line}\n\n".encode(), "glued.txt")
    with pytest.raises(DataFormatError, match=rf"^{path}:2: space-separated line") as info:
        read_tweets(path)
    assert len(str(info.value)) < 300  # the message quotes an excerpt, not the megabyte


def test_token_length_is_capped(tmp_path):
    ok = "x" * MAX_TOKEN_CHARS
    assert read_tweets(write_bytes(tmp_path, f"IMGID:1\n{ok}\tO\n".encode()))[0].tokens == [ok]
    path = write_bytes(tmp_path, f"IMGID:1\na\tO\n{'x' * 1_000_000}\tO\n".encode(), "long.txt")
    with pytest.raises(DataFormatError) as info:
        read_tweets(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: token of 1000000 characters"), message
    assert "MAX_TOKEN_CHARS" in message and len(message) < 300


def test_repeated_imgids_warn_once_per_file_with_the_count(tmp_path):
    text = "".join(f"IMGID:{i}\nw\tO\n\n" for i in ("7", "8", "7", "9", "8", "7"))
    path = write_bytes(tmp_path, text.encode(), "dups.txt")
    with pytest.warns(DuplicateIdWarning) as caught:
        tweets = read_tweets(path)
    assert [t.id for t in tweets] == ["7", "8", "7", "9", "8", "7"]  # nothing is lost
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"{path}: 3 tweets repeat an IMGID"), message
    assert "IMGID:7 at line 7, first at line 1" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_tweets(write_bytes(tmp_path, CANON.encode(), "unique.txt"))  # no warning
    text = "".join(f"IMGID:{i}\nw\tO\n\n" for i in ("7", "8", "7"))
    path = write_bytes(tmp_path, text.encode(), "one.txt")
    with pytest.warns(DuplicateIdWarning, match=r"one.txt: 1 tweet repeats an IMGID"):
        read_tweets(path)


def test_unsafe_imgids_still_load_as_tweets():
    tweets = read_tweets_from_text("IMGID:../../etc/passwd\na\tO\n\nIMGID:/abs\nb\tO\n")
    assert [t.id for t in tweets] == ["../../etc/passwd", "/abs"]


@pytest.mark.parametrize("text", ["", "\n\n  \n", "-DOCSTART- -X- O O\n\n"])
def test_a_file_without_tweets_is_an_error_naming_it(tmp_path, text):
    path = write_bytes(tmp_path, text.encode(), "empty.txt")
    with pytest.raises(DataFormatError, match=rf"^{path}: no tweets"):
        read_tweets(path)
    assert read_tweets(path, allow_empty=True) == []


def test_load_dataset_refuses_an_empty_split(monkeypatch, tmp_path):
    folder = tmp_path / "twitter2015"
    folder.mkdir()
    for name in ("train.txt", "valid.txt", "test.txt"):
        (folder / name).write_text(CANON, encoding="utf-8")
    (folder / "train.txt").write_text("", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{folder / 'train.txt'}: no tweets"):
        load_dataset("twitter2015", tmp_path)


def test_empty_gold_or_prediction_file_is_refused_by_evaluate(tmp_path, capsys):
    gold = write_bytes(tmp_path, CANON.encode(), "gold.txt")
    empty = write_bytes(tmp_path, b"", "pred.txt")
    assert cli.main(["evaluate", "--gold", str(gold), "--pred", str(empty)]) == 2
    assert f"{empty}: no tweets" in capsys.readouterr().err
    assert cli.main(["evaluate", "--gold", str(empty), "--pred", str(gold)]) == 2
    assert f"{empty}: no tweets" in capsys.readouterr().err


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    path = tmp_path / "train.txt"
    os.mkfifo(path)  # open() on it would wait for a writer forever
    with pytest.raises(DataFormatError, match=rf"^{path}: a FIFO, not a regular file"):
        read_tweets(path)
    with pytest.raises(DataFormatError, match="a character device, not a regular file"):
        read_tweets("/dev/zero")
    with pytest.raises(DataFormatError, match="a folder, not a regular file"):
        read_tweets(tmp_path)


def test_an_unreadable_file_is_one_line_naming_it(tmp_path, monkeypatch):
    path = write_bytes(tmp_path, CANON.encode(), "secret.txt")
    real_open = os.open

    def denying_open(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denying_open)
    with pytest.raises(DataFormatError) as info:
        read_tweets(path)
    assert str(info.value) == f"{path}: cannot be read: Permission denied (data file)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_an_unreadable_file_by_its_permissions(tmp_path):
    path = write_bytes(tmp_path, CANON.encode(), "secret.txt")
    path.chmod(0)
    with pytest.raises(DataFormatError, match=rf"^{path}: cannot be read: Permission denied"):
        read_tweets(path)


# ------------------------------------------------------------------ orphan I- policy
ORPHANS = "IMGID:1\nSt\tI-LOC\nLouis\tI-LOC\nand\tO\nBob\tB-PER\nSmith\tI-LOC\n\n"


def test_orphans_kept_by_default_and_counted():
    tweet = read_tweets_from_text(ORPHANS)[0]
    assert tweet.tags == ["I-LOC", "I-LOC", "O", "B-PER", "I-LOC"]
    stats = corpus_stats([tweet])
    assert stats["orphan_i"] == 2  # St (after nothing) and Smith (after a PER)
    assert stats["entities_b"] == {"PER": 1, "LOC": 0, "ORG": 0, "MISC": 0}
    assert stats["entities_conlleval"] == {"PER": 1, "LOC": 2, "ORG": 0, "MISC": 0}


def test_orphans_repaired_to_b():
    tweet = read_tweets_from_text(ORPHANS, orphan_policy="repair")[0]
    assert tweet.tags == ["B-LOC", "I-LOC", "O", "B-PER", "B-LOC"]
    assert corpus_stats([tweet])["orphan_i"] == 0


def test_orphan_policy_error_names_the_line(tmp_path):
    path = write_bytes(tmp_path, ("IMGID:1\na\tO\n\n" + ORPHANS.replace("1", "2")).encode())
    with pytest.raises(DataFormatError, match=rf"^{path}:5: orphan tag 'I-LOC'"):
        read_tweets(path, orphan_policy="error")


def test_unknown_orphan_policy_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="error, keep, repair"):
        read_tweets_from_text(ORPHANS, orphan_policy="fix")


# ------------------------------------------------------------------ invisible tokens, round trip
INVISIBLE = ["\ufe0f", "\u200b", "\u200d", "\u00a0", "\u00ad", "\u0092", "\u2028", "\u0085"]


def test_invisible_character_tokens_stay_tokens(tmp_path):
    tokens = ["I", "\u2764", *INVISIBLE, "Paris"]
    tags = ["O"] * (len(tokens) - 1) + ["B-LOC"]
    src = Tweet("O_1", tokens, tags)
    path = tmp_path / "inv.txt"
    write_tweets(path, [src, Tweet("2", ["x"], ["O"])])
    back = read_tweets(path)
    assert back[0].tokens == tokens
    assert back[0].tags == tags  # labels never shift
    assert back[1].id == "2" and back[1].line == len(tokens) + 3  # line numbers stay right


def test_write_read_round_trip_with_predicted_tags(tmp_path):
    tweets = read_tweets_from_text(CANON)
    pred = [["O", "B-LOC", "I-LOC", "O"], ["B-PER", "O", "O"]]
    path = tmp_path / "pred.txt"
    write_tweets(path, tweets, pred)
    back = read_tweets(path)
    assert [t.tokens for t in back] == [t.tokens for t in tweets]
    assert [t.tags for t in back] == pred
    write_tweets(path, tweets)
    assert as_triples(read_tweets(path)) == EXPECTED
    with pytest.raises(ValueError, match="tweet 1: 4 tokens, 3 tags"):
        write_tweets(path, tweets, [["O"] * 3, ["O"] * 3])


def test_demo_corpus_round_trips(tmp_path):
    demo = load_dataset("demo")
    assert min(len(demo.train), len(demo.dev), len(demo.test)) > 0
    path = tmp_path / "demo.txt"
    write_tweets(path, demo.train)
    assert as_triples(read_tweets(path)) == as_triples(demo.train)


# ------------------------------------------------------------------ names and data folder
def test_unknown_dataset_lists_valid_ones():
    with pytest.raises(UnknownNameError) as info:
        load_dataset("twitter2016")
    assert "twitter2016" in str(info.value)
    for name in ("demo", "twitter10000", "twitter2015", "twitter2017"):
        assert name in str(info.value)


def test_unknown_split_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="dev, test, train"):
        split_path("demo", "validation")
    with pytest.raises(UnknownNameError, match="dev, test, train"):
        load_dataset("demo").split("eval")
    assert split_path("demo", "valid") == split_path("demo", "dev")
    assert load_dataset("demo").split("valid") is not None


def test_missing_data_folder_names_the_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("MNER_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        dataset_dir("twitter2015")
    assert "--data-dir" in str(info.value) and "MNER_DATA_DIR" in str(info.value)
    with pytest.raises(FileNotFoundError, match="--data-dir"):
        resolve_data_dir(tmp_path / "missing")
    monkeypatch.setenv("MNER_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="MNER_DATA_DIR"):
        load_dataset("twitter2017")
    monkeypatch.setenv("MNER_DATA_DIR", str(tmp_path))  # exists but has no twitter2017/
    with pytest.raises(FileNotFoundError, match="twitter2017"):
        load_dataset("twitter2017")


def test_data_dir_layout_and_valid_file(monkeypatch, tmp_path):
    folder = tmp_path / "twitter2015"
    folder.mkdir()
    for name in ("train.txt", "valid.txt", "test.txt"):
        (folder / name).write_text(CANON, encoding="utf-8")
    monkeypatch.delenv("MNER_DATA_DIR", raising=False)
    ds = load_dataset("twitter2015", tmp_path)
    assert ds.paths["dev"].endswith("valid.txt")
    assert as_triples(ds.dev) == EXPECTED
    assert ds.image_dir == tmp_path / "twitter2015_images"
    monkeypatch.setenv("MNER_DATA_DIR", str(tmp_path))
    assert load_dataset("twitter2015").paths == ds.paths


def test_max_train_is_a_seeded_subset():
    a = load_dataset("demo", max_train=10, seed=3)
    b = load_dataset("demo", max_train=10, seed=3)
    c = load_dataset("demo", max_train=10, seed=4)
    assert [t.id for t in a.train] == [t.id for t in b.train]
    assert len(a.train) == 10 and [t.id for t in a.train] != [t.id for t in c.train]
    with pytest.raises(ValueError, match="max_train"):
        load_dataset("demo", max_train=0)


# ------------------------------------------------------------------ data stats on the shared data
README_COUNTS = {
    # split: tweets, B- counts PER LOC ORG MISC, orphan I-
    "twitter2015": {
        "train": (4000, (2217, 2091, 927, 931), 186),
        "dev": (1000, (552, 522, 247, 220), 53),
        "test": (3257, (1816, 1697, 839, 720), 135),
    },
    "twitter2017": {
        "train": (3373, (2943, 731, 1674, 701), 0),
        "dev": (723, (626, 173, 375, 150), 0),
        "test": (723, (621, 178, 395, 157), 0),
    },
    "twitter10000": {
        "train": (7000, (5019, 1918, 3035, 1807), 0),
        "dev": (1500, (1072, 407, 595, 376), 0),
        "test": (1500, (1104, 404, 638, 397), 0),
    },
}


@pytest.mark.parametrize("name", sorted(README_COUNTS))
def test_data_stats_match_the_data_readme(need_data, capsys, name):
    assert (
        cli.main(["data", "stats", "--dataset", name, "--data-dir", str(need_data), "--json"]) == 0
    )
    stats = json.loads(capsys.readouterr().out)["splits"]
    for split, (tweets, b_counts, orphans) in README_COUNTS[name].items():
        s = stats[split]
        assert s["tweets"] == tweets, (name, split)
        assert tuple(s["entities_b"][t] for t in ("PER", "LOC", "ORG", "MISC")) == b_counts
        assert s["orphan_i"] == orphans
        if orphans == 0:
            assert s["entities_conlleval"] == s["entities_b"]
    if name == "twitter2015":
        assert stats["train"]["entities_conlleval"]["PER"] == 2285
        assert stats["train"]["entities_conlleval"]["LOC"] == 2135


def test_data_stats_table_without_json(need_data, capsys, monkeypatch):
    monkeypatch.setenv("MNER_DATA_DIR", str(need_data))
    assert cli.main(["data", "stats", "--dataset", "twitter2015"]) == 0
    out = capsys.readouterr().out
    assert "4000  2217 (2285)  2091 (2135)" in out


def test_data_stats_on_demo(capsys):
    assert cli.main(["data", "stats", "--dataset", "demo", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)["splits"]
    demo = load_dataset("demo")
    assert stats["train"]["tweets"] == len(demo.train)
    assert stats["train"] == corpus_stats(demo.train)


def test_data_stats_errors_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("MNER_DATA_DIR", raising=False)
    assert cli.main(["data", "stats", "--dataset", "twitter2015"]) == 2
    assert "MNER_DATA_DIR" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["data", "stats", "--dataset", "twitter2099"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "twitter2099" in err and "twitter2017" in err
