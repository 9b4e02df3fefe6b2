"""Tag-only predictions (issue 27): written with every run, rejoined with the reader's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from mner_lib.text.data import Tweet, load_dataset
from mner_lib.text.predictions import (
    HEADER,
    PredictionFileError,
    format_tags,
    read_tags,
    rejoin,
    split_keys,
    tweet_keys,
)
from mner_lib.training import resolve_config, run_training


def _tweets() -> list[Tweet]:
    return [
        Tweet("a", ["Paris", "is", "nice"], ["B-LOC", "O", "O"], "x.txt", 1),
        Tweet("b", ["Hi"], ["O"], "x.txt", 5),
        Tweet("a", ["Obama", "won"], ["B-PER", "O"], "x.txt", 8),  # a repeated IMGID
    ]


def test_a_run_writes_tag_files_that_rejoin_its_data_without_any_token_text(tmp_path):
    cfg = resolve_config(
        "bilstm-crf", dataset="demo", out=str(tmp_path / "run"), epochs=1, max_train=20,
        max_eval=7, progress=False, model_options={"use_glove": False, "hidden": 8},
    )  # fmt: skip
    result = run_training(cfg)
    demo = load_dataset("demo")
    for split in ("dev", "test"):
        path = result.run_dir / f"tags_{split}.tsv"
        text = path.read_text()
        assert text.startswith(HEADER + "\n")
        joined = rejoin(path, demo.split(split))
        assert len(joined) == 7  # the max_eval sample, keyed into the whole split
        for tweet, tags in joined:
            assert len(tags) == len(tweet.tokens)
        words = {tok for tweet, _ in joined for tok in tweet.tokens if len(tok) > 3}
        assert not any(f"\t{w}" in text or f" {w} " in text for w in words)
    # the tags are the run's predictions of those tweets
    local = (result.run_dir / "predictions_test.txt").read_text().split("\n\n")
    first_tags = [line.split("\t")[1] for line in local[0].splitlines()[1:]]
    assert rejoin(result.run_dir / "tags_test.tsv", demo.test)[0][1] == first_tags
    assert "last_epoch_tweets_per_second" in result.metrics
    assert result.metrics["last_epoch_tweets_per_second"] > 0


def test_repeated_imgids_are_keyed_by_occurrence_and_samples_by_their_place():
    tweets = _tweets()
    assert tweet_keys(tweets) == [("a", 0), ("b", 0), ("a", 1)]
    assert split_keys([tweets[2]], tweets) == [("a", 1)]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tags_test.tsv"
    path.write_text(text)
    return path


def test_a_tag_file_of_other_data_is_refused_naming_the_file_and_line(tmp_path):
    tweets = _tweets()
    good = format_tags(tweets, [t.tags for t in tweets], tweet_keys(tweets))
    assert [t for t, _ in rejoin(_write(tmp_path, good), tweets)] == tweets
    other = good.replace("a\t1\t2\tB-PER O", "a\t1\t3\tB-PER O O")
    with pytest.raises(PredictionFileError, match=r"tags_test.tsv:4: tweet a has 3 tokens here"):
        rejoin(_write(tmp_path, other), tweets)
    with pytest.raises(PredictionFileError, match=r":3: tweet b .* is not in the data"):
        rejoin(_write(tmp_path, good), [tweets[0], tweets[2]])


@pytest.mark.parametrize(
    "body, message",
    [
        ("a\t0\t1\tB-LOC O\n", r":2: 2 tags for 1 tokens"),
        ("a\t0\t1\tB-FOO\n", r":2: unknown tag 'B-FOO'"),
        ("a\tzero\t1\tO\n", r":2: expected imgid<TAB>occurrence<TAB>tokens<TAB>tags"),
        ("a 0 1 O\n", r":2: expected imgid"),
    ],
)
def test_malformed_lines_are_named(tmp_path, body, message):
    with pytest.raises(PredictionFileError, match=message):
        read_tags(_write(tmp_path, HEADER + "\n" + body))


def test_a_file_without_the_header_or_not_utf8_is_refused(tmp_path):
    with pytest.raises(PredictionFileError, match=r":1: not a tag file"):
        read_tags(_write(tmp_path, "a\t0\t1\tO\n"))
    path = tmp_path / "tags_dev.tsv"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(PredictionFileError, match="not UTF-8"):
        read_tags(path)
