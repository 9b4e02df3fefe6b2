"""Sphinx extension of the book: numbers in written text come from the results at build time.

A finding on the first page, or a chapter's discussion, is written by a person; its numbers are
inserted by three roles, each naming a record of :func:`mner_lib.reporting.records.book_records`
(the key is explained there)::

    Real captions help BERT-CRF on Twitter-2015 by
    {finding}`first/bert-crf/twitter2015/caption:blip2/caption-shuffled:blip2` F1 over the
    shuffled control {claim}`gain|first/bert-crf/twitter2015/caption:blip2/caption-shuffled:blip2`.

* ``{finding}`KEY``` inserts the record's main number (a finding's effect, signed; a gap
  decomposition's paper − ours); ``{finding}`KEY|FIELD``` another field (:data:`FIELDS`).
* ``{claim}`VERDICT|KEY``` states the verdict the sentence makes (``gain``, ``loss``, ``noise``,
  ``tentative gain``, ``tentative loss``, ``one seed``; for our row against its paper, a
  baseline's finding or a gap decomposition, ``above``, ``below`` or ``within`` 2 F1). It renders
  as the verdict and the seeds that went its way ("loss, lower in 3 of 3 seeds"), and **the
  build fails** when the record's verdict is another: a sentence whose numbers changed under it
  can no longer say what they do not.
* ``{value}`NAME``` inserts a named number of :func:`book_values` (leak shares, runs finished).

An unknown key, field or verdict is a build error naming the page and the role (the build runs
with warnings as errors). Pages that use the roles are read again when the results change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from docutils import nodes

from mner_lib.reporting.findings import Finding, Kind, Verdict, band
from mner_lib.reporting.gaps import GapDecomposition

#: the results folder the roles read: $MNER_BOOK_RESULTS, else the checkout's results/
RESULTS_ENV = "MNER_BOOK_RESULTS"

#: the fields ``{finding}`KEY|FIELD``` may name, per record type
FIELDS = {
    Finding: ("effect", "abs", "spread", "n", "wins", "reference", "verdict"),
    GapDecomposition: ("total", "ours", "paper", "n", "text_side", "image_gain", "remainder"),
}

#: what a claim may say, against the verdicts it accepts
CLAIMS = {
    "gain": (Verdict.GAIN,),
    "loss": (Verdict.LOSS,),
    "noise": (Verdict.NOISE,),
    "tentative gain": (Verdict.TENTATIVE_GAIN,),
    "tentative loss": (Verdict.TENTATIVE_LOSS,),
    "one seed": (Verdict.ONE_SEED,),
}
#: our row against its paper (:class:`mner_lib.reporting.findings.Band`)
PAPER_CLAIMS = {"above": Verdict.GAIN, "below": Verdict.LOSS, "within": Verdict.NOISE}
_BAND_WORDS = {
    "above": "above the paper",
    "below": "below the paper",
    "within": "within 2 F1 of the paper",
}


class FindingError(KeyError):
    """A role names no record, field or verdict, or claims a verdict the record does not have."""

    def __str__(self) -> str:  # KeyError quotes its message; this one is a sentence
        return str(self.args[0])


def results_dir() -> Path:
    from mner_lib.book.toc import ROOT

    return Path(os.environ.get(RESULTS_ENV) or ROOT / "results")


def results_hash(root: Path) -> str:
    """A digest of every result file the records read (metrics, configs: the ``.json`` files),
    :func:`mner_lib.book.cache.content_hash`'s."""
    from mner_lib.book.cache import content_hash

    return content_hash(root, skip_file=lambda rel: not rel.endswith(".json"))


_CACHE: dict[tuple[str, str], tuple[dict, dict]] = {}


