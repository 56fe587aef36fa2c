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
from hone.train.callbacks import Callback
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
        {"train.steps_per_epoch": 2, "train.schedule": {"name": "one_cycle"}},
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
        # At init (one stacked pass for all members) and at the end: as alone.
        for when in ("at_init", "at_end"):
            assert mine[when].keys() == theirs[when].keys()
            for name, stats in mine[when].items():
                for key, value in stats.items():
                    expected = theirs[when][name][key]
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
            # the variants differ in the learning rate alone: all of them share one stack
            assert all(rs.get_run(r, with_history=False).extra["stacked"]["members"] == 9
                       for r in row.run_ids)  # fmt: skip
            assert not any("stacked" in rs.get_run(r, with_history=False).extra
                           for r in ref.run_ids)  # fmt: skip
            assert row.values == pytest.approx(ref.values, abs=0.02)


def test_variants_that_change_shapes_stack_only_their_own_seeds(store: Path) -> None:
    variants = {"narrow": {"model.hidden": [8]}, "l2": {"train.l2": 0.01}}
    result = hone.compare(tiny(), variants=variants, seeds=2, store=store)
    with RunStore(store) as rs:
        widths = {row.name: {rs.get_run(r, with_history=False).extra["stacked"]["members"]
                             for r in row.run_ids} for row in result.variants}  # fmt: skip
    # the baseline and the L2 variant share a stack; the narrower model has its own
    assert sorted(w for ws in widths.values() for w in ws) == [2, 4, 4]


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


# Stacked trials: members with their own hyper-parameters (hone tune --stack auto).
TRIALS: list[dict[str, Any]] = [
    {"train.optimizer.lr": 0.02, "model.init": "xavier_uniform"},
    {"train.optimizer.lr": 0.005, "train.l2": 0.01, "train.label_smoothing": 0.1},
    {"train.optimizer": {"name": "adam", "lr": 0.01, "betas": [0.8, 0.99],
                         "weight_decay": 1e-3}, "train.grad_clip": {"norm": 0.5},
     "train.l1": 1e-4, "seed": 3},
    {"train.schedule": {"name": "cosine"}, "train.optimizer.lr": 0.03,
     "train.grad_clip": {"value": 0.05}},
]  # fmt: skip


def _trial_stack(configs: list[Any]) -> Any:
    from hone.assemble import build_run, load_run_data
    from hone.runs.stacking import stack_runs

    data = load_run_data(configs[0])
    built = [build_run(c, data) for c in configs]
    return built, stack_runs(built, force=True, memberwise=True), data


def test_trial_members_with_their_own_numbers_match_their_runs_alone(store: Path) -> None:
    from hone.runs.stacking import stack_key

    configs = [load_config(tiny(**{"train.epochs": 6, **t})) for t in TRIALS]
    assert len({stack_key(c) for c in configs}) == 1
    assert why_not_stacked(configs, trials=True) is None
    assert why_not_stacked(configs) == "the runs differ in more than the seed"
    built, stack, _ = _trial_stack(configs)
    states = stack.fit([list(b.callbacks) for b in built])
    for cfg, state in zip(configs, states, strict=True):
        ref = hone.run(cfg, store=store)
        assert state.status == ref.status == "completed"
        for key in ("train_loss", "val_loss", "lr"):
            assert state.history[key] == pytest.approx(ref.history[key], rel=1e-4, abs=1e-6)
        if cfg.train.l1 or cfg.train.l2:
            assert state.history["train_penalty"] == pytest.approx(
                ref.history["train_penalty"], rel=1e-4
            )
        else:
            assert "train_penalty" not in state.history


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({"train.optimizer.momentum": 0.5, "train.optimizer.name": "momentum"}, False),
        ({"train.optimizer.weight_decay": 0.1, "model.dropout": 0.3}, True),
        ({"model.dropout": 0.0}, False),  # a dropout layer, or none
        ({"model.hidden": [32]}, False),
        ({"train.batch_size": 16}, False),
        ({"train.epochs": 9}, False),
        ({"train.early_stopping": {"patience": 2}, "model.bias_init": "constant"}, True),
    ],
)
def test_trials_stack_when_they_differ_only_in_per_member_numbers(
    change: dict[str, Any], same: bool
) -> None:
    from hone.runs.stacking import stack_key

    base = tiny(**{"model.dropout": 0.1})
    assert (stack_key(load_config(base)) == stack_key(load_config(base, change))) is same


