"""The top of every chapter, written from one setting: the Colab install cell, and right after the
title the chapter's citation and its "Running this notebook" box.

**The setting.** ``_config.yml`` ``repository.url`` names the repository and
``repository.branch`` the ref every reader gets: the release tag ``v<version>`` of
``pyproject.toml``, which the release process creates (README, "Releasing"). Jupyter Book derives
the Colab launch buttons and the repository button from the same two keys; this module writes the
notebooks' install cell (clone that tag, install it) and the Colab link of the box from them.

**The box** gives the three ways to run the chapter: Colab (GPU runtime), a checkout
(``make book`` or ``python -m mner_lib book run --profile quick --only <chapter>``) and papermill
(the exact line, with the parameters the quick profile injects, as far as they differ from the
notebook's own). It is a static MyST admonition committed in the notebook and checked by
``tests/test_packaging.py``, so it cannot drift from the profile or the setting.

``python -m mner_lib.book.header --write`` rewrites the top cells of every ``notebooks/*.py`` and
syncs the ``.ipynb`` (after a profile or a notebook's defaults change); ``--check`` says which
notebooks are out of date; ``--release X.Y.Z`` sets the version, the ref and the tag of the
README's install line together, then writes.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mner_lib.book.profiles import chapter_parameters
from mner_lib.book.references import chapter_citation
from mner_lib.book.toc import CHAPTERS, NOTEBOOK_DIR, ROOT, chapter

HEADER_TAG = "book-header"  # the tag of the citation-and-box cell right after the title
COLAB_DIR = "/content/mner-book"  # where the install cell clones the book on Colab


@dataclass(frozen=True)
class Release:
    """The repository and the ref (a tag) readers install and open on Colab."""

    url: str
    ref: str
    version: str

    @property
    def slug(self) -> str:  # owner/name
        return re.sub(r"^https://github\.com/", "", self.url).rstrip("/")

    def colab_url(self, notebook: str) -> str:
        return (
            f"https://colab.research.google.com/github/{self.slug}/blob/{self.ref}/"
            f"notebooks/{notebook}"
        )


def release(root: Path = ROOT) -> Release:
    """The setting: ``_config.yml`` ``repository`` (url, branch = ref) and the package version."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    repo = config.get("repository") or {}
    if not str(repo.get("url", "")).startswith("https://github.com/"):
        raise ValueError(
            f"{root / '_config.yml'}: repository.url must be a https://github.com/ URL"
        )
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    return Release(str(repo["url"]).rstrip("/"), str(repo.get("branch", "")), version)


#: What a Colab kernel may have imported before the install cell runs (import name: distribution),
#: the library's dependencies whose modules carry ``__version__``: after ``pip install`` the cell
#: compares each one the kernel has imported with the version now on disk.
KERNEL_PACKAGES: dict[str, str] = {
    "torch": "torch",
    "torchvision": "torchvision",
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "PIL": "pillow",
    "matplotlib": "matplotlib",
    "seaborn": "seaborn",
    "sklearn": "scikit-learn",
    "transformers": "transformers",
    "tokenizers": "tokenizers",
    "safetensors": "safetensors",
    "spacy": "spacy",
    "tqdm": "tqdm",
}
#: the versions the cell's closing line names
REPORTED = ("torch", "numpy", "pandas", "transformers")


def _kernel_packages_literal(indent: str) -> str:
    """``KERNEL_PACKAGES`` as a dict literal wrapped at 100 columns (continuation under ``{``)."""
    items = [f'"{m}": "{d}"' for m, d in KERNEL_PACKAGES.items()]
    lines, line = [], f"{indent}KERNEL = {{"
    pad = " " * len(line)
    for i, item in enumerate(items):
        piece = item + ("}" if i == len(items) - 1 else ",")
        if len(line) + len(piece) + 1 > 100 and not line.endswith("{"):
            lines.append(line)
            line = pad + piece
        else:
            line += ("" if line.endswith("{") else " ") + piece
    return "\n".join([*lines, line])


