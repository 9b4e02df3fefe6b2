"""ImageFeatures: conditions, flags, the cache (a second run computes nothing) and crops."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mner_lib.images import ImageFeatures, parse_condition
from mner_lib.text.data import Tweet, load_dataset

SIZE = 64  # small images keep these tests fast


@pytest.fixture(scope="module")
def demo_tweets():
    data = load_dataset("demo")
    return data.train[:6]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("feature_cache")


def _feats(cache, condition, **kwargs):
    return ImageFeatures(
        "demo", condition=condition, cache_dir=cache, image_size=SIZE, batch_size=8, **kwargs
    )


def test_dimensions_are_known_before_any_image(tmp_path):
    feats = ImageFeatures("demo", backbone="vgg16", cache_dir=tmp_path)
    assert (feats.global_dim, feats.region_dim, feats.pyramid_channels) == (
        512,
        512,
        [128, 256, 512, 512],
    )
    assert feats._model is None and not any(tmp_path.iterdir())


def test_real_demo_images_shapes_labels_and_cache(cache, demo_tweets):
    feats = _feats(cache, "real")
    info = feats.prepare(demo_tweets)
    assert info["computed"] == 6 and info["flags"] == {"": 6}
    batch = feats(demo_tweets[:4])
    assert batch.global_vec.shape == (4, 1280) and batch.regions.shape == (4, 49, 1280)
    assert [p.shape[1:] for p in batch.pyramid] == [
        (24, 7, 7),
        (40, 7, 7),
        (112, 7, 7),
        (1280, 7, 7),
    ]
    assert batch.global_vec.dtype == torch.float32
    assert len(batch.labels[0]) == 5 and batch.labels[0][0][1] >= batch.labels[0][1][1]
    assert batch.flags == [""] * 4 and batch.meta["synthetic"] is True  # demo images are probes
    # the cached row equals a direct forward pass (float16 storage)
    direct = feats._forward(
        [Image.open(feats.image_dir / f"{demo_tweets[0].id}.jpg").convert("RGB")]
    )
    assert np.allclose(batch.global_vec[0].numpy(), direct["global"][0], atol=2e-2, rtol=1e-2)
    # a second object on the same cache computes nothing
    again = _feats(cache, "real")
    assert again.prepare(demo_tweets)["computed"] == 0
    assert torch.equal(again(demo_tweets[:4]).regions, batch.regions) and again._model is None


def test_blank_synthetic_shuffled_and_missing(cache, demo_tweets):
    blank = _feats(cache, "blank")(demo_tweets)
    assert blank.flags == ["blank"] * 6
    assert torch.equal(blank.global_vec[0], blank.global_vec[5])
    synthetic = _feats(cache, "synthetic")
    batch = synthetic(demo_tweets)  # on demand, without prepare
    assert batch.flags == ["synthetic"] * 6 and synthetic.describe()["synthetic"] is True
    shuffled = _feats(cache, "shuffled:synthetic")
    shuffled.prepare(demo_tweets)
    mixed = shuffled(demo_tweets)
    own = synthetic(demo_tweets).meta["keys"]
    assert mixed.flags == ["shuffled"] * 6
    assert all(k != o for k, o in zip(mixed.meta["keys"], own))  # never the tweet's own image
    assert mixed.meta["keys"] == shuffled(demo_tweets).meta["keys"]  # deterministic
    dropped = _feats(cache, "missing:0.5")(load_dataset("demo").train[:40]).flags
    assert 10 <= dropped.count("dropped") <= 30 and set(dropped) == {"", "dropped"}


def test_conditions_parse_and_reject():
    assert parse_condition("missing:0.3").p == 0.3
    assert parse_condition("shuffled:real").base == "real"
    for bad in ("photo", "missing", "missing:1.5", "blank:2", "shuffled:other"):
        with pytest.raises(ValueError, match="condition"):
            parse_condition(bad)


def test_real_without_image_folder_is_blank_and_flagged_once(tmp_path, demo_tweets, caplog):
    feats = ImageFeatures(
        "demo", condition="real", image_dir=tmp_path / "absent", cache_dir=tmp_path, image_size=SIZE
    )
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        info = feats.prepare(demo_tweets)
    assert info["flags"] == {"missing": 6} and info["unique_images"] == 1
    assert len(caplog.records) == 1 and "6 of 6" in caplog.records[0].getMessage()
    assert feats.describe()["synthetic"] is True  # the demo corpus


def test_broken_files_get_the_blank_image_never_another(tmp_path, caplog):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(folder / "good.jpg", "JPEG")
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "junk.jpg").write_bytes(b"GIF89a not really" * 4)
    Image.new("RGBA", (32, 32), (0, 0, 255, 128)).save(folder / "alpha.jpg", "PNG")
    tweets = [Tweet(i, ["x"], ["O"]) for i in ("good", "zero", "junk", "alpha", "gone")]
    feats = ImageFeatures(
        "twitter2015", condition="real", image_dir=folder, cache_dir=tmp_path, image_size=SIZE
    )
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        feats.prepare(tweets)
    batch = feats(tweets)
    assert batch.flags == ["", "zero-byte", "undecodable", "", "missing"]
    assert torch.equal(batch.regions[1], batch.regions[4])  # both the blank image
    assert torch.equal(batch.regions[2], batch.regions[4])
    assert not torch.equal(batch.regions[0], batch.regions[4])
    assert len(caplog.records) == 1
    # the failure flag survives into a new object reading the same cache
    assert (
        ImageFeatures(
            "twitter2015", condition="real", image_dir=folder, cache_dir=tmp_path, image_size=SIZE
        )(tweets).flags[2]
        == "undecodable"
    )


def test_saliency_and_probe_box_crops(cache, demo_tweets):
    feats = _feats(cache, "synthetic", crops="saliency", max_crops=2)
    batch = feats(demo_tweets[:3])
    assert batch.crops.shape == (3, 2, 1280) and batch.crop_mask.all()
    assert batch.meta["crop_boxes"].shape == (3, 2, 4)
    blank = _feats(cache, "blank", crops="saliency", max_crops=2)(demo_tweets[:2])
    assert not blank.crop_mask.any() and float(blank.crops.abs().sum()) == 0.0
    boxes = _feats(cache, "synthetic", crops="boxes", max_crops=3)(demo_tweets[:3])
    entities = [
        min(
            3,
            sum(t.startswith("B-") or t.startswith("I-") and i == 0 for i, t in enumerate(tw.tags)),
        )
        for tw in demo_tweets[:3]
    ]
    from mner_lib.images.probe import probe_types

    expected = [min(3, len(probe_types(tw.tags))) for tw in demo_tweets[:3]]
    assert boxes.crop_mask.sum(dim=1).tolist() == expected and entities is not None
    with pytest.raises(ValueError, match="max_crops"):
        _feats(cache, "blank", crops="saliency", max_crops=0)


def test_unknown_backbone_and_crops_are_named(tmp_path):
    with pytest.raises(ValueError, match="efficientnet-lite0"):
        ImageFeatures("demo", backbone="alexnet", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="saliency"):
        ImageFeatures("demo", crops="objects", cache_dir=tmp_path)


def test_image_is_the_picture_each_condition_gives(cache, demo_tweets):
    from mner_lib.images.probe import draw_probe, probe_types

    tweet = demo_tweets[0]
    blank = np.asarray(_feats(cache, "blank").image(tweet))
    assert blank.std() == 0  # one constant colour
    synthetic = _feats(cache, "synthetic")
    drawn = draw_probe(tweet.id, probe_types(tweet.tags), synthetic.seed, synthetic.image_size)
    assert np.array_equal(np.asarray(synthetic.image(tweet)), np.asarray(drawn.image))
    real = _feats(cache, "real")
    own = np.asarray(real.image(tweet))
    with Image.open(real.image_dir / f"{tweet.id}.jpg") as im:
        assert own.shape[:2] == im.size[::-1]
    shuffled = _feats(cache, "shuffled")
    partner = shuffled.plan(tweet).source
    assert partner[0] == "file" and not partner[1].endswith(f"/{tweet.id}.jpg")
    assert not np.array_equal(np.asarray(shuffled.image(tweet)), own)
    missing = Tweet("not-a-file", ["x"], ["O"])
    assert np.array_equal(np.asarray(real.image(missing)), blank)  # the HSN rule


# Hostile ids and files through ImageFeatures(condition='real'): blank image + flag, no hang.
def test_hostile_ids_and_files_get_the_blank_image(tmp_path, caplog):
    signal.alarm(120)  # a FIFO read would hang: fail instead
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(folder / "good.jpg", "JPEG")
    Image.new("RGB", (32, 32), (10, 200, 10)).save(tmp_path / "outside.jpg", "JPEG")
    os.mkfifo(folder / "fifo.jpg")
    (folder / "escape.jpg").symlink_to(tmp_path / "outside.jpg")
    (folder / "zero.jpg").symlink_to("/dev/zero")
    ids = ("good", "../outside", "fifo", "escape", "zero")
    tweets = [Tweet(i, ["x"], ["O"]) for i in ids]
    feats = ImageFeatures(
        "twitter2015", condition="real", image_dir=folder, cache_dir=tmp_path, image_size=SIZE
    )
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        feats.prepare(tweets)
    batch = feats(tweets)
    signal.alarm(0)
    assert batch.flags == ["", "unsafe-id", "not-a-file", "outside-folder", "outside-folder"]
    for k in range(2, 5):
        assert torch.equal(batch.regions[1], batch.regions[k])  # all the blank image
    assert not torch.equal(batch.regions[0], batch.regions[1])
    assert len(caplog.records) == 1 and "4 of 5" in caplog.records[0].getMessage()


def test_two_processes_about_to_compute_the_same_images_compute_them_once(tmp_path, demo_tweets):
    """Two feature sets of the same images prepared side by side (as two book chapters or two
    campaign workers would): the second waits for the first's lock, then finds every image
    cached. Without the lock both would miss the cache at the start and compute all of them."""
    import threading

    barrier = threading.Barrier(2)
    sets = [_feats(tmp_path, "synthetic") for _ in range(2)]

    def prepare(feats):
        barrier.wait()
        feats.prepare(demo_tweets)

    threads = [threading.Thread(target=prepare, args=(f,)) for f in sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(f.computed for f in sets) == [0, len(demo_tweets)]
    # another seed draws other images: its own lock, computed again
    other = _feats(tmp_path, "synthetic", seed=1)
    other.prepare(demo_tweets)
    assert other.computed == len(demo_tweets)


def test_a_cache_where_the_lock_cannot_be_written_is_read_without_it(
    tmp_path, demo_tweets, monkeypatch
):
    """A read-only cache that holds every image (the lock file cannot be opened there): the
    features still come from it, nothing waits."""
    import builtins

    from mner_lib.images import cache

    _feats(tmp_path, "synthetic").prepare(demo_tweets)

    def refuse(path, *args, **kwargs):
        if Path(path).name.startswith(".computing-"):
            raise PermissionError(13, "Permission denied", str(path))
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(cache, "open", refuse, raising=False)
    feats = _feats(tmp_path, "synthetic")
    feats.prepare(demo_tweets)
    assert feats.computed == 0
