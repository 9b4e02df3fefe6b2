"""One markdown report over several experiments: ``python -m mner_lib report``.

Conditions side by side (text only, blank, synthetic, real-image captions and their shuffled
controls, language-model knowledge), each setting beside the paper row it meets, and paired gaps
(what a pair shares: :data:`PAIRING`): synthetic minus blank; a caption minus text only, minus
blank and minus the same source's shuffled captions. Beside each caption result: the share of its test entities whose
string occurs in the tweet's caption (text the captioner read in the image, or a famous name it
recognised), so a reader can weigh the gain.

Every value read from a run (a model, a variant, a GPU's name) enters the Markdown through
:func:`mner_lib.io.escape.md_text`, and the file is written through
:func:`mner_lib.io.escape.markdown_guard` (no raw HTML or math, whoever wrote the line), atomically:
a temporary file beside it, renamed over it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mner_lib.experiments.sweep import check_pattern
from mner_lib.io.escape import markdown_guard, md_code, md_text
from mner_lib.io.plural import counted
from mner_lib.reporting.paired import paired_gaps, share_backbone
from mner_lib.reporting.results import aggregate, compare, load_runs, with_text
from mner_lib.reporting.results import spread as results_spread

#: the order conditions take in a table; others follow alphabetically
ORDER = ("none", "blank", "synthetic", "real", "shuffled")
#: what a pair of runs with the same seed shares, said wherever paired gaps are shown
PAIRING = (
    "The same seed trains on the same tweets in the same order, from the same initialisation "
    "wherever both conditions build the same model (images against images, a caption against its "
    "shuffled control); a model that reads a caption through layers of its own starts a "
    "caption-minus-blank pair from another initialisation too."
)
KEYS = ["model", "variant", "dataset", "backbone", "training", "max_train", "max_eval"]


def condition_name(condition: str) -> str:
    """A condition in words, with what kind of signal it is."""
    kind, _, source = condition.partition(":")
    if condition == "none":
        return "text only"
    if condition == "synthetic":
        return "synthetic (SYNTHETIC images)"
    if kind == "caption":
        return f"real-image caption ({source})"
    if kind == "caption-shuffled":
        return f"shuffled {source} caption (control)"
    if kind == "knowledge":
        return f"{source} knowledge (language model, not vision)"
    return condition


def ordered_conditions(present: Sequence[str]) -> list[str]:
    first = [c for c in ORDER if c in present]
    rest = [c for c in present if c not in ORDER]
    # a source's own text, then its shuffled control
    return first + sorted(rest, key=lambda c: (c.partition(":")[2], "-shuffled" in c, c))


def gap_pairs(conditions: Sequence[str]) -> list[tuple[str, str]]:
    """The (condition, baseline) pairs a report subtracts, where both were run."""
    pairs = [("synthetic", "blank")]
    for c in conditions:
        kind, _, source = c.partition(":")
        if kind in ("caption", "knowledge"):
            pairs += [(c, "none"), (c, "blank"), (c, f"{kind}-shuffled:{source}")]
    return [(a, b) for a, b in pairs if a in conditions and b in conditions]


def check_inside(root: Path, folder: Path) -> Path:
    """``folder`` (an experiment folder under ``root``), refused (a ValueError naming it) where
    it, or a folder anywhere inside it, is a symbolic link: a link would read runs from outside
    the results folder (or count a run twice) and name them as this folder's."""
    base = Path(root).resolve()
    for path in [folder, *_linked_dirs(folder)]:
        if path.is_symlink():
            target = path.resolve()
            where = "inside" if target.is_relative_to(base) else "outside"
            raise ValueError(
                f"{path}: a symbolic link to a folder {where} {root}/ ({target}); a report reads "
                "only the folders that are there, not links"
            )
    if not folder.resolve().is_relative_to(base):
        raise ValueError(f"{folder}: not inside {root}/")
    return folder


def _linked_dirs(folder: Path) -> list[Path]:
    """The symbolic links to folders anywhere under ``folder`` (links are not followed)."""
    found = []
    for top, dirs, _files in os.walk(folder, followlinks=False):
        found += [Path(top, d) for d in dirs if Path(top, d).is_symlink()]
    return found


def experiment_dirs(root: Path, patterns: Sequence[str]) -> list[Path]:
    """The experiment folders directly under ``root`` that ``patterns`` name (each checked by
    :func:`check_pattern`, each folder by :func:`check_inside`)."""
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(p for p in root.glob(check_pattern(pattern)) if p.is_dir())
        if not matches:
            raise ValueError(f"no experiment folder under {root}/ matches {pattern!r}")
        found += [check_inside(root, m) for m in matches if m not in found]
    return found


