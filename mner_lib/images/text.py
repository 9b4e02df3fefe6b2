"""Text written from the real tweet images: readers, where the files live, coverage.

The files (``<data-dir>/image_text/``, see ``shared/data/README.md``, section "Real-image text",
and each folder's ``PROVENANCE.md``):

=========  ===============================================  =================================
source     files                                            format
=========  ===============================================  =================================
``blip2``  ``blip2/BLIP2_15.txt``, ``blip2/BLIP2_17.txt``   ``<id>.jpg :<caption>`` per line
``catr``   ``catr/twitter2015_images.json`` (2017 alike)    ``{"<id>.jpg": "<caption>"}``
``owl``    ``mplug-owl/owl{train,dev,test}caption_1.txt``   ``imgid:<id>###<text>`` records that
                                                            span lines, up to the next ``imgid:``
``pgim``   ``pgim-knowledge/2015.zip``, ``2017.zip``        CoNLL blocks, CRLF, no IMGIDs: the
                                                            tweet's ``token<TAB>tag`` lines, then
                                                            ``<EOS>``, then the knowledge text one
                                                            word a line; aligned with the dataset
                                                            tweet by tweet
=========  ===============================================  =================================

``blip2``, ``catr`` and ``owl`` are captions of the real image (vision); ``pgim`` is ChatGPT's
"auxiliary knowledge" written from the tweet *and* its BLIP-2 caption: language-model knowledge,
never to be reported as a gain from vision.

A tweet without a caption, or with an empty one, gets the empty caption and a flag (``missing``,
``empty``): never another tweet's caption. The data folder follows the datasets' rule
(``--data-dir`` / ``$MNER_DATA_DIR``, :func:`mner_lib.text.data.resolve_data_dir`); a missing folder or
file is an error naming the path that was expected. The readers, and the caps on what they read
(:data:`MAX_IMAGE_TEXT_BYTES` per file or inflated zip member, :data:`MAX_CAPTION_CHARS` per
text), are in :mod:`mner_lib.images.text_readers`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mner_lib.images.text_readers import (  # noqa: F401 - the readers' names, as before
    MAX_CAPTION_CHARS,
    MAX_IMAGE_TEXT_BYTES,
    PGIM_SPLIT_FILES,
    PgimBlock,
    parse_pgim,
    read_blip2,
    read_catr,
    read_owl,
    read_pgim,
)
from mner_lib.text.data import SPLITS, Dataset, Tweet, load_dataset, resolve_data_dir, unknown

FOLDER = "image_text"
#: source -> (folder, kind label written into every result)
SOURCES: dict[str, tuple[str, str]] = {
    "blip2": ("blip2", "real-image caption"),
    "catr": ("catr", "real-image caption"),
    "owl": ("mplug-owl", "real-image caption"),
    "pgim": ("pgim-knowledge", "language-model knowledge"),
}
_OWL_FILES = ("owltraincaption_1.txt", "owldevcaption_1.txt", "owltestcaption_1.txt")
#: source -> dataset -> file names inside the source folder (all must exist; first file wins)
FILES: dict[str, dict[str, tuple[str, ...]]] = {
    "blip2": {
        "twitter2015": ("BLIP2_15.txt",),
        "twitter2017": ("BLIP2_17.txt",),
        "twitter10000": ("BLIP2_17.txt", "BLIP2_15.txt"),
        "demo": ("BLIP2_demo.txt",),
    },
    "catr": {
        "twitter2015": ("twitter2015_images.json",),
        "twitter2017": ("twitter2017_images.json",),
        "twitter10000": ("twitter2017_images.json", "twitter2015_images.json"),
        "demo": ("demo_images.json",),
    },
    "owl": {name: _OWL_FILES for name in ("twitter2015", "twitter2017", "twitter10000")}
    | {"demo": ("owl_demo.txt",)},
    "pgim": {
        "twitter2015": ("2015.zip",),
        "twitter2017": ("2017.zip",),
        "demo": ("demo.zip",),
    },
}
FLAGS = ("", "empty", "missing")
_WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)


@dataclass
class CaptionTable:
    """The text of one source for one dataset: image id -> text (possibly empty).

    ``origin`` maps an id to ``file:line`` where its text was read (for error messages and the
    notebooks); ``paths`` are the files read.
    """

    source: str
    dataset: str
    texts: dict[str, str]
    origin: dict[str, str] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return SOURCES[self.source][1]

    def lookup(self, image_id: str) -> tuple[str, str]:
        """``(text, flag)``: the id's text and ``""``, or ``""`` and ``empty`` / ``missing``."""
        text = self.texts.get(image_id)
        if text is None:
            return "", "missing"
        text = text.strip()
        return (text, "") if text else ("", "empty")


