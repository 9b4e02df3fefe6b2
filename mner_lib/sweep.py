"""Grids of training runs and the tables made from them.

``python -m mner_lib sweep --experiment baselines --models bilstm-crf,bert-crf --datasets
twitter2015,twitter2017 --seeds 0,1,2`` trains every combination into
``results/<experiment>/<model>/<dataset>/<condition>/seed<k>/`` (a finished run is skipped, an
unfinished one resumes) and writes ``results/summary_<experiment>.md`` and ``.json``: mean ± std
of test F1 over seeds per (model, dataset, condition), beside the papers' numbers where they
report one.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The papers' own numbers, quoted with their source (SPEC.md; the GMF paper's tables for the text
# baselines). Keyed by (model, dataset); test F1 in percent.
PAPER_F1: dict[tuple[str, str], tuple[float, str]] = {
    ("bilstm-crf", "twitter2015"): (64.42, "GMF paper, main results table (BiLSTM-CRF)"),
    ("bilstm-crf", "twitter2017"): (76.31, "GMF paper, main results table (BiLSTM-CRF)"),
    ("hbilstm-crf", "twitter2015"): (69.17, "GMF paper, main results table (HBiLSTM-CRF)"),
    ("hbilstm-crf", "twitter2017"): (80.37, "GMF paper, main results table (HBiLSTM-CRF)"),
    ("bert-crf", "twitter2015"): (71.81, "GMF paper, main results table (BERT-CRF)"),
    ("bert-crf", "twitter2017"): (83.44, "GMF paper, main results table (BERT-CRF)"),
    ("hsn", "twitter2015"): (74.18, "HSN paper, Twitter-2015 results (TMN)"),
    ("trimod", "twitter2015"): (80.00, "TriMod paper, Twitter-2015 results"),
    ("gmf", "twitter2015"): (75.81, "GMF paper, main results table"),
    ("gmf", "twitter2017"): (87.11, "GMF paper, main results table"),
}


def run_dir(
    root: Path, experiment: str, model: str, dataset: str, condition: str, seed: int
) -> Path:
    safe = condition.replace(":", "-")
    return root / experiment / model / dataset / safe / f"seed{seed}"


def run_grid(
    experiment: str,
    models: Iterable[str],
    datasets: Iterable[str],
    seeds: Iterable[int],
    conditions: Iterable[str] = ("none",),
    root: Path = Path("results"),
    data_dir: str | None = None,
    **options: Any,
) -> list[Path]:
    from mner_lib.models import get_model_class
    from mner_lib.train import resolve_config, run_training

    done = []
    for model in models:
        uses_images = get_model_class(model).uses_images
        for dataset in datasets:
            for condition in conditions:
                if (condition == "none") == uses_images:
                    continue  # text models run once with 'none'; image models need an image condition
                for seed in seeds:
                    out = run_dir(root, experiment, model, dataset, condition, seed)
                    if (out / "metrics.json").exists() and not (
                        out / "checkpoint_last.pt"
                    ).exists():
                        done.append(out)
                        continue
                    cfg = resolve_config(
                        model,
                        dataset=dataset,
                        data_dir=data_dir,
                        seed=seed,
                        out=str(out),
                        condition=condition,
                        **options,
                    )
                    run_training(cfg)
                    done.append(out)
    return done


def collect(root: Path, experiment: str | None = None) -> list[dict[str, Any]]:
    base = root / experiment if experiment else root
    rows = []
    for path in sorted(base.rglob("metrics.json")):
        m = json.loads(path.read_text())
        if "test" not in m:
            continue
        rows.append({**m, "path": str(path)})
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        key = (r["model"], r["dataset"], r["condition"], r.get("backbone"), r.get("max_train"))
        groups[key].append(r)
    out = []
    for (model, dataset, condition, backbone, max_train), rs in sorted(
        groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])
    ):
        f1 = [r["test"]["f1"] for r in rs]
        paper = PAPER_F1.get((model, dataset))
        out.append(
            {
                "model": model,
                "dataset": dataset,
                "condition": condition,
                "synthetic": any(r.get("synthetic") for r in rs),
                "backbone": backbone,
                "max_train": max_train,
                "seeds": sorted(r["seed"] for r in rs),
                "test_f1_mean": statistics.mean(f1),
                "test_f1_std": statistics.stdev(f1) if len(f1) > 1 else 0.0,
                "dev_f1_mean": statistics.mean(r["dev"]["f1"] for r in rs),
                "per_type_f1_mean": {
                    t: statistics.mean(r["test"]["per_type"][t]["f1"] for r in rs)
                    for t in rs[0]["test"]["per_type"]
                },
                "epochs_run": [r["epochs_run"] for r in rs],
                "train_tweets_per_second": statistics.mean(
                    r["train_tweets_per_second"] for r in rs
                ),
                "paper_f1": paper[0] if paper and condition in ("none", "real") else None,
                "paper_source": paper[1] if paper and condition in ("none", "real") else None,
                "commits": sorted({r.get("commit", "unknown") for r in rs}),
                "devices": sorted({r.get("environment", {}).get("device", "?") for r in rs}),
                "sources": [r["path"] for r in rs],
            }
        )
    return out


def markdown_table(summary: list[dict[str, Any]]) -> str:
    lines = [
        "| model | dataset | condition | seeds | test F1 (mean ± std) | paper F1 (source) | gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        cond = s["condition"] + (" (synthetic)" if s["synthetic"] else "")
        paper = f"{s['paper_f1']:.2f} ({s['paper_source']})" if s["paper_f1"] is not None else "—"
        gap = f"{s['test_f1_mean'] - s['paper_f1']:+.2f}" if s["paper_f1"] is not None else "—"
        lines.append(
            f"| {s['model']} | {s['dataset']} | {cond} | {','.join(map(str, s['seeds']))} | "
            f"{s['test_f1_mean']:.2f} ± {s['test_f1_std']:.2f} | {paper} | {gap} |"
        )
    return "\n".join(lines)


def write_summary(root: Path, experiment: str) -> Path:
    summary = summarise(collect(root, experiment))
    (root / f"summary_{experiment}.json").write_text(json.dumps(summary, indent=2))
    md = root / f"summary_{experiment}.md"
    md.write_text(
        f"# {experiment}: test F1 over seeds\n\nWritten by `python -m mner_lib sweep` from the "
        f"`metrics.json` files under `results/{experiment}/`.\n\n" + markdown_table(summary) + "\n"
    )
    return md
