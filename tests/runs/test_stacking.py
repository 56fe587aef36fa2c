"""Seeds trained stacked are recorded as runs alone would be, and match runs alone."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

import hone
from hone.config import load_config
from hone.runs.stacking import run_stacked, why_not_stacked
from hone.store import RunStore
from hone.train.optim import make_optimizer
from hone.train.stacked import _member_optimizer_state
from tests.conftest import tiny

SEEDS = (0, 1, 2)


def _both(store: Path, **overrides: Any) -> tuple[list[Any], list[hone.RunResult]]:
    """The same configs stacked and alone: (stacked records, results alone)."""
    configs = [load_config(tiny(**overrides, seed=s)) for s in SEEDS]
    stacked = run_stacked(configs, store)
    alone = [hone.run(tiny(**overrides, seed=s), store=store) for s in SEEDS]
    with RunStore(store) as rs:
        records = [rs.get_run(r.run_id) for r in stacked]
    return records, alone


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"model.norm": "layer", "train.l2": 0.01, "train.grad_clip": {"norm": 0.5}},
        {"train.schedule": {"name": "one_cycle"}, "train.optimizer.name": "momentum"},
        {"train.loss": "bce", "data.sampler": "balanced", "train.label_smoothing": 0.1},
        {"model.norm": "batch", "train.optimizer.name": "sgd", "train.optimizer.lr": 0.1},
    ],
)
def test_each_member_matches_its_run_alone(store: Path, overrides: dict[str, Any]) -> None:
    records, alone = _both(store, **{"train.epochs": 6, **overrides})
    for rec, ref in zip(records, alone, strict=True):
        assert rec.status == ref.status == "completed"
        assert rec.extra["stacked"] == {"members": 3, "seeds": list(SEEDS)}
        # Same initial weights and batch order: the first epoch's loss agrees to float noise.
        assert abs(rec.history["train_loss"][0] - ref.history["train_loss"][0]) < 1e-6
        for key in ("train_loss", "val_loss", "lr"):
            assert rec.history[key] == pytest.approx(ref.history[key], rel=1e-4, abs=1e-6)
        assert rec.metrics["val_accuracy"] == pytest.approx(ref.metrics["val_accuracy"], abs=0.02)


@pytest.mark.parametrize(
    "variant",
    [
        {"train.optimizer.lr": 0.05},
        # BatchNorm: a stopped member's running statistics are held too. Momentum, not Adam:
        # the gradient of a bias just before BatchNorm is zero in exact arithmetic, and Adam
        # scales its float noise up to a full step, so two exact computations part ways.
        {"model.norm": "batch", "train.optimizer": {"name": "momentum", "lr": 0.1}},
    ],
)
def test_members_stop_early_on_their_own(store: Path, variant: dict[str, Any]) -> None:
    es = {"monitor": "val_loss", "patience": 2, "restore_best": True}
    records, alone = _both(store, **{"train.epochs": 60, "train.early_stopping": es, **variant})
    epochs = [len(r.history["epoch"]) for r in records]
    assert epochs == [len(a.history["epoch"]) for a in alone]
    assert min(epochs) < 60
    for rec, ref in zip(records, alone, strict=True):  # the best weights were restored
        assert rec.metrics["val_loss"] == pytest.approx(ref.metrics["val_loss"], rel=1e-4)


def test_a_diverged_member_is_recorded_diverged(store: Path) -> None:
    records, alone = _both(store, **{"train.optimizer": {"name": "sgd", "lr": 80.0},
                                     "train.epochs": 4})  # fmt: skip
    assert [r.status for r in records] == [a.status for a in alone]
    assert all(r.status == "diverged" for r in records)


def test_each_member_has_its_own_telemetry_and_diagnosis(store: Path) -> None:
    records, alone = _both(store, **{"train.epochs": 5})
    with RunStore(store) as rs:
        tel = [rs.load_json(r.id, "telemetry.json") for r in records]
        ref = [rs.load_json(r.run_id, "telemetry.json") for r in alone]
    assert all(t["samples"] and t["at_end"] for t in tel)
    norms = [t["samples"][0]["grad_norm"] for t in tel]
    assert len(set(norms)) == 3 and all(math.isfinite(n) for n in norms)
    # Sampled on the stacked tensors, each member's samples are those of its run alone.
    for mine, theirs in zip(tel, ref, strict=True):
        assert len(mine["samples"]) == len(theirs["samples"])
        for a, b in zip(mine["samples"], theirs["samples"], strict=True):
            assert (a["epoch"], a["step"], a["finite"]) == (b["epoch"], b["step"], b["finite"])
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-6)
            assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-3, abs=1e-6)
            for layer, stats in a["layers"].items():
                for key, value in stats.items():
                    assert value == pytest.approx(b["layers"][layer][key], rel=1e-3, abs=1e-6)
            assert a["activations"].keys() == b["activations"].keys()
            for name, stats in a["activations"].items():
                for key, value in stats.items():
                    expected = b["activations"][name][key]
                    assert value == pytest.approx(expected, rel=1e-3, abs=1e-5)
    report = hone.diagnose(records[0].id, store=store)
    assert report is not None


def test_a_member_checkpoint_holds_its_own_optimizer_rows() -> None:
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(3, 4, 2))
    shared = make_optimizer("adam", [w], 0.01, {})
    own = make_optimizer("adam", [torch.nn.Parameter(w.detach()[1].clone())], 0.01, {})
    (w.pow(2).sum()).backward()
    shared.step()
    saved = _member_optimizer_state(shared, own, 1)()
    alone = torch.nn.Parameter(torch.zeros(4, 2))
    restored = make_optimizer("adam", [alone], 0.01, {})
    restored.load_state_dict(saved)
    state = restored.state[alone]
    assert torch.equal(state["exp_avg"], shared.state[w]["exp_avg"][1])
    assert float(state["step"]) == 1.0


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"model.activation": "maxout"}, "maxout"),
        ({"train.augment": {"noise": 0.1}}, "augment"),
        ({"train.schedule": {"name": "reduce_on_plateau"}}, "reduce_on_plateau"),
    ],
)
def test_why_not_stacked_names_the_setting(overrides: dict[str, Any], reason: str) -> None:
    configs = [load_config(tiny(**overrides, seed=s)) for s in SEEDS]
    assert reason in (why_not_stacked(configs) or "")


def test_configs_that_differ_beyond_the_seed_are_not_stacked() -> None:
    configs = [load_config(tiny(seed=0)), load_config(tiny(**{"seed": 1, "train.epochs": 9}))]
    assert why_not_stacked(configs) == "the runs differ in more than the seed"


def test_compare_stacks_by_default_and_not_with_stack_off(store: Path) -> None:
    kw = {"vary": {"train.optimizer.lr": [0.01, 0.03]}, "seeds": 3, "store": store}
    stacked = hone.compare(tiny(), **kw)
    alone = hone.compare(tiny(), stack="off", **kw)
    with RunStore(store) as rs:
        for row, ref in zip(stacked.variants, alone.variants, strict=True):
            assert all("stacked" in rs.get_run(r, with_history=False).extra for r in row.run_ids)
            assert not any("stacked" in rs.get_run(r, with_history=False).extra
                           for r in ref.run_ids)  # fmt: skip
            assert row.values == pytest.approx(ref.values, abs=0.02)


def test_compare_says_once_why_seeds_run_one_by_one(store: Path) -> None:
    from typer.testing import CliRunner

    from hone.cli import app

    cfg = store.parent / "bn.yaml"
    import yaml

    cfg.write_text(yaml.safe_dump(tiny(**{"model.activation": "maxout", "train.epochs": 2})))
    out = CliRunner().invoke(app, ["compare", str(cfg), "--vary", "train.optimizer.lr=0.01,0.02",
                                   "--seeds", "2", "--store", str(store)])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert out.output.count("not stacked: model.activation: maxout") == 1


def test_big_models_on_a_cpu_are_not_stacked_unless_forced(store: Path) -> None:
    configs = [load_config(tiny(**{"model.hidden": [1000, 1000]}, seed=s)) for s in (0, 1)]
    with pytest.raises(ValueError, match="does not pay"):
        run_stacked(configs, store)


def test_compare_says_why_a_big_model_ran_one_by_one(store: Path) -> None:
    said: list[str] = []
    from hone.experiments.compare import plan_experiment, run_pending
    from hone.experiments.variants import Variant

    base = load_config(tiny(**{"model.hidden": [1000, 1000], "train.epochs": 1}))
    with RunStore(store) as rs:
        exp_id = plan_experiment(rs, "compare", base, [Variant("baseline", {})], [0, 1],
                                 "val_accuracy")  # fmt: skip
        assert run_pending(rs, exp_id, say=said.append) == 2
        runs = rs.get_experiment(exp_id).runs
    assert len(runs) == 2 and said == [
        "baseline: seeds run one by one, not stacked: "
        f"{32 * (2 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 4 + 4):,} multiply-adds a step: "
        "on a CPU stacking does not pay"
    ]


def test_a_bad_stack_mode_is_refused_before_anything_is_planned(store: Path) -> None:
    with pytest.raises(hone.ConfigError, match="--stack: 'bogus' is not a mode; use auto or off"):
        hone.compare(tiny(), vary={"train.optimizer.lr": [0.1]}, seeds=2, store=store,
                     stack="bogus")  # fmt: skip
    assert not store.exists()


def test_a_regression_on_standardised_targets_stacks(store: Path) -> None:
    """Every member keeps the whole target scaler: its losses, in the target's units, and its
    R² match the run alone."""
    data = {"dataset": "regression", "params": {"n_samples": 200, "noise": 5.0}, "split": "6:2:2"}
    records, alone = _both(store, **{"train.epochs": 6, "data": data})
    for rec, ref in zip(records, alone, strict=True):
        assert rec.status == ref.status == "completed" and "target_scale" in ref.notes
        for key in ("train_loss", "val_loss"):
            assert rec.history[key] == pytest.approx(ref.history[key], rel=1e-4)
        assert rec.metrics["test_r2"] == pytest.approx(ref.metrics["test_r2"], abs=1e-4)
