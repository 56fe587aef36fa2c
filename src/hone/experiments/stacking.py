"""Run the seeds of one variant as one stacked model (``--stack auto``), recording each seed
as its own run, exactly as if it had trained alone.

``why_not_stacked`` says why a group of configs cannot be stacked (they differ in more than
the seed, or use something with per-run state the stacked loop does not model); the caller
then runs them one by one and says why once.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from hone.api import _new_run, _record_failure, _recorders, record_trained
from hone.assemble import BuiltRun, build_run, choose_threads, load_run_data
from hone.config import Config
from hone.nn.stack import stack_models, unstackable
from hone.store.runstore import RunStore
from hone.train.callbacks import Checkpoint, Watch
from hone.train.losses import per_sample_loss
from hone.train.optim import make_optimizer
from hone.train.regularize import penalized_parameters
from hone.train.stacked import Member, MemberTelemetry, fit_stacked

__all__ = ["STACK_MODES", "NotStackable", "run_stacked", "why_not_stacked"]

STACK_MODES = ("auto", "off")


class NotStackable(ValueError):
    """The built model cannot (or should not) be stacked; raised before any run is recorded."""


def why_not_stacked(configs: list[Config]) -> str | None:
    """The reason these runs cannot train as one stacked model, else ``None``."""
    if len(configs) < 2:
        return "a single run"
    first = {**configs[0].to_dict(), "seed": 0}
    if any({**c.to_dict(), "seed": 0} != first for c in configs[1:]):
        return "the runs differ in more than the seed"
    cfg = configs[0]
    train, model = cfg.train, cfg.model
    reasons = [
        (model.kind == "cnn", "model.kind: cnn (convolutions are not stacked yet)"),
        (model.norm == "batch", "model.norm: batch (per-run batch statistics)"),
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


def run_stacked(
    configs: list[Config], store_root: str | Path, force: bool = False
) -> list[tuple[str, str]]:
    """Train ``configs`` (the same but for the seed) as one stacked model; record one run per
    config. Returns ``(run_id, status)`` per config, in order. Raises ``NotStackable`` when the
    built model turns out not to stack, or (unless ``force``) is too big for stacking to pay
    on a CPU (the caller runs them one by one instead)."""
    configs = [c.model_copy(update={"store": str(store_root)}) for c in configs]
    data = load_run_data(configs[0])
    built = [build_run(c, data) for c in configs]
    why = unstackable(built[0].model)
    if why is not None:
        raise NotStackable(why)
    first = built[0]
    cfg, k = first.config, len(built)
    models = [b.model for b in built]
    stacked = stack_models(models)
    opt = cfg.train.optimizer
    optimizer = make_optimizer(opt.name, stacked.parameters(), opt.lr, opt.options())
    batch = len(first.data.train) if cfg.train.batch_size == "full" else cfg.train.batch_size
    if first.data.train.x.device.type == "cpu":
        torch.set_num_threads(choose_threads(cfg.train.threads, stacked, batch))
    work = batch * sum(p.numel() for p in first.model.parameters())
    if not force and first.data.train.x.device.type == "cpu" and work > CPU_WORK_LIMIT:
        raise NotStackable(f"{work:,} multiply-adds a step: on a CPU stacking does not pay")
    penalized = _penalized_names(first)
    store = RunStore(store_root)
    run_ids: list[str] = []
    done: list[tuple[str, str]] = []
    members: list[Member] = []
    telemetries: list[MemberTelemetry | None] = []
    try:
        for i, b in enumerate(built):
            run_id = _new_run(store, b)
            run_ids.append(run_id)
            telemetry = None
            if cfg.telemetry.enabled:
                telemetry = MemberTelemetry(cfg.telemetry.per_epoch, init_batch=data.train.x[:512],
                                            stacked=stacked, member=i)  # fmt: skip
            telemetries.append(telemetry)
            cbs = [*b.callbacks, *_recorders(b, store, run_id, telemetry)]
            for cb in cbs:  # time budgets are the group's: each member gets its share
                if isinstance(cb, Watch):
                    cb.share = 1 / k
                if isinstance(cb, Checkpoint):
                    cb.min_seconds *= k
            members.append(Member(b.model, b.optimizer, b.generator, cbs))
        started = time.perf_counter()
        states = fit_stacked(
            stacked, optimizer, members, first.loss_fn, first.data.train, first.data.val,
            epochs=cfg.train.epochs, batch_size=batch,
            penalty=(penalized, cfg.train.l1, cfg.train.l2),
            grad_clip=first.grad_clip, sample_weights=first.sample_weights,
            per_sample=per_sample_loss(first.loss_spec) if first.loss_spec else None,
        )  # fmt: skip
        wall = (time.perf_counter() - started) / k
        note = {"stacked": {"members": k, "seeds": [c.seed for c in configs]}}
        for b, run_id, state, telemetry in zip(built, run_ids, states, telemetries, strict=True):
            result = record_trained(b, store, run_id, state, telemetry, wall, extra=note)
            done.append((result.run_id, result.status))
        return done
    except BaseException as exc:
        unfinished = list(zip(built, run_ids, telemetries, strict=False))[len(done) :]
        for b, run_id, telemetry in unfinished:
            _record_failure(store, run_id, b.model, telemetry, 0.0, exc)
        raise
    finally:
        store.close()


def _penalized_names(built: BuiltRun) -> list[str]:
    """The parameter names the config's L1/L2 penalty applies to (none without one)."""
    if built.penalty is None:
        return []
    chosen = {id(p) for p in penalized_parameters(built.model, built.config.train.regularize_bias)}
    return [name for name, p in built.model.named_parameters() if id(p) in chosen]
