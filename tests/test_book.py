"""The book: profiles, the runner's plumbing, the notebooks as committed, and a real build read in
headless Chromium (``book run --profile quick``, what ``make book`` runs; the chapters whose models
exist)."""

from __future__ import annotations

import json
import re
import tempfile
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from mner_lib import book
from mner_lib.book import grid as book_grid
from mner_lib.book import header, site
from mner_lib.book.params import ParameterError
from tests import browser

ROOT = Path(__file__).resolve().parent.parent


def read(notebook: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / notebook, as_version=4)


# ----------------------------------------------------------------------------- the sources
@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_notebook_committed_without_outputs_and_shaped_right(chapter):
    nb = read(chapter.notebook)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), (
        "outputs must be stripped"
    )
    first = code[0]
    assert 'if "google.colab" in sys.modules' in first.source, "first cell: the Colab-only install"
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    after = nb.cells[tagged[0] + 1]
    assert f'_params.check(globals(), "{chapter.key}")' in after.source, (
        "validation right after parameters"
    )
    assert not re.search(
        r"^class \w+\(.*(Module|Tagger)", "\n".join(c.source for c in code), re.M
    ), "notebooks define no model classes"


def cell_text(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_notebook_and_its_percent_source_hold_the_same_cells(chapter):
    import jupytext

    stem = Path(chapter.notebook).stem
    text = ROOT / "notebooks" / f"{stem}.py"
    assert text.is_file(), (
        f"{text} is missing: jupytext --set-formats ipynb,py:percent {stem}.ipynb"
    )
    nb = read(chapter.notebook)
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    paired = jupytext.read(text)
    assert cell_text(paired) == cell_text(nb), (
        f"notebooks/{stem}.py and notebooks/{chapter.notebook} differ: "
        f"run `jupytext --sync notebooks/{stem}.py` (notebooks/README.md)"
    )


def test_drift_between_a_pair_is_seen(tmp_path):
    import jupytext

    nb = read(book.CHAPTERS[3].notebook)
    text = jupytext.reads(jupytext.writes(nb, fmt="py:percent"), fmt="py:percent")
    assert cell_text(text) == cell_text(nb)
    edited = jupytext.writes(nb, fmt="py:percent").replace("epochs = 3", "epochs = 5", 1)
    assert cell_text(jupytext.reads(edited, fmt="py:percent")) != cell_text(nb)


def test_every_percent_source_is_a_chapter():
    chapters = {Path(c.notebook).stem for c in book.CHAPTERS}
    assert {p.stem for p in (ROOT / "notebooks").glob("*.py")} == chapters
    assert {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")} == chapters


#: characters of code a cell's box shows without scrolling in a 1280-pixel window: the theme
#: (sphinx-book-theme 1.3 on pydata-sphinx-theme 0.17) gives the left sidebar 20% (256 px) and
#: the page's contents 17rem (272 px), so the article is 752 px; less its padding (2 x 2rem),
#: MyST-NB's cell border (3 + 1 px) and the code's padding (2 x 1rem), the code is 652 px wide
#: (640 px beside a 15 px scrollbar), at 0.875 x 16 px DejaVu Sans Mono (0.602 em: 8.43 px a
#: character): 77 characters, 75 beside a scrollbar
CODE_BOX_CHARS = 75


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_every_line_of_the_parameters_cell_fits_the_code_box(chapter):
    """A reader sees every parameter's comment whole: longer explanations go in the Markdown
    above the cell."""
    nb = read(chapter.notebook)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    long = [line for line in cell.source.splitlines() if len(line) > CODE_BOX_CHARS]
    assert not long, f"{chapter.notebook}: wider than {CODE_BOX_CHARS} characters: {long}"


#: a plural left to the reader (``seed(s)``): the book spells the number out (mner_lib.io.plural)
HEDGED = re.compile(r"[^\W\d_]\(s\)")


def words_of(percent_source: str) -> list[tuple[int, str]]:
    """The text a reader may see in a chapter's percent source, by line: its Markdown (comment
    lines in that format), the comments of its code and its strings (what it prints); not its
    code (``len(s)`` is code)."""
    import io
    import tokenize

    kinds = {tokenize.COMMENT, tokenize.STRING} | (
        {tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set()
    )
    tokens = tokenize.generate_tokens(io.StringIO(percent_source).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type in kinds]


def test_words_of_a_chapter_are_its_markdown_comments_and_strings():
    source = (
        '# %% [markdown]\n# over 3 seed(s)\n\n# %%\nn = len(s)  # run(s)\nprint(f"{n} tweet(s)")\n'
    )
    hedged = [line for line, text in words_of(source) if HEDGED.search(text)]
    assert hedged == [2, 5, 6]


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_no_chapter_hedges_a_plural(chapter):
    """``1 seed``, ``3 seeds``: never ``seed(s)`` in a chapter's text or what it prints (the site
    check, mner_lib.book.site.hedged_plurals, reads the built pages)."""
    path = ROOT / "notebooks" / f"{Path(chapter.notebook).stem}.py"
    hedged = [
        f"{path.name}:{line}: {text.strip()}"
        for line, text in words_of(path.read_text())
        if HEDGED.search(text)
    ]
    assert not hedged, hedged


def test_no_book_page_hedges_a_plural():
    pages = sorted((ROOT / "book").glob("*.md"))
    assert pages
    found = [
        f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
        for page in pages
        for number, line in enumerate(page.read_text().splitlines(), 1)
        if HEDGED.search(line)
    ]
    assert not found, found


@pytest.mark.parametrize("chapter", book.CHAPTERS, ids=lambda c: c.key)
def test_no_cell_changes_the_parameters_after_they_are_checked(chapter):
    code = [c.source for c in read(chapter.notebook).cells if c.cell_type == "code"]
    for source in code:
        assert not re.search(r"^\s*P\[[^\]]+\]\s*=", source, re.M), source
        assert "P.update(" not in source, source


@pytest.mark.parametrize("key", ["foundations", "cwi", "hsn", "trimod", "gmf"])
def test_training_chapters_train_in_one_short_visible_cell(key):
    nb = read(book.chapter(key).notebook)
    calls = [c for c in nb.cells if f'train_and_tabulate(P, "{key}")' in c.source]
    assert len(calls) == 1
    assert not calls[0].metadata.get("tags"), "the reader sees the call"
    assert len(calls[0].source.strip().splitlines()) <= 4
    assert not any("train_seeds" in c.source for c in nb.cells)


def test_colab_cell_pins_this_version_and_the_configured_repository():
    """The install cell clones the configured repository at the release tag of this version
    (tests/test_packaging.py checks the whole top of each notebook against the setting)."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    assert repo["branch"] == f"v{version}"
    for chapter in book.CHAPTERS:
        source = read(chapter.notebook).cells[0].source
        assert f'"{repo["url"]}", "v{version}"' in source, chapter.notebook


def test_config_and_toc_build_only_toc_files_with_the_four_parts():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["only_build_toc_files"] is True
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert [p["caption"] for p in toc["parts"]] == [
        "Foundations",
        "Papers",
        "Comparison",
        "Reproducibility appendix",
        "References",
    ]
    files = [c["file"] for p in toc["parts"] for c in p["chapters"]]
    assert files == [f"notebooks/{Path(c.notebook).stem}" for c in book.CHAPTERS] + [
        "book/bibliography"
    ]
    assert (ROOT / f"{toc['root']}.md").is_file()


# ----------------------------------------------------------------------------- profiles
@pytest.mark.parametrize("name", ["quick", "cpu", "replicate", "smoke"])
def test_every_profile_gives_valid_parameters_to_its_chapters(name):
    profile = book.load_profile(name)
    assert profile.chapters
    for key in profile.chapters:
        values = book.chapter_parameters(profile, key, data_dir=None)
        if "dataset" in values:
            assert values["dataset"] != "auto"


def test_auto_dataset_follows_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MNER_DATA_DIR", raising=False)
    profile = book.load_profile("quick")
    assert book.chapter_parameters(profile, "task_data")["dataset"] == "demo"
    values = book.chapter_parameters(profile, "task_data", data_dir=str(tmp_path))
    assert values["dataset"] == book.AUTO_DATASET and values["data_dir"] == str(tmp_path)
    cpu = book.load_profile("cpu")
    assert book.chapter_parameters(cpu, "hsn", data_dir=str(tmp_path))["dataset"] == "twitter2015"


def test_profile_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="valid: cpu, quick, replicate, smoke"):
        book.load_profile("fast")
    bad = tmp_path / "bad.yml"
    bad.write_text("chapters: [hsn]\nepochs: 3\n")
    with pytest.raises(ValueError, match="unknown key epochs;"):
        book.load_profile(str(bad))
    bad.write_text("chapters: [hsm]\n")
    with pytest.raises(ValueError, match="unknown chapter 'hsm'; valid: task_data"):
        book.load_profile(str(bad))
    bad.write_text("chapters: [hsn]\ncommon: {epochs: 0}\n")
    with pytest.raises(ParameterError, match="epochs: must be at least 1, got 0"):
        book.chapter_parameters(book.load_profile(str(bad)), "hsn")


# ----------------------------------------------------------------------------- runner plumbing
def test_grid_parsing_and_points():
    grid = book.parse_grid("models=hsn datasets=twitter2015,twitter2017 seeds=0,1 conditions=blank")
    points = book.grid_points(grid)
    assert len(points) == 4
    assert {
        "models": ["hsn"],
        "dataset": "twitter2015",
        "seeds": [0],
        "condition": "blank",
    } in points
    assert (
        book.point_name({"condition": "missing:0.5", "seeds": [1]})
        == "condition-missing_0.5__seeds-1"
    )
    with pytest.raises(ValueError, match="unknown grid key 'model'; valid: models"):
        book.parse_grid("model=hsn")


def test_failure_message_names_notebook_cell_and_error(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("train(epochs=-1)\nmore()"),
    ]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])
    ]
    out = tmp_path / "04_hsn.ipynb"
    nbformat.write(nb, out)

    class Failure(Exception):
        cell_index, exec_count, ename, evalue = 1, 2, "ValueError", "epochs must be at least 1"

    message = book.failure_message(book.chapter("hsn"), out, Failure())
    assert "chapter 'hsn' (notebooks/04_hsn.ipynb) failed in cell 1 (execution count 2)" in message
    assert "ValueError: epochs must be at least 1" in message
    assert "train(epochs=-1)" in message and str(out) in message


def test_stub_page_says_how_to_run_the_chapter(tmp_path):
    book.stub_notebook(book.chapter("gmf"), tmp_path / "06_gmf.ipynb", "quick")
    text = nbformat.read(tmp_path / "06_gmf.ipynb", as_version=4).cells[0].source
    assert "not executed in this build" in text and "--profile quick --only gmf" in text


FIGURE = (
    '<figure class="mner-figure align-default" id="fig-x"><img alt="{alt}" src="../_images/ab.png"/>'
    '<figcaption><p><span class="caption-number">Fig. {n} </span><span class="caption-text">x'
    "</span></p></figcaption></figure>"
)


def test_page_problems_spots_errors_and_missing_figures():
    figure = FIGURE.format(alt="Bar chart of F1 per type: PER 50.0.", n=3)
    ok = f'<div class="cell_output docutils container">{figure}</div></div></div>'
    assert browser.page_problems(ok) == []
    err = (
        '<div class="cell_output docutils container"><pre>Traceback (most recent call last)\n'
        "ValueError: boom</pre></div></div></div>"
    )
    assert "an output cell shows an error" in browser.page_problems(err)
    assert "no figure (img of a notebook output)" in browser.page_problems(err)
    assert "an output cell shows a traceback" in browser.page_problems(
        '<div class="output traceback highlight"></div>'
    )


def test_figure_problems_want_numbered_figures_with_alt_text_in_the_article():
    good = FIGURE.format(alt="Heat map of gates.", n=2)
    logo = '<img alt="" src="../_static/logo.png">'  # the theme's, outside the article
    assert browser.figure_problems(f"{logo}<article>{good}</article>") == []
    bare = '<img alt="../_images/ab.png" src="../_images/ab.png"/>'  # Sphinx's alt when none
    assert browser.figure_problems(f"<article>{bare}</article>") == [
        "an image outside a numbered figure: ab.png"
    ]
    assert browser.figure_problems(f"<article>{FIGURE.format(alt='', n=1)}</article>") == [
        "an image without alt text: ab.png"
    ]
    named = FIGURE.format(alt="../_images/ab.png", n=1)
    assert browser.figure_problems(named) == ["an image without alt text: ab.png"]
    unnumbered = FIGURE.format(alt="A chart.", n=1).replace("Fig. 1", "")
    assert browser.figure_problems(unnumbered) == ["a figure without a number"]


# ----------------------------------------------------------------------------- the built book
#: what every model chapter of the quick book must show: a model that learned the demo corpus
MIN_DEMO_F1 = 60.0
MIN_CURVE_POINTS = 3
MODEL_CHAPTERS = {"foundations": "bilstm-crf", "cwi": "cwi-attention", "hsn": "hsn",
                  "trimod": "trimod", "gmf": "gmf"}  # fmt: skip
#: where the book test keeps its screenshots of the built chapters (ignored by git)
SHOTS_DIR = ROOT / "_build" / "book_test"


def runnable_chapters() -> list[str]:
    """The quick profile's chapters (what ``make book`` runs) whose model modules import."""
    from mner_lib.models import get_model_class

    keys = []
    for key in book.load_profile("quick").chapters:
        if key in MODEL_CHAPTERS:
            try:
                get_model_class(MODEL_CHAPTERS[key])
            except (ImportError, ValueError):
                continue
        keys.append(key)
    return keys


def live_table(dom: str) -> list[dict]:
    """The rows of the table of this build's runs (``show_table``: its ``± std`` and ``n_seeds``
    columns tell it from the recorded-runs tables)."""
    tables = [
        t for t in browser.html_tables(dom) if t and {"test F1", "± std", "n_seeds"} <= set(t[0])
    ]
    assert len(tables) == 1, f"{len(tables)} tables of this build's runs on the page"
    return tables[0]


def test_quick_profile_trains_every_model_chapter_on_the_demo_corpus(monkeypatch, tmp_path):
    # a data folder is set: the data chapter follows it, the model chapters train on the demo
    monkeypatch.setenv("MNER_DATA_DIR", str(tmp_path))
    profile = book.load_profile("quick")
    assert book.chapter_parameters(profile, "task_data")["dataset"] == book.AUTO_DATASET
    for key in MODEL_CHAPTERS:
        values = book.chapter_parameters(profile, key)
        assert values["dataset"] == "demo", key
        assert values["epochs"] >= MIN_CURVE_POINTS, key


@pytest.mark.slow
def test_quick_book_trains_every_model_and_renders_in_chromium(tmp_path, monkeypatch):
    """``make book`` as a reader sees it: every chapter renders without errors and with figures,
    and every model chapter's table of this build's runs shows a model that learned the demo
    corpus (test F1 >= 60) with a dev-F1 curve of at least 3 epochs. Screenshots of every page
    stay in ``_build/book_test/`` to look at.

    Fast sibling: :func:`tests/test_book_cache.py::test_a_changed_notebook_executes_that_chapter_and_those_showing_its_runs`
    (the runner and the build with a fake papermill and jupyter-book)."""
    if browser.chromium() is None:
        pytest.skip("headless chromium is not installed (apt-get install -y chromium)")
    monkeypatch.delenv("MNER_DATA_DIR", raising=False)  # the data chapter on the demo corpus too
    keys = runnable_chapters()
    runs = tmp_path / "runs"
    report = book.run_book(
        "quick",
        only=keys,
        executed_dir=tmp_path / "executed",
        output=tmp_path,
        # the committed results (read only): the real-results tables a reader sees
        overrides={"runs_dir": str(runs), "results_dir": str(ROOT / "results")},
        log=lambda *_: None,
    )
    assert sorted(report.executed) == sorted(keys)
    html = report.html
    assert (html / "index.html").is_file()
    profile_dir = Path(tempfile.mkdtemp(dir=tmp_path))
    problems, scores, doms, layouts = {}, {}, {}, {}
    for chapter in book.CHAPTERS:
        page = html / "notebooks" / chapter.notebook.replace(".ipynb", ".html")
        assert page.is_file(), f"{page} was not built"
        shot = SHOTS_DIR / f"{Path(chapter.notebook).stem}.png"
        if chapter.key in keys:  # its DOM, a screenshot and its layout from one Chromium start
            doms[page], layouts[chapter.key] = browser.view(page, shot, profile_dir, (1280, 9000))
        else:
            doms[page] = browser.dom_and_screenshot(page, shot, profile_dir, size=(1280, 9000))
        dom = doms[page]
        assert chapter.title.split(":")[0] in dom
        colab = header.release().colab_url(chapter.notebook)
        assert colab in page.read_text(), f"{page}: the Colab button is not {colab}"
        if chapter.key not in keys:
            assert "not executed in this build" in dom
            continue
        found = browser.page_problems(dom)
        if chapter.key == "reproducibility":  # its figure needs recorded runs; errors still count
            found = [p for p in found if not p.startswith("no figure")]
        if found:
            problems[chapter.key] = found
        if chapter.key in MODEL_CHAPTERS:
            scores[chapter.key] = {row["model"]: float(row["test F1"]) for row in live_table(dom)}
    assert not problems, problems
    assert_findings_are_on_the_page(html, keys, profile_dir, doms)
    # off the page: no broken internal link or anchor, no local path, no injected parameters,
    # MathJax from the book itself; equations typeset without network
    assert site.problems(html, (str(ROOT), str(Path.home()))) == []
    math_pages = [p for p in doms if 'class="math' in p.read_text()]
    assert math_pages, "no built chapter has an equation to check"
    assert "mjx-container" in doms[math_pages[0]], math_pages[0]
    assert_tables_fit_at_1280(layouts)
    trained = [k for k in keys if k in MODEL_CHAPTERS]
    assert sorted(scores) == sorted(trained)
    low = {k: s for k, s in scores.items() if not s or min(s.values()) < MIN_DEMO_F1}
    assert not low, f"models that did not learn the demo corpus (test F1 < {MIN_DEMO_F1}): {low}"
    for key in trained:
        histories = sorted((runs / key).glob("**/history.jsonl"))
        assert histories, f"{key}: no run folder under {runs / key}"
        for path in histories:
            curve = [json.loads(line)["dev_f1"] for line in path.read_text().splitlines()]
            assert len(curve) >= MIN_CURVE_POINTS, f"{path}: a dev-F1 curve of {len(curve)} points"
    assert (SHOTS_DIR / "04_hsn.png").stat().st_size > 10_000


def assert_findings_are_on_the_page(
    html: Path, keys: list[str], profile_dir: Path, doms: dict[Path, str]
) -> None:
    """Issue 28 as a reader sees it: the first page states the findings, with numbers inserted
    at build time and a link to the evidence; each model chapter shows its definitive table and
    a discussion with numbers; the comparison shows the verdicts, the gap decomposition and the
    per-tweet section. Screenshots at 1280 px stay in ``_build/book_test/``. ``doms``: the
    chapters' rendered DOMs, by page (one Chromium start per page)."""
    index = html / "book" / "intro.html"  # index.html redirects here
    shot = SHOTS_DIR / "index.png"
    dom = browser.dom_and_screenshot(index, shot, profile_dir, size=(1280, 5000))
    assert 'id="what-this-book-found"' in dom
    found = dom.split('id="what-this-book-found"', 1)[1].split('id="how-to-read-it"', 1)[0]
    assert found.count('class="mner-claim"') >= 6 and found.count('class="mner-finding"') >= 10
    assert found.count('href="../notebooks/') >= 5, "a finding without a link to its evidence"
    assert "mner_book_2026" in dom and "CITATION.cff" in dom  # the BibTeX entry
    for key in keys:
        dom = doms[html / "notebooks" / book.chapter(key).notebook.replace(".ipynb", ".html")]
        if key in MODEL_CHAPTERS:
            assert "Discussion." in dom and 'class="mner-finding"' in dom, key
            assert "real-image caption (BLIP-2)" in dom or key == "foundations", key
        if key == "comparison":
            for heading in ("The verdicts", "How far from the paper", "tweet by tweet",
                            "Discussion", "What is still to run"):  # fmt: skip
                assert heading in dom, heading


def assert_tables_fit_at_1280(layouts: dict[str, dict]) -> None:
    """Every executed chapter at 1280 px (``layouts``: :func:`tests.browser.view`'s measurement,
    by chapter key): the page does not scroll sideways and its real-results tables
    (``mner-table``) fit the text column."""
    from mner_lib.book.tables import TABLE_CLASS

    wide, missing = {}, []
    for key, measured in layouts.items():
        assert measured["viewport"] == 1280, (key, measured["viewport"])
        assert measured["scroll_width"] <= measured["viewport"], (key, measured["scroll_width"])
        ours = [t for t in measured["tables"] if TABLE_CLASS in t["cls"]]
        if key in ("foundations", "hsn", "trimod", "comparison") and not ours:
            missing.append(key)
        too_wide = [t for t in measured["wide_tables"] if TABLE_CLASS in t["cls"]]
        if too_wide:
            wide[key] = too_wide
    assert not missing, f"no real-results table on {missing}"
    assert not wide, f"tables wider than the text column at 1280 px: {wide}"


def test_layout_sees_a_table_wider_than_the_page(tmp_path):
    if browser.chromium() is None:
        pytest.skip("headless chromium is not installed (apt-get install -y chromium)")
    import pandas as pd

    from mner_lib.book.tables import STYLE, TABLE_CLASS, html_table

    cells = pd.DataFrame({f"column {i}": ["unbreakable" * 8] for i in range(8)})
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><article style='width:600px'>"
        f"{cells.to_html()}{STYLE}{html_table(cells)}</article></body></html>"
    )
    measured = browser.layout(page, tmp_path / "profile", width=1280)
    assert len(measured["tables"]) == 2
    assert [TABLE_CLASS in t["cls"] for t in measured["wide_tables"]] == [False]
    ours = next(t for t in measured["tables"] if TABLE_CLASS in t["cls"])
    assert ours["width"] <= 600
    assert measured["scroll_width"] > measured["viewport"]  # the pandas table pushes the page
    # the book test's view: the same measurement, with the DOM and a screenshot, one start
    dom, viewed = browser.view(page, tmp_path / "shot.png", tmp_path / "profile", (1280, 900))
    assert viewed == measured and "unbreakable" in dom and (tmp_path / "shot.png").is_file()
    assert not (tmp_path / ".layout-page.html").exists()  # its measuring copy is removed


def test_sweep_runs_each_grid_point_into_its_own_folder_and_collects_metrics(tmp_path, monkeypatch):
    calls = []

    def fake_execute(chapter, params, output, cell_timeout=900, cwd=None):
        calls.append(params)
        run = Path(params["runs_dir"]) / chapter.key / params["models"][0] / "seed0"
        run.mkdir(parents=True)
        (run / "metrics.json").write_text(
            json.dumps({"model": params["models"][0], "seed": params["seeds"][0]})
        )
        (run / "history.jsonl").write_text("{}\n")
        return 0.0

    monkeypatch.setattr(book_grid, "execute_chapter", fake_execute)
    grid = book.parse_grid("models=hsn seeds=0,1 conditions=blank,synthetic")
    copied = book.sweep(
        "hsn", grid, "smoke", tmp_path / "runs", tmp_path / "results", log=lambda *_: None
    )
    assert len(calls) == 4 and len(copied) == 4
    assert {(c["condition"], c["seeds"][0]) for c in calls} == {
        ("blank", 0),
        ("blank", 1),
        ("synthetic", 0),
        ("synthetic", 1),
    }
    assert len({c["runs_dir"] for c in calls}) == 4  # each point its own folder
    assert all(p.is_file() and (p.parent / "history.jsonl").is_file() for p in copied)
    assert all(str(p).startswith(str(tmp_path / "results" / "hsn")) for p in copied)
    with pytest.raises(ParameterError, match="condition"):
        book.sweep("hsn", {"conditions": ["sepia"]}, "smoke", tmp_path / "r2", tmp_path / "x")


def test_recorded_runs_lists_the_chapters_models_with_paper_rows_and_synthetic_marked(tmp_path):
    def write(folder, model, condition, seed, f1, options=None):
        path = tmp_path / folder / f"seed{seed}" / "metrics.json"
        path.parent.mkdir(parents=True)
        path.write_text(
            json.dumps(
                {
                    "model": model,
                    "dataset": "twitter2015",
                    "condition": condition,
                    "synthetic": condition == "synthetic",
                    "backbone": "efficientnet-lite0",
                    "seed": seed,
                    "max_train": 2000,
                    "max_eval": 1000,
                    "test": {"f1": f1},
                    "config": {
                        "model_options": options or {},
                        "optimizer": "adam",
                        "lr": 0.003,
                        "batch_size": 16,
                        "epochs": 5,
                    },
                    "model_config": {},  # today's format: the variant is what was asked
                }
            )
        )

    for seed, f1 in enumerate((56.0, 58.0)):
        write("hsn_blank", "hsn", "blank", seed, f1)
        write("hsn_syn", "hsn", "synthetic", seed, f1 + 1)
        write("hsn_mi", "hsn", "blank", seed, f1 - 1, {"interaction": "concat"})
        write("gmf_blank", "gmf", "blank", seed, 60.0)
    table = book.recorded_runs(["hsn"], tmp_path).set_index(["variant", "images"])
    assert len(table) == 3  # gmf is not this chapter's
    full = table.loc[("full", "blank")]
    assert full["test F1"] == "57.00 ± 1.41 (n=2)"
    assert full["paper"] == "72.11 (w/o VF; Table 5)"
    assert (full["max_train"], full["max_eval"]) == (2000, 1000)
    assert full["training"] == "adam lr=0.003, batch 16, 5 epochs"
    assert table.loc[("full", "synthetic (SYNTHETIC)"), "paper"] == "—"
    assert table.loc[("w/o MI (interaction=concat)", "blank"), "paper"] == "73.02 (w/o MI; Table 5)"
    assert book.recorded_runs(["cwi"], tmp_path).empty


# ----------------------------------------------------------------------------- chapter helpers
def chapter_params(key: str, **values) -> dict:
    """The parameters a chapter's check cell returns: the notebook's defaults, then ``values``."""
    import jupytext

    nb = jupytext.read(ROOT / "notebooks" / f"{Path(book.chapter(key).notebook).stem}.py")
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    namespace: dict = {}
    exec(cell.source, namespace)
    from mner_lib.book.params import check

    return {**check(namespace, key), **values}


def test_ablations_are_named_as_the_command_line_names_them():
    from mner_lib.reporting.results import variant_name
    from mner_lib.training import resolve_config

    params = chapter_params("hsn", ablations=["w/o MI", "w/o MP", "w/o VF"], condition="synthetic")
    planned = book.plan_runs(params, "hsn", log=lambda *_: None)
    cli = resolve_config("hsn", dataset="demo", model_options={"interaction": "concat"})
    assert [(p.label, p.variant) for p in planned] == [
        ("hsn", "full"),
        ("hsn w/o MI (interaction=concat)", variant_name("hsn", cli.model_options, "demo")),
        ("hsn w/o MP (heads=1)", "w/o MP (heads=1)"),
        ("hsn (blank images)", "full"),
    ]
    assert planned[-1].condition == "blank" and planned[-1].ablation == "w/o VF"
    said = []
    blank = book.plan_runs({**params, "condition": "blank"}, "hsn", log=said.append)
    assert [p.label for p in blank] == [
        "hsn",
        "hsn w/o MI (interaction=concat)",
        "hsn w/o MP (heads=1)",
    ]
    assert said == ["w/o VF: the same setting as 'hsn'; trained once"]


def test_chapter_options_are_the_command_lines_and_the_papers_per_dataset_ones():
    params = chapter_params("gmf")
    assert book.chapter_options(params, "gmf") == {}  # encoder minilm-l6 is GMF's default
    other = {**params, "encoder": "bert-base-uncased", "model_options": {"alpha": 0.5}}
    assert book.chapter_options(other, "gmf") == {"encoder": "bert-base-uncased", "alpha": 0.5}
    on_2017 = book.resolved_config({**params, "dataset": "twitter2017", "data_dir": ""}, "gmf", 0)
    assert on_2017.model_options["temperature"] == 0.174 and on_2017.batch_size == 32
    mine = {**params, "model_options": {"temperature": 0.3}}
    assert book.chapter_model_options(mine, "gmf")["temperature"] == 0.3
    assert book.chapter_options(chapter_params("trimod"), "trimod") == {}
    assert book.chapter_options(
        chapter_params("foundations", constrain_bio=True), "bilstm-crf"
    ) == {"constrain_bio": True}


def test_chapter_runs_cap_eval_in_their_config_and_average_with_cli_runs(tmp_path):
    from mner_lib.reporting.results import run_row, variant_name
    from mner_lib.text.data import read_tweets
    from mner_lib.training import resolve_config

    params = chapter_params(
        "foundations",
        models=["bilstm-crf"],
        constrain_bio=True,
        epochs=1,
        max_train=12,
        max_eval=7,
        device="cpu",
        runs_dir=str(tmp_path / "runs"),
    )
    shown = []
    trained = book.train_and_tabulate(params, "foundations", show=shown.append)
    (result,) = trained.runs["bilstm-crf"]
    run = Path(result.run_dir)
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert config["max_eval"] == metrics["max_eval"] == metrics["config"]["max_eval"] == 7
    assert len(trained.test) == len(read_tweets(run / "predictions_test.txt")) == 7
    cli = resolve_config("bilstm-crf", dataset="demo", model_options={"constrain_bio": True})
    variant = variant_name("bilstm-crf", cli.model_options, "demo")
    assert run_row(metrics, "x")["variant"] == variant == "constrain_bio=True"
    assert (
        run
        == tmp_path / "runs" / "foundations" / "bilstm-crf" / "demo" / "none" / variant / "seed0"
    )
    assert list(trained.table["variant"]) == [variant]
    assert len(shown) == 4  # the table, training curves, F1 per type, entity confusion
    # the next build of the chapter trains its scratch runs again (no "finished run" refusal)
    again = book.train_and_tabulate(params, "foundations", show=lambda _: None)
    assert again.runs["bilstm-crf"][0].metrics["test"] == result.metrics["test"]


def test_walkthrough_gives_a_chapter_its_tweets_features_and_fresh_model():
    from mner_lib.book import walkthrough

    profile = book.load_profile("smoke")
    params = book.chapter_parameters(profile, "hsn")
    w = walkthrough(params, "hsn")
    assert len(w.few) == 4 and all(any(t != "O" for t in tw.tags) for tw in w.few)
    assert w.batch["mask"].shape[0] == 4 and not w.model.training
    assert w.images.regions.shape[0] == 4
    text = w.describe()
    assert "image condition 'synthetic' (SYNTHETIC images)" in text
    assert max(len(line) for line in text.splitlines()) <= 90  # fits a book page
    assert all(" ".join(t.tokens) in text for t in w.few)


def test_a_trained_figure_says_what_the_model_was_trained_on():
    from types import SimpleNamespace

    metrics = {"dataset": "demo", "condition": "synthetic", "synthetic": True, "train_tweets": 300}
    run = SimpleNamespace(metrics={**metrics, "epochs_run": 4, "best_epoch": 3})
    assert book.trained_on(run) == (
        "trained on the demo corpus (300 tweets, 4 epochs, best 3; SYNTHETIC probe images)"
    )
    real = {**run.metrics, "dataset": "twitter2015", "condition": "blank", "synthetic": False}
    assert book.trained_on(SimpleNamespace(metrics=real)).startswith("trained on twitter2015 (")
    assert book.trained_on(SimpleNamespace(metrics=real)).endswith("; blank images)")
    text = {**real, "condition": "none"}
    assert book.trained_on(SimpleNamespace(metrics=text)).endswith("; no images)")


def test_data_note_names_the_training_settings_a_build_changed():
    note = book.data_note({"dataset": "demo", "train_options": {"lr": 0.003}})
    assert "demo corpus" in note and "synthetic images" in note
    assert "changed from the paper's for this build: lr=0.003" in note
    assert "changed" not in book.data_note({"dataset": "demo", "train_options": {}})


def test_the_build_summary_is_one_line_with_every_parameter_one_click_away():
    params = {
        **chapter_params("gmf", device="cpu", seeds=[0, 1]),
        "train_options": {"lr": 3e-4},
        "runs_dir": "<script>alert(1)</script>",
    }
    shown = book.summary(params)
    assert shown.line == (
        "This build: demo corpus, synthetic images · training capped at 100 tweets · "
        "3 epochs · seeds 0, 1 · lr changed from the paper's · CPU"
    )
    html = shown._repr_html_()
    assert html.startswith('<details class="mner-build"><summary>This build: demo corpus')
    assert html.count("<details") == 1 and "open" not in html.split(">", 1)[0]
    assert "runs_dir = &#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;" in html
    assert "<script" not in html and "train_options = {&#x27;lr&#x27;: 0.0003}" in html
    assert "Device: cpu (" in html and "its numbers say nothing" in html  # data note, device
    text = repr(shown)
    assert text.splitlines()[0] == shown.line and "  seeds = [0, 1]" in text
    one = book.summary(chapter_params("hsn", device="cpu", epochs=1, max_eval=1))
    assert "1 epoch · seed 0 ·" in one.line and "dev and test capped at 1 tweet ·" in one.line
    read_only = book.summary(chapter_params("comparison"))
    assert read_only.line == "This build: recorded runs from results/"


def test_the_trained_modality_attention_of_a_chapter_model(tmp_path, capsys):
    params = chapter_params(
        "cwi",
        models=["cwi", "cwi-attention"],
        ablations=[],
        epochs=1,
        max_train=12,
        max_eval=7,
        device="cpu",
        runs_dir=str(tmp_path / "runs"),
    )
    trained = book.train_and_tabulate(params, "cwi", show=lambda _: None)
    shown = []
    book.show_trained_modality(trained, "cwi-attention", ("word", "char", "image"), shown.append)
    (figure,) = shown
    title = figure.axes[0].get_title()
    assert (
        "trained modality attention" in title and "trained on the demo corpus (12 tweets" in title
    )
    # plain concatenation, an unknown label: one line each, no figure and no traceback
    book.show_trained_modality(trained, "cwi", ("word", "char", "image"), shown.append)
    book.show_trained_modality(trained, "nope", ("word", "char", "image"), shown.append)
    assert len(shown) == 1
    out = capsys.readouterr().out
    assert "cwi has no modality attention (plain concatenation)" in out
    assert "nope: no trained run" in out
