"""Caches trust nothing they read (issue 26, class 3): the POS cache and the image feature
cache key on everything that decides an entry, verify each entry, and compute again (with one
warning naming the cache) or refuse by name what fails; nothing in a cache opens a file outside
it or waits on a FIFO."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from mner_lib.commands import cli
from mner_lib.images import ImageFeatures
from mner_lib.images.cache import FailureLog, FeatureCacheError, FeatureStore
from mner_lib.text.data import load_dataset
from mner_lib.text.pos import PosTagger, _checksum, _key
from tests.deadline import deadline

SHAPES = {"a": (3,), "b": (2, 2)}


# ----------------------------------------------------------------------------- POS cache
def test_pos_keys_are_unambiguous_whatever_a_token_holds():
    # the former key joined tokens with U+001F, which the data reader accepts inside a token
    assert _key(["New\x1fYork"]) != _key(["New", "York"])
    assert _key(["a", ""]) != _key(["a"]) != _key(["a\x00"])
    assert _key(['a","b']) != _key(["a", "b"])


def test_one_tweet_cannot_poison_the_tags_of_another(tmp_path):
    first = PosTagger(cache_dir=tmp_path)
    assert len(first.tag([["New\x1fYork"]])[0]) == 1
    later = PosTagger(cache_dir=tmp_path)  # a later run sharing the cache
    tags = later.tag([["New", "York"]])[0]
    assert len(tags) == 2 and later.tagged == 1


def cache_file(tmp_path: Path) -> Path:
    tagger = PosTagger(cache_dir=tmp_path)
    tagger.tag([["Mara", "visits", "Paris"], ["I", "love", "NASA"]])
    (path,) = tmp_path.glob("*.jsonl")
    return path


def test_a_changed_cache_line_is_ignored_tagged_again_and_named(tmp_path, caplog):
    path = cache_file(tmp_path)
    lines = [json.loads(line) for line in path.read_text().splitlines() if line]
    good = lines[0]["t"]
    lines[0]["t"] = ["XX"] * 3  # tags changed without the checksum: tampering or a bad disk
    path.write_text("".join(json.dumps(row) + "\n" for row in lines))
    tagger = PosTagger(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="mner_lib.text.pos"):
        assert tagger.tag([["Mara", "visits", "Paris"]]) == [good]
    assert tagger.tagged == 1  # tagged again, not read from the changed line
    assert f"POS tag cache {path}: 1 line unreadable" in caplog.text
    assert "(first: line 1)" in caplog.text
    lines[1]["t"] = ["XX"] * 3  # a second changed line: the count says "lines"
    path.write_text("".join(json.dumps(row) + "\n" for row in lines))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mner_lib.text.pos"):
        PosTagger(cache_dir=tmp_path).tag([["I", "love", "NASA"]])
    assert f"POS tag cache {path}: 2 lines unreadable" in caplog.text


def test_a_forged_line_with_a_wrong_tag_count_is_not_used(tmp_path):
    path = cache_file(tmp_path)
    key = _key(["Mara", "visits", "Paris"])
    forged = {"k": key, "t": ["NN"], "c": _checksum(key, ["NN"])}  # one tag for three tokens
    path.write_text(path.read_text() + json.dumps(forged) + "\n")
    tagger = PosTagger(cache_dir=tmp_path)
    tags = tagger.tag([["Mara", "visits", "Paris"]])[0]
    assert len(tags) == 3 and tagger.tagged == 1


@pytest.mark.parametrize(
    "line",
    ["{not json", "[" * 100_000 + "]" * 100_000, '{"k": 1, "t": [], "c": ""}', "null", "x" * 10],
)
def test_garbage_cache_lines_are_ignored_never_a_traceback(tmp_path, caplog, line):
    path = cache_file(tmp_path)
    path.write_text(line + "\n" + path.read_text())
    tagger = PosTagger(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="mner_lib.text.pos"):
        assert [len(t) for t in tagger.tag([["I", "love", "NASA"]])] == [3]
    assert tagger.tagged == 0 and "(first: line 1)" in caplog.text


def test_a_line_cut_by_a_killed_writer_never_joins_the_next_one(tmp_path):
    path = cache_file(tmp_path)
    path.write_text(path.read_text() + '{"k": "ab')  # killed mid-line
    PosTagger(cache_dir=tmp_path).tag([["Lagos", "is", "hot"]])
    fresh = PosTagger(cache_dir=tmp_path)
    fresh.tag([["Lagos", "is", "hot"], ["Mara", "visits", "Paris"]])
    assert fresh.tagged == 0


def test_the_pos_cache_file_names_spacy_and_the_format(tmp_path):
    name = cache_file(tmp_path).name
    assert name.startswith("en_core_web_sm") and "-spacy" in name and name.endswith("-v2.jsonl")


def test_a_pos_cache_that_is_a_fifo_is_refused_by_name(tmp_path):
    path = PosTagger(cache_dir=tmp_path)._cache_file()
    os.mkfifo(path)
    with deadline(10), pytest.raises(ValueError, match=f"{path}: a FIFO, not a regular file"):
        PosTagger(cache_dir=tmp_path).tag([["a"]])


# ----------------------------------------------------------------------------- feature store
def row(value: float) -> dict[str, np.ndarray]:
    return {"a": np.full(3, value), "b": np.full((2, 2), value)}


def filled(root: Path, keys=("k1", "k2", "k3")) -> FeatureStore:
    store = FeatureStore(root, shard_rows=2, shapes=SHAPES)
    for i, key in enumerate(keys):
        store.put(key, row(i + 1))
    store.flush()
    return store


def shards(root: Path) -> list[Path]:
    return sorted(p for p in (root / "shards").iterdir() if not p.name.startswith("."))


def shard_of(root: Path, key: str) -> Path:
    for line in (root / "index.tsv").read_text().splitlines():
        if line.startswith(key + "\t"):
            return root / "shards" / line.split("\t")[1]
    raise AssertionError(key)


def test_a_sound_store_reads_back_what_was_written(tmp_path):
    filled(tmp_path)
    store = FeatureStore(tmp_path, shapes=SHAPES)
    assert store.missing(["k1", "k2", "k3", "k4"]) == ["k4"]
    got = store.get(["k3", "k1"], ["a", "b"])
    assert got["a"].tolist() == [[3.0] * 3, [1.0] * 3] and got["b"].shape == (2, 2, 2)


def test_a_changed_value_in_a_shard_is_found_and_recomputed(tmp_path, caplog):
    filled(tmp_path)
    shard = shard_of(tmp_path, "k1")
    data = bytearray((shard / "a.npy").read_bytes())
    data[-1] ^= 0x40  # one value changed, the size the same
    (shard / "a.npy").write_bytes(bytes(data))
    store = FeatureStore(tmp_path, shapes=SHAPES)
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        assert store.missing(["k1", "k2", "k3"]) == ["k1", "k2"]  # the shard of k1 and k2
    assert f"feature cache {shard}: a.npy does not match its SHA-256" in caplog.text
    store.put("k1", row(1))
    store.put("k2", row(2))
    store.flush()
    assert FeatureStore(tmp_path, shapes=SHAPES).get(["k1", "k2"], ["a"])["a"][:, 0].tolist() == [
        1.0,
        2.0,
    ]


def test_a_truncated_shard_is_set_aside_by_name_not_an_mmap_error(tmp_path, caplog):
    filled(tmp_path)
    shard = shard_of(tmp_path, "k3")
    path = shard / "b.npy"
    path.write_bytes(path.read_bytes()[:-4])
    store = FeatureStore(tmp_path, shapes=SHAPES)
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        assert store.missing(["k3"]) == ["k3"]
    assert f"feature cache {shard}: b.npy has" in caplog.text and "its manifest says" in caplog.text
    with pytest.raises(KeyError, match=f"feature cache {tmp_path}: 1 image"):
        store.get(["k3"], ["a"])


@pytest.mark.parametrize(
    "line",
    [
        "garbage",
        "k1\t../../../../etc\t0",  # a shard outside the store: never opened
        "k1\t0123456789abcdef\t0",  # no such shard
        "k1\t{shard}\t999999",  # past the shard's rows
        "k1\t{shard}\t1",  # another key's row
        "k1\t{shard}\t-1",
    ],
)
def test_a_garbage_index_line_is_ignored_by_name_and_recomputed(tmp_path, caplog, line):
    filled(tmp_path)
    shard = shard_of(tmp_path, "k1").name
    with open(tmp_path / "index.tsv", "a") as f:
        f.write(line.format(shard=shard) + "\n")
    store = FeatureStore(tmp_path, shapes=SHAPES)
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        missing = store.missing(["k1", "k2"])
    assert missing in (["k1"], [])  # a line of another form leaves k1's own line in force
    assert f"feature cache {tmp_path}" in caplog.text  # the index file or the shard, by name
    if missing:
        store.put("k1", row(1))
        store.flush()
    assert FeatureStore(tmp_path, shapes=SHAPES).get(["k1"], ["a"])["a"][0, 0] == 1.0


def test_a_shard_with_other_shapes_or_no_manifest_is_set_aside(tmp_path, caplog):
    filled(tmp_path)
    shard = shard_of(tmp_path, "k1")
    (shard / "manifest.json").unlink()
    other = FeatureStore(tmp_path, shapes={"a": (4,), "b": (2, 2)})  # another backbone's sizes
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        assert other.missing(["k1", "k3"]) == ["k1", "k3"]
    assert "no readable manifest.json" in caplog.text
    assert "a.npy rows are (3,), expected (4,)" in caplog.text


def test_an_index_that_is_a_fifo_is_refused_by_name(tmp_path):
    os.mkfifo(tmp_path / "index.tsv")
    with deadline(10), pytest.raises(FeatureCacheError, match="index.tsv: not a regular file"):
        FeatureStore(tmp_path)


def test_failure_lines_of_another_form_are_ignored(tmp_path):
    path = tmp_path / "failures.tsv"
    path.write_text("k1\ttruncated\nk2\tevil\nk 3\tmissing\nnonsense\n")
    log = FailureLog(path)
    assert (log.get("k1"), log.get("k2"), log.get("k 3")) == ("truncated", "", "")
    log.record("k4", "zero-byte")
    assert FailureLog(path).get("k4") == "zero-byte"


# ----------------------------------------------------------------------------- image features
def features(cache: Path, **kw) -> ImageFeatures:
    settings = dict(dataset="demo", condition="synthetic", cache_dir=cache, pretrained=False)
    return ImageFeatures(**{**settings, "image_size": 32, **kw})


def test_the_store_is_keyed_on_everything_that_decides_the_features(tmp_path):
    base = features(tmp_path).store_dir
    for change in (
        {"image_size": 64},
        {"seed": 1},
        {"max_pixels": 1000},
        {"backbone": "resnet50"},
        {"pretrained": True},
    ):
        assert features(tmp_path, **change).store_dir != base, change
    assert features(tmp_path, condition="blank").store_dir == base  # keys are per image
    identity = features(tmp_path).identity
    assert {"weights", "resampling", "mean", "std", "grid", "feature_version"} <= set(identity)


def test_tampered_features_are_recomputed_not_used(tmp_path, caplog):
    tweets = load_dataset("demo").train[:6]
    first = features(tmp_path)
    expected = first(tweets).global_vec
    for shard in shards(first.store_dir):
        path = shard / "global.npy"
        data = bytearray(path.read_bytes())
        data[-2:] = b"\x00\x7c"  # the last value becomes +inf
        path.write_bytes(bytes(data))
    again = features(tmp_path)
    again._model = first.model  # the same random backbone, built once
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        got = again(tweets).global_vec
    assert again.computed > 0 and np.allclose(got.numpy(), expected.numpy(), atol=1e-3)
    assert str(again.store_dir / "shards") in caplog.text and "SHA-256" in caplog.text


def test_a_store_whose_identity_was_changed_is_refused_by_name(tmp_path):
    feats = features(tmp_path)
    feats.prepare(load_dataset("demo").train[:2])
    path = feats.store_dir / "identity.json"
    identity = json.loads(path.read_text())
    path.write_text(json.dumps({**identity, "image_size": 224}))
    with pytest.raises(FeatureCacheError, match=f"feature cache {feats.store_dir}: identity"):
        features(tmp_path).prepare(load_dataset("demo").train[:2])


def test_unsafe_imgids_never_name_an_annotation_file_outside_its_folder(tmp_path):
    boxes = tmp_path / "xml"
    boxes.mkdir()
    (tmp_path / "evil.xml").write_text("<annotation/>")
    feats = features(tmp_path / "c", crops="boxes", max_crops=2, boxes_dir=boxes)
    assert feats._boxes_file("../evil") == ("none", None, None)
    (boxes / "link.xml").symlink_to(tmp_path / "evil.xml")
    assert feats._boxes_file("link") == ("none", None, None)
    (boxes / "gone.xml").symlink_to(boxes / "nothing.xml")
    assert feats._boxes_file("gone") == ("none", None, None)
    os.mkfifo(boxes / "fifo.xml")
    with deadline(10), pytest.raises(ValueError, match="a FIFO, not a regular file"):
        feats._boxes_file("fifo")


# ----------------------------------------------------------------------------- the command
FEATURES = ["features", "--dataset", "demo", "--random-weights", "--condition", "blank"]


def run_cli(argv: list[str]) -> int:
    """The exit status of a command, whether argparse exits or ``main`` returns."""
    try:
        return cli.main(argv)
    except SystemExit as stop:
        return int(stop.code)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--image-size", "100000"], "image_size must be 32 to 1024 pixels (MAX_IMAGE_SIZE)"),
        (["--image-size", "512", "--batch-size", "64"], "at most 16 at this size"),
        (["--batch-size", "0"], "--batch-size: must be at least 1, got 0"),
        (["--max-tweets", "-5"], "--max-tweets: must be at least 1, got -5"),
        (["--crops", "saliency", "--max-crops", "100000"], "max_crops from 1 to 16 (MAX_CROPS)"),
    ],
)
def test_features_refuses_sizes_over_their_cap_before_any_work(tmp_path, capsys, args, message):
    cache = tmp_path / "cache"
    with deadline(60):
        code = run_cli([*FEATURES, "--cache-dir", str(cache), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err.strip().splitlines()[-1] and "Traceback" not in err  # one error line
    assert not cache.exists()  # nothing computed, nothing written


def test_features_json_to_a_fifo_is_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    with deadline(30):
        code = cli.main([*FEATURES, "--cache-dir", str(tmp_path / "c"), "--json", str(fifo)])
    assert (
        code == 2 and f"--json {fifo}: exists and is not a regular file" in capsys.readouterr().err
    )
    assert not (tmp_path / "c").exists()


def test_features_json_appends_one_line_per_condition(tmp_path):
    out = tmp_path / "out.jsonl"
    argv = [*FEATURES, "synthetic", "--image-size", "32", "--max-tweets", "3"]
    assert cli.main([*argv, "--cache-dir", str(tmp_path / "c"), "--json", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["condition"] for r in records] == ["blank", "synthetic"]
    assert records[1]["tweets"] == 3
