"""The model tests' synthetic probes over seeds (issue 25): F1 with synthetic, blank and
reshuffled synthetic images per seed, with each test's own settings (tests/probes.py), to state
the seeds and margins for which each probe test's claim holds.

    python benchmarks/probe_seeds.py --probe trimod --seeds 0-5
    python benchmarks/probe_seeds.py --probe gmf --seeds 0-5 --conditions synthetic,blank
    python benchmarks/probe_seeds.py --probe cwi-attention --seeds 0-5 \
        --set dropout=0.5 --set epochs=12 --set patience=5   # its test's former settings
    python benchmarks/probe_seeds.py --render --note "..."   # the .md only, from the log

Probes: ``trimod`` and ``gmf`` (dev F1 on tests.probes.type_blind_probe, as their tests),
``cwi-attention`` and ``hsn`` (test F1 of tests.probes.train_probe's data, as their tests).
Appends one JSON line per run (probe, seed, condition) to ``--log`` (default ``<out>.jsonl``),
so a stopped measurement keeps what finished, and writes ``<out>.md`` from all lines. One
thread per process; the feature cache is ``$MNER_CACHE_DIR`` (default: a folder under the
system's temporary one)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_OUT = ROOT / "benchmarks" / "probe_seeds"
CONTROL = "shuffled:synthetic"

#: what each probe trains and which F1 it reads (the test's own settings)
PROBES = {
    "trimod": "TriMod, tests.probes.TRIMOD_PROBE: type_blind_probe() (150 train / 60 dev), "
    "8 epochs, lr 0.05, hidden 50, dropout 0.3; dev F1",
    "gmf": "GMF, tests.probes.GMF_PROBE: type_blind_probe(), the tiny untrained 2-layer "
    "encoder, 6 epochs, batch 16, lr 2e-3 (encoder too), constant schedule; dev F1; "
    "'matched' is the contrastive heads' image matching on 48 dev/test tweets (chance 25%)",
    "cwi": "CWI, tests.probes.CWI_PLAIN_RUN: demo_probe_data (300 demo tweets made "
    "type-blind), CWI_PROBE's sizes with dropout 0.2 and a character CNN of 4-8-8 and 8-4-4 "
    "filters, 10 epochs (patience 10: no early stopping), lr 0.02, batch 16; test F1",
    "cwi-attention": "cwi-attention, tests.probes.CWI_PROBE_RUN: demo_probe_data (300 "
    "demo tweets made type-blind), CWI_PROBE's sizes with dropout 0.2, 20 epochs (patience 20: "
    "no early stopping), lr 0.01, batch 8; test F1",
    "hsn": "HSN, the test's options (tiny sizes, hidden 32, image_dim 32, 1280-d regions): "
    "train_probe's data (160 tweets), 4 epochs, lr 0.01, batch 8; test F1",
}


def hsn_options() -> dict:
    from tests.models.test_hsn import TINY

    return {**TINY, "image_feature_dim": 1280, "hidden": 32, "image_dim": 32}


#: the settings a probe test had before issue 25 changed them, as --set changes from today's
FORMER = {
    "cwi": "batch_size=8, char_filters1=[16, 32, 64], char_filters2=[64, 32, 16], dropout=0.5, "
    "epochs=8, lr=0.01, patience=5",
    "cwi-attention": "dropout=0.5, epochs=12, patience=5",
}

#: the settings a --set may change besides the model options (cwi, cwi-attention and hsn)
RUN_KEYS = ("epochs", "lr", "n_train", "patience", "batch_size")


def run_one(probe: str, condition: str, seed: int, out: Path, changes: dict) -> dict:
    """One probe run: its F1 (and for GMF the image matching). ``changes``: settings that differ
    from the test's (``epochs``, ``lr``, a model option...), for a search of settings."""
    from tests import probes

    run = {k: v for k, v in changes.items() if k in RUN_KEYS}
    options = {k: v for k, v in changes.items() if k not in RUN_KEYS}
    if probe in ("trimod", "gmf"):
        data = probes.type_blind_probe()
        settings = dict(probes.TRIMOD_PROBE if probe == "trimod" else probes.GMF_PROBE)
        settings = {**settings, **{k: v for k, v in run.items() if k != "n_train"}}  # fixed data
        settings["model_options"] = {**settings["model_options"], **options}
        result = probes.run_probe(probe, condition, out, data, seed, settings)
        row = {"f1": result.metrics["dev"]["f1"]}
        if probe == "gmf":
            row["matched"] = list(probes.gmf_matching(result, data))
        return row
    if probe in ("cwi", "cwi-attention"):
        settings = dict(probes.CWI_PLAIN_RUN if probe == "cwi" else probes.CWI_PROBE_RUN)
        base = settings.pop("options")
    elif probe == "hsn":
        base, settings = hsn_options(), {"epochs": 4, "lr": 0.01, "n_train": 160}
    else:
        raise SystemExit(f"unknown probe {probe!r}; one of {', '.join(PROBES)}")
    settings.update(run)
    f1 = probes.demo_probe_f1(probe, {**base, **options}, out, condition, seed=seed, **settings)
    return {"f1": f1}


