"""What the caption changes, tweet by tweet (mner_lib.reporting.per_tweet, its counts file and
mner_lib.book.per_tweet): hand-counted pairs of fake run folders over a tiny data folder in the
real format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mner_lib.book.per_tweet import per_tweet_html
from mner_lib.reporting.per_tweet import Counts, find_pairs, per_tweet_report
from mner_lib.reporting.per_tweet_file import COUNTS_FILE, read_counts, write_counts
from mner_lib.text.data import Tweet
from mner_lib.text.predictions import format_tags, tweet_keys

HOSTILE = "<img src=x onerror=alert(1)>"
#: the test split: (IMGID, [(token, gold tag)], the tweet's own BLIP-2 caption)
TWEETS = [
    ("101", [("Obama", "B-PER"), ("visits", "O"), ("Paris", "B-LOC"), ("today", "O")],
     "barack obama waving in paris"),
    ("102", [("Apple", "B-ORG"), ("store", "O"), ("in", "O"), ("Berlin", "B-LOC")],
     "an apple store front"),
    (HOSTILE, [("<b>Bob</b>", "B-PER"), ("rocks", "O")], "a man named <b>Bob</b>"),
    # an orphan I- starts an entity (conlleval), here named by the caption
    ("103", [("St", "I-LOC"), (".", "I-LOC"), ("Louis", "I-LOC"), ("wins", "O")],
     "st. louis skyline"),
]  # fmt: skip
#: seed 0's predictions: the caption right on Obama (PER), the control right on Paris (LOC)
CAPTION = {"101": "B-PER O O O", "102": "B-ORG O O B-LOC", HOSTILE: "B-PER O",
           "103": "B-LOC I-LOC I-LOC O"}  # fmt: skip
CONTROL = {"101": "O O B-LOC O", "102": "B-ORG O O O", HOSTILE: "O O",
           "103": "B-LOC I-LOC I-LOC O"}  # fmt: skip
WORDS = ("obama", "visits", "paris", "apple", "berlin", "bob", "rocks", "louis", "waving",
         "skyline", "store")  # fmt: skip


def _tweets() -> list[Tweet]:
    return [Tweet(i, [t for t, _ in toks], [g for _, g in toks]) for i, toks, _ in TWEETS]


@pytest.fixture
def tiny_data(tmp_path, monkeypatch) -> Path:
    """A tiny data folder in the shared layout: Twitter-2015's three files (OTHER for MISC is
    not needed here) and its BLIP-2 captions; MNER_DATA_DIR points at it."""
    root = tmp_path / "data"
    folder = root / "twitter2015"
    folder.mkdir(parents=True)
    text = "".join(
        f"IMGID:{i}\n" + "".join(f"{t}\t{g}\n" for t, g in toks) + "\n" for i, toks, _ in TWEETS
    )
    for name in ("train.txt", "valid.txt", "test.txt"):
        (folder / name).write_text(text)
    blip = root / "image_text" / "blip2"
    blip.mkdir(parents=True)
    (blip / "BLIP2_15.txt").write_text("".join(f"{i}.jpg :{c}\n" for i, _, c in TWEETS))
    monkeypatch.setenv("MNER_DATA_DIR", str(root))
    return root


def _run(root: Path, condition: str, seed: int, tags: dict[str, str] | None) -> Path:
    """A run folder: metrics.json, and tags_test.tsv of ``tags`` (none: no tags file)."""
    folder = root / "exp" / "bert-crf" / "twitter2015" / condition.replace(":", "-") / f"seed{seed}"
    folder.mkdir(parents=True)
    metrics = {"model": "bert-crf", "dataset": "twitter2015", "condition": condition,
               "seed": seed, "commit": f"c0ffee{seed}",
               "test": {"precision": 50.0, "recall": 50.0, "f1": 50.0}}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(metrics))
    if tags is not None:
        tweets = _tweets()
        predicted = [tags[t.id].split() for t in tweets]
        (folder / "tags_test.tsv").write_text(format_tags(tweets, predicted, tweet_keys(tweets)))
    return folder


def _pair(root: Path, seed: int, caption: dict | None, control: dict | None) -> None:
    _run(root, "caption:blip2", seed, caption)
    _run(root, "caption-shuffled:blip2", seed, control)


@pytest.fixture
def results(tmp_path) -> Path:
    """Seed 0 as above, seed 1 the two runs swapped, seed 2 without the control's tags."""
    root = tmp_path / "results"
    _pair(root, 0, CAPTION, CONTROL)
    _pair(root, 1, CONTROL, CAPTION)
    _pair(root, 2, CAPTION, None)
    _run(root, "none", 0, CAPTION)  # text only: no pair
    return root


