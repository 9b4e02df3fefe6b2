"""Sphinx extension of the book (``_config.yml``: ``sphinx.extra_extensions``): every notebook
output whose PNG carries a caption (a :class:`mner_lib.figures.figure.BookFigure`, or a pyplot figure
shown through :func:`mner_lib.figures.figure.captioned`) becomes a numbered figure with that caption and
alt text, wherever in a cell it was displayed, so a cell that shows three figures shows three
numbered ones. An HTML output made by :func:`mner_lib.figures.figure.html_figure` (cards of images with
their captions) becomes a numbered figure the same way. Outputs already wrapped in a figure by MyST-NB cell metadata
(``mystnb: {figure: ...}``) are left as they are.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.transforms import SphinxTransform

from mner_lib.figures.figure import HTML_CAPTION, read_png_text

_HTML_CAPTION = re.compile(rf'{HTML_CAPTION}="([^"]*)"')


def _png_image(bundle: nodes.Element) -> nodes.image | None:
    for container in bundle.children:
        if isinstance(container, nodes.container) and container.get("mime_type") == "image/png":
            for image in container.findall(nodes.image):
                return image
    return None


def _html_caption(bundle: nodes.Element) -> str | None:
    """The caption an :class:`mner_lib.figures.figure.HTMLFigure` output carries, or None."""
    import html

    for container in bundle.children:
        if isinstance(container, nodes.container) and container.get("mime_type") == "text/html":
            for raw in container.findall(nodes.raw):
                found = _HTML_CAPTION.search(raw.astext()[:2000])
                if found:
                    return html.unescape(found.group(1))
    return None


def figure_id(caption: str, taken: set[str]) -> str:
    """A stable anchor for a figure from its caption: ``fig-`` and its first words."""
    words = re.sub(r"[^a-z0-9]+", "-", caption.lower()).strip("-").split("-")
    base = "fig-" + "-".join(w for w in words[:6] if w)
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    return name


class CaptionedOutputs(SphinxTransform):
    """Wrap each captioned PNG or HTML output (a MyST-NB ``mime_bundle``) in a numbered figure."""

    default_priority = 500

    def apply(self, **kwargs: Any) -> None:
        taken = set(self.document.ids)
        srcdir = Path(self.env.srcdir)
        docdir = Path(self.env.doc2path(self.env.docname)).parent
        for bundle in list(self.document.findall(nodes.container)):
            if bundle.get("nb_element") != "mime_bundle" or isinstance(bundle.parent, nodes.figure):
                continue
            image = _png_image(bundle)
            if image is not None:
                uri = image["uri"]
                path = srcdir / uri.lstrip("/") if uri.startswith("/") else docdir / uri
                text = read_png_text(path)
            else:
                text = {"caption": _html_caption(bundle) or ""}
            if not text.get("caption"):
                continue
            figure = nodes.figure(classes=["mner-figure"])
            ident = figure_id(text["caption"], taken)
            taken.add(ident)
            figure["ids"].append(ident)
            bundle.replace_self(figure)
            figure += bundle
            figure += nodes.caption(text["caption"], text["caption"])
            for node in bundle.findall(nodes.image):  # every mime type's image of this output
                node["alt"] = text.get("alt") or text["caption"]


def setup(app: Any) -> dict[str, Any]:
    app.add_transform(CaptionedOutputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