#: The install cell; ``@NAME@`` are filled in by :func:`install_cell`.
INSTALL_CELL = """\
# On Colab only: fetch the book at its release and install it beside Colab's own packages; stop if
# pip replaced a package this kernel has already imported. Written from _config.yml
# (repository.url, repository.branch) by `python -m mner_lib.book.header --write`.
import os
import subprocess
import sys


def _install_on_colab():  # a function: its names stay out of the chapter's parameters
    from importlib import invalidate_caches, metadata

    def on_disk(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "none"

    REPO, REF, HOME = "@URL@", "@REF@", "@HOME@"
    did = "found"
    if not os.path.isdir(HOME):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", REF, REPO, HOME], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", HOME], check=True)
        did = "installed"
    invalidate_caches()
@KERNEL@
    loaded = {d: str(sys.modules[m].__version__) for m, d in KERNEL.items() if m in sys.modules}
    stale = [f"{d} {v} (now {on_disk(d)})" for d, v in loaded.items() if v.split("+")[0] != on_disk(d).split("+")[0]]
    if stale:
        raise SystemExit("Restart the session (Runtime → Restart session), then run all again: pip replaced " + ", ".join(stale) + " under this running kernel")
    print(f"mner-lib {on_disk('mner-lib')} {did} in {HOME} ({REF}); with", ", ".join(f"{d} {on_disk(d)}" for d in (@REPORTED@)))
    os.chdir(HOME)


if "google.colab" in sys.modules:
    _install_on_colab()"""


def install_cell(rel: Release) -> str:
    """The first cell of every chapter: on Colab, clone the release and install it (the library
    alone: the book extras would replace the Jupyter packages of Colab's running kernel; its
    dependencies are ranges, so pip keeps the torch, numpy, pandas... Colab has).

    Then it compares the version of each package the kernel has already imported
    (``KERNEL_PACKAGES``; ``__version__`` without its local label, e.g. ``+cu126``) with the
    version now on disk. When pip replaced one it says so in one line and stops (``SystemExit``
    ends "run all") instead of running on mixed versions; otherwise one line says what it did and
    which torch, numpy, pandas and transformers the chapter runs on. Everything happens inside a
    function, so that no name of the cell reaches the chapter's namespace (its parameters check,
    :func:`mner_lib.book.params.user_names`, refuses unknown names)."""
    values = {
        "@URL@": rel.url,
        "@REF@": rel.ref,
        "@HOME@": COLAB_DIR,
        "@KERNEL@": _kernel_packages_literal("    "),
        "@REPORTED@": ", ".join(f'"{d}"' for d in REPORTED),
    }
    cell = INSTALL_CELL
    for key, value in values.items():
        cell = cell.replace(key, value)
    return cell