def test_counts_of_a_hand_made_pair(results, tiny_data):
    report = per_tweet_report(results, tiny_data)
    seed0 = next(p for p in report.pairs if p.key.seed == 0)
    assert seed0.tweets == 4
    # Obama (PER): caption only, named; <b>Bob</b> (PER): caption only, named
    assert seed0.counts["PER"] == Counts(caption_only=2, named=2, caption_only_named=2)
    # Paris: control only, named; Berlin: caption only, not named; St . Louis: both, named
    assert seed0.counts["LOC"] == Counts(
        caption_only=1, control_only=1, both=1, named=2, control_only_named=1
    )
    # Apple is named, Berlin in the same tweet is not
    assert seed0.counts["ORG"] == Counts(both=1, named=1)
    assert seed0.counts["MISC"] == Counts()
    everything = seed0.counts["all"]
    assert (everything.caption_only, everything.control_only, everything.both) == (3, 1, 2)
    assert (everything.net, everything.net_named, everything.net_unnamed) == (2, 1, 1)
    assert seed0.caption.commit == "c0ffee0"
    assert seed0.caption.folder == "exp/bert-crf/twitter2015/caption-blip2/seed0"


def test_sums_over_seeds_and_nets_per_seed(results, tiny_data):
    report = per_tweet_report(results, tiny_data)
    [group] = report.groups
    assert group.seeds == (0, 1)
    assert group.nets == ((0, 2), (1, -2))  # seed 1 is seed 0 with the runs swapped
    assert group.counts["all"].caption_only == group.counts["all"].control_only == 4
    assert group.counts["PER"].control_only_named == 2
    assert group.control == "caption-shuffled:blip2"


def test_a_pair_without_tags_is_listed_missing(results, tiny_data):
    _run(results, "caption:blip2", 5, CAPTION)  # no control beside it: no pair, not listed
    pairs, missing = find_pairs(results)
    assert [p.key.seed for p in pairs] == [0, 1]
    [gap] = missing
    assert gap.key.seed == 2
    assert gap.without == ("exp/bert-crf/twitter2015/caption-shuffled-blip2/seed2",)
    assert gap.file == "tags_test.tsv"


def test_no_pair_at_all(tmp_path, tiny_data):
    report = per_tweet_report(tmp_path / "nothing", tiny_data)
    assert (report.pairs, report.missing, report.skipped, report.groups) == ([], [], [], [])
    html = per_tweet_html(tmp_path / "nothing", tiny_data)
    assert "No pair counted yet" in html


def test_a_wrong_token_count_is_reported_by_name(results, tiny_data):
    bad = _run(results, "caption:blip2", 3, CAPTION)
    _run(results, "caption-shuffled:blip2", 3, CONTROL)
    path = bad / "tags_test.tsv"
    # 102 has four tokens in the data; the file says three (three tags)
    path.write_text(path.read_text().replace("102\t0\t4\tB-ORG O O B-LOC", "102\t0\t3\tB-ORG O O"))
    report = per_tweet_report(results, tiny_data)
    [skipped] = report.skipped
    assert skipped.key.seed == 3
    assert str(path) in skipped.error and "3 tokens here and 4" in skipped.error
    assert [p.key.seed for p in report.pairs] == [0, 1]  # the others are still counted
    line = write_counts(results)
    assert "1 pair skipped" in line and str(path) in line


