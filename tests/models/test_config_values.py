"""Model option values are checked when a config is made (issue 26, class 7): a bad
``--option`` is one error naming the field before anything is written, never a failure inside
a layer (``char_kernel=0`` failed in oneDNN and left a config.json that refused the corrected
command)."""

from __future__ import annotations

import pytest

from mner_lib.commands import cli
from mner_lib.models import available_models, get_model_class, make_config
from mner_lib.models.base import MAX_MODEL_WIDTH


@pytest.mark.parametrize("model", available_models())
def test_every_models_defaults_pass_their_own_checks(model):
    cls = get_model_class(model)
    assert make_config(cls, {}) == cls.config_class()


@pytest.mark.parametrize(
    "model, options, message",
    [
        ("hsn", {"char_kernel": 0}, "HSNConfig.char_kernel must be 1 to 1000, got 0"),
        ("hsn", {"char_kernel": 40}, "HSNConfig.char_kernel 40 is wider than a word is cut"),
        ("hsn", {"hidden": 10**6}, f"HSNConfig.hidden must be 1 to {MAX_MODEL_WIDTH}"),
        ("hsn", {"heads": 0}, "HSNConfig.heads must be 1 to 64, got 0"),
        ("hsn", {"dropout": 1.0}, "HSNConfig.dropout must be at least 0 and below 1"),
        ("hsn", {"dropout": -0.1}, "HSNConfig.dropout must be at least 0 and below 1"),
        ("hsn", {"max_word_len": 0}, "HSNConfig.max_word_len must be 1 to 1000, got 0"),
        ("bilstm-crf", {"hidden": 0}, "BiLSTMCRFConfig.hidden must be 1 to 4096, got 0"),
        ("hbilstm-crf", {"char_emb": 0}, "BiLSTMCRFConfig.char_emb must be 1 to 4096, got 0"),
        ("bert-crf", {"max_length": 100000}, "BertCRFConfig.max_length must be 2 to 512"),
        ("cwi", {"char_kernels1": [0, 3, 4]}, "CWIConfig.char_kernels1 must be 1 to 1000, got 0"),
        ("cwi", {"char_kernels1": []}, "CWIConfig.char_kernels1 must hold 1 to 16 sizes, got 0"),
        ("cwi", {"char_filters1": [15, 32, 64]}, "must split into gn_groups=4 groups"),
        ("cwi", {"char_kernels2": [3]}, "char_kernels2 and char_filters2 must have as many"),
        ("cwi", {"td_rate": 1.5}, "CWIConfig.td_rate must be at least 0 and below 1"),
        ("cwi", {"word_length": 0}, "CWIConfig.word_length must be 1 to 1000, got 0"),
        ("cwi-attention", {"attention_dim": 0}, "CWIConfig.attention_dim must be 1 to 4096"),
        ("gmf", {"csa_dilation": 100000}, "GMFConfig.csa_dilation must be 1 to 16"),
        ("gmf", {"prefix_grid": 1000}, "GMFConfig.prefix_grid must be 1 to 32, got 1000"),
        (
            "gmf",
            {"pretrained": False, "hidden": 30, "heads": 4},
            "GMFConfig.hidden 30 is not a multiple of 4 heads",
        ),
        ("gmf", {"csa_reduction": 0}, "GMFConfig.csa_reduction must be 1 to 4096, got 0"),
        ("trimod", {"caption_labels": 5000}, "TriModConfig.caption_labels must be 0 to 1000"),
        ("trimod", {"visual_dim": 0}, "TriModConfig.visual_dim must be 1 to 4096, got 0"),
    ],
)
def test_an_option_out_of_range_names_the_field(model, options, message):
    with pytest.raises(ValueError) as err:
        make_config(get_model_class(model), options)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "options",
    [{"head_dim": 0, "highway_layers": 0}, {"char_kernel": 30, "max_word_len": 30}],
)
def test_the_zero_and_edge_values_a_model_takes_are_accepted(options):
    config = make_config(get_model_class("hsn"), options)
    assert all(getattr(config, k) == v for k, v in options.items())


def test_a_bad_option_is_refused_before_a_run_folder_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--model", "hsn", "--dataset", "demo", "--epochs", "1", "--out", str(out)]
    assert cli.main([*argv, "--option", "char_kernel=0", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "HSNConfig.char_kernel must be 1 to 1000, got 0" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())  # no config.json to refuse a rerun with


@pytest.mark.parametrize("batch_size", [0, 5000])
def test_tagging_batches_have_a_stated_cap(batch_size):
    from mner_lib.text.data import load_dataset

    cls = get_model_class("bilstm-crf")
    tweets = load_dataset("demo").train[:4]
    model = cls.from_data(make_config(cls, {"use_glove": False, "hidden": 4}), tweets)
    with pytest.raises(ValueError, match=f"batch_size must be 1 to 1024, got {batch_size}"):
        model.run(tweets, batch_size=batch_size)
    assert len(model.run(tweets, batch_size=1024).predictions) == 4