def load(root: Path | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The records and the named values of ``root`` (default :func:`results_dir`), computed
    once per content of the results folder."""
    from mner_lib.reporting.records import book_records, book_values

    root = Path(root or results_dir())
    key = (str(root.resolve()), results_hash(root))
    if key not in _CACHE:
        _CACHE.clear()
        records = book_records(root)
        _CACHE[key] = (records, book_values(root, records))
    return _CACHE[key]


def _record(records: dict[str, Any], key: str) -> Any:
    if key not in records:
        near = sorted(k for k in records if k.split("/")[:3] == key.split("/")[:3])
        hint = f"; keys for {'/'.join(key.split('/')[:3])}: {', '.join(near)}" if near else ""
        raise FindingError(f"no result {key!r} in the recorded runs{hint}")
    return records[key]


def _seeds(n: int) -> str:
    return "1 seed" if n == 1 else f"{n} seeds"


def field_text(record: Any, name: str) -> str:
    """One field of a record as the page shows it (F1 with two decimals; effects signed).
    ``abs_<field>`` shows a decomposition's field without its sign, for a sentence that says
    the direction in words ("3.91 F1 short of the paper")."""
    if name.startswith("abs_") and isinstance(record, GapDecomposition):
        shown = field_text(record, name.removeprefix("abs_"))
        return shown.lstrip("+-")
    allowed = FIELDS[type(record)]
    if name not in allowed:
        raise FindingError(f"no field {name!r}; a {type(record).__name__} has {', '.join(allowed)}")
    if name == "wins":
        return f"{record.wins} of {record.n}"
    if name == "n":
        return str(record.n)
    if name == "verdict":
        return record.verdict.words
    value = abs(record.effect) if name == "abs" else getattr(record, name)
    if value is None:
        raise FindingError(f"{name} is not known for this record (the paper prints no such row)")
    signed = name in ("effect", "total", "text_side", "image_gain", "remainder") or (
        name == "reference" and record.kind == Kind.ABLATION  # the paper's full − ablation
    )
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def finding_text(text: str, records: dict[str, Any]) -> str:
    """``KEY`` or ``KEY|FIELD`` (see the module docstring) as the page shows it."""
    key, _, name = text.partition("|")
    record = _record(records, key.strip())
    default = "effect" if isinstance(record, Finding) else "total"
    return field_text(record, name.strip() or default)


def claim_text(text: str, records: dict[str, Any]) -> str:
    """``VERDICT|KEY`` checked against the record's verdict; returns what the page shows
    (the verdict and its seeds). :class:`FindingError` when they disagree."""
    said, _, key = text.partition("|")
    said, key = said.strip(), key.strip()
    record = _record(records, key)
    if isinstance(record, GapDecomposition):  # where our row sits against the paper's
        side = band(record.ours - record.paper).value
        if said not in PAPER_CLAIMS:
            raise FindingError(f"unknown verdict {said!r}; say one of: {', '.join(PAPER_CLAIMS)}")
        if said != side:
            raise FindingError(
                f"the text claims {said!r} for {key!r}, but our row is {side} the paper's "
                f"({record.ours:.2f} against {record.paper:.2f}): rewrite the sentence"
            )
        return f"{_seeds(record.n)}, {_BAND_WORDS[said]}"
    accepted = CLAIMS.get(said) or (
        (PAPER_CLAIMS[said],) if record.kind == Kind.PAPER and said in PAPER_CLAIMS else None
    )
    if accepted is None:
        allowed = list(CLAIMS) + (list(PAPER_CLAIMS) if record.kind == Kind.PAPER else [])
        raise FindingError(f"unknown verdict {said!r}; say one of: {', '.join(allowed)}")
    if record.verdict not in accepted:
        raise FindingError(
            f"the text claims {said!r} for {key!r}, but the results say "
            f"{record.verdict.value!r} ({record.effect:+.2f}, {record.wins} of {record.n} "
            "seeds): rewrite the sentence"
        )
    if record.kind == Kind.PAPER:
        return f"{_seeds(record.n)}, {_BAND_WORDS[said]}"
    if record.n < 2:  # "one seed": nothing went any way yet
        return record.verdict.value
    return f"{record.verdict.value}, {_direction(record)}"


def _direction(record: Finding) -> str:
    """The seeds that went the verdict's way: ``higher in 2 of 3 seeds`` (the effect above 0),
    for a loss ``lower in 3 of 3 seeds``, so a loss never reads as "0 of 3"."""
    if record.verdict in (Verdict.LOSS, Verdict.TENTATIVE_LOSS):
        return f"lower in {record.n - record.wins} of {_seeds(record.n)}"
    return f"higher in {record.wins} of {_seeds(record.n)}"


def value_text(text: str, values: dict[str, str]) -> str:
    name = text.strip()
    if name not in values:
        raise FindingError(f"no value {name!r}; values: {', '.join(sorted(values))}")
    return values[name]


def _role(render, css: str):
    def role(name, rawtext, text, lineno, inliner, options=None, content=None):
        env = inliner.document.settings.env
        env.mner_findings_docs.add(env.docname)
        records, values = load()
        try:
            shown = render(text, values if render is value_text else records)
        except FindingError as err:
            msg = inliner.reporter.error(f"{{{name}}}`{text}`: {err}", line=lineno)
            return [inliner.problematic(rawtext, rawtext, msg)], [msg]
        return [nodes.inline(rawtext, shown, classes=[css])], []

    return role


def _init(app) -> None:
    env = app.builder.env
    if not hasattr(env, "mner_findings_docs"):
        env.mner_findings_docs = set()


def _outdated(app, env, added, changed, removed) -> list[str]:
    """Pages that use the roles are read again when the results changed since the last build."""
    now = results_hash(results_dir())
    before = getattr(env, "mner_results_hash", None)
    env.mner_results_hash = now
    if before is None or before == now:
        return []
    return sorted(getattr(env, "mner_findings_docs", set()) - set(removed))


def _purge(app, env, docname) -> None:
    getattr(env, "mner_findings_docs", set()).discard(docname)


def setup(app) -> dict[str, Any]:
    app.add_role("finding", _role(finding_text, "mner-finding"))
    app.add_role("claim", _role(claim_text, "mner-claim"))
    app.add_role("value", _role(value_text, "mner-value"))
    app.connect("builder-inited", _init)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
