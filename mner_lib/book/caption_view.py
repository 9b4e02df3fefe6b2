"""Real images, as text: what the data chapter shows of the captions of the real tweet images.

Text written by image models from the **real** tweet images (BLIP-2, CATR, mPLUG-Owl:
:mod:`mner_lib.images.text`) is the only real visual signal these machines can reach; PGIM's
paragraphs are ChatGPT's knowledge written from the tweet and its BLIP-2 caption, **not vision**.
This module turns them into what a reader looks at:

* :func:`sample_captions` / :func:`samples_html`: the sample images of the data folder
  (``samples/images``) beside their BLIP-2 and CATR captions and their tweets;
* :func:`pick_tweets` / :func:`tweet_captions_html`: tweets with their caption and gold entities,
  an entity whose string occurs in the caption (the "leak": BLIP-2 reads text in images and
  names famous people) marked in both;
* :func:`coverage_frame` (:func:`mner_lib.images.text.dataset_coverage`) and
  :func:`leak_frame` (:func:`mner_lib.images.captions.leak_share`, own caption against a
  shuffled one) as tables.

Each ``show_*`` function returns what a notebook displays: the HTML or table, or, without a data
folder or without the files, a Markdown note that says what is missing (so the book builds on the
demo corpus alone). Text from the data folder (a caption, a token, an id, a source's error)
is escaped for where it is shown (:mod:`mner_lib.io.escape`).
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mner_lib.book.explorer import TYPE_COLOURS, entities_html
from mner_lib.images.text import _WORD, SOURCES, CaptionTable, dataset_coverage, load_image_text
from mner_lib.io.escape import html_text, md_code, md_text
from mner_lib.text.data import SPLITS, Dataset, Tweet, load_dataset, resolve_data_dir
from mner_lib.text.metrics import extract_entities

SAMPLE_DATASETS = ("twitter2015", "twitter2017")
SOURCE_NAMES = {"blip2": "BLIP-2", "catr": "CATR", "owl": "mPLUG-Owl", "pgim": "PGIM"}
ORIGIN_NOTE = (
    "The captions were written by image models (BLIP-2, CATR, mPLUG-Owl) from the real tweet "
    "images; PGIM's paragraphs were written by a language model (ChatGPT) from the tweet and its "
    "BLIP-2 caption: language-model knowledge, not vision."
)
_CELL = "vertical-align:top;text-align:left;padding:4px 8px;line-height:1.7"
_CARD = (
    "display:inline-block;vertical-align:top;width:{w}px;margin:0 10px 14px 0;"
    "font-size:12.5px;line-height:1.55"
)


# ----------------------------------------------------------------------------- entity matching
def entity_spans(tweet: Tweet) -> list[tuple[str, str]]:
    """The tweet's gold entities as ``(surface string, type)`` (conlleval spans)."""
    return [(" ".join(tweet.tokens[s:e]), t) for s, e, t in extract_entities(tweet.tags)]


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def leaked_spans(caption: str, entities: Sequence[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """Character spans ``(start, end, type)`` of ``caption`` where an entity's words occur, in
    order (words compared lower-case, a leading ``#`` / ``@`` of the entity ignored: the rule of
    :func:`mner_lib.images.captions.leak_share`). Overlaps keep the first, longest match."""
    words = _words(caption)
    found: list[tuple[int, int, str]] = []
    for entity, etype in sorted(entities, key=lambda e: -len(e[0])):
        needle = [w for w, _, _ in _words(entity.lstrip("#@"))]
        n = len(needle)
        for i in range(len(words) - n + 1 if n else 0):
            if [w for w, _, _ in words[i : i + n]] == needle:
                start, end = words[i][1], words[i + n - 1][2]
                if all(end <= s or start >= e for s, e, _ in found):
                    found.append((start, end, etype))
    return sorted(found)


def highlight(caption: str, entities: Sequence[tuple[str, str]]) -> str:
    """``caption`` as HTML with each leaked entity string marked in its type's colour."""
    out, last = [], 0
    for start, end, etype in leaked_spans(caption, entities):
        out.append(html_text(caption[last:start]))
        colour = TYPE_COLOURS.get(etype, "#ddd")
        out.append(
            f'<mark style="background:{colour};padding:1px 2px;border-radius:3px;'
            f'outline:1.5px solid #444" title="{html_text(etype)} of the tweet, in the caption">'
            f"{html_text(caption[start:end])}</mark>"
        )
        last = end
    out.append(html_text(caption[last:]))
    return "".join(out)


# ----------------------------------------------------------------------------- sample images
@dataclass
class SampleCaptions:
    """One sample image: its file, the dataset/split whose tweet it is, its texts per source."""

    image_id: str
    path: Path
    dataset: str = ""
    split: str = ""
    tweet: Tweet | None = None
    captions: dict[str, str] = field(default_factory=dict)  # source -> text ("" if none)


def _datasets(root: Path, names: Sequence[str]) -> dict[str, Dataset]:
    out = {}
    for name in names:
        try:
            out[name] = load_dataset(name, root)
        except (FileNotFoundError, ValueError):
            continue
    return out


def _tables(root: Path, sources: Sequence[str], names: Sequence[str]) -> dict:
    tables: dict[tuple[str, str], CaptionTable] = {}
    for source in sources:
        for name in names:
            try:
                tables[source, name] = load_image_text(source, name, root)
            except (FileNotFoundError, ValueError):
                continue
    return tables


def sample_captions(
    data_dir: str | os.PathLike | None = None,
    sources: Sequence[str] = ("blip2", "catr"),
    datasets: Sequence[str] = SAMPLE_DATASETS,
) -> list[SampleCaptions]:
    """The images of ``<data-dir>/samples/images`` with their tweet and their text per source.

    An image belongs to the first dataset of ``datasets`` that has a tweet with its id (else to
    the first whose caption file names it). Empty without a data folder or sample images."""
    root = resolve_data_dir(data_dir)
    folder = root / "samples" / "images" if root else None
    if folder is None or not folder.is_dir():
        return []
    data = _datasets(root, datasets)
    tables = _tables(root, sources, datasets)
    out = []
    for path in sorted(folder.glob("*.jpg")):
        sample = SampleCaptions(path.stem, path)
        for name, dataset in data.items():
            for split in SPLITS:
                hit = next((t for t in dataset.split(split) if t.id == path.stem), None)
                if hit is not None and sample.tweet is None:
                    sample.dataset, sample.split, sample.tweet = name, split, hit
        if not sample.dataset:
            sample.dataset = next((n for (_, n), t in tables.items() if path.stem in t.texts), "")
        for source in sources:
            table = tables.get((source, sample.dataset))
            sample.captions[source] = table.lookup(path.stem)[0] if table else ""
        out.append(sample)
    return out


def _thumbnail(path: Path, width: int) -> str:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((2 * width, 2 * width))  # twice the shown size: sharp on HiDPI
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def samples_html(samples: Sequence[SampleCaptions], width: int = 220) -> str:
    """The sample images as cards: the image, its id and tweet (gold entities coloured), then
    each source's caption with the tweet's entity strings marked where they occur."""
    cards = []
    for s in samples:
        entities = entity_spans(s.tweet) if s.tweet else []
        where = f"{s.dataset} {s.split}".strip() or "no dataset"
        lines = [
            f'<img src="{_thumbnail(s.path, width)}" alt="image {html_text(s.image_id)}" '
            f'style="width:{width}px;height:{round(0.75 * width)}px;object-fit:contain;'
            'background:#f2f2f2;display:block;border-radius:4px">',
            f"<div style='margin-top:4px'><b>{html_text(s.image_id)}</b> "
            f"<span style='color:#666'>({html_text(where)})</span></div>",
        ]
        if s.tweet is not None:
            lines.append(
                f"<div style='color:#333'><i>tweet:</i> {entities_html(s.tweet.tokens, s.tweet.tags)}</div>"
            )
        for source, text in s.captions.items():
            shown = highlight(text, entities) if text else "<i>(none)</i>"
            name = html_text(SOURCE_NAMES.get(source, source))
            lines.append(f"<div><b>{name}:</b> {shown}</div>")
        cards.append(f"<div style='{_CARD.format(w=width)}'>{''.join(lines)}</div>")
    return f"<div class='mner-samples'>{''.join(cards)}</div>"


def show_samples(data_dir: str | os.PathLike | None = None) -> Any:
    """The sample images beside their BLIP-2 and CATR captions (HTML), or a note why not."""
    from IPython.display import HTML, Markdown

    samples = sample_captions(data_dir)
    if not samples:
        return Markdown(
            "> **Not shown in this build**: no data folder with `samples/images/` (set "
            "`MNER_DATA_DIR` or the `data_dir` parameter). The six real tweet images and their "
            "captions appear where the data folder is present."
        )
    return HTML(samples_html(samples))


# ----------------------------------------------------------------------------- tweets
def pick_tweets(
    tweets: Sequence[Tweet], table: CaptionTable, n: int = 6
) -> list[tuple[Tweet, str]]:
    """``n`` tweets with an entity and a caption, in dataset order: the first ``n // 2 + n % 2``
    whose caption holds an entity string (a leak) and the first ``n // 2`` without one."""
    leak, plain = [], []
    for tweet in tweets:
        text, flag = table.lookup(tweet.id)
        entities = entity_spans(tweet)
        if flag or not entities:
            continue
        group = leak if leaked_spans(text, entities) else plain
        group.append((tweet, text))
    chosen = leak[: n // 2 + n % 2] + plain[: n // 2]
    order = {t.id: k for k, t in enumerate(tweets)}
    return sorted(chosen, key=lambda pair: order[pair[0].id])


def tweet_captions_html(rows: Sequence[tuple[Tweet, str]], source: str = "blip2") -> str:
    """A table: tweet id, the tweet (gold entities coloured), its caption (entity strings that
    occur in it marked) and whether it leaks an entity."""
    source_name = SOURCE_NAMES.get(source, source)
    head = "".join(
        f"<th style='{_CELL}'>{html_text(name)}</th>"
        for name in ("tweet", "text and gold entities", f"{source_name} caption", "leak")
    )
    head = f"<tr>{head}</tr>"
    body = []
    for tweet, caption in rows:
        entities = entity_spans(tweet)
        leaked = bool(leaked_spans(caption, entities))
        body.append(
            f"<tr><td style='{_CELL}'>{html_text(tweet.id)}</td>"
            f"<td style='{_CELL}'>{entities_html(tweet.tokens, tweet.tags)}</td>"
            f"<td style='{_CELL}'>{highlight(caption, entities)}</td>"
            f"<td style='{_CELL};text-align:center'>{'yes' if leaked else ''}</td></tr>"
        )
    return (
        "<table class='mner-captions' style='border-collapse:collapse;font-size:13px'>"
        f"{head}{''.join(body)}</table>"
    )


def show_tweet_captions(
    data: Dataset,
    data_dir: str | os.PathLike | None = None,
    split: str = "test",
    n: int = 6,
    source: str = "blip2",
) -> Any:
    """:func:`tweet_captions_html` for ``n`` tweets of ``data``'s ``split`` (HTML), or a note."""
    from IPython.display import HTML, Markdown

    try:
        table = load_image_text(source, data.name, data_dir)
    except (FileNotFoundError, ValueError) as err:
        return Markdown(
            f"> **Not shown in this build**: no {md_text(SOURCE_NAMES.get(source, source))} "
            f"captions for {md_code(data.name)} ({md_text(err)})."
        )
    rows = pick_tweets(data.split(split), table, n)
    if not rows:
        return Markdown(
            f"> No tweet of the {md_text(split)} split has both an entity and a caption."
        )
    return HTML(tweet_captions_html(rows, source))


# ----------------------------------------------------------------------------- tables
def coverage_frame(
    dataset: str, data_dir: str | os.PathLike | None = None, data: Dataset | None = None
) -> Any:
    """:func:`mner_lib.images.text.dataset_coverage` as a table (source, kind, split, counts,
    share in %), and the sources that are not there with the reason (``frame.attrs["missing"]``)."""
    import pandas as pd

    cov = dataset_coverage(dataset, data_dir, data=data)
    rows, missing = [], {}
    for source, info in cov.items():
        if "error" in info:
            missing[source] = info["error"]
            continue
        for split, c in info["splits"].items():
            rows.append(
                {
                    "source": SOURCE_NAMES.get(source, source),
                    "kind": info["kind"],
                    "split": split,
                    "tweets": c["tweets"],
                    "covered": c["covered"],
                    "empty": c["empty"],
                    "missing": c["missing"],
                    "covered %": 100 * c["fraction"],
                }
            )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.set_index(["source", "kind", "split"])
    frame.attrs["missing"] = missing
    return frame


def leak_frame(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    sources: Sequence[str] = tuple(SOURCES),
    seed: int = 0,
) -> Any:
    """Per source and split, :func:`mner_lib.images.captions.leak_share` of the tweet's own text
    and of a shuffled one (``caption-shuffled:<src>``, the derangement of ``seed``): how many
    gold entities have their string in the text. Sources that are not there are left out."""
    import pandas as pd

    from mner_lib.images.captions import CaptionProvider, leak_share

    rows = []
    for source in sources:
        kind = "knowledge" if source == "pgim" else "caption"
        try:
            own = CaptionProvider(f"{kind}:{source}", dataset, data_dir, seed)
            shuffled = CaptionProvider(
                f"{kind}-shuffled:{source}", dataset, data_dir, seed, table=own.table
            )
        except (FileNotFoundError, ValueError):
            continue
        for split, tweets in own.splits.items():
            mine = leak_share(tweets, [own.lookup(t)[0] for t in tweets])
            other = leak_share(tweets, [shuffled.lookup(t)[0] for t in tweets])
            rows.append(
                {
                    "source": SOURCE_NAMES.get(source, source),
                    "kind": own.kind,
                    "split": split,
                    "entities": mine["entities"],
                    "in own text": mine["in_caption"],
                    "own %": 100 * mine["share"],
                    "shuffled %": 100 * other["share"],
                }
            )
    frame = pd.DataFrame(rows)
    return frame.set_index(["source", "kind", "split"]) if not frame.empty else frame


def show_tables(
    dataset: str, data_dir: str | os.PathLike | None = None, data: Dataset | None = None
) -> list[Any]:
    """The coverage table and the leak table of ``dataset`` (or a note for what is missing)."""
    from IPython.display import Markdown

    if resolve_data_dir(data_dir) is None:
        return [
            Markdown(
                "> **Not shown in this build**: no data folder, so no image text "
                "(set `MNER_DATA_DIR` or the `data_dir` parameter)."
            )
        ]
    cov = coverage_frame(dataset, data_dir, data)
    out: list[Any] = []
    if cov.attrs["missing"]:
        listed = "; ".join(f"{md_code(s)}: {md_text(e)}" for s, e in cov.attrs["missing"].items())
        out.append(Markdown(f"> Sources not available for {md_code(dataset)}: {listed}"))
    if cov.empty:
        return out
    out.append(Markdown(f"**Coverage** of the image text of {md_code(dataset)} (tweets per split)"))
    out.append(cov)
    out.append(
        Markdown(
            "**Leak share**: gold entities whose string occurs in the tweet's own text, and in "
            "another tweet's text (`caption-shuffled` / `knowledge-shuffled`, seed 0), in %"
        )
    )
    out.append(leak_frame(dataset, data_dir))
    return out
