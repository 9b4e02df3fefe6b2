"""POS classes for HSN (mner_lib.text.pos): the Penn fold, spaCy on pre-tokenised tweets, the cache."""

from __future__ import annotations

import pytest

from mner_lib.text.pos import NUM_POS_IDS, POS_CLASSES, PosTagger, fold_penn_tag, pos_class_id


@pytest.mark.parametrize(
    "tag, cls",
    [
        ("JJ", "adjective"),
        ("JJS", "adjective"),
        ("VBZ", "verb"),
        ("MD", "verb"),
        ("NNP", "noun"),
        ("NNS", "noun"),
        ("IN", "preposition"),
        ("CC", "coordinating-conjunction"),
        ("SYM", "symbol"),
        (",", "symbol"),
        ("-LRB-", "symbol"),
        ("WP", "wh-pronoun"),
        ("WP$", "wh-pronoun"),
        ("WRB", "adverb"),
        ("RB", "adverb"),
        ("DT", "determiner"),
        ("WDT", "determiner"),
        ("PRP", "other"),
        ("CD", "other"),
        ("UH", "other"),
        ("not-a-tag", "other"),
    ],
)
def test_penn_tags_fold_into_the_ten_classes(tag, cls):
    assert fold_penn_tag(tag) == cls
    assert pos_class_id(tag) == POS_CLASSES.index(cls) + 1


def test_ten_classes_plus_padding():
    assert len(POS_CLASSES) == 10 and NUM_POS_IDS == 11


def test_spacy_tags_pre_tokenised_words_one_per_token(tmp_path):
    tagger = PosTagger(cache_dir=tmp_path)
    sents = [
        ["RT", "@user", ":", "Obama", "visits", "#Paris", "http://t.co/x"],
        ["who", "quickly", "saw", "the", "big", "dog", "and", "cat", "?"],
        ["\ufe0f", "", "ok"],  # invisible and empty tokens still get a tag
    ]
    tags = tagger.tag(sents)
    assert [len(t) for t in tags] == [len(s) for s in sents]
    ids = tagger.class_ids(sents[1:2])[0]
    names = [POS_CLASSES[i - 1] for i in ids]
    assert names[0] == "wh-pronoun" and names[1] == "adverb" and names[2] == "verb"
    assert names[3] == "determiner" and names[4] == "adjective" and names[5] == "noun"
    assert names[6] == "coordinating-conjunction" and names[8] == "symbol"


def test_tags_are_cached_in_memory_and_on_disk(tmp_path):
    sents = [["Lagos", "is", "hot", "today"], ["I", "love", "NASA"]]
    first = PosTagger(cache_dir=tmp_path)
    tags = first.tag(sents)
    assert first.tagged == 2
    assert first.tag(sents) == tags and first.tagged == 2  # memory
    assert list(tmp_path.glob("*.jsonl"))
    second = PosTagger(cache_dir=tmp_path)
    assert second.tag(sents) == tags and second.tagged == 0  # disk
    memory_only = PosTagger(cache_dir=tmp_path / "none", cache=False)
    memory_only.tag(sents)
    assert not (tmp_path / "none").exists()


def test_cache_file_is_named_without_loading_spacy(tmp_path):
    tagger = PosTagger(cache_dir=tmp_path)
    name = tagger.model_name
    assert name.startswith("en_core_web_sm") and name.endswith("3.8.0")
    assert tagger._nlp is None  # a fully cached run never pays for loading the pipeline
    assert tagger.tag([[]]) == [[]] and tagger._nlp is None
