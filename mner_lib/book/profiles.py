"""Profiles: which chapters a build executes, with which parameters, in which environment.

``mner_lib/profiles/<name>.yml`` names the chapters, the parameters common to all and per
chapter, the kernel's environment and the cell timeout. :func:`load_profile` checks it whole
before anything runs: a key, chapter or value of another shape is an error naming the file and
the key; its ``env:`` may set only :data:`PROFILE_ENV` and the library's ``MNER_*`` variables
(never ``PATH``, ``LD_PRELOAD``, ...). :func:`chapter_parameters` gives one chapter's values.
"""

from __future__ import annotations

import os
import re
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mner_lib.book.toc import AUTO_DATASET, CHAPTER_KEYS, PROFILE_DIR, chapter


# ----------------------------------------------------------------------------- profiles
@dataclass
class Profile:
    name: str
    description: str
    chapters: list[str]
    common: dict[str, Any] = field(default_factory=dict)
    per_chapter: dict[str, dict[str, Any]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    cell_timeout: int = 900
    #: chapters executed side by side (each in its own kernel); those that show the build's runs
    #: (the comparison, the appendix) always wait for the chapters that train
    jobs: int = 1
    source: str = ""  # the profile file, named in errors


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yml"))


#: what a profile's ``env:`` may set for the notebook kernel: the library's own ``MNER_*``
#: settings (data, cache and image folders, precision, downloads; not ``MNER_BOOK_BATCH``, the
#: runner's) and these. Anything else (``PATH``, ``PYTHONPATH``, ``LD_PRELOAD``, ...) could make
#: the kernel run other code, so a profile that sets it is refused.
PROFILE_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_MNER_ENV = re.compile(r"MNER_[A-Z0-9_]+")
PROFILE_KEYS = (
    "description",
    "chapters",
    "common",
    "chapters_params",
    "env",
    "cell_timeout",
    "jobs",
)
#: the most chapters a profile may execute side by side
MAX_JOBS = 64


def profile_env(env: Any, where: str) -> dict[str, str]:
    """A profile's ``env:`` checked against :data:`PROFILE_ENV` (numbers become strings);
    ``ValueError`` naming ``where`` (the profile file) and the variable otherwise."""
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise ValueError(f"{where}: env: must be a mapping NAME: value, got {reprlib.repr(env)}")
    out = {}
    for name, value in env.items():
        if not isinstance(name, str) or not (
            name in PROFILE_ENV or (_MNER_ENV.fullmatch(name) and name != "MNER_BOOK_BATCH")
        ):
            raise ValueError(
                f"{where}: env: variable {name!r} may not be set by a profile; allowed: "
                f"{', '.join(PROFILE_ENV)} and MNER_* (but MNER_BOOK_BATCH)"
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(
                f"{where}: env: {name}: give a string value, got {reprlib.repr(value)}"
            )
        if "\x00" in str(value):
            raise ValueError(f"{where}: env: {name}: the value holds a NUL character")
        out[name] = str(value)
    return out


def _mapping(value: Any, where: str, key: str) -> dict[str, Any]:
    """``value`` (``None``: empty) as a mapping with string keys, else a ``ValueError``."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(
            f"{where}: {key}: must be a mapping of names to values, got {reprlib.repr(value)}"
        )
    return dict(value)


def _chapter_key(key: Any, where: str, field_: str) -> str:
    try:
        return chapter(key).key
    except ValueError as err:
        raise ValueError(f"{where}: {field_}: {err}") from None


def load_profile(name_or_path: str) -> Profile:
    """A profile by name (``mner_lib/profiles/<name>.yml``) or by path; a file of another shape
    is a ``ValueError`` naming the file and the key."""
    import yaml

    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yml"
    if not path.is_file():
        raise FileNotFoundError(
            f"profile {name_or_path!r} not found ({path}); valid: {', '.join(profile_names())}"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        why = getattr(err, "problem", None) or " ".join(str(err).split())
        raise ValueError(f"{where}: not a valid YAML profile ({why})") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a profile is a mapping of {', '.join(PROFILE_KEYS)}")
    bad = sorted(str(k) for k in data if k not in PROFILE_KEYS)
    if bad:
        raise ValueError(
            f"{path}: unknown {'key' if len(bad) == 1 else 'keys'} {', '.join(bad)}; valid: {', '.join(sorted(PROFILE_KEYS))}"
        )
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise ValueError(f"{path}: description: must be text, got {reprlib.repr(description)}")
    chapters = data.get("chapters")
    chapters = list(CHAPTER_KEYS) if chapters in (None, []) else chapters
    if not isinstance(chapters, list):
        raise ValueError(
            f"{path}: chapters: must be a list of chapter names, got {reprlib.repr(chapters)}"
        )
    per_chapter = {}
    for key, values in _mapping(data.get("chapters_params"), path, "chapters_params").items():
        per_chapter[_chapter_key(key, path, "chapters_params")] = _mapping(
            values, path, f"chapters_params: {key}"
        )
    timeout = data.get("cell_timeout", 900)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(
            f"{path}: cell_timeout: must be a whole number of seconds, got {reprlib.repr(timeout)}"
        )
    jobs = data.get("jobs", 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise ValueError(
            f"{path}: jobs: must be a whole number of chapters from 1 to {MAX_JOBS}, "
            f"got {reprlib.repr(jobs)}"
        )
    return Profile(
        name=path.stem,
        description=description,
        chapters=[_chapter_key(k, path, "chapters") for k in chapters],
        common=_mapping(data.get("common"), path, "common"),
        per_chapter=per_chapter,
        env=profile_env(data.get("env"), str(path)),
        cell_timeout=timeout,
        jobs=jobs,
        source=str(path),
    )


def chapter_parameters(
    profile: Profile, key: str, data_dir: str | None = None, use_env: bool = True
) -> dict[str, Any]:
    """The parameters papermill injects into chapter ``key``: the profile's common values the
    chapter knows, then the chapter's own; ``dataset: auto`` becomes the real dataset when a data
    folder is set (argument or, with ``use_env``, ``$MNER_DATA_DIR``), else the demo corpus."""
    from mner_lib.book.params import ParameterError

    try:
        return _chapter_parameters(profile, key, data_dir, use_env)
    except ParameterError as err:
        if not profile.source:
            raise
        raise ParameterError(f"profile {profile.source}: {err}") from None


def _chapter_parameters(
    profile: Profile, key: str, data_dir: str | None, use_env: bool
) -> dict[str, Any]:
    from mner_lib.book.params import schema, validate

    known = schema(key)
    values = {k: v for k, v in profile.common.items() if k in known}
    values.update(profile.per_chapter.get(key, {}))
    data_dir = data_dir or (os.environ.get("MNER_DATA_DIR") if use_env else "") or ""
    if "data_dir" in known:
        values.setdefault("data_dir", data_dir)
        if values["data_dir"] == "auto":
            values["data_dir"] = data_dir
    if values.get("dataset") == "auto":
        values["dataset"] = AUTO_DATASET if data_dir else "demo"
    if "runs_dir" in known:
        values.setdefault("runs_dir", f"runs/book/{profile.name}")
    return validate(key, values, partial=True)
