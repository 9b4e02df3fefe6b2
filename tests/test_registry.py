"""A model defined in this file alone, with its paper spec, joins every tool: it trains through
the CLI's config path, predicts from its run folder, and its paper numbers, ablations and
variants reach the results tables. The layout rules the architecture page promises hold."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from mner_lib.models import available_models, get_spec, register_model
from mner_lib.models.base import Tagger, TaggerConfig
from mner_lib.models.baselines import collate_words_and_chars
from mner_lib.models.spec import Ablation, Citation, PaperSpec, ReportedRow

TOY_SPEC = PaperSpec(
    citation=Citation("Toy et al. 2099", "A toy tagger", "A. Toy", "Nowhere"),
    training={"optimizer": "adam", "lr": 0.01, "batch_size": 8, "epochs": 2},
    per_dataset={"twitter2017": {"epochs": 5}},
    ablations=(Ablation("w/o width", {"hidden": 4}, table="Table 9"),),
    reported=(ReportedRow("demo", 12.34, "Table 1", reported_as="Toy"),),
    chapter="toy",
)


@dataclass
class ToyConfig(TaggerConfig):
    hidden: int = 8
    dropout: float = 0.0


@register_model
class ToyTagger(Tagger):
    """Word embedding -> linear -> CRF."""

    name = "toy-tagger"
    config_class = ToyConfig
    spec = TOY_SPEC

    def __init__(self, config: ToyConfig, vocab):
        super().__init__(config, vocab)
        self.words = nn.Embedding(len(vocab.words), config.hidden)
        self.emit = nn.Linear(config.hidden, len(vocab.tags))

    def collate(self, tweets, images=None):
        return collate_words_and_chars(self.vocab, tweets, chars=False)

    def forward(self, batch, decode=False, return_attention=False):
        emissions = self.emit(self.words(batch["words"]))
        attentions = {"score": emissions.max(-1).values} if return_attention else None
        return self.crf_output(emissions, batch, decode, attentions=attentions)


def test_a_model_registered_here_trains_predicts_and_reports(tmp_path, capsys):
    from mner_lib.commands import cli
    from mner_lib.reporting.results import load_runs, paper_table
    from mner_lib.training import resolve_config

    assert "toy-tagger" in available_models() and get_spec("toy-tagger") is TOY_SPEC
    cfg = resolve_config("toy-tagger")
    assert (cfg.lr, cfg.batch_size, cfg.epochs) == (0.01, 8, 2)  # from the spec
    assert resolve_config("toy-tagger", dataset="twitter2017").epochs == 5
    out = tmp_path / "results" / "toy" / "run"
    args = ["train", "--model", "toy-tagger", "--max-train", "40", "--max-eval", "20"]
    args += ["--option", "hidden=4", "--out", str(out), "--threads", "1", "--quiet"]
    assert cli.main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["variant"] == "w/o width (hidden=4)"
    assert json.loads((out / "config.json").read_text())["variant"] == metrics["variant"]
    assert cli.main(["predict", "--run", str(out), "Mara Okafor visits Paris"]) == 0
    assert "=>" in capsys.readouterr().out
    runs = load_runs(tmp_path / "results")
    assert list(runs["variant"]) == ["w/o width (hidden=4)"] and list(runs["model"]) == [
        "toy-tagger"
    ]
    reported = paper_table()
    row = reported[reported["model"] == "toy-tagger"]
    assert list(row["f1"]) == [12.34] and "Toy et al. 2099" in row["paper"].iloc[0]


def test_tagger_run_batches_and_keeps_every_tweet_aligned():
    from mner_lib.models import build_model
    from mner_lib.text.data import Tweet, load_dataset

    data = load_dataset("demo")
    torch.manual_seed(0)
    model = build_model("toy-tagger", data.train[:50])
    tweets = [*data.test[:7], Tweet("empty", [], [])]
    whole = model.run(tweets, batch_size=64).predictions
    assert model.run(tweets, batch_size=3).predictions == whole
    assert [len(p) for p in whole] == [len(t.tokens) for t in tweets] and whole[-1] == []
    assert model.run([]).predictions == []
    # attention rows come back in the tweets' order, each the tweet's own (batches go by length)
    rows = model.run(tweets, batch_size=3, return_attention=True).attentions["score"]
    for tweet, row in zip(tweets[:-1], rows):
        alone = model.run([tweet], return_attention=True).attentions["score"][0]
        assert torch.allclose(row[: len(tweet.tokens)], alone[: len(tweet.tokens)])
    with pytest.raises(ValueError, match="batch_size"):
        model.run(tweets, batch_size=0)


def _python_files() -> list[Path]:
    return sorted(Path(__file__).resolve().parent.parent.joinpath("mner_lib").rglob("*.py"))


def test_no_module_over_500_lines_and_no_function_over_80():
    """The architecture page's promise: small modules, functions that fit on a screen."""
    long_modules, long_functions = [], []
    for path in _python_files():
        source = path.read_text(encoding="utf-8")
        if len(source.splitlines()) > 500:
            long_modules.append(f"{path.name}: {len(source.splitlines())}")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    long_functions.append(f"{path.name}:{node.lineno} {node.name}: {length}")
    assert not long_modules and not long_functions, (long_modules, long_functions)


def test_paper_numbers_live_only_in_the_reported_table():
    """The papers' numbers are named rows of models/reported.csv, read by the specs
    (``reported_rows``); no module holds one as a bare float."""
    from mner_lib.models import get_spec
    from mner_lib.models.spec import REPORTED_CSV

    marker = "75.81"  # GMF's Twitter-2015 F1
    holders = [p.name for p in _python_files() if marker in p.read_text(encoding="utf-8")]
    assert holders == [], holders
    assert marker in REPORTED_CSV.read_text(encoding="utf-8")
    gmf = {(r.dataset, r.variant): r for r in get_spec("gmf").reported if r.system is None}
    assert gmf[("twitter2015", "full")].f1 == 75.81
    assert gmf[("twitter2015", "full")].per_type["PER"] > 0
