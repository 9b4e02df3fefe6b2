"""The campaign report's conclusion in words (:func:`conclusion`), each sentence computed from a
table of :mod:`mner_lib.reporting.campaign_report`: what real captions add to each model (against blank
images or text only, and against another tweet's caption), which model uses them best, how near
the GloVe baselines come to their papers and which measured change explains the rest, and where
our ablations agree in sign with the papers'."""

from __future__ import annotations

import pandas as pd

from mner_lib.io.escape import md_text as _m
from mner_lib.reporting.findings import (
    WITHIN,
    Band,
    Finding,
    ablation_findings,
    agrees_with_paper,
    band,
    caption_findings,
    paper_findings,
)
from mner_lib.reporting.report import condition_name


def within_band(gap: float) -> str:
    """Whether ours is within :data:`WITHIN` F1 of the paper, and if not on which side."""
    return {
        Band.WITHIN: "yes",
        Band.ABOVE: "no: above the paper",
        Band.BELOW: "no: below the paper",
    }[band(gap)]


def _explained(row: pd.Series, effects: pd.DataFrame, base: pd.DataFrame) -> str:
    """For a baseline row outside the band: the measured one-change ablation that brings it
    nearest the paper, whether that change alone brings it within the band, the other changes
    that do too (for a row above its paper any handicap can: said), and what the nearest change
    does to the other baseline rows it was measured on (a cause should not push them out)."""
    if abs(row["gap"]) <= WITHIN or effects.empty:
        return ""
    mine = effects[(effects["model"] == row["model"]) & (effects["dataset"] == row["dataset"])]
    if mine.empty:
        return " No one-change ablation has been measured on this row yet."
    distance = (mine["f1"].astype(float) - row["paper"]).abs()
    near = mine.loc[distance.idxmin()]
    gap = float(near["f1"]) - row["paper"]
    verdict_ = (
        f"that change alone brings it within {WITHIN:g} F1 of the paper"
        if abs(gap) <= WITHIN
        else "no single measured change brings it within the band"
    )
    text = (
        f" Of the {len(mine)} one-change ablations measured on it, '{_m(near['change'])}' comes "
        f"nearest the paper: {float(near['f1']):.2f} ({gap:+.2f}, n={near['n']}); {verdict_}."
    )
    also = [
        f"'{_m(e['change'])}' ({float(e['f1']):.2f}, {float(e['f1']) - row['paper']:+.2f})"
        for i, e in mine.iterrows()
        if i != near.name and abs(float(e["f1"]) - row["paper"]) <= WITHIN
    ]
    if also:
        text += f" {' and '.join(also)} also bring it within {WITHIN:g} F1."
    if row["gap"] > 0:
        text += (
            " The row is above its paper, so any change that costs F1 can close the gap: a change "
            "explains it only if it leaves the other rows within the band too."
        )
    others = []
    inside = {(near["model"], near["dataset"]): abs(gap) <= WITHIN}
    same = effects[(effects["change"] == near["change"]) & ~effects.index.isin([near.name])]
    for _, e in same.iterrows():
        paper = base[(base["model"] == e["model"]) & (base["dataset"] == e["dataset"])]
        if paper.empty:
            continue
        off = float(e["f1"]) - float(paper["paper"].iloc[0])
        inside[(e["model"], e["dataset"])] = abs(off) <= WITHIN
        where = "within" if abs(off) <= WITHIN else "outside"
        others.append(
            f"{_m(e['model'])} on {_m(e['dataset'])} {float(e['f1']):.2f} ({off:+.2f}, {where} "
            f"{WITHIN:g} F1, n={e['n']})"
        )
    if others:
        text += f" '{_m(near['change'])}' elsewhere: " + "; ".join(others) + "."
    rows = set(zip(base["model"], base["dataset"]))
    if rows and rows <= set(inside):  # the change was measured on every baseline row
        n_in = sum(inside[r] for r in rows)
        text += (
            f" Measured on all {len(rows)} baseline rows, '{_m(near['change'])}' puts {n_in} of "
            f"them within {WITHIN:g} F1 of their papers."
        )
    return text


def _own_help(best: Finding, plain: list[Finding]) -> str:
    """Whether the caption that beats the shuffled control also beats no caption: if not, the
    margin is the wrong caption's harm more than this caption's help."""
    mine = [f for f in plain if (f.model, f.dataset) == (best.model, best.dataset)]
    if not mine or mine[0].effect > 0:
        return "."
    g = mine[0]
    return (
        f"; but its caption does not beat {condition_name(g.baseline)} "
        f"({g.effect:+.2f}), so the margin is the shuffled caption's harm more than this "
        "caption's help."
    )


def _own_share(top: Finding, control: Finding) -> str:
    """How much of a caption's gain over blank images needs this tweet's own caption: the gain
    over another tweet's caption, as a share of the gain over blank."""
    c = control.effect
    moves = f"gains {c:+.2f}" if c > 0 else f"does no better: {c:+.2f}"
    said = f"; against another tweet's caption it {moves} (n={control.n}), so "
    if top.effect <= 0:
        return "."
    if c <= 0:
        return said + "none of the gain needs this photo's caption: any tweet's caption gives it."
    share = min(c / top.effect, 1.0)
    if share < 0.5:
        return said + f"most of the gain ({1 - share:.0%}) comes with any tweet's caption and " \
            f"{share:.0%} needs this photo's own."  # fmt: skip
    return said + f"most of the gain ({share:.0%}) needs this photo's own caption."