# ----------------------------------------------------------------------------- locating
def image_text_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``<data-dir>/image_text``; an error naming the expected folder when it is not there."""
    root = resolve_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError(
            "image text needs a data folder: pass --data-dir or set MNER_DATA_DIR "
            f"(expected <data-dir>/{FOLDER}/)"
        )
    folder = root / FOLDER
    if not folder.is_dir():
        raise FileNotFoundError(f"image text folder not found: {folder}")
    return folder


def source_paths(
    source: str, dataset: str, data_dir: str | os.PathLike | None = None
) -> list[Path]:
    """The files of ``source`` for ``dataset``; an error naming the first one not found."""
    if source not in SOURCES:
        raise unknown("image text source", source, SOURCES)
    if dataset not in FILES[source]:
        raise unknown(f"dataset for image text {source!r}", dataset, FILES[source])
    folder = image_text_dir(data_dir) / SOURCES[source][0]
    paths = [folder / name for name in FILES[source][dataset]]
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(
                f"image text {source!r} for {dataset!r}: file not found: {path}"
            )
    return paths


def load_image_text(
    source: str, dataset: str, data_dir: str | os.PathLike | None = None
) -> CaptionTable:
    """The :class:`CaptionTable` of ``source`` for ``dataset`` (see the module docstring)."""
    paths = source_paths(source, dataset, data_dir)
    texts: dict[str, str] = {}
    origin: dict[str, str] = {}
    if source == "pgim":
        data = load_dataset(dataset, data_dir)
        texts, origin = read_pgim(paths[0], {s: data.split(s) for s in SPLITS})
    else:
        reader = {"blip2": read_blip2, "catr": read_catr, "owl": read_owl}[source]
        for path in paths:
            reader(path, texts, origin)
    return CaptionTable(source, dataset, texts, origin, [str(p) for p in paths])


# ----------------------------------------------------------------------------- measures
def coverage(table: CaptionTable, tweets: Iterable[Tweet]) -> dict[str, int]:
    """Counts over ``tweets``: ``tweets``, ``covered`` (a non-empty text), ``empty``, ``missing``."""
    counts = {"tweets": 0, "covered": 0, "empty": 0, "missing": 0}
    for tweet in tweets:
        _, flag = table.lookup(tweet.id)
        counts["tweets"] += 1
        counts[flag or "covered"] += 1
    return counts


def dataset_coverage(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    sources: Iterable[str] = SOURCES,
    data: Dataset | None = None,
) -> dict[str, dict]:
    """Per source, per split, :func:`coverage` (with ``fraction``), or ``{"error": why}`` for a
    source whose files are not there (or do not fit this dataset). ``data``: the loaded
    dataset, if at hand (else it is loaded)."""
    data = data or load_dataset(dataset, data_dir)
    out: dict[str, dict] = {}
    for source in sources:
        try:
            table = load_image_text(source, dataset, data_dir)
        except (FileNotFoundError, ValueError) as err:
            out[source] = {"error": str(err)}
            continue
        per_split = {}
        for split in SPLITS:
            counts = coverage(table, data.split(split))
            counts["fraction"] = counts["covered"] / max(1, counts["tweets"])
            per_split[split] = counts
        out[source] = {"kind": table.kind, "files": table.paths, "splits": per_split}
    return out


def format_coverage(dataset: str, cov: dict[str, dict]) -> str:
    """The text table of :func:`dataset_coverage` (``data stats``)."""
    lines = [f"image text of {dataset}: tweets with a text (covered), empty, missing"]
    lines.append(
        f"{'source':<7} {'split':<6} {'tweets':>7} {'covered':>8} {'empty':>6} "
        f"{'missing':>8} {'share':>7}"
    )
    for source, info in cov.items():
        if "error" in info:
            lines.append(f"{source:<7} not available: {info['error']}")
            continue
        for split, c in info["splits"].items():
            lines.append(
                f"{source:<7} {split:<6} {c['tweets']:>7} {c['covered']:>8} {c['empty']:>6} "
                f"{c['missing']:>8} {100 * c['fraction']:>6.1f}%"
            )
    return "\n".join(lines)


def caption_words(text: str) -> list[str]:
    """A caption as words and punctuation marks (the caption's tokens in plots and models)."""
    return _WORD.findall(text)


def content_words(text: str) -> list[str]:
    """The caption's content words, lower-case: alphanumeric words that are not stop words
    (spaCy's English list) -- CWI's "image words" when the image comes as a caption."""
    stop = _stop_words()
    return [w for w in (t.lower() for t in caption_words(text)) if w.isalnum() and w not in stop]


def _stop_words() -> frozenset[str]:
    global _STOP
    if _STOP is None:
        try:
            from spacy.lang.en.stop_words import STOP_WORDS

            _STOP = frozenset(STOP_WORDS)
        except ImportError:  # pragma: no cover - spaCy is a dependency
            _STOP = frozenset(
                "a an the of and or in on at to with is are was were be it this that".split()
            )
    return _STOP


_STOP: frozenset[str] | None = None
