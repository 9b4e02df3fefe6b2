"""What a reader installs and opens: one repository setting behind the Colab buttons, the install
cell and the "Running this notebook" box; ranges in the package and the exact environment in
requirements.lock, every lock entry within the ranges and with a wheel for Python 3.12 and 3.13
(asked of PyPI); the bibliography written from the library's citations; the runner keeping
plumbing and local paths off the page; the offline checks of a built book. The install path as
Colab runs it (a fresh environment holding the lowest supported versions) is
tests/test_install_colab.py."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from mner_lib import book
from mner_lib.book import header, references, runner, site
from mner_lib.models import spec

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements.lock"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def percent(chapter: book.Chapter) -> nbformat.NotebookNode:
    return jupytext.read(ROOT / "notebooks" / f"{Path(chapter.notebook).stem}.py")


# ----------------------------------------------------------------------------- one setting
def test_the_ref_is_the_release_tag_of_this_version():
    version = PYPROJECT["project"]["version"]
    rel = header.release()
    assert rel.url == CONFIG["repository"]["url"].rstrip("/")
    assert rel.ref == CONFIG["repository"]["branch"] == f"v{version}", (
        "_config.yml repository.branch must be the release tag v<version> of pyproject.toml: "
        "python -m mner_lib.book.header --release X.Y.Z"
    )


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_install_cell_clones_and_installs_the_configured_repository_at_the_ref(chapter):
    url, ref = CONFIG["repository"]["url"].rstrip("/"), CONFIG["repository"]["branch"]
    for nb in (percent(chapter), nbformat.read(ROOT / "notebooks" / chapter.notebook, 4)):
        first = nb.cells[0]
        assert first.cell_type == "code" and first.metadata.get("tags") == ["remove-cell"]
        assert f'REPO, REF, HOME = "{url}", "{ref}",' in first.source, chapter.notebook
        assert '"--branch", REF, REPO' in first.source and '"install", "-q", HOME]' in first.source
        assert len(first.source.splitlines()) <= 40, "keep the first cell small"
        assert "git+" not in first.source and "@v" not in first.source  # no second copy
        assert "raise SystemExit(" in first.source  # a restart is asked for, not run through


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_title_then_citation_and_running_box_as_generated(chapter):
    nb = percent(chapter)
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("# ")
    box = nb.cells[2]
    assert box.metadata.get("tags") == [header.HEADER_TAG]
    assert box.source == header.header_cell(chapter.key), (
        f"notebooks/{Path(chapter.notebook).stem}.py: its top cells are out of date with "
        "_config.yml, the quick profile or the notebook's defaults: "
        "python -m mner_lib.book.header --write"
    )
    rel = header.release()
    assert "{admonition} Running this notebook" in box.source
    assert rel.colab_url(chapter.notebook) in box.source
    assert f"python -m mner_lib book run --profile quick --only {chapter.key}" in box.source
    assert f"papermill notebooks/{chapter.notebook} " in box.source
    assert "{cite}`" in box.source


def papermill_values(line: str) -> dict:
    """What papermill's command line makes of the ``-p`` / ``-y`` arguments of ``line``."""
    from papermill.cli import _resolve_type

    words = shlex.split(line.replace("\\\n", " "))
    values: dict = {}
    i = 3  # papermill IN OUT
    while i < len(words):
        if words[i] == "-p":
            values[words[i + 1]] = _resolve_type(words[i + 2])
            i += 3
        else:
            assert words[i] == "-y", words[i]
            values.update(yaml.safe_load(words[i + 1]))
            i += 2
    return values


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_papermill_line_gives_the_notebook_what_book_run_injects(chapter, monkeypatch):
    monkeypatch.delenv("MNER_DATA_DIR", raising=False)
    line = header.papermill_line(chapter.key)
    got = {**header.notebook_defaults(chapter.key), **papermill_values(line)}
    injected = book.chapter_parameters(book.load_profile("quick"), chapter.key)
    assert {k: got[k] for k in injected} == injected


