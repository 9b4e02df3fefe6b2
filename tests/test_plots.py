"""Plots return figures with the artists that carry the data, for tiny fake inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from PIL import Image

from mner_lib import figures as plots


def image() -> Image.Image:
    return Image.fromarray(np.full((32, 32, 3), 200, dtype=np.uint8))


def data_axes(fig: Figure):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_training_curves_one_line_per_run_in_each_panel():
    history = [{"epoch": 1, "loss": 2.0, "dev_f1": 10.0}, {"epoch": 2, "loss": 1.0, "dev_f1": 30.0}]
    fig = plots.training_curves({"a": history, "b": history})
    assert isinstance(fig, Figure)
    loss_ax, f1_ax = fig.axes
    assert len(loss_ax.lines) == 2 and len(f1_ax.lines) == 2
    assert list(f1_ax.lines[0].get_ydata()) == [10.0, 30.0]
    with pytest.raises(ValueError):
        plots.training_curves({})


def test_per_type_f1_bars_per_type_and_run():
    scores = {"x": {"per_type": {"PER": {"f1": 50.0}, "LOC": {"f1": 40.0}}}, "y": {"per_type": {}}}
    fig = plots.per_type_f1(scores)
    bars = fig.axes[0].patches
    assert len(bars) == 8
    assert sorted(b.get_height() for b in bars)[-2:] == [40.0, 50.0]


def test_confusion_counts_type_errors_misses_and_spurious():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG", "B-MISC"]]
    counts = plots.confusion_counts(gold, pred)
    assert counts[0, 0] == 1  # PER right
    assert counts[1, 2] == 1  # LOC predicted as ORG
    assert counts[4, 3] == 1  # spurious MISC
    assert counts.sum() == 3
    fig = plots.entity_confusion(gold, pred)
    assert any(isinstance(c, QuadMesh) for c in fig.axes[0].collections)
    assert len(fig.axes[0].texts) == 25  # annotated cells


def test_region_attention_overlays_grid_on_image():
    fig = plots.region_attention(image(), torch.softmax(torch.randn(49), 0))
    assert len(fig.axes[0].images) == 2  # photo + heat overlay
    assert fig.axes[0].images[1].get_array().shape == (7, 7)
    with pytest.raises(ValueError, match="square grid"):
        plots.region_attention(image(), np.ones(10))


def test_token_weights_one_panel_per_vector_and_bar_per_token():
    tokens = ["RT", "Obama", "in", "Paris"]
    fig = plots.token_weights(tokens, {"s_sen": np.ones(6), "gate": np.ones((4, 3))})
    assert len(fig.axes) == 2
    assert all(len(ax.patches) == 4 for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == tokens


def test_modality_attention_heatmap_shape_checked():
    fig = plots.modality_attention(["a", "b"], np.full((2, 3), 1 / 3))
    mesh = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)][0]
    assert mesh.get_array().size == 6
    with pytest.raises(ValueError, match=r"expected \(T, 3\)"):
        plots.modality_attention(["a"], np.ones((1, 2)))


def test_image_words_and_segmented_hashtags():
    fig = plots.image_words(image(), [("dog", 0.5), ("cat", 0.2), ("car", 0.1)])
    assert len(fig.axes[0].images) == 1 and len(fig.axes[1].patches) == 3
    fig = plots.segmented_hashtags({"StLouis": ["St", "Louis"], "#nba": ["nba"]})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "#StLouis" in texts and "→  St | Louis" in texts and "#nba" in texts


def test_layer_gates_averages_batch():
    gates = torch.softmax(torch.randn(3, 6, 4), -1)
    fig = plots.layer_gates(gates)
    mesh = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)][0]
    assert np.allclose(np.asarray(mesh.get_array()).reshape(6, 4), gates.mean(0).numpy(), atol=1e-6)


def test_prefix_attention_grid_on_image_or_bars():
    layers = [torch.softmax(torch.randn(2, 4, 5, 49), -1) for _ in range(3)]
    fig = plots.prefix_attention(layers, image())
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3 and all(len(ax.images) == 2 for ax in shown)
    fig = plots.prefix_attention([np.ones((2, 3, 5))])
    assert len(fig.axes[0].patches) == 5


def tick_labels(ax, axis: str = "x") -> list[str]:
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for t in ticks]


def test_caption_attention_bars_are_labelled_by_the_caption_words():
    words = ["a", "man", "with", "a", "guitar"]
    weights = torch.tensor([0.1, 0.4, 0.1, 0.1, 0.3, 0.0, 0.0])  # padded to the batch's width
    fig = plots.caption_attention(None, words, weights)
    ax = fig.axes[0]
    assert tick_labels(ax) == words
    assert [round(p.get_height(), 2) for p in ax.patches] == [0.1, 0.4, 0.1, 0.1, 0.3]
    with pytest.raises(ValueError, match="5 caption tokens"):
        plots.caption_attention(None, words, np.ones(3))  # fewer weights than words


def test_caption_attention_heatmap_rows_are_tokens_and_columns_caption_words():
    tokens, words = ["Obama", "visits", "Paris"], ["barack", "obama", "smiles"]
    weights = torch.softmax(torch.randn(3, 4), -1)  # one padding column
    fig = plots.caption_attention(tokens, words, weights)
    ax = data_axes(fig)[0]
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)][0]
    assert np.asarray(mesh.get_array()).size == 9  # 3 tokens x 3 caption words
    assert tick_labels(ax) == words and tick_labels(ax, "y") == tokens


def test_prefix_attention_over_a_caption_names_its_words_per_layer():
    layers = [torch.softmax(torch.randn(2, 4, 6), -1) for _ in range(3)]  # (heads, T, P)
    fig = plots.prefix_attention(layers, image(), caption_tokens=["two", "dogs", "run"])
    ax = data_axes(fig)[0]
    assert not ax.images  # no grid over the (blank) image
    assert tick_labels(ax) == ["two", "dogs", "run"]
    assert tick_labels(ax, "y") == ["layer 1", "layer 2", "layer 3"]
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)][0]
    expected = layers[1].numpy().mean(axis=(0, 1))[:3]
    assert np.allclose(np.asarray(mesh.get_array()).reshape(3, 3)[1], expected, atol=1e-6)


def test_similarity_matrices_and_embedding_pairs():
    t = torch.eye(4)
    sim = plots.similarity(t, t)
    assert np.allclose(np.diag(sim), 1.0)
    fig = plots.similarity_matrices({"before": (t, torch.randn(4, 4)), "after": (t, t)})
    assert len(data_axes(fig)) == 2
    fig = plots.embedding_pairs(torch.randn(5, 8), torch.randn(5, 8))
    ax = fig.axes[0]
    assert (
        len(ax.lines) == 5 and len(ax.collections) == 2
    )  # one joining line per pair, two point sets


def test_image_gallery_and_compare_bars():
    fig = plots.image_gallery([image(), image(), image()], ["a", "b", "c"], cols=2)
    assert sum(len(ax.images) for ax in fig.axes) == 3
    with pytest.raises(ValueError):
        plots.image_gallery([image()], [])
    import pandas as pd

    table = pd.DataFrame(
        {
            "label": ["x", "y"],
            "f1_mean": [70.0, 60.0],
            "f1_std": [1.0, 0.0],
            "source_kind": ["ours", "paper"],
        }
    )
    fig = plots.compare_bars(table)
    assert [p.get_width() for p in fig.axes[0].patches] == [70.0, 60.0]


# ----------------------------------------------------------------------------- explorer
def example(**attentions):
    from mner_lib.book.explorer import Example

    return Example(
        "t1",
        ["Obama", "visits", "St", "Louis"],
        ["B-PER", "O", "I-LOC", "I-LOC"],
        ["B-PER", "O", "B-ORG", "I-ORG"],
        attentions,
        image(),
        synthetic=True,
    )


def test_static_html_marks_gold_and_predicted_entities():
    from mner_lib.book.explorer import entities_html, example_html

    html = entities_html(["Obama", "visits", "St", "Louis"], ["B-PER", "O", "I-LOC", "I-LOC"])
    assert html.count("<span") == 2 and "St Louis <b" in html and ">LOC</b>" in html
    text = example_html(example())
    assert "1 of 2 gold entities found, 2 predicted" in text
    assert "(synthetic image)" in text


def test_attention_figures_follow_the_keys_a_model_returns():
    from mner_lib.book.explorer import attention_figures

    assert attention_figures(example()) == []
    hsn = example(text_to_image=np.ones(49) / 49, image_to_text=np.ones(4), gate=np.ones(4))
    assert len(attention_figures(hsn)) == 2
    trimod = example(modality=np.ones((4, 3)) / 3, hashtag_segments=[[], [], ["st", "louis"], []])
    figures = attention_figures(trimod)
    assert len(figures) == 2
    labels = [t.get_text() for t in figures[0].axes[0].get_yticklabels()]
    assert labels == ["text", "visual", "hashtag"]
    gmf = example(gates=np.ones((6, 4)) / 4, prefix=[np.ones((2, 4, 49)) / 49] * 2)
    assert len(attention_figures(gmf)) == 2


def test_attention_figures_name_caption_words_under_a_caption_condition():
    from mner_lib.book.explorer import attention_figures, example_html

    words = ["a", "man", "in", "paris"]
    hsn = example(text_to_image=np.ones(6) / 4, caption_tokens=words)
    hsn.image, hsn.caption, hsn.caption_kind = None, "a man in paris", "real-image caption"
    figures = attention_figures(hsn)
    assert len(figures) == 1 and tick_labels(figures[0].axes[0]) == words
    assert "real-image caption" in example_html(hsn) and "a man in paris" in example_html(hsn)
    gmf = example(gates=np.ones((2, 0)), prefix=[np.ones((2, 4, 5)) / 5] * 2, caption_tokens=words)
    figures = attention_figures(gmf)  # no gate figure for a caption prefix
    assert len(figures) == 1 and tick_labels(data_axes(figures[0])[0]) == words


def test_explorer_is_a_widget_live_and_a_note_in_batch_runs(monkeypatch):
    from mner_lib.book import explorer

    monkeypatch.delenv(explorer.BATCH_ENV, raising=False)
    widget = explorer.explorer([example(), example()])
    assert type(widget).__name__ == "VBox"
    dropdown = widget.children[0].children[0]
    assert len(dropdown.options) == 2
    monkeypatch.setenv(explorer.BATCH_ENV, "1")
    assert "Interactive explorer over 2 tweets" in explorer.explorer([example(), example()]).data
    with pytest.raises(ValueError):
        explorer.explorer([])


# ----------------------------------------------------------------------------- captions, scales
def figures_of_every_kind() -> dict[str, Figure]:
    import pandas as pd

    tokens = ["RT", "Obama", "in", "https://t.co/abcdefghijklmnop"]
    t = torch.eye(4)
    return {
        "training_curves": plots.training_curves(
            {
                "hsn": [
                    {"epoch": 1, "loss": 2.0, "dev_f1": 10.0},
                    {"epoch": 2, "loss": 1, "dev_f1": 30},
                ]
            }
        ),
        "per_type_f1": plots.per_type_f1({"x": {"per_type": {"PER": {"f1": 50.0}}}}),
        "entity_confusion": plots.entity_confusion([["B-PER", "O"]], [["B-LOC", "O"]]),
        "region_attention": plots.region_attention(image(), np.full(49, 1 / 49)),
        "caption_attention": plots.caption_attention(None, ["a", "dog"], np.array([0.2, 0.8])),
        "head_attention": plots.head_attention(np.full((2, 49), 1 / 49)),
        "token_weights": plots.token_weights(tokens, {"s_sen": np.ones(4) / 4}),
        "modality_attention": plots.modality_attention(tokens, np.full((4, 3), 1 / 3)),
        "image_words": plots.image_words(image(), [("dog", 0.5)]),
        "segmented_hashtags": plots.segmented_hashtags({"StLouis": ["St", "Louis"]}),
        "layer_gates": plots.layer_gates(np.full((2, 4), 0.25)),
        "prefix_attention": plots.prefix_attention([np.ones((2, 3, 50)) / 50], image()),
        "similarity_matrices": plots.similarity_matrices({"after": (t, t)}),
        "embedding_pairs": plots.embedding_pairs(torch.randn(3, 4), torch.randn(3, 4)),
        "image_gallery": plots.image_gallery([image()], ["a"]),
        "compare_bars": plots.compare_bars(
            pd.DataFrame({"label": ["x"], "f1_mean": [70.0], "f1_std": [1.0], "source_kind": ["o"]})
        ),
    }


def test_every_plot_has_a_caption_and_an_alt_text_that_reach_its_png(tmp_path):
    from mner_lib.figures.figure import read_png_text

    for name, fig in figures_of_every_kind().items():
        assert fig.caption.strip() and fig.alt.strip(), name
        assert fig.caption != fig.alt, name
        data, _ = fig._repr_mimebundle_()
        png = tmp_path / f"{name}.png"
        png.write_bytes(__import__("base64").b64decode(data["image/png"]))
        assert read_png_text(png) == {"caption": fig.caption, "alt": fig.alt}, name
        assert fig.caption in data["text/plain"]


def test_alt_text_says_what_the_data_show():
    fig = plots.similarity_matrices({"after": (torch.eye(3), torch.eye(3))})
    assert "mean 1.00 on the diagonal" in fig.alt and "0.00 off it" in fig.alt
    w = np.full(49, 0.01)
    w[10] = 0.51
    fig = plots.region_attention(image(), w)
    assert "row 2, column 4" in fig.alt
    fig = plots.modality_attention(["a", "b"], np.array([[1.0, 0, 0], [0, 1.0, 0]]))
    assert "word 0.50, char 0.50, image 0.00" in fig.alt


def test_captioned_pyplot_figure_is_closed_and_needs_both_texts(tmp_path):
    import matplotlib.pyplot as plt

    from mner_lib.figures.figure import captioned

    fig, ax = plt.subplots()
    ax.plot([1, 2])
    shown = captioned(fig, "A line.", "A rising line.")
    assert not plt.fignum_exists(fig.number)
    assert shown._repr_mimebundle_()[0]["text/plain"] == "<Figure: A line.>"
    with pytest.raises(ValueError, match="caption and alt text"):
        captioned(fig, "A line.", " ")


def colour_range(ax) -> tuple[float, float]:
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)]
    norm = (mesh[0] if mesh else ax.images[-1]).norm
    return norm.vmin, norm.vmax


def test_weight_scale_runs_from_zero_to_the_largest_weight_rounded_up():
    assert plots.weight_scale(np.full(49, 0.0204)) == {"vmin": 0.0, "vmax": pytest.approx(0.021)}
    assert plots.weight_scale([0.2, 0.97]) == {"vmin": 0.0, "vmax": pytest.approx(0.97)}
    assert plots.weight_scale([0.2, 0.991])["vmax"] == 1.0  # probabilities stop at 1
    assert plots.weight_scale([0.0, 0.0])["vmax"] == 1.0
    assert plots.weight_scale([3.0, 12.3])["vmax"] == pytest.approx(13.0)


def test_near_uniform_attention_gets_a_short_labelled_colour_bar_from_zero():
    w = 1 / 49 + np.random.default_rng(0).normal(0, 1e-5, 49)
    fig = plots.region_attention(image(), w)
    heat = data_axes(fig)[1]
    assert colour_range(heat)[0] == 0.0 and colour_range(heat)[1] >= w.max()
    assert colour_range(data_axes(fig)[0]) == colour_range(heat)  # the overlay uses the same
    bar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"][0]
    assert bar.get_ylabel() == "attention weight"
    fig.canvas.draw()
    labels = [t.get_text() for t in bar.get_yticklabels() if t.get_text()]
    assert 2 <= len(labels) <= 5 and all(len(t) <= 5 for t in labels), labels


def test_heads_share_one_colour_scale_and_one_colour_bar():
    heads = np.full((3, 49), 0.01)
    heads[2, 0] = 0.3
    fig = plots.head_attention(heads)
    panels = data_axes(fig)
    assert len(panels) == 3
    assert [colour_range(ax) for ax in panels] == [(0.0, pytest.approx(0.3))] * 3
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 1
    with pytest.raises(ValueError, match=r"expected \(heads, g\*g\)"):
        plots.head_attention(np.ones((2, 10)))


def test_long_tokens_are_cut_on_tick_labels_and_rotated():
    url = "https://t.co/abcdefghijklmnop"
    fig = plots.token_weights(["a", url], {"w": np.ones(2)})
    labels = tick_labels(fig.axes[-1])
    assert labels[0] == "a" and len(labels[1]) <= 14 and labels[1].endswith("…")
    assert fig.axes[-1].get_xticklabels()[1].get_rotation() == 60
    fig = plots.modality_attention(["a", url], np.full((2, 3), 1 / 3))
    assert max(len(t) for t in tick_labels(fig.axes[0])) <= 14
    assert url in fig.alt  # the alt text keeps the whole token


def test_prefix_layers_share_one_scale_with_a_colour_bar():
    layers = [np.ones((1, 2, 49)) / 49, np.eye(49)[None, :2] * 0.5 + 0.01]
    fig = plots.prefix_attention(layers, image())
    overlays = [ax.images[1] for ax in fig.axes if len(ax.images) == 2]
    assert len(overlays) == 2 and overlays[0].norm.vmax == overlays[1].norm.vmax
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)


def test_row_labels_of_heat_maps_are_horizontal():
    fig = plots.modality_attention(["a", "b"], np.full((2, 3), 1 / 3))
    assert {t.get_rotation() for t in fig.axes[0].get_yticklabels()} == {0.0}
    fig = plots.layer_gates(np.full((6, 4), 0.25))
    assert {t.get_rotation() for t in fig.axes[0].get_yticklabels()} == {0.0}


def test_ipython_shows_the_captioned_png_even_with_the_inline_figure_printer():
    import base64
    import io

    from IPython.core.interactiveshell import InteractiveShell
    from PIL import Image

    from mner_lib.figures.figure import register_ipython

    shell = InteractiveShell.instance()
    png = shell.display_formatter.formatters["image/png"]
    png.for_type(Figure, lambda fig: b"the inline backend's plain PNG")  # as %matplotlib inline
    fig = plots.per_type_f1({"x": {"per_type": {}}})
    assert shell.display_formatter.format(fig)[0]["image/png"] == b"the inline backend's plain PNG"
    assert register_ipython(shell)
    data = shell.display_formatter.format(fig)[0]["image/png"]
    raw = data if isinstance(data, bytes) else base64.b64decode(data)
    assert Image.open(io.BytesIO(raw)).text["Title"] == fig.caption
    png.pop(Figure)


def test_training_curves_of_one_epoch_have_whole_epoch_ticks_and_f1_from_zero():
    fig = plots.training_curves({"a": [{"epoch": 1, "loss": 2.0, "dev_f1": 0.0}]})
    loss_ax, f1_ax = fig.axes
    fig.canvas.draw()
    assert [t for t in f1_ax.get_xticks() if 0.5 <= t <= 1.5] == [1.0]
    assert f1_ax.get_ylim() == (0.0, 10.0)
    fig = plots.training_curves(
        {"a": [{"epoch": e, "loss": 1.0, "dev_f1": 60.0} for e in (1, 2, 3)]}
    )
    assert fig.axes[1].get_ylim() == (0.0, pytest.approx(66.0))
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks())


def test_html_figure_carries_its_caption_and_passes_notes_through():
    from IPython.display import HTML, Markdown

    from mner_lib.figures.figure import HTML_CAPTION, html_figure

    shown = html_figure(HTML("<div><img alt='image 1' src='x.jpg'></div>"), 'Cards & "captions".')
    html = shown._repr_html_()
    assert f'{HTML_CAPTION}="Cards &amp; &quot;captions&quot;."' in html and "image 1" in html
    note = Markdown("> not shown in this build")
    assert html_figure(note, "x") is note
    with pytest.raises(ValueError, match="non-empty caption"):
        html_figure("<p>x</p>", " ")


def test_static_view_captions_name_the_tweet(monkeypatch):
    import IPython.display

    from mner_lib.book.explorer import static_view

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    static_view([example(text_to_image=np.full(49, 1 / 49))])
    figures = [s for s in shown if isinstance(s, Figure)]
    assert len(figures) == 1
    assert figures[0].caption.startswith("Tweet t1 (synthetic image). Text-to-image attention")


def test_prefix_attention_says_how_much_attention_goes_to_the_prefix_and_wraps_rows():
    layers = [np.full((1, 2, 10), 0.03)] * 6  # 0.3 of each token's attention on the prefix
    fig = plots.prefix_attention(layers)
    assert "per layer from the first: 0.30, 0.30, 0.30, 0.30, 0.30, 0.30" in fig.alt
    assert len(data_axes(fig)) == 6  # 2 rows of 3, not 6 tiny panels in a row
    assert len({round(ax.get_position().y0, 2) for ax in data_axes(fig)}) == 2


def test_eight_heads_wrap_into_two_rows_of_four():
    fig = plots.head_attention(np.full((8, 49), 1 / 49))
    panels = [ax for ax in data_axes(fig) if ax.images]
    assert len(panels) == 8
    assert len({round(ax.get_position().y0, 2) for ax in panels}) == 2