def variant(changes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(changes.items()))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--", "mner_lib", "tests/probes.py")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def render(out: Path, log: Path, note: str = "") -> None:
    rows = [json.loads(x) for x in log.read_text().splitlines() if x]
    by_key: dict[tuple[str, str, int], dict[str, dict]] = {}
    for r in rows:  # the last run of a (probe, settings, seed, condition) counts
        key = (r["probe"], variant(r.get("changes", {})), r["seed"])
        by_key.setdefault(key, {})[r["condition"]] = r
    dates = sorted({r["date"] for r in rows})
    machines = sorted({r["machine"] for r in rows})
    lines = [
        "# The model tests' synthetic probes over seeds (written by benchmarks/probe_seeds.py)",
        "",
        "Issue 25: a test that claims a model uses the image must hold for every seed of a "
        "stated set. Each probe ran with its test's own settings (tests/probes.py); synthetic "
        "images, labelled synthetic: a probe of the visual path, not a result on real images. "
        f"'shuffled' is the reshuffled-images control ({CONTROL}: every tweet gets another "
        "tweet's synthetic image), 'gap' is synthetic − blank and 'control gap' shuffled − "
        "blank.",
        "",
        f"Date: {', '.join(dates)}. Machine: {'; '.join(machines)}, shared with a background "
        "training grid and other agents' test runs, with two single-thread measurement "
        "processes side by side: the seconds (the wall time of one run, per condition: "
        "synthetic / blank / shuffled) are loaded times. Commit: the checkout's HEAD when the "
        "run finished (`git rev-parse --short HEAD`), '+dirty' where mner_lib or tests/probes.py "
        "had uncommitted changes (other agents edit mner_lib in the same checkout).",
        "",
    ]
    if note:
        lines += [note, ""]

    def order(key: tuple[str, str]) -> tuple:  # the test's settings, the former ones, the rest
        return (key[1] != "", key[1] != FORMER.get(key[0]), key[1])

    sections = sorted({k[:2] for k in by_key}, key=lambda k: (list(PROBES).index(k[0]), order(k)))
    for probe, changed in sections:
        keys = sorted(k for k in by_key if k[:2] == (probe, changed))
        extra = probe == "gmf"
        title = f"{probe}, the test's settings" if not changed else f"{probe}, {changed}"
        if changed and changed == FORMER.get(probe):
            title += " (the test's former settings)"
        what = PROBES[probe] + (f"; here changed from those: {changed}" if changed else "")
        lines += [
            f"## {title}",
            "",
            what + ".",
            "",
            "| seed | synthetic | blank | shuffled | gap | control gap |"
            + (" matched |" if extra else "")
            + " seconds | commit |",
            "|---|---|---|---|---|---|" + ("---|" if extra else "") + "---|---|",
        ]
        gaps, cgaps, syns, shufs = {}, {}, {}, {}
        for key in keys:
            runs = by_key[key]

            def f1(cond: str, runs=runs) -> float | None:
                return runs[cond]["f1"] if cond in runs else None

            def fmt(x: float | None, sign: bool = False) -> str:
                return "" if x is None else (f"{x:+.1f}" if sign else f"{x:.1f}")

            syn, blank, shuf = f1("synthetic"), f1("blank"), f1(CONTROL)
            gap = None if syn is None or blank is None else syn - blank
            cgap = None if shuf is None or blank is None else shuf - blank
            if gap is not None:
                gaps[key[2]] = gap
            if cgap is not None:
                cgaps[key[2]] = cgap
            if syn is not None:
                syns[key[2]] = syn
            if shuf is not None:
                shufs[key[2]] = shuf
            secs = " / ".join(
                f"{runs[c]['s']}" for c in ("synthetic", "blank", CONTROL) if c in runs
            )
            commits = sorted({r["commit"] for r in runs.values()})
            cells = [str(key[2]), fmt(syn), fmt(blank), fmt(shuf), fmt(gap, True), fmt(cgap, True)]
            if extra:
                m = runs.get("synthetic", {}).get("matched")
                cells.append(f"{m[0]}/{m[1]}" if m else "")
            cells += [secs, ", ".join(commits)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        if gaps:
            summary = (
                f"Gap over seeds {', '.join(map(str, gaps))}: min {min(gaps.values()):+.1f}, "
                f"max {max(gaps.values()):+.1f}"
            )
            first3 = [gaps[s] for s in (0, 1, 2) if s in gaps]
            if len(first3) == 3:
                summary += f"; mean over seeds 0, 1, 2: {sum(first3) / 3:+.1f}"
            if cgaps:
                summary += f". Control gap: max {max(cgaps.values()):+.1f}"
                c3 = [cgaps[s] for s in (0, 1, 2) if s in cgaps]
                if len(c3) == 3:
                    summary += f", mean over seeds 0, 1, 2: {sum(c3) / 3:+.1f}"
            lines += [summary + ".", ""]
        elif syns:  # no blank runs: the synthetic runs and the control as they are
            summary = (
                f"Synthetic over seeds {', '.join(map(str, syns))}: min {min(syns.values()):.1f}, "
                f"max {max(syns.values()):.1f}"
            )
            if shufs:
                summary += f". Control: max {max(shufs.values()):.1f}"
            lines += [summary + ".", ""]
    out.with_suffix(".md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probe", choices=sorted(PROBES))
    parser.add_argument("--seeds", default="0-5", help="first-last, or a comma list")
    parser.add_argument("--conditions", default=f"synthetic,blank,{CONTROL}")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting that differs from the test's: epochs, lr, n_train, patience, batch_size "
        "or a model "
        "option (VALUE read as JSON where it parses); repeatable",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="the .md, without suffix")
    parser.add_argument("--log", default=None, help="the JSON lines (default: <out>.jsonl)")
    parser.add_argument("--note", default="", help="a paragraph for the .md (with --render)")
    parser.add_argument("--render", action="store_true", help="only write the .md")
    args = parser.parse_args()
    out = Path(args.out)
    log = Path(args.log) if args.log else out.with_suffix(".jsonl")
    if args.render:
        render(out, log, args.note)
        return
    if not args.probe:
        parser.error("--probe is required unless --render")
    os.environ.setdefault("MNER_CACHE_DIR", str(Path(tempfile.gettempdir()) / "probe_seeds_cache"))
    import torch

    torch.set_num_threads(1)  # as tests/conftest.py
    if "-" in args.seeds:
        first, last = (int(x) for x in args.seeds.split("-"))
        seeds = list(range(first, last + 1))
    else:
        seeds = [int(x) for x in args.seeds.split(",")]
    machine = f"{cpu_model()}, {os.cpu_count()} cores"
    changes = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            changes[key] = json.loads(value)
        except json.JSONDecodeError:
            changes[key] = value
    for seed in seeds:
        for condition in args.conditions.split(","):
            t = time.time()
            scores = run_one(args.probe, condition, seed, Path(tempfile.mkdtemp()), changes)
            row = {
                "probe": args.probe,
                "seed": seed,
                "condition": condition,
                "changes": changes,
                **scores,
                "s": round(time.time() - t),
                "commit": commit(),
                "date": date.today().isoformat(),
                "machine": machine,
            }
            print(json.dumps(row), flush=True)
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
    render(out, log)


if __name__ == "__main__":
    main()