def test_papermill_arguments_survive_papermills_type_guessing():
    for value in ("demo", "0.5", "True", 3, 0.25, None, True, [0, 1], {"heads": 8}):
        arg = header._papermill_arg("x", value)
        assert papermill_values(f"papermill a b {arg}") == {"x": value}, arg


def test_release_sets_version_and_ref_together(tmp_path):
    for name in ("pyproject.toml", "_config.yml", "README.md"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    header.set_release("1.2.3", tmp_path)
    rel = header.release(tmp_path)
    assert (rel.version, rel.ref) == ("1.2.3", "v1.2.3")
    assert readme_install(tmp_path) == (rel.url, "v1.2.3")
    with pytest.raises(ValueError, match="not a version like 0.2.0"):
        header.set_release("v1.2", tmp_path)


def test_rewrite_restores_stale_top_cells_and_the_check_passes_on_the_repo(capsys):
    rel = header.release()
    text = (ROOT / "notebooks" / "04_hsn.py").read_text()
    assert header.rewrite_top(text, "hsn", rel) == text
    stale = text.replace("-p device cpu", "-p device cuda")
    assert stale != text and header.rewrite_top(stale, "hsn", rel) == text
    older = text.replace(f'"{rel.ref}"', '"v0.0.1"', 1)
    assert header.rewrite_top(older, "hsn", rel) == text
    _, cells = header._split(text)  # a cell added between the title and the box: box moves up
    moved = text.replace(cells[2], "# %% [markdown]\n# What you will learn\n\n" + cells[2])
    fixed = header.rewrite_top(moved, "hsn", rel)
    assert fixed.count(header.HEADER_TAG) == 1
    assert header._split(fixed)[1][2] == cells[2] and "What you will learn" in fixed
    assert header.main([]) == 0 and "agree" in capsys.readouterr().out


def readme_install(root: Path = ROOT) -> tuple[str, str]:
    """The repository and tag of the README's ``pip install "mner-lib @ git+..."`` line."""
    found = header.README_INSTALL.findall((root / "README.md").read_text())
    assert len(found) == 1, "README.md: one pip install line for the library with ranges"
    return found[0]


def test_readme_installs_the_library_from_the_configured_repository_at_the_ref():
    rel = header.release()
    assert readme_install() == (rel.url, rel.ref), (
        "README.md's pip install line names another repository or tag than _config.yml"
    )


# ----------------------------------------------------------------------------- ranges and the lock
def test_python_311_to_313_are_admitted_and_environment_yml_installs_the_lock():
    project = PYPROJECT["project"]
    spec_ = SpecifierSet(project["requires-python"])
    assert all(v in spec_ for v in ("3.11", "3.11.7", "3.12.9", "3.13.2"))
    assert "3.10.14" not in spec_
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert SpecifierSet(python.removeprefix("python")) == spec_
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == [f"-c {LOCK.name}", "-e .[book,test]"], (
        "environment.yml installs the project with requirements.lock as constraints, nothing else"
    )


def test_make_install_installs_the_lock_and_reruns_when_it_changes():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^LOCK +:= {LOCK.name}$", makefile, re.M)
    recipe = re.search(r"^\$\(STAMP\): (.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe and recipe.group(1).split() == ["pyproject.toml", "$(LOCK)"]
    installs = [line for line in recipe.group(2).splitlines() if "pip install" in line]
    installs = [line for line in installs if "--upgrade pip" not in line]
    assert len(installs) == 2 and all("-c $(LOCK)" in line for line in installs), installs
    assert "torch torchvision" in installs[0] and '-e ".[book,test]"' in installs[1]


def requirements() -> list[str]:
    """Every requirement of ``pyproject.toml``: the library's and its extras'."""
    project = PYPROJECT["project"]
    extras = [r for reqs in project["optional-dependencies"].values() for r in reqs]
    return sorted(set(project["dependencies"]) | set(extras))


#: upper bounds are for known breaks only, each named here
KNOWN_BREAKS = {
    "jupyter-book": "2.x is a different program (MyST-JS) that does not build _config.yml/_toc.yml",
}


@pytest.mark.parametrize("line", requirements())
def test_every_requirement_is_a_range_with_a_lower_bound(line):
    req = Requirement(line)
    operators = {s.operator for s in req.specifier}
    assert ">=" in operators, f"{line}: state the oldest release the code works with (>=)"
    assert not operators & {"==", "===", "~="}, f"{line}: exact versions belong in {LOCK.name}"
    if operators - {">="}:
        assert canonicalize_name(req.name) in KNOWN_BREAKS, (
            f"{line}: an upper bound or exclusion needs a known break (KNOWN_BREAKS)"
        )


def lock_entries() -> list[Requirement]:
    """The entries of ``requirements.lock`` (``name==version`` with an optional marker)."""
    lines = [line for line in LOCK.read_text().splitlines() if line and line[0] not in "# "]
    return [Requirement(line) for line in lines]


def locked_version(entry: Requirement) -> str:
    (spec,) = entry.specifier
    return spec.version


def linux_x86_64(python: tuple[int, int]) -> dict[str, str]:
    """The marker environment of CPython ``python`` on manylinux x86_64 (Colab, CI)."""
    return {
        **default_environment(),
        "python_version": f"{python[0]}.{python[1]}",
        "python_full_version": f"{python[0]}.{python[1]}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
    }


def lock_for(python: tuple[int, int]) -> dict[str, str]:
    """``{name: version}`` of the lock entries that apply to CPython ``python`` on Linux x86_64."""
    env = linux_x86_64(python)
    return {
        canonicalize_name(e.name): locked_version(e)
        for e in lock_entries()
        if e.marker is None or e.marker.evaluate(env)
    }


def test_the_lock_pins_every_entry_once_and_says_how_it_is_written():
    assert "make lock" in LOCK.read_text().split("\n", 3)[1], f"{LOCK.name}: written by make lock"
    for entry in lock_entries():
        assert [s.operator for s in entry.specifier] == ["=="], str(entry)
    for python in ((3, 11), (3, 12), (3, 13)):
        env = linux_x86_64(python)
        names = [e.name for e in lock_entries() if e.marker is None or e.marker.evaluate(env)]
        assert len(names) == len(set(names)), f"Python {python}: a package pinned twice"


@pytest.mark.parametrize("python", [(3, 11), (3, 12), (3, 13)], ids=lambda p: f"{p[0]}.{p[1]}")
def test_every_requirement_is_locked_within_its_range(python):
    """Every requirement of pyproject.toml (library and extras) has its lock entry, and that entry
    lies within the requirement's range: the locked environment is one the ranges admit."""
    locked = lock_for(python)
    for line in requirements():
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in locked, f"{line}: not in {LOCK.name}: make lock"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={locked[name]}, outside {line}: make lock"
        )


#: manylinux x86_64 (Colab, GitHub's runners): glibc 2.35 and older
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in range(35, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
PYPI = "https://pypi.org/simple"


def index_files(name: str) -> list[dict]:
    """The files PyPI serves for ``name`` (PEP 691 JSON), or skip when PyPI is unreachable."""
    request = urllib.request.Request(
        f"{PYPI}/{canonicalize_name(name)}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(answer)["files"]
    except urllib.error.HTTPError:
        raise
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        pytest.skip(f"PyPI ({PYPI}) is unreachable, so wheels cannot be checked: {err}")


def wheel_of(filename: str) -> tuple[str, frozenset[Tag]] | None:
    """A wheel's version and tags; None for a source archive or a malformed name (PyPI still
    serves some from before wheel names were strict, e.g. ``pydantic-0.18-py36+-none-any.whl``)."""
    if not filename.endswith(".whl"):
        return None
    try:
        _, version, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    return str(version), tags


def sdist_version(filename: str) -> str | None:
    """A source archive's version; None for a wheel, an egg, an installer or a malformed name."""
    try:
        return str(parse_sdist_filename(filename)[1])
    except InvalidSdistFilename:
        return None


def wheels_for(files: list[dict], version: str, python: tuple[int, int]) -> list[str]:
    """The wheels of ``version`` that pip would install on CPython ``python``, manylinux."""
    interp = f"cp{python[0]}{python[1]}"
    tags = set(cpython_tags(python, [interp, "abi3", "none"], PLATFORMS))
    tags |= set(compatible_tags(python, interp, PLATFORMS))
    found = []
    for f in files:
        wheel = wheel_of(f["filename"])
        if wheel is None or f.get("yanked"):
            continue
        needs = f.get("requires-python")
        if wheel[0] != version or (needs and f"{python[0]}.{python[1]}" not in SpecifierSet(needs)):
            continue
        if wheel[1] & tags:
            found.append(f["filename"])
    return found


#: pins PyPI has no wheel of at all, only a source archive: each must build a pure-Python
#: (``none-any``) wheel, which installs on any Python 3 (checked below, not assumed)
PURE_SDISTS = {"seqeval", "wordninja"}


def pypi() -> dict[str, list[dict]]:
    """The files PyPI serves for every package in the lock, fetched side by side."""
    names = sorted({canonicalize_name(e.name) for e in lock_entries()})
    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(zip(names, pool.map(index_files, names)))


def lock_entries_for_312_and_313() -> list[tuple[str, str]]:
    return sorted(set(lock_for((3, 12)).items()) | set(lock_for((3, 13)).items()))


def wheel_problems(
    name: str, version: str, files: list[dict], locks: dict[tuple[int, int], dict] | None = None
) -> list[str]:
    """What is wrong with the pin ``name==version`` for CPython 3.12 and 3.13, given the files
    PyPI serves for ``name``: no wheel for a Python whose lock holds the pin, or, for a source-only
    pin (:data:`PURE_SDISTS`), wheels now or no source archive. ``locks``: :func:`lock_for` of
    both Pythons, when the caller has them (each reads the whole lock)."""
    if name in PURE_SDISTS:
        wheels = {w[0] for f in files if (w := wheel_of(f["filename"]))}
        if version in wheels:
            return [f"{name}=={version} has wheels now: drop it from PURE_SDISTS"]
        if version not in {sdist_version(f["filename"]) for f in files}:
            return [f"{name}=={version}: PyPI has neither a wheel nor a source archive of it"]
        return []
    locks = locks or {python: lock_for(python) for python in ((3, 12), (3, 13))}
    return [
        f"{name}=={version}: PyPI has no wheel for CPython {python[0]}.{python[1]} on "
        f"manylinux x86_64; move its pin in {LOCK.name} to a release that has one"
        for python, lock in locks.items()
        if lock.get(name) == version  # else its marker leaves that Python out
        and not wheels_for(files, version, python)
    ]


@pytest.mark.slow
def test_every_lock_entry_has_a_wheel_for_python_312_and_313():
    """Every pin of the lock for Python 3.12 and 3.13 has a wheel on PyPI (a source-only pin: its
    sdist, listed in PURE_SDISTS); the files are fetched from the index once, in one test (one
    test per pin made each test process fetch the whole index, 10 to 25 s of waiting each).

    Fast sibling: :func:`test_wheel_check_sees_a_missing_wheel`."""
    files = pypi()
    locks = {python: lock_for(python) for python in ((3, 12), (3, 13))}
    problems = [
        problem
        for name, version in lock_entries_for_312_and_313()
        for problem in wheel_problems(name, version, files[name], locks)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PURE_SDISTS))
def test_a_source_only_pin_builds_a_pure_python_wheel(name, tmp_path):
    """pip builds the pinned source-only package into a wheel, with no network build backend.

    Fast sibling: :func:`test_wheel_check_sees_a_missing_wheel`."""
    line = f"{name}=={lock_for((3, 12))[name]}"
    index_files(name)  # skips when PyPI is unreachable
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-binary", ":all:",
         "--no-build-isolation", "-q", "-w", str(tmp_path), line],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    tags = parse_wheel_filename(wheel.name)[3]
    assert all(t.abi == "none" and t.platform == "any" for t in tags), wheel.name


@pytest.mark.slow
@pytest.mark.parametrize("python", ["3.12", "3.13"])
def test_the_lock_resolves_to_wheels_for_python_312_and_313_and_is_complete(python, tmp_path):
    """The library, the book and the tests resolved with the lock as constraints for CPython 3.12
    and 3.13 on manylinux x86_64 (uv's resolver, which reads the index's metadata and installs
    nothing): wheels only (the pure-Python source-only entries excepted), and every package the
    resolution needs is a lock entry, so installing with the lock pins the whole environment.

    Fast sibling: :func:`test_every_requirement_is_locked_within_its_range`."""
    index_files("torch")  # skips when PyPI is unreachable
    out = tmp_path / "requirements.txt"
    command = [sys.executable, "-m", "uv", "pip", "compile", str(ROOT / "pyproject.toml")]
    command += ["--extra", "book", "--extra", "test", "-c", str(LOCK), "--python-version", python]
    command += ["--python-platform", "x86_64-manylinux_2_28", "--only-binary", ":all:"]
    for name in sorted(PURE_SDISTS):
        command += ["--no-binary", name]
    command += ["--index-url", PYPI, "--no-header", "--no-annotate", "--quiet", "-o", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"Python {python}: " + proc.stderr[-3000:]
    resolved = {
        canonicalize_name(r.name): locked_version(r)
        for r in map(Requirement, filter(None, out.read_text().splitlines()))
    }
    assert {"torch", "spacy", "jupyter-book", "thinc"} <= resolved.keys()
    locked = lock_for(tuple(int(p) for p in python.split(".")))
    missing = sorted(set(resolved.items()) - set(locked.items()))
    assert not missing, f"Python {python}: the resolution needs {missing}, not in {LOCK.name}"


def test_wheel_check_sees_a_missing_wheel():
    files = [
        {"filename": "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl"},
        {"filename": "torch-2.14.1-cp313-cp313-macosx_11_0_arm64.whl"},
        {"filename": "pure-1.0-py3-none-any.whl", "requires-python": "<3.13"},
        {"filename": "abi-1.0-cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"},
    ]
    assert wheels_for(files, "2.14.1", (3, 13)) == []
    assert wheels_for(files, "2.14.1", (3, 11)) != []
    assert wheels_for(files, "1.0", (3, 12))[0].startswith("pure")
    assert wheels_for(files, "1.0", (3, 13)) == [
        "abi-1.0-cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    ]
    # the slow check's verdict on a pin, from what PyPI serves
    torch = lock_for((3, 12))["torch"]
    only_312 = [{"filename": f"torch-{torch}-cp312-cp312-manylinux_2_28_x86_64.whl"}]
    (problem,) = wheel_problems("torch", torch, only_312)
    assert f"torch=={torch}" in problem and "CPython 3.13" in problem
    both = only_312 + [{"filename": f"torch-{torch}-cp313-cp313-manylinux_2_28_x86_64.whl"}]
    assert wheel_problems("torch", torch, both) == []
    sdist = sorted(PURE_SDISTS)[0]
    pinned = lock_for((3, 12))[sdist]
    assert wheel_problems(sdist, pinned, [{"filename": f"{sdist}-{pinned}.tar.gz"}]) == []
    (problem,) = wheel_problems(sdist, pinned, [{"filename": f"{sdist}-{pinned}-py3-none-any.whl"}])
    assert "has wheels now" in problem


# ----------------------------------------------------------------------------- citations
def test_references_bib_is_written_from_the_spec():
    assert (ROOT / "references.bib").read_text() == references.bibtex(), (
        "references.bib is out of date: python -m mner_lib.book.references --write"
    )
    from pybtex.database import parse_file

    bib = parse_file(str(ROOT / "references.bib"))
    for key, (cite, _) in references.SPEC_CITATIONS.items():
        entry = bib.entries[key]
        assert entry.fields["title"].strip("{}") == cite.title[0].upper() + cite.title[1:]
        if references.NOT_PRINTED in cite.authors:
            assert "author" not in entry.persons and "not printed" in entry.fields["note"]
        else:
            names = [str(p) for p in entry.persons["author"]]
            first = re.sub(r"\s*et al\.$", "", cite.authors).split(",")[0].split()[-1]
            assert first in names[0], (names, cite.authors)
    hsn = bib.entries["tian2021hsn"]
    assert [p.last_names[0] for p in hsn.persons["author"]] == ["Tian", "Sun", "Yu", "Li", "Fu"]
    assert hsn.fields["journal"] == spec.HSN_PAPER.venue and hsn.fields["year"] == "2021"
    for key in ("zhang2018twitter2015", "lu2018twitter2017", "wang2020minilm",
                "tan2019efficientnet", "pennington2014glove", "yu2020umt", "chen2022hvpnet",
                "wang2022ita", "li2023pgim"):  # fmt: skip
        assert key in bib.entries


def test_gmf_says_what_its_text_does_not_print_instead_of_guessing():
    gmf = references.from_citation("gmf", spec.GMF_PAPER)
    assert "author" not in gmf.fields and "booktitle" not in gmf.fields
    assert "not printed" in gmf.fields["note"] and "shared/papers/gmf.txt" in gmf.fields["note"]
    assert "not printed" in references.chapter_citation("gmf")


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_every_chapter_cites_its_sources_with_authors_and_venue(chapter):
    keys = set(re.findall(r"\{cite\}`([^`]+)`", percent(chapter).cells[2].source))
    _, wanted = references.CHAPTER_CITES[chapter.key]
    assert keys == set(wanted)
    bib = {e.key: e for e in references.entries()}
    text = percent(chapter).cells[2].source
    for key in keys:
        fields = bib[key].fields
        if "author" in fields:
            last = fields["author"].split(" and ")[0].split()[-1]
            venue = fields.get("journal") or fields.get("booktitle") or fields["howpublished"]
            assert last in text and venue in text, key


def test_bibliography_page_is_in_the_toc_and_the_config_loads_bibtex_and_offline_mathjax():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for p in toc["parts"] for c in p["chapters"]]
    assert files[-1] == "book/bibliography" and (ROOT / "book/bibliography.md").is_file()
    assert "{bibliography}" in (ROOT / "book/bibliography.md").read_text()
    assert CONFIG["bibtex_bibfiles"] == ["references.bib"]
    assert "sphinx-mathjax-offline" in CONFIG["sphinx"]["extra_extensions"]


# ----------------------------------------------------------------------------- runner plumbing
def test_runner_removes_the_injected_cell_and_local_paths_from_the_record(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("epochs = 2", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "# Parameters\nepochs = 1", metadata={"tags": ["injected-parameters"]}
        ),
        nbformat.v4.new_code_cell("print(folder)"),
    ]
    printed = f"image folder: {runner.ROOT}/mner_lib/demo_data/images in {Path.home()}/x"
    nb.cells[2].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=printed),
        nbformat.v4.new_output("display_data", data={"text/plain": printed, "image/png": "QUJD"}),
    ]  # fmt: skip
    nb.metadata["papermill"] = {"input_path": "/work/x/notebooks/04_hsn.ipynb", "output_path": "/tmp/o.ipynb"}  # fmt: skip
    path = tmp_path / "04_hsn.ipynb"
    nbformat.write(nb, path)
    runner.off_the_page(path, book.chapter("hsn"))
    out = nbformat.read(path, 4)
    assert out.cells[1].metadata["tags"] == ["injected-parameters", "remove-cell"]
    assert out.cells[0].metadata["tags"] == ["parameters"]
    relative = "image folder: mner_lib/demo_data/images in ~/x"
    assert out.cells[2].outputs[0]["text"] == relative
    assert out.cells[2].outputs[1]["data"] == {"text/plain": relative, "image/png": "QUJD"}
    assert out.metadata["papermill"]["input_path"] == "notebooks/04_hsn.ipynb"
    assert "/" not in out.metadata["papermill"]["output_path"].split("book/_executed/")[0]


