"""Look at single tweets: gold vs predicted entities and the model's attention for each.

:func:`collect_examples` runs a trained tagger over a few tweets with ``return_attention=True``
and keeps, per tweet, its tokens, gold and predicted tags and every attention tensor sliced to
that tweet. :func:`explorer` is the interactive version (an ipywidgets dropdown: pick a tweet,
see its entities and attention); :func:`static_view` renders the same for the first tweets as
HTML and figures, which is what the built book shows (it has no kernel behind its widgets).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mner_lib.text.metrics import extract_entities

#: set by :mod:`mner_lib.book` while it executes chapters: the explorer then builds no widget
BATCH_ENV = "MNER_BOOK_BATCH"
TYPE_COLOURS = {"PER": "#f4a6a6", "LOC": "#a6e3a6", "ORG": "#a6c8f4", "MISC": "#f9d29c"}


@dataclass
class Example:
    tweet_id: str
    tokens: list[str]
    gold: list[str]
    pred: list[str]
    attentions: dict[str, Any] = field(default_factory=dict)
    image: Any | None = None  # a PIL image, when the model used one
    synthetic: bool = False
    caption: str | None = None  # under a text condition (caption:blip2 ...): the text it got
    caption_kind: str = ""  # "real-image caption" or "language-model knowledge"


def _numpy(value: Any) -> Any:
    """A tweet's attention value as NumPy (tuples of per-layer tensors as lists)."""
    if isinstance(value, list | tuple):
        return [_numpy(v) for v in value]
    if hasattr(value, "detach"):
        return value.detach().float().cpu().numpy()
    return value


def collect_examples(
    model: Any,
    tweets: Sequence[Any],
    images: Any | None = None,
    pictures: Sequence[Any] | None = None,
    synthetic: bool = False,
) -> list[Example]:
    """Run ``model`` on ``tweets`` (with image features from the callable ``images``) and keep
    what :func:`explorer` and :func:`static_view` show. ``pictures``: the images as drawn.

    Under a text condition the tweet's caption (``images.captions``, a
    :class:`mner_lib.images.captions.CaptionProvider`) is kept with it, and the attention plots
    name the caption's words (``caption_tokens``) instead of drawing a grid over the blank
    image."""
    tweets = [t for t in tweets if t.tokens]
    out = model.run(tweets, images, batch_size=max(1, len(tweets)), return_attention=True)
    provider = getattr(images, "captions", None)
    examples = []
    for i, tweet in enumerate(tweets):
        pred = out.predictions[i]
        attention = {k: _numpy(v[i]) for k, v in out.attentions.items()}
        for key in ("image_words", "caption_words", "caption_tokens", "hashtag_segments"):
            if out.extras.get(key) is not None and out.extras[key][i] is not None:
                attention[key] = out.extras[key][i]
        caption = provider.lookup(tweet)[0] if provider is not None else None
        examples.append(
            Example(
                tweet.id,
                list(tweet.tokens),
                list(tweet.tags),
                pred,
                attention,
                None if caption is not None or pictures is None else pictures[i],
                synthetic,
                caption,
                provider.kind if provider is not None else "",
            )
        )
    return examples


def entities_html(tokens: Sequence[str], tags: Sequence[str]) -> str:
    """The tweet with each entity highlighted in its type's colour and labelled."""
    starts = {s: (e, t) for s, e, t in extract_entities(tags)}
    parts: list[str] = []
    i = 0
    while i < len(tokens):
        if i in starts:
            end, etype = starts[i]
            text = html.escape(" ".join(tokens[i:end]))
            colour = TYPE_COLOURS.get(etype, "#ddd")
            parts.append(
                f'<span style="background:{colour};padding:1px 3px;border-radius:3px">'
                f"{text} <b style='font-size:70%'>{html.escape(etype)}</b></span>"
            )
            i = end
        else:
            parts.append(html.escape(tokens[i]))
            i += 1
    return " ".join(parts)


def example_html(example: Example) -> str:
    """Gold and predicted entities of one tweet as an HTML table."""
    right = set(extract_entities(example.gold)) & set(extract_entities(example.pred))
    n_gold = len(extract_entities(example.gold))
    n_pred = len(extract_entities(example.pred))
    note = " (synthetic image)" if example.synthetic else ""
    caption = ""
    if example.caption is not None:
        kind = html.escape(example.caption_kind or "caption")
        text = html.escape(example.caption) or "<i>(no caption)</i>"
        caption = f"<tr><td style='padding-right:8px'><i>{kind}</i></td><td>{text}</td></tr>"
    return (
        f"<div style='margin:6px 0'><b>tweet {html.escape(example.tweet_id)}</b>{note}: "
        f"{len(right)} of {n_gold} gold entities found, {n_pred} predicted"
        "<table style='border-collapse:collapse'>"
        f"<tr><td style='padding-right:8px'><i>gold</i></td><td>{entities_html(example.tokens, example.gold)}</td></tr>"
        f"<tr><td style='padding-right:8px'><i>predicted</i></td><td>{entities_html(example.tokens, example.pred)}</td></tr>"
        f"{caption}</table></div>"
    )


