"""What a paper says about a model, in one place: :class:`PaperSpec`.

Every model class carries a ``spec`` (set where the class is defined and registered with it by
:func:`mner_lib.models.register_model`). The trainer takes its training defaults from it, the
CLI and the chapters its ablations, the results tables its reported numbers. Nothing else in the
package holds a paper's numbers or defaults: a new paper number or a new variant is a change in
the model's own module.

* ``training``: the paper's training settings (fields of :class:`mner_lib.training.config.TrainConfig`).
* ``per_dataset``: settings the paper gives for one dataset only (GMF's batch 32 and tau 0.174 on
  Twitter-2017); ``model_options`` inside it are model config fields.
* ``ablations``: the paper's ablation rows, each a name (``w/o MI``) and the model config fields
  (or image condition) that switch it on.
* ``reported``: the test numbers the paper prints, each naming its table; rows of other systems
  that a paper reports (UMT, DebiasCL) carry their own ``system`` name.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mner_lib.text.data import ENTITY_TYPES


@dataclass(frozen=True)
class Citation:
    """Who wrote a paper and where it appeared; ``file`` is its text under ``shared/papers``."""

    short: str  # "Tian et al., Neurocomputing 2021"
    title: str
    authors: str
    venue: str
    year: int | None = None
    file: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        return self.short


@dataclass(frozen=True)
class Ablation:
    """One ablation row of a paper: its name there and the switches that reproduce it."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    condition: str | None = None  # an image condition instead of (or besides) model options
    table: str = ""


@dataclass(frozen=True)
class FormerDefault:
    """A model option whose default changed: runs recorded before their metrics held the whole
    model config (``model_config``) ran with ``value``, and their variant names say so, so they
    never average with runs of the new default. ``unless``: options under which it plays no part
    (HSN's gate under ``interaction=concat``)."""

    option: str
    value: Any
    why: str = ""
    unless: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NamedOption:
    """A model option every result names, whatever its value: a stand-in for something the
    paper had and we have not (TriMod's hashtag segmenter). ``default`` is the config's."""

    option: str
    default: Any
    unless: Mapping[str, Any] = field(default_factory=dict)  # where it plays no part


@dataclass(frozen=True)
class ReportedRow:
    """A test result a paper prints (percent)."""

    dataset: str
    f1: float
    table: str
    variant: str = "full"
    reported_as: str = ""
    precision: float | None = None
    recall: float | None = None
    per_type: Mapping[str, float] = field(default_factory=dict)
    system: str | None = None  # another system's row quoted by this paper (None: this model)
    source: Citation | None = None  # the paper that prints it, when not the model's own paper


