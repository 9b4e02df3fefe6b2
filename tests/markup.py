"""Reading what a page or a Markdown output shows: MyST rendering and active HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from mner_lib.book.site import _Page


def render(markdown: str) -> str:
    """``markdown`` as the book's MyST parser renders it to HTML (raw HTML passes through)."""
    pytest.importorskip("myst_parser")
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    config = MdParserConfig(enable_extensions={"dollarmath", "amsmath", "colon_fence"})
    return create_md_parser(config, RendererHTML).render(markdown)


class _Read(HTMLParser):
    """The tags and the text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data) -> None:
        self.text += data


def read(fragment: str) -> _Read:
    parsed = _Read()
    parsed.feed(fragment)
    return parsed


def active(fragment: str) -> list[str]:
    """What the site check calls active in ``fragment``: handlers, URLs, frames, scripts."""
    page = _Page()
    page.feed(fragment)
    return page.active + [f"a script {s}" for s in page.script_tags]
