"""Every size a stranger controls has a stated cap, checked before the work, with one line
naming the file (and line) or the setting; and the readers of a stranger's files stay linear
(issue 26, classes 4, 5 and 7)."""

from __future__ import annotations

import json
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mner_lib.images import text_readers
from mner_lib.images.text import dataset_coverage, load_image_text
from mner_lib.images.text_readers import (
    MAX_CAPTION_CHARS,
    parse_pgim,
    read_blip2,
    read_catr,
    read_owl,
    read_pgim,
)
from mner_lib.text import data as data_module
from mner_lib.text.data import (
    MAX_TWEET_TOKENS,
    DataFormatError,
    Tweet,
    parse_lines,
    read_tweets,
)
from tests.deadline import deadline


def growth(run: Callable[[int], object], n: int, repeats: int = 3) -> float:
    """How much longer ``run(8 * n)`` takes than ``run(n)`` (best of ``repeats`` each): about
    8 for a linear parser, about 64 for a quadratic one."""

    def best(size: int) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(size)
            times.append(time.perf_counter() - start)
        return min(times)

    best(n)  # warm up
    return best(8 * n) / max(best(n), 1e-6)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# ----------------------------------------------------------------------------- tweets
def test_a_tweet_over_the_token_cap_is_refused_by_file_and_line(tmp_path):
    ok = "IMGID:1\n" + "w\tO\n" * MAX_TWEET_TOKENS
    assert len(read_tweets(write(tmp_path, "ok.txt", ok))[0]) == MAX_TWEET_TOKENS
    path = write(tmp_path, "long.txt", "IMGID:1\n" + "w\tO\n" * 100_000)
    with pytest.raises(DataFormatError) as err:
        read_tweets(path)
    line = MAX_TWEET_TOKENS + 2  # the first token line past the cap
    assert str(err.value).startswith(f"{path}:{line}: tweet IMGID:1 (line 1) has more than")
    assert f"MAX_TWEET_TOKENS={MAX_TWEET_TOKENS}" in str(err.value)


def test_a_tweet_made_in_code_or_typed_to_predict_has_the_same_cap():
    tokens = ["w"] * (MAX_TWEET_TOKENS + 1)
    with pytest.raises(ValueError, match=rf"tweet x: {MAX_TWEET_TOKENS + 1} tokens, over"):
        Tweet("x", tokens, ["O"] * len(tokens))


def test_a_file_over_the_tweet_cap_is_refused_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "MAX_FILE_TWEETS", 3)
    text = "".join(f"IMGID:{i}\nw\tO\n\n" for i in range(5))
    with pytest.raises(DataFormatError, match=r"^f.txt:10: more than MAX_FILE_TWEETS=3 tweets"):
        list(parse_lines(text.split("\n"), "f.txt"))
    assert len(list(parse_lines(text.split("\n")[:9], "f.txt"))) == 3


def test_the_data_reader_is_linear(tmp_path):
    def run(n: int) -> None:
        lines = "".join(f"IMGID:{i}\nMara\tB-PER\nvisits\tO\nParis\tB-LOC\n\n" for i in range(n))
        assert len(list(parse_lines(lines.split("\n"), "x"))) == n

    assert growth(run, 1000) < 20


# ----------------------------------------------------------------------------- image text
def owl_text(n: int) -> str:
    return "".join(f"imgid:{i}.jpg###A photo of {i}.\nSecond line\n\n" for i in range(n))


def test_owl_captions_parse_in_linear_time(tmp_path):
    # the former regular expression counted the lines before each record: 1.3 MB took 28 s
    def run(n: int) -> None:
        assert len(read_owl(write(tmp_path, "owl.txt", owl_text(n)))) == n

    assert growth(run, 1500) < 20


@pytest.mark.parametrize(
    "make, reader",
    [
        (lambda n: "".join(f"{i}.jpg :a photo of {i}\n" for i in range(n)), read_blip2),
        (lambda n: json.dumps({f"{i}.jpg": f"a photo of {i}" for i in range(n)}), read_catr),
    ],
    ids=["blip2", "catr"],
)
def test_caption_readers_are_linear(tmp_path, make, reader):
    def run(n: int) -> None:
        assert len(reader(write(tmp_path, "captions", make(n)))) == n

    assert growth(run, 3000) < 20


def pgim_block(i: int, words: int = 5) -> str:
    return "\r\n".join([f"tok{i}\tO", "<EOS>\tX"] + [f"w{k}\tX" for k in range(words)]) + "\r\n"


def test_pgim_blocks_parse_in_linear_time():
    def run(n: int) -> None:
        assert len(parse_pgim("\r\n".join(pgim_block(i) for i in range(n)), "z")) == n

    assert growth(run, 1500) < 20


