"""Readers of the files of text written from the real tweet images (:mod:`mner_lib.images.text`
says which file is which).

Each reader takes a file a stranger may have written, so each is bounded and linear:

* a file is read only when it is a regular file (a FIFO never hangs a run) of at most
  :data:`MAX_IMAGE_TEXT_BYTES` (:func:`mner_lib.io.safe_read.read_regular_file`);
* PGIM's zip archive: its members are read only up to :data:`MAX_IMAGE_TEXT_BYTES` inflated,
  counted while inflating (a member that says it is small but inflates further is refused
  when it passes the cap, whatever its header declares);
* one caption or knowledge text holds at most :data:`MAX_CAPTION_CHARS` characters;
* every parser is one pass over the lines (mPLUG-Owl's records included: the regular
  expression it replaced counted the lines before each record, quadratic in the file);
* a JSON file nested too deeply is an error naming the file, never a ``RecursionError``.

Every error is a :class:`mner_lib.text.data.DataFormatError` (a ``ValueError``) naming the file and,
where there is one, the line; quoted text is cut to a short excerpt.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mner_lib.io.safe_read import RefusedFileError, excerpt, parse_json, read_regular_file
from mner_lib.text.data import MAX_TWEET_TOKENS, DataFormatError, Tweet, normalise_tag

#: The largest image text file, and the most bytes one member of a zip archive may inflate to
#: (the largest real file, mPLUG-Owl's training captions, is 3.8 MB; PGIM's largest member
#: inflates to 4.6 MB).
MAX_IMAGE_TEXT_BYTES = 64 * 2**20
#: The longest caption or knowledge text of one image (the longest real one, an mPLUG-Owl
#: caption, has 2368 characters).
MAX_CAPTION_CHARS = 20_000
#: The most members a PGIM archive may list (the real ones have four).
MAX_ZIP_MEMBERS = 1000
PGIM_SPLIT_FILES = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}
_CHUNK = 1 << 20


def _strip_jpg(name: str) -> str:
    name = name.strip()
    return name[:-4] if name.lower().endswith(".jpg") else name


def _too_long(size: int, where: str) -> DataFormatError:
    return DataFormatError(
        f"{where}: a text of {size} characters or more, over the limit of "
        f"MAX_CAPTION_CHARS={MAX_CAPTION_CHARS}"
    )


def _checked(text: str, where: str) -> str:
    if len(text) > MAX_CAPTION_CHARS:
        raise _too_long(len(text), where)
    return text


def _add(table: dict, origin: dict, key: str, text: str, where: str, strict: bool) -> None:
    if key in table:
        if strict:
            raise DataFormatError(f"{where}: image {excerpt(key)} again (first at {origin[key]})")
        return  # a later file of a union does not override an earlier one
    table[key] = _checked(text, where)
    origin[key] = where


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


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataFormatError(f"{where}:{line}: not valid UTF-8 ({err.reason})") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return read_regular_file(path, MAX_IMAGE_TEXT_BYTES, "image text file")
    except FileNotFoundError:
        raise FileNotFoundError(f"image text file not found: {path}") from None
    except RefusedFileError as err:
        raise DataFormatError(str(err)) from None


def _read_text(path: Path) -> str:
    return _decode(_read_bytes(path), str(path))


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
                f"{path}:{number}: malformed line {excerpt(line)} (expected '<id>.jpg :<caption>')"
            )
        _add(out, where_map, _strip_jpg(name), caption.strip(), f"{path}:{number}", True)
    return _merge(out, where_map, into, origin)


def read_catr(
    path: str | os.PathLike, into: dict | None = None, origin: dict | None = None
) -> dict[str, str]:
    """``{"<id>.jpg": "<caption>"}`` JSON (a null caption counts as empty)."""
    path = Path(path)
    try:
        data = parse_json(_read_text(path), str(path))
    except DataFormatError:
        raise
    except ValueError as err:
        raise DataFormatError(str(err)) from None
    if not isinstance(data, dict):
        raise DataFormatError(f'{path}:1: expected a JSON object {{"<id>.jpg": caption}}')
    out: dict[str, str] = {}
    where_map: dict[str, str] = {}
    for name, caption in data.items():
        if caption is not None and not isinstance(caption, str):
            raise DataFormatError(
                f"{path}: caption of {excerpt(name)} is not a string: "
                f"a JSON {type(caption).__name__}"
            )
        _add(out, where_map, _strip_jpg(name), (caption or "").strip(), f"{path}", True)
    return _merge(out, where_map, into, origin)


def read_owl(
    path: str | os.PathLike, into: dict | None = None, origin: dict | None = None
) -> dict[str, str]:
    """mPLUG-Owl records: ``imgid:<id>###<text>`` up to the next line that starts ``imgid:``
    (blank lines inside a record are part of it; the text is whitespace-normalised). One pass
    over the lines: linear in the file."""
    path = Path(path)
    text = _read_text(path).replace("\r\n", "\n").lstrip("\ufeff")
    out: dict[str, str] = {}
    where_map: dict[str, str] = {}
    key: str | None = None
    start = 0
    body: list[str] = []
    size = 0

    def finish() -> None:
        if key is not None:
            _add(out, where_map, key, " ".join(" ".join(body).split()), f"{path}:{start}", True)

    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith("imgid:"):
            finish()
            name, sep, rest = line[len("imgid:") :].partition("###")
            if not sep or not name or "#" in name:
                raise DataFormatError(
                    f"{path}:{number}: record {excerpt(line)} without '###' after its id "
                    "(expected 'imgid:<id>###<text>')"
                )
            key, start, body, size = _strip_jpg(name), number, [rest], len(rest)
        elif key is None:
            if line.strip():
                raise DataFormatError(f"{path}:{number}: expected a record 'imgid:<id>###<text>'")
        else:
            body.append(line)
            size += len(line) + 1
            if size > MAX_CAPTION_CHARS:  # checked as it grows, not at the record's end
                raise _too_long(size, f"{path}:{start}")
    finish()
    return _merge(out, where_map, into, origin)


# ----------------------------------------------------------------------------- PGIM
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
    size = 0
    start = 0
    after_eos = False

    def finish() -> None:
        nonlocal tokens, tags, words, after_eos, size
        if tokens:
            if not after_eos:
                raise DataFormatError(f"{source}:{start}: block without an '<EOS>' line")
            blocks.append(PgimBlock(tokens, tags, " ".join(words), start))
        tokens, tags, words, after_eos, size = [], [], [], False, 0

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if number == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            finish()
            continue
        token, sep, tag = line.rpartition("\t")
        if not sep:
            raise DataFormatError(f"{source}:{number}: malformed line {excerpt(line)} (no TAB)")
        if not tokens and not after_eos:
            start = number
        if token == "<EOS>":
            after_eos = True
        elif after_eos:
            words.append(token)
            size += len(token) + 1
            if size > MAX_CAPTION_CHARS + 1:
                raise _too_long(size - 1, f"{source}:{start}")
        else:
            norm = normalise_tag(tag.strip())
            if norm is None:
                raise DataFormatError(f"{source}:{number}: unknown tag {excerpt(tag)} before <EOS>")
            if len(tokens) == MAX_TWEET_TOKENS:
                raise DataFormatError(
                    f"{source}:{number}: a block of more than MAX_TWEET_TOKENS={MAX_TWEET_TOKENS} "
                    "tokens"
                )
            tokens.append(token)
            tags.append(norm)
    finish()
    return blocks


def _zip_member(archive: zipfile.ZipFile, path: Path, name: str) -> zipfile.ZipInfo:
    members = archive.infolist()
    for member in members:
        if member.filename == name or member.filename.endswith("/" + name):
            return member
    listed = ", ".join(m.filename for m in members[:10])
    more = f" and {len(members) - 10} more" if len(members) > 10 else ""
    raise FileNotFoundError(f"{path}: no member {name!r} (members: {listed}{more})")


def read_zip_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, source: str) -> bytes:
    """The inflated bytes of ``member``, at most :data:`MAX_IMAGE_TEXT_BYTES`: its declared
    size is checked first, then the bytes are counted as they inflate (a header may lie)."""
    if member.file_size > MAX_IMAGE_TEXT_BYTES:
        raise DataFormatError(
            f"{source}: inflates to {member.file_size} bytes, over the limit of "
            f"{MAX_IMAGE_TEXT_BYTES} (MAX_IMAGE_TEXT_BYTES)"
        )
    out = io.BytesIO()
    try:
        with archive.open(member) as f:
            while chunk := f.read(_CHUNK):
                if out.tell() + len(chunk) > MAX_IMAGE_TEXT_BYTES:
                    raise DataFormatError(
                        f"{source}: inflates past the limit of {MAX_IMAGE_TEXT_BYTES} bytes "
                        f"(MAX_IMAGE_TEXT_BYTES; its header said {member.file_size})"
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, zlib.error) as err:
        raise DataFormatError(f"{source}: cannot be read from the archive ({err})") from None
    except RuntimeError as err:  # an encrypted member
        raise DataFormatError(f"{source}: cannot be read from the archive ({err})") from None
    return out.getvalue()


def open_zip(path: Path) -> zipfile.ZipFile:
    """The zip archive at ``path`` (a regular file of at most :data:`MAX_IMAGE_TEXT_BYTES`,
    listing at most :data:`MAX_ZIP_MEMBERS` members)."""
    data = _read_bytes(path)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise DataFormatError(f"{path}: not a zip archive ({err})") from None
    if len(archive.infolist()) > MAX_ZIP_MEMBERS:
        raise DataFormatError(
            f"{path}: {len(archive.infolist())} members, over the limit of {MAX_ZIP_MEMBERS}"
        )
    return archive


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
    texts: dict[str, str] = {}
    origin: dict[str, str] = {}
    with open_zip(path) as archive:
        for split, tweets in splits.items():
            member = _zip_member(archive, path, PGIM_SPLIT_FILES[split])
            source = f"{path}:{member.filename}"
            raw = read_zip_member(archive, member, source)
            try:
                text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="").read()
            except UnicodeDecodeError as err:
                raise DataFormatError(f"{source}: not valid UTF-8 ({err.reason})") from None
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
                f"{source}:{block.line + k}: token {excerpt(mine)} where tweet IMGID:{tweet.id} "
                f"({where}) has {excerpt(theirs)} at position {k + 1}: PGIM's blocks do not "
                "align with the dataset here"
            )
    if len(block.tokens) != len(tweet.tokens):
        raise DataFormatError(
            f"{source}:{block.line}: block has {len(block.tokens)} tokens, tweet IMGID:{tweet.id} "
            f"({where}) has {len(tweet.tokens)}: PGIM's blocks do not align with the dataset here"
        )
