from __future__ import annotations

from pathlib import Path

import pytest

from hone.config import load_config
from hone.errors import ConfigError
from hone.experiments.variants import from_file, grid, ladder, parse_vary, split_top_level


def test_parse_vary_keeps_lists_together() -> None:
    assert split_top_level("[64],[64,64]", ",") == ["[64]", "[64,64]"]
    assert parse_vary("model.hidden=[64],[64,64]") == [("model.hidden", [[64], [64, 64]])]
    assert parse_vary("model.activation=leaky_relu;model.negative_slope=0.02") == [
        ("model.activation", ["leaky_relu"]),
        ("model.negative_slope", [0.02]),
    ]
    with pytest.raises(ConfigError, match="KEY=V1,V2"):
        parse_vary("lr")


def test_grid_is_every_combination_plus_the_baseline() -> None:
    base = load_config({})
    variants = grid(base, ["train.optimizer.lr=0.1,0.01", "model.hidden=[8],[16],[32]"])
    assert len(variants) == 1 + 2 * 3 and variants[0].name == "baseline"
    assert all(v.compare_to == "baseline" for v in variants[1:])
    # A combination equal to the baseline is an A/A check: kept, and labelled as such.
    aa = grid(base, ["train.optimizer.lr=0.001,0.01"])
    assert len(aa) == 3 and aa[1].name.endswith("(same as baseline)")


def test_ladder_accumulates_and_compares_with_the_previous_step() -> None:
    base = load_config({})
    steps = ladder(
        base,
        [
            "train.loss=bce",
            "model.activation=leaky_relu;model.negative_slope=0.02",
            "train.optimizer.name=sgd",
        ],
    )
    assert [len(s.patch) for s in steps] == [0, 1, 3, 4]
    assert steps[2].compare_to == steps[1].name and steps[3].patch["train.loss"] == "bce"
    with pytest.raises(ConfigError, match="one value"):
        ladder(base, ["train.loss=bce,mse"])
    with pytest.raises(ConfigError):
        ladder(base, ["model.activaton=relu"])


def test_experiment_file(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "ladder: true\nvariants:\n  - {name: bce, patch: {train.loss: bce}}\n"
        "  - {name: adam, patch: {train.optimizer.name: adam}}\n"
    )
    variants, is_ladder = from_file(load_config({}), path)
    assert is_ladder and [v.name for v in variants] == ["baseline", "bce", "adam"]
    assert variants[2].patch == {"train.loss": "bce", "train.optimizer.name": "adam"}
    path.write_text("variants: [{name: bad, patch: {train.nope: 1}}]\n")
    with pytest.raises(ConfigError, match="variant 'bad'"):
        from_file(load_config({}), path)