def test_dropout_rates_are_each_members_own() -> None:
    import torch

    from hone.nn.build import build_model
    from hone.nn.stack import StackedDropout, stack_models

    cfgs = [load_config(tiny(**{"model.dropout": p})).model for p in (0.0, 0.5, 0.25)]
    models = [build_model(c, (2,), 4) for c in cfgs]
    stacked = stack_models(models)  # member 0 has no dropout layer at all
    (drop,) = [m for m in stacked.modules() if isinstance(m, StackedDropout)]
    torch.manual_seed(0)
    out = drop(torch.ones(3, 4000, 16))
    zeroed = (out == 0).float().mean((1, 2))
    assert zeroed[0] == 0 and abs(float(zeroed[1]) - 0.5) < 0.01
    assert abs(float(zeroed[2]) - 0.25) < 0.01
    assert torch.allclose(out[1][out[1] != 0], torch.tensor(2.0))
    assert torch.equal(out[0], torch.ones(4000, 16))  # rate 0: every unit kept, unscaled
    # Kept units are scaled by the inverse of the (16-bit) keep probability: the expected
    # output is the input, within the sampling error of 64,000 units.
    assert torch.allclose(out.mean((1, 2)), torch.ones(3), atol=0.01)
    drop.set_rate(2, 0.3)
    assert float(drop.scale[2]) == pytest.approx(65536 / round(0.7 * 65536), rel=1e-7)
    zeroed = (drop(torch.ones(3, 4000, 16))[2] == 0).float().mean()
    assert abs(float(zeroed) - 0.3) < 0.01


class _StopAt(Callback):
    """A callback that stops its member after ``epoch`` (as a pruner would)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, state: Any) -> None:
        if state.epoch >= self.epoch:
            state.stop_training = True


def test_a_refilled_slot_trains_a_new_member_as_its_run_alone(store: Path) -> None:
    from hone.assemble import build_run
    from hone.runs.stacking import member

    configs = [load_config(tiny(**{"train.epochs": 5, **t})) for t in TRIALS[:3]]
    late = load_config(tiny(**{"train.epochs": 5, "train.optimizer.lr": 0.04, "seed": 7}))
    built, stack, data = _trial_stack(configs)
    ended: dict[int, list[Any]] = {}
    new = build_run(late, data)

    class Feed:
        given = False

        def ended(self, k: int, m: Any) -> None:
            ended.setdefault(k, []).append(m.state)

        def next(self, k: int) -> Any:
            if Feed.given:
                return None
            Feed.given = True
            return member(new, list(new.callbacks))

    callbacks = [[*b.callbacks, _StopAt(2)] if i == 0 else list(b.callbacks)
                 for i, b in enumerate(built)]  # fmt: skip
    stack.fit(callbacks, refill=Feed())  # type: ignore[arg-type]
    first, second = ended[0]
    assert len(first.history["epoch"]) == 2 and first.stop_training
    assert second.history["epoch"] == [1, 2, 3, 4, 5]  # its own epochs, from its first
    ref = hone.run(late, store=store)
    for key in ("train_loss", "val_loss"):
        assert second.history[key] == pytest.approx(ref.history[key], rel=1e-4, abs=1e-6)
    for k in (1, 2):  # the others were not disturbed by the slot changing hands
        alone = hone.run(configs[k], store=store)
        assert ended[k][0].history["val_loss"] == pytest.approx(
            alone.history["val_loss"], rel=1e-4, abs=1e-6
        )


class _CtrlCAtStart(Callback):
    """Ctrl-C while the members' ``on_train_begin`` runs: before any epoch began."""

    def on_train_begin(self, state: Any) -> None:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_before_the_first_epoch_records_every_member_interrupted(store: Path) -> None:
    # It used to leave the loop at once, every member "failed" with no message, and a
    # comparison went on as if nothing had been asked (exit 0, experiment incomplete).
    configs = [load_config(tiny(seed=s)) for s in SEEDS]
    results = run_stacked(configs, store, member_callbacks=[[_CtrlCAtStart()], [], []])
    assert [r.status for r in results] == ["interrupted"] * 3
    assert all("Ctrl-C" in (r.message or "") for r in results)