def notebook_defaults(key: str) -> dict[str, Any]:
    """The values of the chapter's ``parameters`` cell, as committed."""
    import jupytext

    path = NOTEBOOK_DIR / f"{Path(chapter(key).notebook).stem}.py"
    nb = jupytext.read(path)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    namespace: dict[str, Any] = {}
    exec(cell.source, namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


def profile_parameters(key: str, profile: str = "quick") -> dict[str, Any]:
    """What ``book run --profile <profile>`` injects into the chapter with no data folder set
    (the demo corpus), without the values equal to the notebook's own."""
    from mner_lib.book.profiles import load_profile

    values = chapter_parameters(load_profile(profile), key, data_dir="", use_env=False)
    defaults = notebook_defaults(key)
    return {k: v for k, v in values.items() if defaults.get(k, object()) != v}


def _papermill_arg(name: str, value: Any) -> str:
    """``-p name value`` where papermill reads the value back as it is, else ``-y`` YAML."""
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return "-y " + shlex.quote(json.dumps({name: value}))
    text = str(value)
    if isinstance(value, str) and re.fullmatch(r"[-+0-9.eE]+|True|False|None", text):
        return "-y " + shlex.quote(json.dumps({name: value}))
    return f"-p {name} {shlex.quote(text)}"


def papermill_line(key: str, profile: str = "quick") -> str:
    """The papermill command that runs the chapter as ``book run --profile`` does."""
    c = chapter(key)
    args = [_papermill_arg(k, v) for k, v in sorted(profile_parameters(key, profile).items())]
    return " \\\n    ".join([f"papermill notebooks/{c.notebook} out.ipynb", *args])


def running_box(key: str, rel: Release | None = None, profile: str = "quick") -> str:
    """The "Running this notebook" admonition of a chapter (MyST markdown)."""
    from mner_lib.book.params import schema

    rel = rel or release()
    c = chapter(key)
    known = schema(key)
    gpu = ' `device = "auto"` picks the GPU.' if "device" in known else ""
    papermill = papermill_line(key, profile).replace("\n", "\n  ")
    data = ""
    if "dataset" in known:
        data = (
            "\n\n  Add `-p dataset twitter2015` (with `MNER_DATA_DIR` set, or "
            "`-p data_dir <folder>`) to run it on the benchmark instead of the shipped demo "
            "corpus."
        )
    return f"""::::{{admonition}} Running this notebook
:class: tip

- **On Colab** ([open this chapter]({rel.colab_url(c.notebook)}), or the rocket button
  above): choose *Runtime → Change runtime type → GPU*, then run all cells. The first (hidden)
  cell clones the book at `{rel.ref}` and installs it.{gpu}
- **From a checkout**, the whole book: `make book`; this chapter alone, with the `{profile}`
  profile's parameters:

  ```bash
  python -m mner_lib book run --profile {profile} --only {c.key}
  ```

- **With papermill**, from the repository root, the same run by hand:

  ```bash
  {papermill}
  ```{data}
::::"""


def header_cell(key: str, rel: Release | None = None) -> str:
    """The markdown cell right after a chapter's title: its citation and the box."""
    return chapter_citation(key) + "\n\n" + running_box(key, rel)


# ----------------------------------------------------------------------------- the notebooks
def _render(cell_type: str, source: str, tags: list[str]) -> str:
    """One cell in jupytext's percent format (without the file's YAML header)."""
    import jupytext
    import nbformat

    nb = nbformat.v4.new_notebook()
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    nb.cells = [make(source, metadata={"tags": tags})]
    text = jupytext.writes(nb, fmt="py:percent")
    return text[text.index("# %%") :].rstrip("\n") + "\n"


def _split(text: str) -> tuple[str, list[str]]:
    """A percent file as its header and its cells (each from its ``# %%`` line)."""
    starts = [m.start() for m in re.finditer(r"^# %%", text, re.M)]
    cells = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
    return text[: starts[0]], cells


def rewrite_top(text: str, key: str, rel: Release) -> str:
    """The percent source of a chapter with its install cell and header cell as generated."""
    head, cells = _split(text)
    if not cells[1].startswith("# %% [markdown]"):
        raise ValueError(f"chapter {key!r}: the second cell must be the title (markdown)")
    top = [
        _render("code", install_cell(rel), ["remove-cell"]),
        cells[1].rstrip("\n") + "\n",
        _render("markdown", header_cell(key, rel), [HEADER_TAG]),
    ]
    rest = [c for c in cells[2:] if HEADER_TAG not in c.splitlines()[0]]  # moved, never doubled
    return head + "\n".join(top) + "\n" + "".join(rest)


def write_all(root: Path = ROOT) -> list[str]:
    """Rewrite the top cells of every chapter that needs it and sync its ``.ipynb``; returns
    the chapters changed."""
    rel = release(root)
    changed = []
    for c in CHAPTERS:
        path = root / "notebooks" / f"{Path(c.notebook).stem}.py"
        text = path.read_text()
        new = rewrite_top(text, c.key, rel)
        if new != text:
            path.write_text(new)
            subprocess.run(
                [sys.executable, "-m", "jupytext", "--quiet", "--sync", str(path)], check=True
            )
            changed.append(c.key)
    return changed


#: the README's ``pip install "mner-lib @ git+<repository>@<tag>"`` line (its section "Use the
#: library in your own environment"): group 1 the repository, group 2 the tag
README_INSTALL = re.compile(r'pip install "mner-lib @ git\+(\S+)@(v[0-9.]+)"')


def set_release(version: str, root: Path = ROOT) -> None:
    """Set ``pyproject.toml``'s version, ``_config.yml``'s ref and the tag of the README's install
    line to ``v<version>`` together."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError(f"--release: {version!r} is not a version like 0.2.0")
    for name, pattern, repl in (
        ("pyproject.toml", r'^version = "[^"]*"', f'version = "{version}"'),
        ("_config.yml", r"^(  branch:) *\S+", rf"\1 v{version}"),
        ("README.md", README_INSTALL.pattern, rf'pip install "mner-lib @ git+\1@v{version}"'),
    ):
        path = root / name
        text, n = re.subn(pattern, repl, path.read_text(), count=1, flags=re.M)
        if n != 1:
            raise ValueError(f"{path}: no line matching {pattern!r}")
        path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mner_lib.book.header", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite the notebooks' top cells")
    group.add_argument("--release", metavar="X.Y.Z", help="set version and ref, then --write")
    args = parser.parse_args(argv)
    try:
        if args.release:
            set_release(args.release)
        if args.write or args.release:
            print("rewrote:", ", ".join(write_all()) or "nothing (all up to date)")
            return 0
        rel = release()
        stale = [
            c.key
            for c in CHAPTERS
            if (p := NOTEBOOK_DIR / f"{Path(c.notebook).stem}.py").read_text()
            != rewrite_top(p.read_text(), c.key, rel)
        ]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if stale:
        print(f"out of date: {', '.join(stale)}: python -m mner_lib.book.header --write")
        return 1
    print("every chapter's top cells agree with _config.yml and the quick profile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
