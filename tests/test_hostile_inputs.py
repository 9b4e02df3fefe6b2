"""Inputs from a stranger: a book profile, a sweep's experiment name, a hashtag segmenter file and
``hashtags train --out``. None may run code, escape its folder or end in a traceback; each gets
one clear error naming the file, the key or the parameter, and nothing is lost."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from mner_lib import book
from mner_lib.commands import cli
from mner_lib.hashtags import HashtagSegmenter, HashtagSegmenterConfig, TrainHistory

TINY = HashtagSegmenterConfig(char_dim=4, cnn_filters=4, cnn_kernel=3, lstm_hidden=4, dropout=0.0)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its content (None for a folder)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


# ----------------------------------------------------------------------------- 1. book profiles
@pytest.mark.parametrize(
    "text, key",
    [
        ("[1, 2]\n", "a profile is a mapping"),
        ("common: [1]\n", "common:"),
        ("env: [1]\n", "env:"),
        ("chapters: 5\n", "chapters:"),
        ("chapters: [[1]]\n", "chapters:"),
        ("chapters_params: {foundations: [1]}\n", "chapters_params: foundations:"),
        ("chapters_params: {hsm: {}}\n", "chapters_params: unknown chapter 'hsm'"),
        ("chapters: [hsn\n", "line "),
        ("cell_timeout: abc\n", "cell_timeout:"),
        ("cell_timeout: true\n", "cell_timeout:"),
        ("description: [1]\n", "description:"),
        ("1: 2\n", "unknown key 1;"),
        ("1: 2\nfoo: 3\n", "unknown keys 1, foo;"),
    ],
)
def test_a_profile_of_another_shape_is_one_error_naming_file_and_key(tmp_path, text, key):
    path = tmp_path / "hostile.yml"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        book.load_profile(str(path))
    assert str(path) in str(err.value) and key in str(err.value)


def test_a_profile_that_is_not_text_names_the_file(tmp_path):
    path = tmp_path / "binary.yml"
    path.write_bytes(b"\xff\xfe\x00env")
    with pytest.raises(ValueError, match="binary.yml"):
        book.load_profile(str(path))


@pytest.mark.parametrize(
    "name", ["PATH", "PYTHONPATH", "LD_PRELOAD", "PYTHONSTARTUP", "MNER_BOOK_BATCH", "mner_x"]
)
def test_profile_env_may_not_set_variables_that_run_code(tmp_path, name):
    path = tmp_path / "env.yml"
    path.write_text(f"env: {{{name}: /tmp/evil}}\n")
    with pytest.raises(ValueError) as err:
        book.load_profile(str(path))
    assert str(path) in str(err.value) and repr(name) in str(err.value)


@pytest.mark.parametrize("value", ["[1]", "{a: 1}", "true", "null"])
def test_profile_env_values_are_strings_or_numbers(tmp_path, value):
    path = tmp_path / "env.yml"
    path.write_text(f"env: {{OMP_NUM_THREADS: {value}}}\n")
    with pytest.raises(ValueError, match=f"{path}: env: OMP_NUM_THREADS: give a string"):
        book.load_profile(str(path))


def test_profile_env_allows_the_threads_and_the_librarys_settings(tmp_path):
    path = tmp_path / "env.yml"
    path.write_text("env: {OMP_NUM_THREADS: 2, MNER_DATA_DIR: data, HF_HUB_OFFLINE: '1'}\n")
    assert book.load_profile(str(path)).env == {
        "OMP_NUM_THREADS": "2",
        "MNER_DATA_DIR": "data",
        "HF_HUB_OFFLINE": "1",
    }


@pytest.mark.parametrize("name", book.profile_names())
def test_the_shipped_profiles_still_load(name):
    profile = book.load_profile(name)
    assert profile.chapters and profile.cell_timeout >= 1
    assert all(isinstance(v, str) for v in profile.env.values())


def test_kernel_env_refuses_a_variable_that_runs_code(monkeypatch):
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))  # restored after the test
    with pytest.raises(ValueError, match="'LD_PRELOAD' may not be set"):
        book.runner._kernel_env({"LD_PRELOAD": "/tmp/evil.so"})
    assert "LD_PRELOAD" not in os.environ


def test_a_bad_parameter_of_a_profile_names_the_file(tmp_path):
    path = tmp_path / "params.yml"
    path.write_text("chapters: [hsn]\ncommon: {epochs: 0}\n")
    with pytest.raises(ValueError) as err:
        book.chapter_parameters(book.load_profile(str(path)), "hsn")
    assert str(err.value).startswith(f"profile {path}: ")
    assert "epochs: must be at least 1" in str(err.value)


def test_book_run_with_a_hostile_profile_stops_before_any_notebook(tmp_path, capsys):
    path = tmp_path / "evil.yml"
    path.write_text("chapters: [hsn]\nenv: {PYTHONPATH: /tmp/evil}\n")
    argv = ["book", "run", "--profile", str(path), "--only", "hsn", "--no-build"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "PYTHONPATH" in err and "Traceback" not in err
    assert os.environ.get("PYTHONPATH") != "/tmp/evil"


# ----------------------------------------------------------------------------- 2. sweep names
SWEEP = ["sweep", "--models", "bilstm-crf", "--datasets", "demo", "--seeds", "0"]


def test_summary_only_cannot_write_outside_the_root(tmp_path, capsys):
    root = tmp_path / "a" / "b" / "res"
    (root / "summary_x").mkdir(parents=True)
    before = snapshot(tmp_path)
    argv = [*SWEEP, "--experiment", "x/../../../escaped", "--summary-only", "--root", str(root)]
    assert cli.main(argv) == 2
    assert "--experiment" in capsys.readouterr().err
    assert snapshot(tmp_path) == before  # nothing written anywhere


@pytest.mark.parametrize(
    "name", ["a/b", "x/../../escaped", "", ".hidden", "..", ".", "a\\b", "a\x00b", "ab*"]
)
def test_a_bad_experiment_name_is_refused_before_any_training(tmp_path, monkeypatch, name):
    import mner_lib.experiments.sweep

    def never(*args, **kwargs):
        raise AssertionError("run_grid ran for a bad experiment name")

    monkeypatch.setattr(mner_lib.experiments.sweep, "run_grid", never)
    root = tmp_path / "res"
    root.mkdir()
    with pytest.raises(ValueError, match="experiment"):
        mner_lib.experiments.sweep.check_experiment(root, name)
    assert cli.main([*SWEEP, "--experiment", name, "--root", str(root)]) == 2
    assert snapshot(tmp_path) == {"res": None}


def test_an_experiment_linked_out_of_the_root_is_refused(tmp_path):
    from mner_lib.experiments.sweep import check_experiment
    from mner_lib.reporting.summary import write_summary

    root, outside = tmp_path / "res", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="symbolic link"):
        check_experiment(root, "link")
    with pytest.raises(ValueError, match="experiment"):
        write_summary(root, "../outside")
    assert not list(outside.iterdir()) and not list(tmp_path.glob("*.json"))


def test_summary_only_of_a_missing_experiment_writes_nothing(tmp_path, capsys):
    root = tmp_path / "res"
    root.mkdir()
    (root / "summary_gone.md").write_text("the old summary")
    assert cli.main([*SWEEP, "--experiment", "gone", "--summary-only", "--root", str(root)]) == 2
    assert "no experiment folder" in capsys.readouterr().err
    assert (root / "summary_gone.md").read_text() == "the old summary"


# ----------------------------------------------------------------------------- 3. segmenter files
def tiny_model(meta: dict | None = None) -> HashtagSegmenter:
    torch.manual_seed(0)
    return HashtagSegmenter(TINY, "abc", meta or {"note": "tiny"})


def model_file(tmp_path: Path, change=None, name: str = "seg.pt") -> Path:
    """A tiny model file, its loaded dict first changed by ``change``."""
    path = tmp_path / name
    tiny_model().save(path)
    if change is not None:
        blob = torch.load(path, weights_only=True)
        change(blob)
        torch.save(blob, path)
    return path


HOSTILE_FILES = {
    "config.evil": (lambda b: b["config"].update(evil=1), "config: unknown field 'evil'"),
    "config list": (lambda b: b.update(config=[1]), "config: must be a mapping"),
    "config text": (lambda b: b["config"].update(char_dim="4"), "config.char_dim"),
    "config bad": (lambda b: b["config"].update(cnn_kernel=2), "config: "),
    "chars 5": (lambda b: b.update(chars=5), "chars: must be a list"),
    "chars words": (lambda b: b.update(chars=["ab", 1]), "chars: must be a list"),
    "meta list": (lambda b: b.update(meta=[1]), "meta: must be a mapping"),
    "no weights": (lambda b: b.update(state_dict={}), "state_dict: tensors missing"),
    "weights list": (lambda b: b.update(state_dict=[1]), "state_dict: must be a mapping"),
    # a config asking for a huge model is refused by its weights' shapes, before any allocation
    "big": (lambda b: b["config"].update(lstm_hidden=8), "state_dict: lstm.weight_ih_l0"),
    "huge": (lambda b: b["config"].update(lstm_hidden=10**9), "config: sizes that give no"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_a_segmenter_file_of_another_shape_names_file_and_field(tmp_path, capsys, case):
    change, field = HOSTILE_FILES[case]
    path = model_file(tmp_path, change)
    with pytest.raises(ValueError) as err:
        HashtagSegmenter.load(path)
    assert str(path) in str(err.value) and field in str(err.value)
    assert cli.main(["hashtags", "segment", "--model", str(path), "#newyork"]) == 2
    assert field in capsys.readouterr().err


def test_a_pickle_that_runs_code_is_refused_unread(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": "mner-hashtag-segmenter/1", "x": Evil()}, protocol=2))
    with pytest.raises(ValueError, match="not a hashtag segmenter file"):
        HashtagSegmenter.load(path)
    assert not marker.exists()


SPLIT = {"seed": 0, "test_fraction": 0.1, "min_words": 1, "max_words": 4}


@pytest.mark.parametrize(
    "meta, field",
    [
        ({"datasets": ["demo"], "split": {"seed": 0, "min_words": 1, "max_words": 4}}, "test_frac"),
        ({"datasets": "demo", "split": SPLIT}, "meta.datasets: must be a list"),
        ({"datasets": ["../../etc"], "split": SPLIT}, "unknown dataset '../../etc'"),
        ({"datasets": ["demo"], "split": []}, "meta.split: must be a mapping"),
        ({"datasets": ["demo"], "split": {**SPLIT, "seed": "x"}}, "meta.split.seed"),
        ({"datasets": ["demo"], "split": {**SPLIT, "test_fraction": 2.0}}, "test_fraction"),
        ({"datasets": ["demo"], "split": {**SPLIT, "extra": 1}}, "unknown field 'extra'"),
    ],
)
def test_evaluate_checks_what_the_file_says_it_was_trained_on(tmp_path, capsys, meta, field):
    path = tmp_path / "seg.pt"
    tiny_model(meta).save(path)
    assert cli.main(["hashtags", "evaluate", "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and field in err and "Traceback" not in err


# ----------------------------------------------------------------------------- 4. train --out
@pytest.fixture
def no_training(monkeypatch):
    """``hashtags train`` without the training: the tiny model, no scoring; records calls."""
    import mner_lib.commands.hashtags as cmd

    calls = []

    def fake_train(train, config, train_config, meta=None, log=None):
        calls.append(len(train))
        return tiny_model(meta), TrainHistory([1.0])

    monkeypatch.setattr(cmd, "train_segmenter", fake_train)
    monkeypatch.setattr(cmd, "score_all", lambda model, heldout: {})
    return calls


TRAIN = ["hashtags", "train", "--dataset", "demo", "--epochs", "1", "--out"]


def test_train_out_a_folder_is_refused_before_training(tmp_path, capsys, no_training):
    assert cli.main([*TRAIN, str(tmp_path)]) == 2
    assert f"is a folder; give a file, e.g. {tmp_path / 'seg.pt'}" in capsys.readouterr().err
    assert not no_training


def test_train_out_an_existing_file_needs_overwrite(tmp_path, capsys, no_training):
    out = tmp_path / "seg.pt"
    out.write_bytes(b"an earlier model")
    assert cli.main([*TRAIN, str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and not no_training
    assert out.read_bytes() == b"an earlier model"
    assert cli.main([*TRAIN, str(out), "--overwrite"]) == 0
    assert no_training and HashtagSegmenter.load(out).chars[2:] == ["a", "b", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.pt"]  # no temporary file left


def test_train_out_under_a_file_is_refused_and_a_missing_folder_made(tmp_path, no_training):
    (tmp_path / "file").write_text("x")
    assert cli.main([*TRAIN, str(tmp_path / "file" / "seg.pt")]) == 2 and not no_training
    out = tmp_path / "new" / "sub" / "seg.pt"
    assert cli.main([*TRAIN, str(out)]) == 0
    assert HashtagSegmenter.load(out).meta["datasets"] == ["demo"]


def test_save_is_atomic_a_failure_keeps_the_old_file(tmp_path, monkeypatch):
    out = tmp_path / "seg.pt"
    tiny_model().save(out)
    old = out.read_bytes()

    def broken_save(obj, f, *args, **kwargs):  # writes a part, then fails (a full disk)
        if isinstance(f, str | os.PathLike):
            Path(f).write_bytes(b"part")
        else:
            f.write(b"part")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        tiny_model({"new": 1}).save(out)
    assert out.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.pt"]