@dataclass(frozen=True)
class PaperSpec:
    """The paper behind a model: citation, training defaults, ablations, reported numbers."""

    citation: Citation
    training: Mapping[str, Any] = field(default_factory=dict)
    per_dataset: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ablations: tuple[Ablation, ...] = ()
    reported: tuple[ReportedRow, ...] = ()
    chapter: str | None = None  # the book chapter that narrates the model
    notes: str = ""
    former_defaults: tuple[FormerDefault, ...] = ()
    named_options: tuple[NamedOption, ...] = ()

    def named_values(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The :class:`NamedOption` values of a run with ``options``."""
        return {
            n.option: options.get(n.option, n.default)
            for n in self.named_options
            if not any(options.get(k) == v for k, v in n.unless.items())
        }

    def defaults(self, dataset: str) -> dict[str, Any]:
        """Training settings for ``dataset``: the paper's, then its per-dataset ones; model
        options merged, not replaced."""
        extra = dict(self.per_dataset.get(dataset, {}))
        options = {**self.training.get("model_options", {}), **extra.pop("model_options", {})}
        values = {**self.training, **extra}
        values["model_options"] = options
        return values

    def ablation(self, name: str) -> Ablation:
        for ablation in self.ablations:
            if ablation.name == name:
                return ablation
        valid = ", ".join(a.name for a in self.ablations) or "none"
        raise ValueError(f"unknown ablation {name!r} for {self.citation}; valid: {valid}")

    def recorded_options(
        self, options: Mapping[str, Any], model_config: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The options a recorded run really ran with: ``options`` plus, for a run whose
        metrics hold no ``model_config`` (recorded before they did), the former default of
        every option whose default has changed since."""
        out = dict(options)
        if model_config is not None:
            return out
        for former in self.former_defaults:
            if former.option in out:
                continue
            if any(out.get(k) == v for k, v in former.unless.items()):
                continue
            out[former.option] = former.value
        return out

    def dataset_options(self, dataset: str) -> dict[str, Any]:
        """Model options the paper sets for ``dataset`` alone (not a variant when used)."""
        return dict(self.per_dataset.get(dataset, {}).get("model_options", {}))


#: Model options that say which features a model is fed, not which variant of it is trained.
NOT_VARIANT = ("backbone", "image_feature_dim", "visual_input")


def variant_name(
    spec: PaperSpec | None, options: Mapping[str, Any], dataset: str | None = None
) -> str:
    """``full``, the paper's name of an ablation with its switches (``w/o MI (interaction=concat)``),
    or the switches alone when the paper has no name for them. Options that are the paper's own
    setting for ``dataset`` (GMF's temperature 0.174 on Twitter-2017) are not switches. A former
    default (:class:`FormerDefault`) and a named stand-in (:class:`NamedOption`) are named
    beside the variant they qualify: ``full (gate=dimension)``, ``w/o MP (gate=dimension,heads=1)``,
    ``full (segmenter=wordsegment)``."""
    papers = spec.dataset_options(dataset or "") if spec is not None else {}
    named = spec.named_values(options) if spec is not None else {}
    switches = {
        k: v
        for k, v in options.items()
        if k not in NOT_VARIANT and k not in named and not (k in papers and papers[k] == v)
    }
    if not switches and not named:
        return "full"
    text = ",".join(f"{k}={v}" for k, v in sorted({**switches, **named}.items()))
    former = {f.option for f in spec.former_defaults} if spec is not None else set()
    core = {k: v for k, v in switches.items() if k not in former}
    if not core:
        return f"full ({text})"
    for ablation in spec.ablations if spec is not None else ():
        if ablation.options and dict(ablation.options) == core:
            return f"{ablation.name} ({text})"
    return text


def paper_variant(variant: str) -> str:
    """The paper row a variant is compared with: ``w/o MI (interaction=concat)`` -> ``w/o MI``,
    ``full (gate=dimension)`` -> ``full``."""
    return variant.split(" (", 1)[0] if variant.startswith(("w/o ", "full (")) else variant


# ----------------------------------------------------------------------------- the papers
PAPERS = "papers"  # under shared/
GMF_PAPER = Citation(
    short="GMF (visual clue guidance and consistency matching)",
    title="Visual clue guidance and consistency matching framework for multimodal named entity "
    "recognition",
    authors="not printed in papers/gmf.txt",
    venue="not printed in papers/gmf.txt",
    file=f"{PAPERS}/gmf.txt",
)
HSN_PAPER = Citation(
    short="Tian et al., Neurocomputing 2021",
    title="Hierarchical self-adaptation network for multimodal named entity recognition in "
    "social media",
    authors="Yu Tian, Xian Sun, Hongfeng Yu, Ya Li, Kun Fu",
    venue="Neurocomputing",
    year=2021,
    file=f"{PAPERS}/hsn.txt",
)
TRIMOD_PAPER = Citation(
    short="Alfaqeeh, arXiv 2501.08267",
    title="TriMod fusion for multimodal named entity recognition in social media",
    authors="Mosab Alfaqeeh",
    venue="arXiv 2501.08267",
    year=2025,
    file=f"{PAPERS}/trimod.txt",
    url="https://arxiv.org/abs/2501.08267",
)
CWI_PAPER = Citation(
    short="Asgari-Chenaghlu et al., arXiv 2001.06888",
    title="A multimodal deep learning approach for named entity recognition from social media",
    authors="Meysam Asgari-Chenaghlu et al.",
    venue="arXiv 2001.06888",
    year=2020,
    file=f"{PAPERS}/cwi.txt",
    url="https://arxiv.org/abs/2001.06888",
)
BILSTM_CRF_PAPER = Citation(
    short="Huang et al. 2015",
    title="Bidirectional LSTM-CRF models for sequence tagging",
    authors="Zhiheng Huang, Wei Xu, Kai Yu",
    venue="arXiv 1508.01991",
    year=2015,
    url="https://arxiv.org/abs/1508.01991",
)
LAMPLE_PAPER = Citation(
    short="Lample et al., NAACL 2016",
    title="Neural architectures for named entity recognition",
    authors="Guillaume Lample, Miguel Ballesteros, Sandeep Subramanian, Kazuya Kawakami, Chris Dyer",
    venue="NAACL-HLT 2016",
    year=2016,
)
BERT_PAPER = Citation(
    short="Devlin et al., NAACL 2019",
    title="BERT: pre-training of deep bidirectional transformers for language understanding",
    authors="Jacob Devlin, Ming-Wei Chang, Kenton Lee, Kristina Toutanova",
    venue="NAACL-HLT 2019",
    year=2019,
)
ITA_PAPER = Citation(
    short="Wang et al., NAACL 2022",
    title="ITA: Image-text alignments for multi-modal named entity recognition",
    authors="Xinyu Wang, Min Gui, Yong Jiang, Zixia Jia, Nguyen Bach, Tao Wang, Zhongqiang Huang, "
    "Kewei Tu",
    venue="NAACL-HLT 2022",
    year=2022,
)
PGIM_PAPER = Citation(
    short="Li et al., Findings of EMNLP 2023",
    title="Prompting ChatGPT in MNER: enhanced multimodal named entity recognition with "
    "auxiliary refined knowledge",
    authors="Jinyuan Li, Han Li, Zhuo Pan, Di Sun, Jiahao Wang, Wenkun Zhang, Gang Pan",
    venue="Findings of EMNLP 2023",
    year=2023,
)
#: The field's reference for text-from-the-image results: systems that feed a language model
#: with text an image model wrote (ITA: captions, OCR, object tags; PGIM: ChatGPT knowledge from
#: the BLIP-2 caption). Only what the papers here print is quoted; PGIM's own numbers are in its
#: paper, which is not among them.
FIELD_REFERENCES: tuple[ReportedRow, ...] = (
    ReportedRow(
        "twitter2015", 75.00, "Table III", "full", "ITA", source=TRIMOD_PAPER, system="ITA"
    ),
)


def per_type(per: float, loc: float, org: float, misc: float) -> dict[str, float]:
    """Per-type F1 of a reported row, in the order of the papers' tables."""
    return dict(zip(ENTITY_TYPES, (per, loc, org, misc)))


#: every number the papers print that the book compares with, one named row each
REPORTED_CSV = Path(__file__).with_name("reported.csv")
_NUMBERS = ("precision", "recall", "f1")


@lru_cache(maxsize=1)
def _reported_table() -> tuple[dict[str, str], ...]:
    with REPORTED_CSV.open(newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


def reported_rows(model: str) -> tuple[ReportedRow, ...]:
    """The rows of ``reported.csv`` for ``model``: a paper's test results, each column named
    (dataset, table, variant, the name the paper prints, the system a row quotes, the paper that
    prints it when not the model's own, P/R/F1 and F1 per type)."""
    out = []
    for n, row in enumerate(_reported_table(), start=2):
        if row["model"] != model:
            continue
        source = globals().get(row["source"]) if row["source"] else None
        if row["source"] and not isinstance(source, Citation):
            raise ValueError(f"{REPORTED_CSV}:{n}: unknown source {row['source']!r}")
        numbers = {k: float(row[k]) if row[k] else None for k in _NUMBERS}
        types = {t: float(row[t.lower()]) for t in ENTITY_TYPES if row[t.lower()]}
        out.append(
            ReportedRow(
                row["dataset"],
                numbers["f1"],
                row["table"],
                row["variant"],
                row["reported_as"],
                numbers["precision"],
                numbers["recall"],
                types,
                row["system"] or None,
                source,
            )  # fmt: skip
        )
    return tuple(out)