def _ablation_sentence(a: Finding) -> str:
    """What removing a component does in our runs (full minus ablation, paired by seed), and
    whether that agrees with the paper's full minus ablation: a sign is compared only where our
    seeds agree beyond their spread (:func:`mner_lib.reporting.findings.judge`)."""
    said = (
        f"- {_m(a.model)} {_m(a.baseline)} on {_m(a.dataset)}: the full model minus the ablation is "
        f"{a.effect:+.2f} F1 in our runs ({a.verdict.words}, full better in {a.wins} of {a.n} "
        "seeds)"
    )
    if a.reference is None:
        return said + "; the paper reports no such row."
    said += f", {a.reference:+.2f} in the paper's"
    agree = agrees_with_paper(a)
    if agree is None:
        return said + "; ours can tell no sign, so it neither confirms nor contradicts the paper's."
    return said + (
        f"; the sign {'agrees with' if agree else 'disagrees with'} the paper's (ours read BLIP-2 "
        "captions, the paper's model its images)."
    )


def _against(baseline: str) -> str:
    """A gap's baseline in a sentence: the shuffled caption named as the control in words, not
    with the tables' parenthesis (which would sit beside the verdict's)."""
    if baseline.startswith("caption-shuffled"):
        return "the shuffled-caption control"
    return condition_name(baseline)


def _caption_lines(findings: list[Finding]) -> list[str]:
    """Per model and dataset, each gap of the real caption; then the model that uses the
    caption's content best (against the control) and the largest gain over no caption."""
    caption = [f for f in findings if f.condition.startswith("caption:")]
    lines = []
    for key in dict.fromkeys((f.model, f.dataset) for f in caption):
        parts = [
            f"{f.effect:+.2f} against {_against(f.baseline)} ({f.verdict.words}, caption better "
            f"in {f.wins} of {f.n} seeds)"
            for f in caption
            if (f.model, f.dataset) == key
        ]
        lines.append(
            f"- Real BLIP-2 captions for {_m(key[0])} on {_m(key[1])}: " + "; ".join(parts) + "."
        )
    control = [f for f in caption if f.baseline.startswith("caption-shuffled")]
    plain = [f for f in caption if f not in control]
    if control:
        best = max(control, key=lambda f: f.effect)
        lines.append(
            f"- The model that uses the caption's content best (caption minus shuffled caption) is "
            f"{_m(best.model)} on {_m(best.dataset)}: {best.effect:+.2f} F1, {best.verdict.words}"
            + _own_help(best, plain)
        )
    if plain:  # over blank images (text only for a model without an image input)
        top = max(plain, key=lambda f: f.effect)
        mine = [f for f in control if (f.model, f.dataset) == (top.model, top.dataset)]
        lines.append(
            f"- The largest gain of a caption over {condition_name(top.baseline)}: "
            f"{_m(top.model)} on {_m(top.dataset)}, {top.effect:+.2f} F1, {top.verdict.words}"
            + (_own_share(top, mine[0]) if mine else f"; {_m(top.model)} has no shuffled-caption "
               "control in the plan, so the gain may come from caption text as such, not from "
               "this photo's.")
        )  # fmt: skip
    return lines


def _paper_lines(base: pd.DataFrame, effects: pd.DataFrame) -> list[str]:
    lines = []
    for f, (_, r) in zip(paper_findings(base), base.iterrows()):
        side = band(f.effect)
        where = "within" if side is Band.WITHIN else "outside"
        note = {Band.WITHIN: "", Band.ABOVE: " (above the paper)", Band.BELOW: " (below the paper)"}
        lines.append(
            f"- {_m(f.model)} on {_m(f.dataset)} reaches {r['mean']:.2f} against the paper's "
            f"{f.reference:.2f} ({f.n} seeds): {f.effect:+.2f}, {where} {WITHIN:g} F1"
            f"{note[side]}." + _explained(r, effects, base)
        )
    return lines


def conclusion(gaps: pd.DataFrame, base: pd.DataFrame, effects: pd.DataFrame,
               ablations: pd.DataFrame) -> list[str]:  # fmt: skip
    """The findings in words: each sentence renders a :class:`Finding` record (or, for a
    baseline outside the band, the measured changes that explain it)."""
    lines = _caption_lines(caption_findings(gaps)) if not gaps.empty else []
    lines += _paper_lines(base, effects)
    if not effects.empty:
        top = effects.loc[effects["mean"].abs().idxmax()]
        lines.append(
            f"- Of the one-change baseline ablations, '{_m(top['change'])}' moves {_m(top['model'])} on "
            f"{_m(top['dataset'])} most: {top['mean']:+.2f} F1 (n={top['n']})."
        )
    lines += [_ablation_sentence(a) for a in ablation_findings(ablations)]
    return lines or ["- No finished pair of runs yet."]