def test_the_counts_file_holds_no_tweet_text(results, tiny_data):
    line = write_counts(results)
    assert line.startswith(str(results / COUNTS_FILE))
    assert "2 pairs counted, 1 pair without tags files, 0 pairs skipped" in line
    text = (results / COUNTS_FILE).read_text()
    for word in WORDS:
        assert word not in text.lower()
    assert "B-" not in text and "I-LOC" not in text and HOSTILE not in text
    obj = json.loads(text)
    assert obj["data_files"].keys() == {"twitter2015/test.txt", "image_text/blip2/BLIP2_15.txt"}
    assert {r["commit"] for r in obj["runs_read"]} == {"c0ffee0", "c0ffee1"}
    assert obj["missing"][0]["without"] == ["exp/bert-crf/twitter2015/caption-shuffled-blip2/seed2"]
    back = read_counts(results / COUNTS_FILE)
    assert back.pairs == per_tweet_report(results, tiny_data).pairs
    assert back.missing == find_pairs(results)[1]


def test_without_data_the_counts_file_is_left_alone(results, monkeypatch):
    monkeypatch.delenv("MNER_DATA_DIR", raising=False)
    (results / COUNTS_FILE).write_text("kept\n")
    line = write_counts(results)
    assert "left as it is" in line and "\n" not in line
    assert (results / COUNTS_FILE).read_text() == "kept\n"


def test_a_malformed_counts_file_is_named(results, tiny_data, monkeypatch):
    write_counts(results)
    obj = json.loads((results / COUNTS_FILE).read_text())
    obj["pairs"][0]["counts"]["PER"]["caption_only"] = -1
    (results / COUNTS_FILE).write_text(json.dumps(obj))
    with pytest.raises(ValueError, match=r"pairs\[0\] PER: field 'caption_only'"):
        read_counts(results / COUNTS_FILE)
    monkeypatch.delenv("MNER_DATA_DIR")
    assert "No counts" in per_tweet_html(results)


def test_the_html_escapes_a_hostile_imgid_and_shows_examples(results, tiny_data):
    html = per_tweet_html(results, tiny_data, n_examples=5)
    assert HOSTILE not in html and "<b>Bob</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;Bob&lt;/b&gt;" in html
    assert "right with the caption, missed by the control</b>: 3 examples" in html
    assert "right with the control, missed with the caption</b>: 3 examples" in html
    assert "2 pairs (seeds 0, 1)" in html and "seed 0: +2, seed 1: -2" in html
    assert "(s)" not in html
    assert "Without tags files: 1 pair" in html


def test_a_hostile_tag_in_a_skipped_pair_is_escaped(results, tiny_data):
    bad = _run(results, "caption:blip2", 4, CAPTION)
    _run(results, "caption-shuffled:blip2", 4, CONTROL)
    path = bad / "tags_test.tsv"
    path.write_text(path.read_text().replace("B-ORG O O B-LOC", "B-ORG O O <script>"))
    html = per_tweet_html(results, tiny_data)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Skipped (tags that do not rejoin the data): 1 pair" in html


def test_the_book_without_data_shows_the_committed_counts(results, tiny_data, monkeypatch):
    write_counts(results)
    monkeypatch.delenv("MNER_DATA_DIR")
    html = per_tweet_html(results)
    assert "Example tweets need your copy of the data" in html
    assert "Obama" not in html and "right with the caption" not in html
    assert "<td>all</td><td>4</td><td>4</td><td>0</td><td>10 of 12</td>" in html
    assert per_tweet_html(results, models=["gmf"]).count("<table") == 0


def test_the_report_command_writes_the_counts(results, tiny_data, tmp_path, capsys):
    from mner_lib.commands.cli import main

    assert main(["report", "--root", str(results), "--out", str(tmp_path / "r.md")]) == 0
    assert "2 pairs counted" in capsys.readouterr().out
    assert json.loads((results / COUNTS_FILE).read_text())["pairs"]
