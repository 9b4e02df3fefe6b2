"""The active HTML that the book's theme and Sphinx write into every page, and nothing else:
:func:`mner_lib.book.site.active_html` reports any other script, event handler or code-running
URL. Each entry is what a build of the book writes (Sphinx 7, pydata-sphinx-theme and
sphinx-book-theme, sphinx-togglebutton, sphinx-thebe, MyST-NB's MathJax settings); a new theme
version that writes more shows up as a problem naming it, to be added here after a look.
"""

from __future__ import annotations

import json
import re

#: elements that load or run other content: none of the book's pages needs one
ACTIVE_TAGS = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet", "base"})
#: the theme's own inline event handlers: (tag, attribute, value)
THEME_HANDLERS = frozenset(
    {
        ("button", "onclick", "window.print()"),  # sphinx-book-theme: print the page
        ("button", "onclick", "toggleFullScreen()"),  # sphinx-book-theme: full screen
    }
)
#: attributes whose value is a URL a browser may follow or load
URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "srcset", "action", "formaction", "xlink:href", "data", "poster",
        "background", "cite", "codebase", "ping", "lowsrc", "dynsrc", "longdesc", "manifest",
        "icon", "to", "from", "values",
    }
)  # fmt: skip
#: ``data:`` URLs that run nothing: images, CSV (the tables' download links), plain text
SAFE_DATA_URL = re.compile(r"data:(image/(png|jpeg|gif|webp)|text/(csv|plain))[;,]")
#: script types a browser does not run: data that the theme's scripts read
DATA_SCRIPT_TYPES = frozenset(
    {
        "text/x-thebe-config",
        "application/json",
        "application/ld+json",
        "application/vnd.jupyter.widget-state+json",
        "application/vnd.jupyter.widget-view+json",
    }
)

#: MyST-NB's scripts for a page that shows ipywidgets (its default ``nb_ipywidgets_js``:
#: RequireJS, pinned with a subresource-integrity hash, and the widgets' embed manager), which
#: render a widget's saved state; exact URLs, nothing else from the network
WIDGET_SCRIPTS = frozenset(
    {
        "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js",
        "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/dist/embed-amd.js",
    }
)

#: the theme's scripts that are code, as written (blanks collapsed): the light or dark mode set
#: before the page draws, the search page focusing its field (pydata-sphinx-theme)
_CODE = frozenset(
    {
        'document.documentElement.dataset.mode = localStorage.getItem("mode") || ""; '
        'document.documentElement.dataset.theme = localStorage.getItem("theme") || "";',
        "// Activate the search field on page load let searchInput = "
        'document.querySelector("form.bd-search input"); if (searchInput) { searchInput.focus(); '
        'searchInput.select(); console.log("[PST]: Set focus on search field."); }',
    }
)
#: the names the theme's inline scripts set, each to a literal; a name mapped to a pattern only
#: to a value that matches it
_SETTINGS: dict[str, re.Pattern[str] | None] = {
    "toggleHintShow": None,  # sphinx-togglebutton
    "toggleHintHide": None,
    "toggleOpenOnPrint": None,
    "togglebuttonSelector": None,
    "THEBE_JS_URL": re.compile(r"https://unpkg\.com/thebe@[\w.-]+/lib/index\.js"),  # sphinx-thebe
    "thebe_selector": None,
    "thebe_selector_input": None,
    "thebe_selector_output": None,
    "kernelName": None,
    "DOCUMENTATION_OPTIONS.pagename": None,  # Sphinx
    "DOCUMENTATION_OPTIONS.search_as_you_type": None,
}
_STATEMENT = re.compile(
    r"\s*(?:(?:const|let|var)\s+)?([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)?)\s*=\s*"
    r"(\"[^\"\\\n]*\"|'[^'\\\n]*'|true|false|-?\d+(?:\.\d+)?)\s*;?\s*"
)
#: MyST-NB's MathJax settings: an object literal that must be plain JSON
_MATHJAX = re.compile(r"\s*window\.MathJax\s*=\s*(\{.*\})\s*;?\s*", flags=re.S)


def _settings(text: str) -> bool:
    """Whether ``text`` is only statements that set :data:`_SETTINGS` names to literals."""
    position = 0
    while position < len(text):
        found = _STATEMENT.match(text, position)
        if found is None or found.end() == position or found.group(1) not in _SETTINGS:
            return False
        allowed = _SETTINGS[found.group(1)]
        if allowed is not None and not allowed.fullmatch(found.group(2)[1:-1]):
            return False
        position = found.end()
    return True


def theme_inline_script(text: str) -> bool:
    """Whether an inline script is one the theme or Sphinx writes: empty, one of :data:`_CODE`,
    settings of literals (:data:`_SETTINGS`), or MathJax settings that are plain JSON."""
    if not text.strip() or " ".join(text.split()) in _CODE:
        return True
    found = _MATHJAX.fullmatch(text)
    if found is not None:
        try:
            json.loads(found.group(1))
        except ValueError:
            return False
        return True
    return _settings(text)
