"""Why a row sits below its paper: the paper's F1 minus ours, split in three (issue 27).

For a model row of ours (its mean test F1 over seeds under one condition) and the paper's full
model on the same dataset::

    paper − ours = text side     (the paper's text-only row − our matching text-only row)
                 + image gain    (the paper's full model − the paper's text-only row)
                 + remainder     (what is left: our image gain, negated, plus everything else)

* the text side is what our stand-ins cost before any image is read: MiniLM-L6 for
  bert-base-uncased (BERT-CRF, GMF), GloVe 50-d and the training budget for the GloVe models;
* the image gain is what the paper's own images added over its text-only row: pixels we do not
  have (our rows read a caption, or a blank image);
* the remainder is the rest: minus whatever our caption gained over our text-only row.

A model whose paper prints no text-only row (TriMod, CWI) gets the total only. The text-only
counterparts are :data:`TEXT_ONLY`: GMF's is the BERT-CRF row of the same paper's table (and our
BERT-CRF with text only), HSN's its "w/o VF" row (and our HSN with blank images).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

#: model -> (the paper's text-only row: model, variant; ours: model, condition)
TEXT_ONLY: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "bert-crf": (("bert-crf", "full"), ("bert-crf", "none")),
    "gmf": (("bert-crf", "full"), ("bert-crf", "none")),
    "hsn": (("hsn", "w/o VF"), ("hsn", "blank")),
}


@dataclass(frozen=True)
class GapDecomposition:
    model: str
    dataset: str
    condition: str
    ours: float
    n: int
    paper: float
    paper_text: float | None  # the paper's text-only row
    ours_text: float | None  # our matching text-only row

    @property
    def total(self) -> float:
        return self.paper - self.ours

    @property
    def text_side(self) -> float | None:
        if self.paper_text is None or self.ours_text is None:
            return None
        return self.paper_text - self.ours_text

    @property
    def image_gain(self) -> float | None:
        return None if self.paper_text is None else self.paper - self.paper_text

    @property
    def remainder(self) -> float | None:
        if self.text_side is None or self.image_gain is None:
            return None
        return self.total - self.text_side - self.image_gain


def _paper(papers: pd.DataFrame, model: str, dataset: str, variant: str) -> float | None:
    row = papers[
        (papers["model"] == model) & (papers["dataset"] == dataset) & (papers["variant"] == variant)
    ]
    return float(row["f1"].iloc[0]) if len(row) else None


def _ours(runs: pd.DataFrame, model: str, dataset: str, condition: str) -> tuple[float, int]:
    rows = runs[
        (runs["model"] == model) & (runs["dataset"] == dataset) & (runs["condition"] == condition)
    ]
    if "variant" in rows.columns:
        rows = rows[rows["variant"].astype(str).str.startswith("full")]
    f1 = rows["f1"].astype(float)
    return (float(f1.mean()), len(f1)) if len(f1) else (math.nan, 0)


def decompose(runs: pd.DataFrame, papers: pd.DataFrame, condition: str) -> list[GapDecomposition]:
    """One decomposition per model and dataset of ``runs`` (one protocol's full-model runs; a
    text model's row is its text-only run) that has a paper row, for our rows under
    ``condition`` (text models: text only)."""
    out = []
    if runs.empty:
        return out
    for (model, dataset), _ in runs.groupby(["model", "dataset"]):
        paper = _paper(papers, model, dataset, "full")
        mine = "none" if model == "bert-crf" else condition
        ours, n = _ours(runs, model, dataset, mine)
        if paper is None or n == 0:
            continue
        paper_text = ours_text = None
        if model in TEXT_ONLY:
            (p_model, p_variant), (o_model, o_condition) = TEXT_ONLY[model]
            paper_text = _paper(papers, p_model, dataset, p_variant)
            text, n_text = _ours(runs, o_model, dataset, o_condition)
            ours_text = text if n_text else None
        out.append(GapDecomposition(model, dataset, mine, ours, n, paper, paper_text, ours_text))
    return out
