"""Text written from the real tweet images: readers, where the files live, coverage.

The files (``<data-dir>/image_text/``, see ``shared/data/README.md``, section "Real-image text",
and each folder's ``PROVENANCE.md``):

=========  ===============================================  =================================
source     file(s)                                          format
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
(``--data-dir`` / ``$MNER_DATA_DIR``, :func:`mner_lib.data.resolve_data_dir`); a missing folder or
file is an error naming the path that was expected.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mner_lib.data import (
    SPLITS,
    DataFormatError,
    Dataset,
    Tweet,
    load_dataset,
    normalise_tag,
    resolve_data_dir,
    unknown,
)

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
PGIM_SPLIT_FILES = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}
FLAGS = ("", "empty", "missing")
_OWL_RECORD = re.compile(r"^imgid:([^#\n]+)###(.*?)(?=^imgid:|\Z)", re.M | re.S)
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


# ----------------------------------------------------------------------------- readers
def _strip_jpg(name: str) -> str:
    name = name.strip()
    return name[:-4] if name.lower().endswith(".jpg") else name


def _add(table: dict, origin: dict, key: str, text: str, where: str, strict: bool) -> None:
    if key in table:
        if strict:
            raise DataFormatError(f"{where}: image {key!r} again (first at {origin[key]})")
        return  # a later file of a union does not override an earlier one
    table[key] = text
    origin[key] = where


def read_blip2(
    path: str | os.PathLike, into: dict | None = None, origin: dict | None = None
) -> dict[str, str]:
    """``<id>.jpg :<caption>`` lines (split on the first ``" :"``; CRLF and a BOM tolerated).

    An id twice in one file is an error naming both lines; with ``into`` given (a union of
    files), ids already there keep their first text.
    """
    path = Path(path)
    text = _read_text(path)
    out: dict[str, str] = {}
    where_map: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if number == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        name, sep, caption = line.partition(" :")
        if not sep:
            name, sep, caption = line.partition(":")
        if not sep or not name.strip():
            raise DataFormatError(
                f"{path}:{number}: malformed line {line!r} (expected '<id>.jpg :<caption>')"
            )
        _add(out, where_map, _strip_jpg(name), caption.strip(), f"{path}:{number}", True)
    return _merge(out, where_map, into, origin)


def read_catr(
    path: str | os.PathLike, into: dict | None = None, origin: dict | None = None
) -> dict[str, str]:
    """``{"<id>.jpg": "<caption>"}`` JSON (a null caption counts as empty)."""
    path = Path(path)
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        raise DataFormatError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    if not isinstance(data, dict):
        raise DataFormatError(f'{path}:1: expected a JSON object {{"<id>.jpg": caption}}')
    out: dict[str, str] = {}
    where_map: dict[str, str] = {}
    for name, caption in data.items():
        if caption is not None and not isinstance(caption, str):
            raise DataFormatError(f"{path}: caption of {name!r} is not a string: {caption!r}")
        _add(out, where_map, _strip_jpg(name), (caption or "").strip(), f"{path}", True)
    return _merge(out, where_map, into, origin)


def read_owl(
    path: str | os.PathLike, into: dict | None = None, origin: dict | None = None
) -> dict[str, str]:
    """mPLUG-Owl records: ``imgid:<id>###<text>`` up to the next line that starts ``imgid:``
    (blank lines inside a record are part of it; the text is whitespace-normalised)."""
    path = Path(path)
    text = _read_text(path).replace("\r\n", "\n").lstrip("\ufeff")
    first = text.lstrip("\n")
    if first and not first.startswith("imgid:"):
        line = text[: len(text) - len(first)].count("\n") + 1
        raise DataFormatError(f"{path}:{line}: expected a record 'imgid:<id>###<text>'")
    out: dict[str, str] = {}
    where_map: dict[str, str] = {}
    for match in _OWL_RECORD.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        body = " ".join(match.group(2).split())
        _add(out, where_map, _strip_jpg(match.group(1)), body, f"{path}:{line}", True)
    starts = len(re.findall(r"^imgid:", text, re.M))
    if starts != len(out):
        raise DataFormatError(
            f"{path}: {starts} lines start 'imgid:' but {len(out)} records parse "
            "(a record without '###'?)"
        )
    return _merge(out, where_map, into, origin)


def _merge(out: dict, where: dict, into: dict | None, origin: dict | None) -> dict[str, str]:
    if into is None:
        if origin is not None:
            origin.update(where)
        return out
    for key, value in out.items():
        if key not in into:
            into[key] = value
            if origin is not None:
                origin[key] = where[key]
    return into


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"image text file not found: {path}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataFormatError(f"{path}:{line}: not valid UTF-8 ({err.reason})") from err


@dataclass
class PgimBlock:
    tokens: list[str]
    tags: list[str]
    knowledge: str
    line: int  # 1-based line of the block's first token


def parse_pgim(text: str, source: str) -> list[PgimBlock]:
    """PGIM's blocks: ``token<TAB>tag`` lines, ``<EOS><TAB>X``, then knowledge words (``X``)."""
    blocks: list[PgimBlock] = []
    tokens: list[str] = []
    tags: list[str] = []
    words: list[str] = []
    start = 0
    after_eos = False

    def finish() -> None:
        nonlocal tokens, tags, words, after_eos
        if tokens:
            if not after_eos:
                raise DataFormatError(f"{source}:{start}: block without an '<EOS>' line")
            blocks.append(PgimBlock(tokens, tags, " ".join(words), start))
        tokens, tags, words, after_eos = [], [], [], False

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if number == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            finish()
            continue
        token, sep, tag = line.rpartition("\t")
        if not sep:
            raise DataFormatError(f"{source}:{number}: malformed line {line!r} (no TAB)")
        if not tokens and not after_eos:
            start = number
        if token == "<EOS>":
            after_eos = True
        elif after_eos:
            words.append(token)
        else:
            norm = normalise_tag(tag.strip())
            if norm is None:
                raise DataFormatError(f"{source}:{number}: unknown tag {tag!r} before <EOS>")
            tokens.append(token)
            tags.append(norm)
    finish()
    return blocks


