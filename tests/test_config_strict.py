"""Strict config values and bounded YAML: nonsense is a clear error, never accepted or a hang."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hone.config import load_config, yaml_load
from hone.errors import ConfigError
from hone.yaml_safe import YamlLimitError

NONSENSE: list[tuple[dict[str, Any], str]] = [
    ({"train": {"epochs": True}}, "train.epochs"),
    ({"train": {"lr": True}}, "train.optimizer.lr"),
    ({"train": {"batch_size": False}}, "train.batch_size"),
    ({"train": {"optimizer": {"lr": float("nan")}}}, "train.optimizer.lr"),
    ({"train": {"l1": float("inf")}}, "train.l1"),
    ({"train": {"l2": float("nan")}}, "train.l2"),
    ({"model": {"alpha": float("inf")}}, "model.alpha"),
    ({"model": {"negative_slope": float("nan")}}, "model.negative_slope"),
    ({"train": {"huber_delta": float("inf")}}, "train.huber_delta"),
    ({"train": {"early_stopping": {"min_delta": float("nan")}}}, "min_delta"),
    ({"train": {"grad_clip": {"norm": float("inf")}}}, "train.grad_clip.norm"),
    ({"train": {"augment": {"noise": float("nan")}}}, "train.augment.noise"),
    ({"train": {"class_weight": {"0": float("nan")}}}, "train.class_weight"),
    ({"train": {"optimizer": {"name": "sgd", "momentum": float("nan")}}}, "momentum"),
    ({"train": {"optimizer": {"name": "adam", "betas": [0.9, 2]}}}, "betas"),
    ({"train": {"schedule": {"name": "step", "step_size": "abc"}}}, "step_size"),
    ({"train": {"schedule": {"name": "step", "step_size": 0}}}, "step_size"),
    ({"train": {"schedule": {"name": "step", "gamma": float("nan")}}}, "gamma"),
    ({"train": {"schedule": {"name": "cosine", "t_max": 0}}}, "t_max"),
    ({"train": {"schedule": {"name": "multistep", "milestones": [-3]}}}, "milestones"),
    ({"train": {"schedule": {"name": "multistep", "milestones": [5, 2]}}}, "milestones"),
    ({"train": {"schedule": {"stepsize": 3}}}, "train.schedule.stepsize"),
    ({"train": {"device": "cuda:abc"}}, "train.device"),
    ({"train": {"device": "tpu"}}, "train.device"),
    ({"model": {"hidden": [1_000_000_000]}}, "model.hidden"),
    ({"train": {"threads": 2**31}}, "train.threads"),
    ({"train": {"ensemble": {"members": 1e9}}}, "train.ensemble.members"),
    ({"model": {"pieces": 1e6}}, "model.pieces"),
    ({"seed": 2**70}, "seed"),
    ({"seed": -1}, "seed"),
    ({"data": {"split": {"seed": 2**64}}}, "data.split.seed"),
    ({"train": {"epochs": 2.5}}, "train.epochs"),
    ({"data": {"path": "a\x00b"}}, "data.path"),
    ({"name": "x" * 5000}, "name"),
    ({"data": {"params": {"n_samples": float("nan")}}}, "data.params"),
]


@pytest.mark.parametrize(("config", "path"), NONSENSE, ids=[p for _, p in NONSENSE])
def test_nonsense_is_a_config_error_naming_the_key(config: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert path in str(info.value)


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ({"train": {"steps_per_epoch": 0}}, "Input should be greater than 0 (got 0)"),
        ({"train": {"epochs": -2}}, "(got -2)"),
        ({"train": {"steps_per_epoch": 1.5}}, "expected a whole number, got 1.5\n"),
    ],
)  # fmt: skip
def test_the_error_says_what_was_given_once(config: dict[str, Any], said: str) -> None:
    """A bound in the message ("greater than 0") is not the value given: "(got 0)" still
    follows; a message that already says "got 1.5" is not repeated."""
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert said in f"{info.value}\n" and str(info.value).count("got ") == 1


def test_sensible_values_still_pass() -> None:
    cfg = load_config(
        {
            "train": {
                "epochs": 1e3,  # an integral float is an integer
                "class_weight": {1: 2.0},  # YAML reads label keys as integers
                "schedule": {"name": "multistep", "milestones": [3, 6], "gamma": 0.5},
                "optimizer": {"name": "adam", "betas": [0.9, 0.99], "lr": 0.01},
                "device": "cpu",
            },
            "seed": 2**63 - 1,
        }
    )
    assert cfg.train.epochs == 1000 and cfg.train.class_weight == {"1": 2.0}


def test_cnn_that_pools_below_one_pixel_names_the_layer(tmp_path: Path) -> None:
    import hone

    cfg = {
        "data": {"dataset": "digits"},
        "model": {"kind": "cnn", "conv": [{"filters": 4, "pool": "max2"}] * 4, "hidden": [8]},
        "train": {"epochs": 1},
    }
    with pytest.raises(ConfigError, match=r"model\.conv\[3\] .*1x1 feature map"):
        hone.run(cfg, store=str(tmp_path / "s"))


def test_a_model_too_large_for_memory_is_refused_before_allocation(tmp_path: Path) -> None:
    import hone

    with pytest.raises(ConfigError, match="memory_check"):
        hone.run(None, store=str(tmp_path / "s"), **{"model.hidden": [1_000_000, 1_000_000]})


BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
)


@pytest.mark.parametrize(
    "text",
    [BOMB, "a: " + "[" * 500 + "]" * 500, "a: " + "9" * 5000, "a: &x [*x]", "x: 1\n" * 300_000],
    ids=["alias-bomb", "deep-nesting", "5000-digits", "recursive-alias", "over-1MB"],
)
def test_yaml_limits(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(YamlLimitError):
        yaml_load(text)
    assert time.monotonic() - started < 5


def test_alias_bomb_under_data_params_is_refused_by_the_cli(tmp_path: Path) -> None:
    nested = BOMB.replace("\n", "\n    ").rstrip()
    path = tmp_path / "bomb.yaml"
    path.write_text("data:\n  params:\n    " + nested + "\n")
    assert path.stat().st_size < 700
    proc = subprocess.run(
        [sys.executable, "-m", "hone.cli", "run", str(path), "--store", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "expands to more than" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s").exists()


def test_yaml_keeps_aliases_that_are_small() -> None:
    assert yaml_load("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