def test_owl_records_keep_their_line_and_text(tmp_path):
    path = write(tmp_path, "o.txt", "\nimgid:7.jpg###A b\n\nc   d\nimgid:8###\n")
    origin: dict = {}
    assert read_owl(path, None, origin) == {"7": "A b c d", "8": ""}
    assert origin == {"7": f"{path}:2", "8": f"{path}:5"}
    with pytest.raises(DataFormatError, match=rf"^{path}:2: record 'imgid:9 no separator'"):
        read_owl(write(tmp_path, "o.txt", "imgid:8###x\nimgid:9 no separator\n"))


@pytest.mark.parametrize("reader", ["blip2", "catr", "owl"])
def test_a_caption_over_the_character_cap_names_file_and_line(tmp_path, reader):
    long = "word " * (MAX_CAPTION_CHARS // 5 + 10)
    text = {
        "blip2": f"1.jpg :short\n2.jpg :{long}\n",
        "catr": json.dumps({"1.jpg": "short", "2.jpg": long}),
        "owl": f"imgid:1###short\nimgid:2###\n{long}\n{long}\n",
    }[reader]
    path = write(tmp_path, f"c.{reader}", text)
    read = {"blip2": read_blip2, "catr": read_catr, "owl": read_owl}[reader]
    with pytest.raises(DataFormatError) as err:
        read(path)
    where = {"blip2": f"{path}:2", "catr": f"{path}", "owl": f"{path}:2"}[reader]
    assert str(err.value).startswith(f"{where}: a text of ")
    assert f"MAX_CAPTION_CHARS={MAX_CAPTION_CHARS}" in str(err.value)
    assert len(str(err.value)) < 300


def test_a_caption_file_over_the_byte_cap_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(text_readers, "MAX_IMAGE_TEXT_BYTES", 100)
    path = write(tmp_path, "big.txt", "1.jpg :a cat\n" * 20)
    with pytest.raises(DataFormatError, match=rf"^{path}: 260 bytes, over the limit of 100"):
        read_blip2(path)


def test_a_deeply_nested_json_caption_file_names_the_file(tmp_path):
    path = write(tmp_path, "nested.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataFormatError, match=rf"^{path}: JSON nested too deeply to read$"):
        read_catr(path)
    value = write(tmp_path, "value.json", json.dumps({"1.jpg": {"a": [1] * 10_000}}))
    with pytest.raises(DataFormatError) as err:
        read_catr(value)
    assert str(err.value) == f"{value}: caption of '1.jpg' is not a string: a JSON dict"


def test_data_stats_with_a_nested_caption_file_reports_it_and_goes_on(tmp_path):
    from tests.fakes import write_demo_image_text

    root = write_demo_image_text(tmp_path / "data")
    catr = root / "image_text" / "catr" / "demo_images.json"
    catr.write_text("[" * 100_000 + "]" * 100_000)
    cover = dataset_coverage("demo", root)
    assert cover["catr"] == {"error": f"{catr}: JSON nested too deeply to read"}
    assert cover["blip2"]["splits"]["train"]["tweets"] > 0


def test_a_caption_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "BLIP2.txt"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(DataFormatError, match=rf"^{fifo}: a FIFO, not a regular"):
        read_blip2(fifo)


# ----------------------------------------------------------------------------- PGIM zips
def zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_knowledge_zip_bomb_is_refused_by_its_declared_size(tmp_path, monkeypatch):
    monkeypatch.setattr(text_readers, "MAX_IMAGE_TEXT_BYTES", 2**20)
    bomb = b"\n" * (4 * 2**20)  # 4 MB of newlines: a 4 KB zip
    path = zip_with(tmp_path / "k.zip", {"train.txt": bomb})
    assert path.stat().st_size < 10_000
    with pytest.raises(DataFormatError) as err:
        read_pgim(path, {"train": []})
    assert str(err.value) == (
        f"{path}:train.txt: inflates to {4 * 2**20} bytes, over the limit of {2**20} "
        "(MAX_IMAGE_TEXT_BYTES)"
    )


def test_a_zip_member_that_lies_about_its_size_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr(text_readers, "MAX_IMAGE_TEXT_BYTES", 2**20)
    path = zip_with(tmp_path / "k.zip", {"train.txt": b"\n" * (3 * 2**20)})
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("train.txt")
        member.file_size = 10  # the header says 10 bytes; the reader stops there or at the cap
        with pytest.raises(DataFormatError, match=rf"^{path}:train.txt: (inflates|cannot be)"):
            text_readers.read_zip_member(archive, member, f"{path}:train.txt")
        member.file_size = 3 * 2**20  # an honest header over the cap: refused before inflating
        with pytest.raises(DataFormatError, match="inflates to 3145728 bytes, over the limit"):
            text_readers.read_zip_member(archive, member, f"{path}:train.txt")


def test_a_zip_that_is_not_one_and_a_missing_member_name_the_file(tmp_path):
    path = write(tmp_path, "k.zip", b"PK\x03\x04 not really")
    with pytest.raises(DataFormatError, match=rf"^{path}: not a zip archive"):
        read_pgim(path, {"train": []})
    names = {f"m{i}.txt": b"" for i in range(30)}
    path = zip_with(tmp_path / "many.zip", names)
    with pytest.raises(FileNotFoundError) as err:
        read_pgim(path, {"train": []})
    assert "no member 'train.txt'" in str(err.value) and "and 20 more" in str(err.value)


def test_pgim_knowledge_over_the_character_cap_names_the_block(tmp_path):
    text = pgim_block(0, words=MAX_CAPTION_CHARS // 3)
    with pytest.raises(DataFormatError, match=r"^z:1: a text of \d+ characters or more, over"):
        parse_pgim(text, "z")


def test_the_real_files_read_within_the_caps(need_data):
    for source in ("blip2", "catr", "owl", "pgim"):
        assert len(load_image_text(source, "twitter2015", need_data).texts) > 8000


# ----------------------------------------------------------------------------- run settings
def exit_code(argv: list[str]) -> int:
    from mner_lib.commands import cli

    try:
        return cli.main(argv)
    except SystemExit as stop:
        return int(stop.code)


def test_threads_are_capped_at_the_cpus_this_machine_gives(capsys):
    from mner_lib.training.config import available_cpus, check_field

    cpus = available_cpus()
    assert check_field("threads", cpus) == ""
    assert check_field("threads", 10_000) == (
        f"must be at most {cpus} (the CPUs this machine gives the run), got 10000"
    )
    train = ["train", "--model", "bilstm-crf", "--out", "never", "--threads", "10000"]
    assert exit_code(train) == 2
    assert "--threads: must be at most" in capsys.readouterr().err
    assert exit_code(["bench", "--models", "bilstm-crf", "--threads", "10000"]) == 2
    assert f"must be at most {cpus}" in capsys.readouterr().err
    assert not Path("never").exists()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("batch_size", 5000, "must be at most 1024, got 5000"),
        ("eval_batch_size", 10**6, "must be at most 1024, got 1000000"),
        ("epochs", 10**6, "must be at most 1000, got 1000000"),
        ("max_crops", 100, "must be at most 16 (MAX_CROPS), got 100"),
    ],
)
def test_run_sizes_have_stated_caps(name, value, message):
    from mner_lib.training.config import check_field

    assert check_field(name, value) == message


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--steps", "0"], "--steps: must be at least 1, got 0"),
        (["bench", "--steps", "100000"], "--steps: must be at most 1000, got 100000"),
        (["hashtags", "segment", "--baseline", "wordsegment", "#" + "a" * 5000], "over the limit"),
        (["hashtags", "train", "--dataset", "demo", "--out", "x.pt", "--epochs", "0"], "1 to 1000"),
        (
            ["hashtags", "train", "--dataset", "demo", "--out", "x.pt", "--test-fraction", "2"],
            "0 and 1",
        ),
        (
            ["hashtags", "train", "--dataset", "demo", "--out", "x.pt", "--max-words", "99"],
            "1 to 20",
        ),
    ],
)
def test_command_sizes_are_refused_in_one_line(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in err.strip().splitlines()[-1] and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_hashtag_training_needs_min_words_at_most_max_words(tmp_path, capsys):
    out = tmp_path / "x.pt"
    argv = ["hashtags", "train", "--dataset", "demo", "--out", str(out)]
    assert exit_code([*argv, "--min-words", "5", "--max-words", "2"]) == 2
    assert "--min-words 5 is more than --max-words 2" in capsys.readouterr().err
    assert not out.exists()


# ----------------------------------------------------------------------------- token keys
@pytest.mark.parametrize(
    "token, key",
    [("great!!", "great"), ("...", ""), ("(_x_)", "_x_"), ("¡olé!", "olé"), ("a", "a")],
)
def test_glove_keys_strip_edge_punctuation(token, key):
    from mner_lib.text.encoders import _strip_edges

    assert _strip_edges(token) == key


def test_glove_key_edge_stripping_is_linear():
    # the former pattern [^\w]+$ went back over the punctuation from every start: quadratic
    from mner_lib.text.encoders import _strip_edges

    def run(n: int) -> None:
        for _ in range(50):
            assert _strip_edges("a" + "!" * n + "a") == "a" + "!" * n + "a"

    assert growth(run, 2000) < 20