def _zip_member(archive: zipfile.ZipFile, path: Path, name: str) -> str:
    for member in archive.namelist():
        if member == name or member.endswith("/" + name):
            return member
    raise FileNotFoundError(
        f"{path}: no member {name!r} (members: {', '.join(archive.namelist())})"
    )


def read_pgim(
    path: str | os.PathLike, splits: dict[str, Sequence[Tweet]]
) -> tuple[dict[str, str], dict[str, str]]:
    """PGIM's knowledge per tweet id, aligned by position with ``splits`` (split -> tweets).

    Block i of ``<split>.txt`` belongs to tweet i: its tokens must equal the tweet's, token by
    token, else a :class:`DataFormatError` names ``zip:member:line`` and the dataset's
    ``file:line``. Trailing tweets without a block are left out (their flag is ``missing``);
    more blocks than tweets is an error. Returns ``(texts, origin)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image text file not found: {path}")
    texts: dict[str, str] = {}
    origin: dict[str, str] = {}
    with zipfile.ZipFile(path) as archive:
        for split, tweets in splits.items():
            member = _zip_member(archive, path, PGIM_SPLIT_FILES[split])
            source = f"{path}:{member}"
            raw = archive.read(member)
            try:
                text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="").read()
            except UnicodeDecodeError as err:
                raise DataFormatError(f"{source}: not valid UTF-8 ({err.reason})") from err
            blocks = parse_pgim(text, source)
            if len(blocks) > len(tweets):
                raise DataFormatError(
                    f"{source}:{blocks[len(tweets)].line}: {len(blocks)} blocks but the dataset's "
                    f"{split} split has {len(tweets)} tweets"
                )
            for block, tweet in zip(blocks, tweets):
                _check_aligned(block, tweet, source)
                texts[tweet.id] = block.knowledge
                origin[tweet.id] = f"{source}:{block.line}"
    return texts, origin


def _check_aligned(block: PgimBlock, tweet: Tweet, source: str) -> None:
    where = f"{tweet.source}:{tweet.line}" if tweet.source else "the dataset"
    for k, (mine, theirs) in enumerate(zip(block.tokens, tweet.tokens)):
        if mine != theirs:
            raise DataFormatError(
                f"{source}:{block.line + k}: token {mine!r} where tweet IMGID:{tweet.id} "
                f"({where}) has {theirs!r} at position {k + 1}: PGIM's blocks do not align "
                "with the dataset here"
            )
    if len(block.tokens) != len(tweet.tokens):
        raise DataFormatError(
            f"{source}:{block.line}: block has {len(block.tokens)} tokens, tweet IMGID:{tweet.id} "
            f"({where}) has {len(tweet.tokens)}: PGIM's blocks do not align with the dataset here"
        )


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
        if not path.is_file():
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
