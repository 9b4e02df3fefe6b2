"""The site check (mner_lib.book.site) on small hand-written books: a page as the theme writes it
passes; each kind of active HTML a stranger's value could smuggle into a page is reported,
naming the page; the command exits 1 on any."""

from __future__ import annotations

from pathlib import Path

import pytest

from mner_lib.book import site
from mner_lib.book.site_allow import WIDGET_SCRIPTS

#: the head of a page as Sphinx, pydata-sphinx-theme and sphinx-book-theme write it (a build of
#: the book's _config.yml, trimmed)
THEME = """<!DOCTYPE html><html><head>
<script data-cfasync="false">
    document.documentElement.dataset.mode = localStorage.getItem("mode") || "";
    document.documentElement.dataset.theme = localStorage.getItem("theme") || "";
  </script>
<script src="{up}_static/documentation_options.js?v=9eb32ce0"></script>
<script defer src="{up}_static/scripts/bootstrap.js?digest=55c26ed414f5f8a31ebb"></script>
<script>let toggleHintShow = 'Click to show';</script>
<script>var togglebuttonSelector = '.toggle, .admonition.dropdown';</script>
<script>const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"; const thebe_selector = ".thebe,.cell"; const thebe_selector_input = "pre"; const thebe_selector_output = ".output, .cell_output"</script>
<script>DOCUMENTATION_OPTIONS.pagename = 'notebooks/04_hsn';</script>
<script>DOCUMENTATION_OPTIONS.search_as_you_type = false;</script>
<script>window.MathJax = {{"options": {{"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"}}}}</script>
<script defer="defer" src="{up}_static/mathjax/tex-chtml.js"></script>
<script type="text/x-thebe-config">
    {{ requestKernel: true, binderOptions: {{ repo: "binder-examples/x", ref: "master" }} }}
</script>
<script>kernelName = 'python3'</script>
<script src="{up}searchindex.js"></script>
</head><body>
<button onclick="window.print()" class="btn">print</button>
<button onclick="toggleFullScreen()" class="btn">full screen</button>
<article>{body}</article></body></html>"""
CLEAN = (
    '<p>A table: <div class="tex2jax_ignore mathjax_ignore"><table class="mner-table"><tr><td>'
    "&lt;img src=x onerror=alert(1)&gt; [x](javascript:alert(1))</td></tr></table></div>"
    '<a download="t.csv" href="data:text/csv;base64,YQ==">csv</a>'
    '<img src="data:image/jpeg;base64,AAAA" alt="a sample image">'
    '<a href="https://example.com/x">out</a> <a href="#top" id="top">top</a></p>'
)


def book(tmp_path: Path, body: str, inner: str = CLEAN) -> Path:
    """A built book of two pages: ``index.html`` with ``body`` in its article, and
    ``notebooks/04_hsn.html`` (one folder down) with ``inner``."""
    html = tmp_path / "html"
    (html / "_static" / "scripts").mkdir(parents=True)
    (html / "_static" / "mathjax").mkdir()
    for name in ("documentation_options.js", "scripts/bootstrap.js", "mathjax/tex-chtml.js"):
        (html / "_static" / name).write_text("// the theme's\n")
    (html / "searchindex.js").write_text("Search.setIndex({})")
    (html / "notebooks").mkdir()
    (html / "index.html").write_text(THEME.format(up="", body=body))
    (html / "notebooks" / "04_hsn.html").write_text(THEME.format(up="../", body=inner))
    return html


def test_a_page_as_the_theme_writes_it_passes(tmp_path):
    html = book(tmp_path, CLEAN)
    assert site.active_html(html) == []
    assert site.problems(html) == []
    assert site.main([str(html)]) == 0


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        ("<script>alert(1)</script>", "an inline script 'alert(1)'"),
        ("<SCRIPT >alert(1)</SCRIPT>", "an inline script 'alert(1)'"),
        ("<svg><script>alert(1)</script></svg>", "an inline script 'alert(1)'"),
        ('<script src="https://evil.example/x.js"></script>', "a script from 'https://evil"),
        ('<script src="//evil.example/x.js"></script>', "a script from '//evil.example/x.js'"),
        ('<script src="_images/x.js"></script>', "a script from '_images/x.js'"),
        ('<script src="_static/../../x.js"></script>', "a script from '_static/../../x.js'"),
        ('<script type="module">import "x"</script>', "an inline script 'import \"x\"'"),
        ("<script>let toggleHintShow = 'x'; alert(1)</script>", "an inline script"),
        ("<script>location = 'javascript:alert(1)'</script>", "an inline script"),
        ('<script>window.MathJax = {"a": alert(1)}</script>', "an inline script"),
        ("<script>const THEBE_JS_URL = 'https://evil.example/x.js'</script>", "an inline script"),
        ("<img src=x onerror=alert(document.domain)>", "an event handler onerror="),
        ('<p ONMOUSEOVER="alert(1)">x</p>', "an event handler onmouseover="),
        ('<button onclick="alert(1)">x</button>', "an event handler onclick='alert(1)'"),
        ('<svg onload="alert(1)"/>', "an event handler onload="),
        ('<a href="javascript:alert(1)">x</a>', "a javascript: URL in <a href="),
        ('<a href=" JaVa&#x09;ScRiPt:alert(1)">x</a>', "a javascript: URL in <a href="),
        ('<a href="java\nscript:alert(1)">x</a>', "a javascript: URL in <a href="),
        ('<form action="javascript:alert(1)"></form>', "a javascript: URL in <form action="),
        ('<svg><a xlink:href="javascript:alert(1)">x</a></svg>', "a javascript: URL in <a xlink"),
        ('<a href="vbscript:msgbox(1)">x</a>', "a vbscript: URL"),
        ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "a data: URL that is not"),
        (
            '<meta http-equiv="refresh" content="0; url=javascript:alert(1)">',
            "a javascript: URL in <meta content=",
        ),
        ('<iframe srcdoc="<script>alert(1)</script>"></iframe>', "a <iframe> element"),
        ('<object data="x.swf"></object>', "a <object> element"),
        ('<embed src="x.swf">', "a <embed> element"),
        ('<base href="https://evil.example/">', "a <base> element"),
    ],
)
def test_each_kind_of_active_html_is_reported_naming_the_page(tmp_path, body, reported):
    html = book(tmp_path, CLEAN, inner=f"<p>{body}</p>")
    found = site.active_html(html)
    assert found, body
    assert all(f.startswith("notebooks/04_hsn.html: ") for f in found), found
    assert any(reported in f for f in found), found
    assert any(reported in f for f in site.problems(html))
    assert site.main([str(html)]) == 1


