"""Run the seeds of one variant as one stacked model (``--stack auto``), recording each seed
as its own run, exactly as if it had trained alone; and the pieces stacked trials are made of
(``hone.experiments.tune.stacked``), whose members differ in their hyper-parameters too.

``why_not_stacked`` says why a group of configs cannot be stacked (they differ in more than
the seed, or in more than per-member numbers for trials, or use something with per-run state
the stacked loop does not model); the caller then runs them one by one and says why once.
``stack_key`` groups trials: those with equal keys share everything a stack must share.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hone.assemble import BuiltRun, build_run, choose_threads, load_run_data
from hone.config import Config
from hone.data.base import Split
from hone.diagnose.watch import Watch
from hone.errors import ConfigError
from hone.nn.stack import flat_parameters, stack_models, unstackable
from hone.runs.record import new_run, record_failure, record_trained, recorders
from hone.runs.result import RunResult
from hone.store.runstore import RunStore
from hone.train.callbacks import Callback, Checkpoint, ProgressBar
from hone.train.losses import member_means, resolve_loss
from hone.train.optim import make_optimizer
from hone.train.regularize import penalized_parameters
from hone.train.stacked import Member, Refill, fit_stacked
from hone.train.stacked_optim import MemberwiseOptimizer
from hone.train.stacked_parts import Numbers, Rows, smoothed_cross_entropy
from hone.train.stacked_telemetry import MemberTelemetry
from hone.train.state import TrainState

__all__ = [
    "STACK_MODES",
    "NotStackable",
    "Stack",
    "check_stack",
    "member",
    "member_numbers",
    "run_stacked",
    "stack_key",
    "stack_runs",
    "why_not_stacked",
]

STACK_MODES = ("auto", "off")


def check_stack(stack: str) -> None:
    """``--stack`` is auto or off (checked before anything is planned or trained)."""
    if stack not in STACK_MODES:
        raise ConfigError(f"--stack: '{stack}' is not a mode; use auto or off")


class NotStackable(ValueError):
    """The built model cannot (or should not) be stacked; raised before any run is recorded."""


def _smooths_per_member(cfg: Config) -> bool:
    """Whether each member may have its own label smoothing: cross-entropy on softmax
    outputs without class weights (``smoothed_cross_entropy``)."""
    out = cfg.model.output_activation
    ce = resolve_loss(cfg.train.loss, "classification") == "cross_entropy"
    return ce and out in ("auto", "softmax") and cfg.train.class_weight is None


def stack_key(cfg: Config) -> str:
    """What a member of a trial stack shares with the others: the config without the
    numbers each member holds on its own (seed, the optimizer's numbers, L1/L2, clipping,
    label smoothing where it is per member, the dropout rate but not whether there is one,
    the initialisers, the schedule, early stopping). Shapes, steps and data stay in it."""
    d = cfg.to_dict()
    train, model = d["train"], d["model"]
    d.pop("seed", None), d.pop("name", None), d.pop("store", None)
    train["optimizer"] = {k: v for k, v in train["optimizer"].items()
                          if k == "name" or isinstance(v, bool)}  # fmt: skip
    for key in ("l1", "l2", "grad_clip", "early_stopping", "checkpoint_every"):
        train.pop(key, None)
    if cfg.train.schedule.name != "reduce_on_plateau":
        train.pop("schedule", None)
    if _smooths_per_member(cfg):
        train.pop("label_smoothing", None)
    model["dropout"] = model.get("dropout", 0) > 0  # a dropout layer, or none
    for key in ("init", "bias_init", "init_value"):
        model.pop(key, None)
    return json.dumps(d, sort_keys=True, default=str)


def _beyond_seed(configs: list[Config]) -> bool:
    """Whether the configs differ in more than the seed and name (neither changes training)."""
    first = {**configs[0].to_dict(), "seed": 0, "name": ""}
    return any({**c.to_dict(), "seed": 0, "name": ""} != first for c in configs[1:])


def why_not_stacked(configs: list[Config], trials: bool = False) -> str | None:
    """The reason these runs cannot train as one stacked model, else ``None``. ``trials``:
    members may differ in their own numbers too (``stack_key``)."""
    if len(configs) < 2:
        return "a single run"
    if trials:
        if len({stack_key(c) for c in configs}) > 1:
            return "the runs differ in more than per-member numbers"
    else:
        if _beyond_seed(configs):
            return "the runs differ in more than the seed"
    cfg = configs[0]
    train, model = cfg.train, cfg.model
    reasons = [
        (model.kind == "cnn", "model.kind: cnn (convolutions are not stacked yet)"),
        (model.activation == "maxout", "model.activation: maxout"),
        (bool(model.freeze) or bool(train.unfreeze_at_epoch), "model.freeze"),
        (train.ensemble is not None, "train.ensemble trains members of its own"),
        (train.augment is not None, "train.augment (per-run augmentation draws)"),
        (train.schedule.name == "reduce_on_plateau",
         "train.schedule: reduce_on_plateau follows each run's own metric"),
        (train.precision != "fp32", f"train.precision: {train.precision}"),
        (train.compile, "train.compile"),
        (bool(cfg.log_to), "log_to (live tracking per run)"),
        (cfg.data.dataset == "python", "data given from Python"),
    ]  # fmt: skip
    return next((why for hit, why in reasons if hit), None)


# Multiply-adds per step (batch x parameters) above which stacking on a CPU does not pay:
# measured (benchmarks/stacked.py) 5.9x faster for blobs (7e3) and 2.2x for moons (4e4), but
# 0.75x for MNIST 784-200-10 at batch 128 (2e7), where the matmuls, not overhead, dominate.
CPU_WORK_LIMIT = 1_000_000


@dataclass(eq=False)
class Stack:
    """Built runs (the same but for the seed) and the one model that trains them all."""

    built: list[BuiltRun]
    model: nn.Module
    optimizer: torch.optim.Optimizer
    batch: int
    memberwise: bool = False  # members have their own hyper-parameters (stacked trials)

    def fit(self, callbacks: list[list[Callback]], train: Split | None = None,
            blocks: bool = False, refill: Refill | None = None) -> list[TrainState]:  # fmt: skip
        """Train every member with its own callbacks; ``train`` (default: the shared
        training split) with ``blocks`` holds one block of rows per member; ``refill``
        gives new members (``member``) for the slots of those that ended."""
        first = self.built[0]
        cfg = first.config
        members = [member(b, cbs) for b, cbs in zip(self.built, callbacks, strict=True)]
        weights = first.sample_weights
        if blocks and weights is not None:
            weights = torch.cat([b.sample_weights for b in self.built])  # type: ignore[misc]
        rows = Rows([m.numbers for m in members], self.model, first.data.train.x.device)
        spec, smoothed = first.loss_spec, None
        if self.memberwise and spec is not None and spec.task == "classification":
            softmax_ce = spec.name == "cross_entropy" and spec.output_activation == "softmax"
            if softmax_ce and spec.class_weights is None:
                smoothed = smoothed_cross_entropy(rows)
        return fit_stacked(
            self.model, self.optimizer, members, first.loss_fn, train or first.data.train,
            first.data.val, epochs=cfg.train.epochs, batch_size=self.batch,
            steps_per_epoch=cfg.train.steps_per_epoch,
            penalized=_penalized_names(first, self.memberwise), sample_weights=weights,
            means=member_means(first.loss_spec) if first.loss_spec else None,
            smoothed=smoothed, blocks=blocks, rows=rows, refill=refill,
        )  # fmt: skip


def member_numbers(built: BuiltRun) -> Numbers:
    """The numbers a member holds on its own, from its config."""
    train, clip = built.config.train, built.config.train.grad_clip
    return Numbers(train.l1, train.l2, clip.norm if clip else None, clip.value if clip else None,
                   train.label_smoothing, built.config.model.dropout)  # fmt: skip


def member(built: BuiltRun, callbacks: list[Callback]) -> Member:
    """``built`` as a member of a stack, with ``callbacks``."""
    return Member(built.model, built.optimizer, built.generator, callbacks, member_numbers(built))


def stack_runs(built: list[BuiltRun], force: bool = False, memberwise: bool = False) -> Stack:
    """One stacked model (and optimizer) for ``built``; raises ``NotStackable`` when the
    model does not stack or (unless ``force``) a step is too big for stacking to pay on a
    CPU. Sets the thread count the stacked step wants. ``memberwise``: the members have
    their own hyper-parameters (and dropout rates), now or after a refill."""
    first = built[0]
    why = unstackable(first.model)
    if why is not None:
        raise NotStackable(why)
    cfg = first.config
    stacked = stack_models([b.model for b in built], own_dropout=memberwise, flat=memberwise)
    opt = cfg.train.optimizer
    optimizer: torch.optim.Optimizer
    if memberwise:
        optimizer = MemberwiseOptimizer(list(stacked.parameters()), [b.optimizer for b in built],
                                        flat_parameters(stacked))  # fmt: skip
    else:
        optimizer = make_optimizer(opt.name, stacked.parameters(), opt.lr, opt.options())
    batch = len(first.data.train) if cfg.train.batch_size == "full" else cfg.train.batch_size
    on_cpu = first.data.train.x.device.type == "cpu"
    if on_cpu:
        torch.set_num_threads(choose_threads(cfg.train.threads, stacked, batch))
    work = batch * sum(p.numel() for p in first.model.parameters())
    if not force and on_cpu and work > CPU_WORK_LIMIT:
        raise NotStackable(f"{work:,} multiply-adds a step: on a CPU stacking does not pay")
    return Stack(built, stacked, optimizer, batch, memberwise)


def run_stacked(
    configs: list[Config],
    store_root: str | Path,
    force: bool = False,
    extra: dict[str, Any] | None = None,
    init_seeds: list[int] | None = None,
    progress: str | None = None,
    member_callbacks: list[list[Callback]] | None = None,
) -> list[RunResult]:
    """Train ``configs`` (the same but for the seed, or for per-member numbers: ``stack_key``)
    as one stacked model; record one run per config (with ``extra`` in its record). Returns
    each run's result, in order. Raises
    ``NotStackable`` before any run is recorded when the built model turns out not to stack,
    or (unless ``force``) is too big for stacking to pay on a CPU (the caller runs them one
    by one instead). ``init_seeds``: the seed of each member's initial weights (default:
    its seed), as an ensemble's ``vary: init`` gives them. ``progress``: a bar with this
    label follows the first member (every member trains the same epochs).
    ``member_callbacks``: more callbacks for each member, in order (a command's live
    progress follows every seed)."""
    configs = [c.model_copy(update={"store": str(store_root)}) for c in configs]
    memberwise = _beyond_seed(configs)  # a comparison's variants: trial-like members
    why = why_not_stacked(configs, trials=True) if memberwise else None
    if why is not None:
        raise NotStackable(why)
    data = load_run_data(configs[0])
    seeds: list[int | None] = list(init_seeds) if init_seeds else [None] * len(configs)
    built = [build_run(c, data, init_seed=s) for c, s in zip(configs, seeds, strict=True)]
    stack = stack_runs(built, force, memberwise=memberwise)
    k = len(built)
    store = RunStore(store_root)
    run_ids: list[str] = []
    done: list[RunResult] = []
    telemetries: list[MemberTelemetry | None] = []
    callbacks: list[list[Callback]] = []
    try:
        for i, b in enumerate(built):
            run_id = new_run(store, b)
            run_ids.append(run_id)
            telemetry = None
            if b.config.telemetry.enabled:
                telemetry = MemberTelemetry(b.config.telemetry.per_epoch,
                                            init_batch=data.train.x[:512])  # fmt: skip
            telemetries.append(telemetry)
            cbs = [*b.callbacks, *recorders(b, store, run_id, telemetry)]
            cbs += member_callbacks[i] if member_callbacks else []
            if progress and i == 0:
                cbs.append(ProgressBar(progress))
            for cb in cbs:  # time budgets are the group's: each member gets its share
                if isinstance(cb, Watch):
                    cb.share = 1 / k
                if isinstance(cb, Checkpoint):
                    cb.min_seconds *= k
            callbacks.append(cbs)
        started = time.perf_counter()
        states = stack.fit(callbacks)
        wall = (time.perf_counter() - started) / k
        note = {"stacked": {"members": k, "seeds": [c.seed for c in configs]}, **(extra or {})}
        for b, run_id, state, telemetry in zip(built, run_ids, states, telemetries, strict=True):
            done.append(record_trained(b, store, run_id, state, telemetry, wall, extra=note))
        return done
    except BaseException as exc:
        unfinished = list(zip(built, run_ids, telemetries, strict=False))[len(done) :]
        for b, run_id, telemetry in unfinished:
            record_failure(store, run_id, b.model, telemetry, 0.0, exc)
        raise
    finally:
        store.close()


def _penalized_names(built: BuiltRun, memberwise: bool = False) -> list[str]:
    """The parameter names the config's L1/L2 penalty applies to (none without one, unless
    members have their own: then each member's own L1/L2 weighs them)."""
    if built.penalty is None and not memberwise:
        return []
    chosen = {id(p) for p in penalized_parameters(built.model, built.config.train.regularize_bias)}
    return [name for name, p in built.model.named_parameters() if id(p) in chosen]