def report_tables(root: Path, patterns: Sequence[str]) -> dict[str, pd.DataFrame]:
    """``settings`` (mean ± std over seeds per setting, conditions side by side, the paper row
    each is compared with), ``gaps`` (paired by seed, every pair of :func:`gap_pairs`),
    ``runs`` (every run read) and ``compared`` (one row per setting and condition beside its
    paper row, :func:`mner_lib.reporting.results.compare`)."""
    frames = [load_runs(d, relative_to=root.parent) for d in experiment_dirs(root, patterns)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        raise ValueError(
            f"no training runs in the experiment folders {list(patterns)} under {root}/"
        )
    runs = pd.concat(frames, ignore_index=True)
    # a caption run records a backbone it never used: it shares its setting's (results.py)
    runs = share_backbone(runs)
    table = with_text(compare(aggregate(runs)))
    wide = table.pivot_table(index=KEYS, columns="condition", values="test F1", aggfunc="first")
    wide = wide.reset_index()
    compared = table[(table["condition"] != "synthetic") & (table["paper"] != "—")]
    paper = compared.drop_duplicates(KEYS)[KEYS + ["paper"]]
    wide = wide.merge(paper, on=KEYS, how="left").fillna({"paper": "—"})
    conditions = ordered_conditions(sorted(runs["condition"].unique()))
    gaps = [
        paired_gaps(runs, a, b).assign(condition=a, baseline=b) for a, b in gap_pairs(conditions)
    ]
    gaps = pd.concat(gaps, ignore_index=True) if gaps else pd.DataFrame()
    return {
        "settings": wide,
        "gaps": gaps,
        "runs": runs,
        "conditions": conditions,
        "compared": table,
    }


def table_row(cells: Sequence[object]) -> str:
    """One row of a Markdown table, each cell a value shown as it is (:func:`md_text`)."""
    return "| " + " | ".join(md_text(c) for c in cells) + " |"


def _settings_lines(wide: pd.DataFrame, conditions: Sequence[str]) -> list[str]:
    head = ["model", "variant", "dataset", "training", "train cap", "eval cap"]
    lines = [
        table_row(head + [condition_name(c) for c in conditions] + ["paper"]),
        "|" + "---|" * (len(head) + len(conditions) + 1),
    ]
    for _, r in wide.iterrows():
        cells = [r["model"], r["variant"], r["dataset"], r["training"]]
        cells += [str(r["max_train"] or "all"), str(r["max_eval"] or "all")]
        cells += [r[c] if c in r and isinstance(r[c], str) else "" for c in conditions]
        lines.append(table_row(cells + [r["paper"]]))
    return lines


def _gap_lines(gaps: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    lines = [
        "| model | variant | dataset | training | gap | F1 gap, paired by seed | seeds won | caption leak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, g in gaps.iterrows():
        spread = results_spread(g["gap_std"], g["n_pairs"])
        lines.append(
            table_row(
                [
                    g["model"],
                    g["variant"],
                    g["dataset"],
                    g["training"],
                    f"{condition_name(g['condition'])} − {condition_name(g['baseline'])}",
                    f"{g['gap_mean']:+.2f}{spread} (n={g['n_pairs']})",
                    f"{g['wins']} of {g['n_pairs']}",
                    caption_leak(runs, g["dataset"], g["condition"]),
                ]
            )
        )
    return lines


def verdict(mean: float, std: float, n: int, wins: int) -> str:
    """A paired gap in words: a consistent gain or loss only when every seed agrees and the
    mean is larger than the seed-to-seed spread; otherwise within the noise. One seed measures
    no spread, so it gets no verdict; two that agree are called tentative, not consistent (two
    seeds agree in sign half the time by chance)."""
    if n < 2:
        return "one seed: no verdict yet"
    if wins == n and mean > std:
        return "a consistent gain" if n > 2 else "a gain in both seeds, tentative at two"
    if wins == 0 and -mean > std:
        return "a consistent loss" if n > 2 else "a loss in both seeds, tentative at two"
    return "within seed-to-seed variation"


def conclusion_lines(gaps: pd.DataFrame) -> list[str]:
    """One generated sentence per paired gap (what the numbers say, nothing more)."""
    lines = []
    for _, g in gaps.iterrows():
        lines.append(
            f"- {md_text(g['model'])} ({md_text(g['variant'])}) on {md_text(g['dataset'])}: "
            f"{md_text(condition_name(g['condition']))} minus "
            f"{md_text(condition_name(g['baseline']))} is {g['gap_mean']:+.2f} F1 over "
            f"{counted(g['n_pairs'], 'seed')}, won {g['wins']} of {g['n_pairs']}: "
            f"{verdict(g['gap_mean'], g['gap_std'], g['n_pairs'], g['wins'])}."
        )
    return lines


def caption_leak(runs: pd.DataFrame, dataset: str, condition: str) -> str:
    """The share of test entities whose string occurs in their tweet's caption, as recorded."""
    rows = runs[(runs["dataset"] == dataset) & (runs["condition"] == condition)]
    shares = rows["caption_leak"].dropna().astype(float)
    return f"{shares.iloc[0]:.1%} of test entities" if len(shares) else "—"


def _runs_lines(runs: pd.DataFrame) -> list[str]:
    hardware = sorted(
        {f"{d or '?'}, {c or '?'} CPUs" for d, c in zip(runs["device"], runs["cpu_count"])}
    )
    commits = sorted(
        {
            str(c)[:10] + ("+dirty" if str(c).endswith("+dirty") else "")
            for c in runs["commit"].dropna()
        }
    )
    seeds = ", ".join(str(s) for s in sorted(runs["seed"].unique()))
    torch = ", ".join(sorted(set(map(str, runs["torch"]))))
    return [
        "",
        "## The runs",
        "",
        f"- {len(runs)} runs, seeds {md_text(seeds)}; wall time "
        f"{runs['wall_seconds'].astype(float).sum() / 60:.0f} min in all.",
        f"- Hardware: {md_text('; '.join(hardware))}; torch {md_text(torch)}.",
        f"- Commits: {md_text(', '.join(commits)) or 'unknown'}.",
        "- Each run's folder (config, per-epoch history, metrics) is listed in the "
        "`summary_<experiment>.md` of its experiment.",
        "",
    ]


def check_out(out: Path) -> Path:
    """A report's ``--out``, refused (a ValueError naming it, before anything is written) where
    writing it would replace a file of a run folder (``mner_lib.training.runfolder``'s own files,
    ``predictions_*``, ``checkpoint/``) or put the report into a run folder (one that holds
    ``config.json`` or ``metrics.json``), also through a symbolic link; or where it is there
    and not a regular file (a FIFO would hang the writer, and the command reading it back)."""
    from mner_lib.io.safe_read import file_kind
    from mner_lib.training.runfolder import CHECKPOINT, CONFIG, METRICS, OWNED_FILES

    if os.path.lexists(out) and not Path(out).is_file():
        what = file_kind(os.stat(out).st_mode) if Path(out).exists() else "a broken link"
        raise ValueError(f"--out {out}: {what}, not a regular file")

    for path in dict.fromkeys((Path(out), Path(out).resolve())):
        folder = path.parent.parent if path.parent.name == CHECKPOINT else path.parent
        if path.name in (*OWNED_FILES, CHECKPOINT) or path.name.startswith("predictions_"):
            why = f"{path.name} is the name of a run folder's file"
        elif any(os.path.lexists(folder / name) for name in (CONFIG, METRICS)):
            why = f"{folder} is a run folder (it holds {CONFIG} or {METRICS})"
        else:
            continue
        raise ValueError(f"--out {out}: {why}; a report goes elsewhere, e.g. beside the results")
    return Path(out)


def write_text(out: Path, text: str) -> Path:
    """The Markdown ``text`` (through :func:`mner_lib.io.escape.markdown_guard`) into ``out``,
    which the caller passed through :func:`check_out` before reading anything: atomically (a
    temporary file beside it, renamed over it), so a killed or failing report leaves the old
    report or the new one, never a part; the name is replaced, never opened (a FIFO put there
    since the check cannot hang it). A folder that cannot be written is a one-line error."""
    from mner_lib.training.runfolder import atomic_write_text

    check_out(out)
    atomic_write_text(out, markdown_guard(text))
    return Path(out)


def write_report(root: Path, patterns: Sequence[str], out: Path) -> Path:
    """One markdown report over several experiments (folder name patterns under ``root``)."""
    check_out(out)
    tables = report_tables(root, patterns)
    wide, gaps, runs = tables["settings"], tables["gaps"], tables["runs"]
    lines = [
        f"# Report: {md_text(', '.join(patterns))}",
        "",
        f"Written by {md_code('python -m mner_lib report --experiments ' + ','.join(patterns))} "
        f"from {len(runs)} `metrics.json` files under {md_code(f'{root}/')}. Test F1, mean ± std "
        "over seeds "
        "(sample std). Paper numbers from `mner_lib.reporting.results.paper_table`, each with the row and "
        "table it quotes; rows on synthetic images get none. A capped training set, a capped "
        "test set or few epochs make a row a measurement of this protocol, not a replication.",
        "",
        "## Test F1 per setting",
        "",
        *_settings_lines(wide, tables["conditions"]),
    ]
    if not gaps.empty:
        lines += [
            "",
            "## Paired gaps",
            "",
            PAIRING + " The synthetic probe draws the tweet's entity types "
            "(mner_lib.images.probe). A caption is text an image model wrote from the real image; "
            "its shuffled control gives each tweet another tweet's caption (a seeded derangement), "
            "so caption minus shuffled caption is what this image adds beyond captions in general. "
            "The leak column: the share of test entities whose string occurs in the tweet's own "
            "caption (read in the image or recognised): real visual signal, but not scene "
            "understanding.",
            "",
            *_gap_lines(gaps, runs),
            "",
            "## What the numbers say",
            "",
            "Generated from the paired gaps above: a gap counts as consistent only when every "
            "seed agrees in sign and the mean exceeds the standard deviation of the differences, "
            "with three seeds or more (two that agree are called tentative).",
            "",
            *conclusion_lines(gaps),
        ]
    against = paper_lines(tables["compared"])
    if against:
        lines += ["", "## Against the papers", "", "Generated from the table above.", "", *against]
    return write_text(out, "\n".join(lines + _runs_lines(runs)))


def _protocol(row: pd.Series) -> str:
    caps = (
        f"{int(row['max_train'])} training tweets" if row["max_train"] else "the full training set"
    )
    if row["max_eval"]:
        caps += f", {int(row['max_eval'])} test tweets"
    name = f"{row['protocol']}: " if "protocol" in row and isinstance(row["protocol"], str) else ""
    return md_text(f"{name}{caps}, {row['training']}")


def paper_lines(compared: pd.DataFrame) -> list[str]:
    """One generated sentence per setting that meets a paper row (rows of
    :func:`mner_lib.reporting.results.compare`, a ``protocol`` column used where present), then one that
    sums them up: how many are below the paper and by how much. Synthetic, caption and knowledge
    rows meet no paper row and get no sentence."""
    rows = compared[compared["paper_f1"].notna()]
    rows = rows.sort_values(["model", "dataset", "variant", "training"], kind="stable")
    lines = []
    for _, r in rows.iterrows():
        gap = float(r["f1_mean"]) - float(r["paper_f1"])
        spread = results_spread(r["f1_std"], r["n_seeds"])
        images = "blank images" if r["condition"] == "blank" else condition_name(r["condition"])
        if r["condition"] == "blank" and r["paper_variant"] != "w/o VF":
            images += " (the paper's were real)"
        lines.append(
            f"- {md_text(r['model'])} ({md_text(r['variant'])}) on {md_text(r['dataset'])}, "
            f"{md_text(images)} ({_protocol(r)}): {r['f1_mean']:.2f}{spread} over "
            f"{counted(r['n_seeds'], 'seed')} against the paper's {float(r['paper_f1']):.2f} "
            f"({md_text(r['paper_variant'])}; {md_text(r['paper_table'])}): "
            f"{abs(gap):.2f} F1 {'below' if gap < 0 else 'above'} it."
        )
    full = (rows["max_train"].fillna(0) == 0) & (rows["max_eval"].fillna(0) == 0)
    summaries = [
        _gap_summary(part, what)
        for part, what in ((rows[full], "full"), (rows[~full], "capped"))
        if len(part)
    ]
    return summaries + lines


def _gap_summary(rows: pd.DataFrame, what: str) -> str:
    gaps = rows["f1_mean"].astype(float) - rows["paper_f1"].astype(float)
    below = int((gaps < 0).sum())
    sets = "the full training and test sets" if what == "full" else "a capped training or test set"
    span = f" (by {(-gaps[gaps < 0]).min():.2f} to {(-gaps).max():.2f} F1)" if below else ""
    return (
        f"- With {sets}: {counted(len(rows), 'setting')} "
        f"{'meets' if len(rows) == 1 else 'meet'} a paper row; {below} "
        f"{'is' if below == 1 else 'are'} below the paper's number{span}, "
        f"{len(rows) - below} at or above it."
    )
