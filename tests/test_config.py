from __future__ import annotations

from pathlib import Path

import pytest

from hone.config import Config, apply_overrides, load_config, parse_set, recorded_config
from hone.errors import ConfigError, HoneWarning


def error_of(source: object, overrides: dict[str, object] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(source, overrides)  # type: ignore[arg-type]
    return str(info.value)


def test_default_is_the_keras_blobs_baseline() -> None:
    cfg = load_config()
    assert cfg.data.dataset == "blobs"
    assert cfg.data.params == {
        "n_samples": 1000,
        "centers": 4,
        "n_features": 2,
        "cluster_std": 2,
        "random_state": 2,
    }
    assert (cfg.data.split.train, cfg.data.split.test, cfg.data.split.shuffle) == (0.8, 0.2, False)
    assert cfg.model.hidden == [25] and cfg.model.activation == "relu"
    assert cfg.train.loss == "cross_entropy" and cfg.train.optimizer.name == "adam"
    assert (cfg.train.batch_size, cfg.train.epochs) == (32, 1000)


def test_unknown_key_names_path_and_suggests() -> None:
    msg = error_of({"train": {"batchsize": 3}})
    assert "train.batchsize" in msg and "did you mean 'batch_size'" in msg
    msg = error_of({"data": {"split": {"tran": 0.5}}})
    assert "data.split.tran" in msg and "did you mean 'train'" in msg
    assert "did you mean" in error_of({"modle": {}})


def test_wrong_types_and_ranges_name_the_path() -> None:
    assert "train.optimizer.lr" in error_of({"train": {"optimizer": {"lr": -1}}})
    assert "train.batch_size" in error_of({"train": {"batch_size": 0}})
    assert "train.epochs" in error_of({"train": {"epochs": "many"}})
    msg = error_of({"model": {"activation": "relux"}})
    assert "model.activation" in msg and "did you mean 'relu'" in msg and "leaky_relu" in msg
    assert "data.dataset" in error_of({"data": {"dataset": "imagenet"}})
    assert "train.optimizer.name" in error_of({"train": {"optimizer": {"name": "adamax2"}}})


def test_split_ratios_must_sum_to_one() -> None:
    msg = error_of({"data": {"split": {"train": 0.7, "val": 0.2, "test": 0.2}}})
    assert "data.split" in msg and "sum to 1" in msg
    assert "data.split" in error_of({"data": {"split": "6:x:2"}})


def test_ratio_strings() -> None:
    split = load_config({"data": {"split": "6:2:2"}}).data.split
    assert (split.train, split.val, split.test) == pytest.approx((0.6, 0.2, 0.2))
    split = load_config({"data": {"split": "8:2"}}).data.split
    assert (split.train, split.test) == pytest.approx((0.8, 0.2))


def test_yaml_keeps_ratio_strings_and_scientific_floats(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  split: 6:2:2\ntrain:\n  optimizer: {name: sgd, lr: 1e-3}\n")
    cfg = load_config(path)
    assert cfg.data.split.val == pytest.approx(0.2)
    assert cfg.train.optimizer.lr == pytest.approx(1e-3)


def test_set_overrides_and_lr_shortcut() -> None:
    overrides = parse_set(["train.lr=0.01", "model.hidden=[64,64]", "train.optimizer.momentum=0.9"])
    cfg = load_config({"train": {"optimizer": "sgd"}}, overrides)
    assert cfg.train.optimizer.name == "sgd" and cfg.train.optimizer.lr == 0.01
    assert cfg.model.hidden == [64, 64]
    assert cfg.train.optimizer.options() == {"momentum": 0.9}
    assert load_config(None, {"train__epochs": 7}).train.epochs == 7


def test_bad_set_syntax() -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_set(["train.lr"])
    with pytest.raises(ConfigError, match="not a mapping"):
        apply_overrides({"model": {"hidden": [3]}}, {"model.hidden.x": 1})


def test_bad_files(tmp_path: Path) -> None:
    assert "not found" in error_of(tmp_path / "missing.yaml")
    assert "is a folder, not a config file" in error_of(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    assert "not valid YAML" in error_of(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    assert "mapping" in error_of(scalar)


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_an_empty_config_file_is_an_error_not_the_default(tmp_path: Path, text: str) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text(text)
    message = error_of(empty)
    assert "empty.yaml" in message and "empty" in message and "blobs" in message


def test_a_data_file_given_as_the_config_says_where_it_belongs(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("x,label\n1.0,0\n")
    message = error_of(table)
    assert "data file" in message and "data: {dataset: csv, path:" in message
    empty_table = tmp_path / "empty.csv"
    empty_table.write_text("")
    assert "data file" in error_of(empty_table)


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    cfg = load_config(None, {"train.epochs": 3})
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    assert load_config(path) == cfg
    assert isinstance(load_config(cfg), Config)


def test_recorded_config_reads_a_missing_target_scale_as_none() -> None:
    old = {"data": {"dataset": "csv", "task": "auto", "path": "p.csv", "target": "price",
                    "preprocess": {"scale": "none"}}}  # fmt: skip
    cfg = recorded_config(old)
    assert cfg.data.preprocess.target_scale == "none" and cfg.data.task == "classification"
    generated = recorded_config({"data": {"dataset": "regression", "preprocess": {}}})
    assert generated.data.task == "regression"
    new = {"data": {"dataset": "csv", "task": "auto", "preprocess": {"target_scale": "standard"}}}
    assert recorded_config(new).data.task == "auto"  # a run of today: as it is


def test_loss_auto_and_stratify_auto_are_the_defaults() -> None:
    cfg = load_config({"data": {"dataset": "csv", "path": "p.csv", "target": "y"}})
    assert cfg.train.loss == "auto" and cfg.data.split.stratify == "auto"
    assert cfg.data.preprocess.target_scale == "standard"
    with pytest.raises(ConfigError, match=r"data\.preprocess\.target_scale"):
        load_config({"data": {"preprocess": {"target_scale": "minmax"}}})
    with pytest.raises(ConfigError, match=r"train\.loss.*auto"):
        load_config({"train": {"loss": "l2"}})


def test_every_relative_path_in_a_config_file_is_read_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "d.csv").write_text("a,label\n1,x\n")
    config = folder / "c.yaml"
    config.write_text("data: {dataset: csv, path: data/d.csv, target: label}\n"
                      "store: runs\nlog_to: {tensorboard: tb}\n")  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the same config works from any folder
    cfg = load_config(config)
    assert cfg.data.path == str(folder / "data" / "d.csv")
    assert cfg.store == str(folder / "runs") and cfg.log_to["tensorboard"] == str(folder / "tb")
    override = load_config(config, {"data.path": "x.csv"})  # --set: the working directory
    assert override.data.path == "x.csv"


def test_a_data_path_found_only_the_old_way_is_read_with_a_warning_giving_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "d.csv").write_text("a,label\n1,x\n")
    config = tmp_path / "configs" / "c.yaml"
    config.write_text("data: {dataset: csv, path: d.csv, target: label}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(HoneWarning, match=r"Write data.path: \.\./d\.csv"):
        cfg = load_config(config)
    assert cfg.data.path == str(tmp_path / "d.csv")


def test_a_union_with_a_word_says_one_line_naming_the_word() -> None:
    """``train.batch_size: big`` gave two lines for one mistake (the number's, and "Input
    should be 'full'"): one line, the word said with it."""
    text = error_of({}, {"train.batch_size": "big"})
    lines = [line for line in text.splitlines() if "train.batch_size" in line]
    assert lines == ["  train.batch_size: expected a whole number, got the text 'big' (or 'full')"]