def test_runner_injects_folders_relative_to_the_checkout(tmp_path):
    values = {"data_dir": str(tmp_path / "data"), "runs_dir": "runs/x", "epochs": 1, "results_dir": ""}  # fmt: skip
    out = runner.portable_paths(values, cwd=tmp_path / "repo")
    assert out == {"data_dir": "../data", "runs_dir": "runs/x", "epochs": 1, "results_dir": ""}


# ----------------------------------------------------------------------------- the built site
def write_site(root: Path, pages: dict[str, str]) -> Path:
    for name, body in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"<html><body>{body}</body></html>")
    return root


def test_site_check_finds_broken_links_missing_anchors_paths_and_plumbing(tmp_path):
    html = write_site(
        tmp_path,
        {
            "index.html": '<a href="notebooks/a.html#sec">ok</a><a href="https://x.org/">ext</a>',
            "notebooks/a.html": '<h1 id="sec">A</h1><a href="../index.html">up</a>'
            '<img src="../_images/a.png"><script src="../_static/mathjax/tex-chtml.js"></script>',
            "_images/a.png": "",
            "_static/mathjax/tex-chtml.js": "",
        },
    )
    assert site.problems(html) == []
    assert site.main([str(html)]) == 0
    write_site(
        tmp_path,
        {
            "notebooks/b.html": '<a href="a.html#nope">x</a><a href="../missing.html">y</a>'
            "<pre>data folder /work/shared/data</pre><div class='cell tag_injected-parameters'>"
            '</div><script src="https://cdn.jsdelivr.net/npm/mathjax@3/tex-chtml.js"></script>',
        },
    )
    found = "\n".join(site.problems(html))
    assert "no anchor #nope" in found and "no file missing.html" in found
    assert "local path '/work/shared/data'" in found
    assert "injected-parameters" in found and "MathJax from the network" in found
    assert site.main([str(html)]) == 1
    assert site.main([str(tmp_path / "nowhere")]) == 2
    with pytest.raises(SystemExit) as stop:  # --help is help, not a folder called "--help"
        site.main(["--help"])
    assert stop.value.code == 0


