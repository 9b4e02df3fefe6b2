"""The data chapter's "Real images, as text": notes without a data folder, captions with one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mner_lib.book import caption_view as cv
from mner_lib.images.text import CaptionTable
from mner_lib.text.data import Tweet, load_dataset
from tests.fakes import write_demo_image_text


@pytest.fixture
def no_data(monkeypatch):
    monkeypatch.delenv("MNER_DATA_DIR", raising=False)


@pytest.fixture
def demo_dir(tmp_path, no_data) -> Path:
    """A data folder with the demo captions (BLIP-2, CATR, ...) and two sample images."""
    root = write_demo_image_text(tmp_path / "data")
    folder = root / "samples" / "images"
    folder.mkdir(parents=True)
    for name in ("demo_0001", "demo_0004"):
        Image.fromarray(np.full((40, 60, 3), 120, np.uint8)).save(folder / f"{name}.jpg")
    return root


def tweet(tokens: str, tags: str, id_: str = "1") -> Tweet:
    return Tweet(id_, tokens.split(), tags.split())


def test_without_a_data_folder_every_part_is_a_visible_note(no_data):
    data = load_dataset("demo")
    assert cv.sample_captions() == []
    assert "Not shown in this build" in cv.show_samples().data
    assert "Not shown in this build" in cv.show_tweet_captions(data).data
    notes = cv.show_tables("demo")
    assert len(notes) == 1 and "no data folder" in notes[0].data


def test_samples_sit_beside_their_captions_and_tweets(demo_dir):
    samples = cv.sample_captions(demo_dir, datasets=("demo",))
    assert [s.image_id for s in samples] == ["demo_0001", "demo_0004"]
    first = samples[0]
    assert first.dataset == "demo" and first.tweet is not None and first.tweet.id == "demo_0001"
    assert (
        first.captions["blip2"].startswith("a picture about") and "0001" in first.captions["blip2"]
    )
    assert first.captions["catr"].startswith("generic a picture about")
    page = cv.samples_html(samples)
    assert page.count('<img src="data:image/jpeg;base64,') == 2
    assert "BLIP-2:</b> a picture about" in page and "CATR:</b> generic" in page


def test_leaked_entity_strings_are_marked_word_by_word():
    entities = [("Obama", "PER"), ("St Louis", "LOC"), ("#NBA", "ORG")]
    caption = "barack obama at the nba game in st. louis; obamacare"
    spans = cv.leaked_spans(caption, entities)
    assert [caption[s:e] for s, e, _ in spans] == ["obama", "nba"]  # "st." is not "st louis"
    page = cv.highlight(caption, entities)
    assert page.count("<mark") == 2 and "obamacare" in page and ">obama</mark>" in page
    assert cv.highlight("a <b> tag", []) == "a &lt;b&gt; tag"


def test_pick_tweets_takes_leaks_and_plain_ones_in_dataset_order():
    tweets = [
        tweet("Obama speaks", "B-PER O", "1"),
        tweet("nothing here", "O O", "2"),  # no entity: never picked
        tweet("Paris today", "B-LOC O", "3"),
        tweet("Adele sings", "B-PER O", "4"),
        tweet("Rome again", "B-LOC O", "5"),  # no caption: never picked
    ]
    table = CaptionTable(
        "blip2",
        "demo",
        {"1": "obama at a podium", "2": "a cat", "3": "a street", "4": "adele on stage"},
    )
    picked = cv.pick_tweets(tweets, table, n=3)
    assert [t.id for t, _ in picked] == ["1", "3", "4"]
    page = cv.tweet_captions_html(picked)
    assert page.count("<tr>") == 4 and page.count(">yes<") == 2


def test_tweet_captions_and_tables_from_a_data_folder(demo_dir):
    data = load_dataset("demo")
    shown = cv.show_tweet_captions(data, demo_dir, split="train", n=4)
    assert "<table class='mner-captions'" in shown.data and "a picture about" in shown.data
    items = cv.show_tables("demo", demo_dir, data=data)
    assert "Coverage" in items[0].data and "Leak share" in items[2].data  # each table titled
    coverage, leak = items[1], items[3]
    flat = coverage.reset_index()
    blip2 = flat[flat["source"] == "BLIP-2"]
    assert set(blip2["kind"]) == {"real-image caption"}
    assert blip2["empty"].sum() == 1 and blip2["missing"].sum() == 1  # written empty, left out
    assert blip2["tweets"].sum() == len(data.train) + len(data.dev) + len(data.test)
    assert set(flat.loc[flat["source"] == "PGIM", "kind"]) == {"language-model knowledge"}
    assert set(leak.columns) == {"entities", "in own text", "own %", "shuffled %"}
    assert (leak["own %"] >= 0).all() and (leak["own %"] <= 100).all()