def test_a_script_the_parser_misreads_is_still_counted(tmp_path):
    html = book(tmp_path, CLEAN, inner="<p><!-- x --!><script>alert(1)</script></p>")
    assert site.active_html(html)  # a comment a browser ends and Python's parser may not


def test_a_theme_file_that_is_not_there_is_not_the_themes(tmp_path):
    html = book(tmp_path, '<script src="_static/missing.js"></script>')
    assert site.active_html(html) == [
        "index.html: a script from '_static/missing.js', not one of the book's theme"
    ]


def test_a_widget_page_loads_myst_nbs_two_widget_scripts_and_no_other_url(tmp_path):
    """A chapter that shows ipywidgets gets MyST-NB's RequireJS and widget embed manager (their
    exact URLs); the same CDN with another file is still reported."""
    widgets = "".join(f'<script src="{url}"></script>' for url in sorted(WIDGET_SCRIPTS))
    assert site.active_html(book(tmp_path / "ok", CLEAN, inner=widgets)) == []
    other = '<script src="https://cdn.jsdelivr.net/npm/evil@1/x.js"></script>'
    found = site.active_html(book(tmp_path / "bad", CLEAN, inner=other))
    assert any("a script from 'https://cdn.jsdelivr.net/npm/evil" in f for f in found), found


#: a chapter's body as MyST-NB writes it, with '(s)' only where it is code: a cell's source, a
#: code span, a code block, the library source a chapter shows, an equation
CODE_ONLY = (
    '<div class="cell docutils container"><div class="cell_input docutils container">'
    '<div class="highlight-ipython3 notranslate"><div class="highlight"><pre>'
    '<span class="n">n</span> <span class="o">=</span> <span class="nb">len</span>(s)'
    "</pre></div></div></div>"
    '<div class="cell_output docutils container">'
    '<div class="output text_plain highlight-myst-ansi notranslate"><div class="highlight">'
    "<pre>3 seeds, 1 run</pre></div></div></div></div>"
    '<p>Call <code class="docutils literal"><span class="pre">int(s)</span></code>, '
    'as in <span class="math notranslate nohighlight">\\(f(s)\\)</span>.</p>'
    '<div class="highlight-bash notranslate"><div class="highlight"><pre>echo $(s)</pre></div>'
    '</div><details class="mner-source"><summary>The code: <code>x</code></summary>'
    '<div class="highlight"><pre>return str(s)</pre></div></details>'
    "<p>Two seeds<br>and one run.</p>"
)


def test_code_may_hold_s_in_parentheses_and_the_words_around_it_are_read(tmp_path):
    html = book(tmp_path, CLEAN, inner=CODE_ONLY)
    assert site.hedged_plurals(html) == []
    text = site.visible_text((html / "notebooks" / "04_hsn.html").read_text())
    assert "3 seeds, 1 run" in text and "Two seeds and one run." in text  # outputs and prose
    assert "len" not in text and "f(s)" not in text and "echo" not in text
    assert "print" in text and "DOCUMENTATION_OPTIONS" not in text  # the page's body, no script


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("<p>Trained over 3 seed(s).</p>", "Trained over 3 seed(s)."),
        ("<h2>Setting(s) recorded</h2>", "Setting(s) recorded"),
        ("<table><tr><td>60.47 [3 run(s) from a dirty tree]</td></tr></table>", "3 run(s) from"),
        (
            '<div class="cell_output docutils container"><div class="output stream '
            'highlight-myst-ansi notranslate"><div class="highlight"><pre>12 training run(s)'
            "</pre></div></div></div>",
            "12 training run(s)",
        ),
        (
            "<details><summary>This build: 1 epoch</summary><pre>seed(s) = [0]</pre></details>",
            "seed(s) = [0]",
        ),
    ],
)
def test_a_hedged_plural_in_a_pages_text_is_reported_naming_the_page(tmp_path, body, shown):
    html = book(tmp_path, CLEAN, inner=CODE_ONLY + body)
    found = site.hedged_plurals(html)
    assert len(found) == 1 and found[0].startswith("notebooks/04_hsn.html: '(s)' in its text: ")
    assert shown in found[0], found
    assert found[0] in site.problems(html)
    assert site.main([str(html)]) == 1