def test_pages_workflow_builds_the_book_and_checks_its_links():
    workflow = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    steps = [s.get("run", "") for s in workflow["jobs"]["build"]["steps"]]
    assert any("mner_lib book run --profile quick" in s for s in steps)
    assert any("python -m mner_lib.book.site _build/html" in s for s in steps)
    assert any("python -m mner_lib.book.header" in s for s in steps)


@pytest.mark.slow
def test_install_cell_clones_the_tag_and_pip_accepts_the_checkout(tmp_path):
    """The Colab cell as it is, with google.colab faked, the repository a local clone carrying
    the release tag, and pip in --dry-run (the pins are this environment's already).

    Fast sibling: :func:`test_install_cell_clones_and_installs_the_configured_repository_at_the_ref`."""
    rel = header.release()
    repo = tmp_path / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "tag", "-f", rel.ref, "HEAD"], check=True)
    source = percent(book.chapter("hsn")).cells[0].source
    home = tmp_path / "content" / "mner-book"
    source = source.replace(f'"{rel.url}"', repr(repo.as_uri())).replace(
        f'"{header.COLAB_DIR}"', repr(str(home))
    )
    source = source.replace('"install", "-q",', '"install", "--dry-run",')
    assert "--dry-run" in source and repo.as_uri() in source
    script = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    script += source + "\nprint('cwd', os.getcwd())\n"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"cwd {home}" in proc.stdout
    assert (home / "pyproject.toml").is_file() and (home / "notebooks" / "04_hsn.ipynb").is_file()
    assert "Would install mner-lib-" + rel.version in proc.stdout, proc.stdout[-2000:]