def attention_figures(example: Example) -> list[Any]:
    """The plots that fit the attention keys this example carries (see :mod:`mner_lib.figures`)."""
    from mner_lib import figures as plots

    figures = []
    a = example.attentions
    tokens = example.tokens
    words = a.get("caption_tokens")  # a text condition: the weights are over caption words
    if "text_to_image" in a and words:
        figures.append(
            plots.caption_attention(
                None, words, a["text_to_image"], "text-to-caption attention s_img"
            )
        )
    elif "text_to_image" in a and example.image is not None:
        figures.append(
            plots.region_attention(
                example.image, a["text_to_image"], "text-to-image attention s_img"
            )
        )
    token_panels = {k: a[k] for k in ("image_to_text", "gate") if k in a}
    if token_panels:
        figures.append(
            plots.token_weights(
                tokens, token_panels, "image-to-text weights and the gate per token"
            )
        )
    if "modality" in a:
        m = np.asarray(a["modality"])
        if m.shape[-1] == 3:
            names = (
                ("text", "visual", "hashtag")
                if "hashtag_segments" in a
                else ("word", "char", "image")
            )
        else:
            names = tuple(f"m{k}" for k in range(m.shape[-1]))
        figures.append(plots.modality_attention(tokens, m, names))
    if "image_words" in a and example.image is not None and a["image_words"]:
        words = a["image_words"]
        labels = [
            (w, p) if isinstance(w, str) and not isinstance(p, str) else (str(w), 1.0)
            for w, p in (item if isinstance(item, tuple | list) else (item, 1.0) for item in words)
        ]
        figures.append(plots.image_words(example.image, labels))
    if "hashtag_segments" in a and a["hashtag_segments"]:
        segments = a["hashtag_segments"]
        if not isinstance(segments, dict):  # per token: its hashtag's words, [] for other tokens
            segments = {
                tokens[j]: list(map(str, words))
                for j, words in enumerate(segments)
                if words and j < len(tokens)
            }
        if segments:
            figures.append(plots.segmented_hashtags(segments))
    if "gates" in a and np.asarray(a["gates"]).size == 0:
        a = {k: v for k, v in a.items() if k != "gates"}  # a caption prefix has no gate
    if "gates" in a:
        figures.append(plots.layer_gates(a["gates"]))
    if "prefix" in a:
        figures.append(plots.prefix_attention(a["prefix"], example.image, caption_tokens=words))
    return figures


def static_view(examples: Sequence[Example], limit: int = 3, figures: bool = True) -> None:
    """Display the first ``limit`` examples as HTML and attention figures (for the built book)."""
    from IPython.display import HTML, display

    for example in examples[:limit]:
        display(HTML(example_html(example)))
        if figures:
            for fig in attention_figures(example):
                if getattr(fig, "caption", ""):  # a numbered figure of the book: name the tweet
                    note = " (synthetic image)" if example.synthetic else ""
                    fig.caption = f"Tweet {example.tweet_id}{note}. {fig.caption}"
                display(fig)


def explorer(examples: Sequence[Example]) -> Any:
    """An ipywidgets explorer: a dropdown of tweets; shows gold vs predicted entities and the
    model's attention for the chosen tweet. Returns the widget (display it in a live kernel)."""
    import os

    from IPython.display import HTML, display

    if not examples:
        raise ValueError("explorer needs at least one example")
    if os.environ.get(BATCH_ENV):
        # Executed by the book runner (papermill): no frontend will ever show a widget, and
        # nbclient can stall on an Output widget's messages, so give a note instead.
        return HTML(
            f"<i>Interactive explorer over {len(examples)} tweets: run this notebook in Jupyter "
            "or Colab to use it; the book shows its static view below.</i>"
        )
    import ipywidgets as widgets

    options = [(f"{e.tweet_id}: {' '.join(e.tokens)[:60]}", k) for k, e in enumerate(examples)]
    choose = widgets.Dropdown(
        options=options, description="tweet", layout=widgets.Layout(width="90%")
    )
    show_attention = widgets.Checkbox(value=True, description="attention")
    out = widgets.Output()

    def render(*_: Any) -> None:
        out.clear_output(wait=True)
        with out:
            example = examples[choose.value]
            display(HTML(example_html(example)))
            if show_attention.value:
                for fig in attention_figures(example):
                    display(fig)

    choose.observe(render, names="value")
    show_attention.observe(render, names="value")
    render()
    return widgets.VBox([widgets.HBox([choose, show_attention]), out])


def picture(features: Any, tweet: Any) -> Any:
    """The image (PIL) that ``features`` (an :class:`mner_lib.images.ImageFeatures`) gives
    ``tweet`` under its condition: its own, the blank one, a probe drawing, another tweet's."""
    return features.image(tweet)
