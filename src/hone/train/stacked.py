"""The training loop for K stacked members (the seeds of one variant, or the trials of one
study) at the cost of about one.

It is ``engine.fit`` with a member dimension: each member draws its own batch order from its
own generator, and one forward/backward/step of the stacked model (``hone.nn.stack``) trains
all K. The objective is the sum of the members' losses, so each member's gradient is exactly
its own. Seeds share their hyper-parameters: one ``torch.optim`` optimizer over the stacked
parameters keeps each member's state apart (the optimizers hone uses act elementwise). Trials
do not: ``MemberwiseOptimizer`` steps each member with its own optimizer's numbers, and each
member's ``Numbers`` (L1/L2, clipping, label smoothing, dropout) are columns of the step.
Per member, as in a run alone: gradient clipping, L1/L2 penalty, divergence detection, the
epoch's metrics and every callback (recorder, checkpoint, telemetry, live diagnosis, early
stopping, LR schedule, a tuner's report) with its own ``TrainState`` whose model is the
member's (a view into the stacked parameters). A member that stops (early stopping, a
live-diagnosis stop, a pruner, divergence, its last epoch) ends at once: its callbacks'
``on_train_end`` runs (restoring its best weights), and its rows are held fixed from then on
while the others train; with a ``Refill``, a new member takes its slot at the next epoch
boundary and trains its own epochs from its first.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from hone.data.base import Split
from hone.nn.stack import detach_member, flat_parameters, member_buffers, place_member
from hone.train.batches import EpochBatches
from hone.train.callbacks.base import Callback, CallbackList
from hone.train.guards import (
    CHECK_EVERY,
    biggest_weight,
    diverged,
    exploded,
    never_trained,
    stop_on_ctrl_c,
)
from hone.train.losses import LossFn
from hone.train.stacked_optim import MemberwiseOptimizer
from hone.train.stacked_parts import (
    EpochNumbers,
    Numbers,
    Rows,
    clip_members,
    epoch_numbers,
    evaluate_members,
    follow_schedule,
    member_optimizer_state,
    penalty_rows,
    per_member,
)
from hone.train.stacked_telemetry import (
    MemberTelemetry,
    SampledSteps,
    StackedProbe,
    stacked_layers,
)
from hone.train.state import TrainState

__all__ = ["Member", "Refill", "fit_stacked"]

# Checkpoints of a stacked member read its rows of the shared optimizer (tests use the name).
_member_optimizer_state = member_optimizer_state


@dataclass(eq=False)
class Member:
    """One seed's or trial's part: its model (views into the stacked one), its own optimizer
    over those views (never stepped: its param groups carry the hyper-parameters, with the
    LR its schedule sets, and its class shapes its checkpoints), its batch-order generator,
    callbacks and ``Numbers``."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    callbacks: Sequence[Callback] = ()
    numbers: Numbers = field(default_factory=Numbers)
    state: TrainState = field(init=False)
    cbs: CallbackList = field(init=False)
    active: bool = True
    frozen: list[torch.Tensor] = field(default_factory=list)  # its rows once it has stopped
    telemetry: MemberTelemetry | None = None


class Refill(Protocol):
    """Keeps a stack full: told when a member ends (its state final, its weights its own),
    asked for a new member for the free slot at the next epoch boundary (``None``: none)."""

    def ended(self, k: int, member: Member) -> None: ...

    def next(self, k: int) -> Member | None: ...


# Longer than 80 lines, in a file over 400, on purpose: the stacked loop is engine.fit with a
# member dimension and reads top to bottom beside it; split, their parallel would be lost.
def fit_stacked(
    stacked: nn.Module,
    optimizer: torch.optim.Optimizer,
    members: list[Member],
    loss_fn: LossFn,
    train: Split,
    val: Split | None,
    *,
    epochs: int,
    batch_size: int,
    steps_per_epoch: int | None = None,
    penalized: Sequence[str] = (),
    sample_weights: torch.Tensor | None = None,
    means: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    smoothed: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    blocks: bool = False,
    rows: Rows | None = None,
    refill: Refill | None = None,
) -> list[TrainState]:
    """Train every member in place, each for ``epochs``; returns the final states of the
    last member in each slot, in order. ``penalized``: the names of the stacked parameters
    L1/L2 apply to; ``means`` (``losses.member_means``: what ``loss_fn`` gives each member)
    gives every member's loss from one call, ``smoothed`` each member's with its own label
    smoothing (it reads ``rows.smoothing``). ``blocks``: ``train`` (and ``sample_weights``)
    hold one equal-sized block of rows per member, in member order (each member trains on
    its own rows, e.g. its own subset). ``rows``: the members' numbers as columns (default:
    built from their ``numbers``). ``refill``: new members for the slots of ended ones.
    ``steps_per_epoch``: at most that many batches an epoch (``engine.fit``'s)."""
    k_all, n = len(members), len(train) // len(members) if blocks else len(train)
    batches = EpochBatches.plan(n, batch_size, steps_per_epoch)
    batch_size, steps, seen = batches.batch_size, batches.steps, batches.seen
    params = list(stacked.parameters())
    # What a stopped member holds fixed: its weights and its running statistics (BatchNorm
    # updates those in every training forward pass, stopped members' rows included). Every
    # stacked tensor has the member dimension first.
    flat = flat_parameters(stacked)  # one row per member holds all its weights
    held = [*([flat] if flat is not None else params), *member_buffers(stacked).values()]
    named = dict(stacked.named_parameters())
    weights = [named[name] for name in penalized]
    device = train.x.device
    rows = rows or Rows([m.numbers for m in members], stacked, device)
    sizes = batches.sizes(device)
    classification = not train.y.is_floating_point()
    losses = torch.zeros(steps, k_all, device=device)
    penalties = torch.zeros(steps, k_all, 2, device=device)
    predicted = torch.zeros(k_all, n, dtype=torch.long, device=device)
    driver = TrainState(stacked, optimizer, epochs, steps)  # Ctrl-C lands here
    samples = SampledSteps(stacked)

    def begin(k: int, m: Member) -> None:
        m.state = TrainState(m.model, m.optimizer, epochs, steps)
        m.state.generators["batches"] = m.generator
        m.state.callbacks = list(m.callbacks)
        m.state.init_weight = biggest_weight(m.model)
        m.state.optimizer_state = member_optimizer_state(optimizer, m.optimizer, k)
        m.cbs = CallbackList(m.callbacks)
        m.telemetry = next((cb for cb in m.callbacks if isinstance(cb, MemberTelemetry)), None)

    for k, m in enumerate(members):
        begin(k, m)
    member_losses = per_member(loss_fn, means, smoothed)
    batch_hooks = any(m.cbs.has("on_batch_begin") or m.cbs.has("on_batch_end") for m in members)
    telemetry_layers = stacked_layers(members[0].model, params)
    own_step = isinstance(optimizer, MemberwiseOptimizer)
    step = optimizer.update if isinstance(optimizer, MemberwiseOptimizer) else optimizer.step
    offsets = (torch.arange(k_all, device=device) * n)[:, None] if blocks else None

    def own_rows(k: int) -> slice:
        return slice(k * n, (k + 1) * n) if blocks else slice(None)

    weights_of = [None if sample_weights is None else sample_weights[own_rows(k)]
                  for k in range(k_all)]  # fmt: skip
    mask = torch.zeros(k_all, dtype=torch.bool, device=device)
    mask[:] = True

    def stop(k: int) -> None:
        """End member ``k`` now: its callbacks finish, then its rows are held fixed."""
        m = members[k]
        m.active = False
        mask[k] = False
        if m.state.status == "running":
            m.state.status = "completed"
            if classification:
                never_trained(m.state, train.y[own_rows(k)], m.state.init_weight)
        samples.flush()  # its samples are recorded before it ends
        m.cbs.call("on_train_end", m.state)
        m.frozen = [t.detach()[k].clone() for t in held]
        if refill is not None:
            detach_member(m.model)  # its slot will hold another member's weights
            refill.ended(k, m)

    def take(k: int) -> None:
        """A new member for the free slot ``k``, if the refill has one."""
        assert refill is not None
        new = refill.next(k)
        if new is None:
            return
        place_member(stacked, new.model, k)
        if isinstance(optimizer, MemberwiseOptimizer):
            optimizer.members[k] = new.optimizer
            optimizer.reset(k)
        rows.assign(k, new.numbers)
        members[k] = new
        begin(k, new)
        new.cbs.call("on_train_begin", new.state)
        mask[k] = True

    with stop_on_ctrl_c(driver), warnings.catch_warnings():
        # Each member's schedule steps its own optimizer, which never steps (the shared one
        # does): torch's warning about that order does not apply.
        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
        for m in members:
            m.cbs.call("on_train_begin", m.state)
        try:
            while not driver.interrupt_requested:
                if refill is not None:
                    for k in [k for k, m in enumerate(members) if not m.active]:
                        take(k)
                live = [k for k, m in enumerate(members) if m.active]
                if not live:
                    break
                started = time.perf_counter()
                for k in live:
                    members[k].state.epoch += 1
                    members[k].cbs.call("on_epoch_begin", members[k].state)
                lrs = {k: members[k].optimizer.param_groups[0]["lr"] for k in live}
                stacked.train()
                draws = [_order(m, n, w) if m.active else torch.arange(n)
                         for m, w in zip(members, weights_of, strict=True)]  # fmt: skip
                order = torch.stack(draws).to(device)
                if offsets is not None:
                    order += offsets
                for b in range(steps):
                    end = batches.end(b)
                    idx = order[:, b * batch_size : end]
                    xb = train.x.index_select(0, idx.reshape(-1)).view(
                        *idx.shape, *train.x.shape[1:]
                    )
                    yb = train.y.index_select(0, idx.reshape(-1)).view(
                        *idx.shape, *train.y.shape[1:]
                    )
                    if batch_hooks:
                        _each(members, live, "on_batch_begin", batch=b)
                    sampled = _sampling(members, live, b)
                    probe = StackedProbe(stacked, telemetry_layers, sampled) if sampled else None
                    if not own_step:
                        follow_schedule(optimizer, members[live[0]].optimizer)
                    logits = stacked(xb)
                    loss = member_losses(logits, yb)
                    objective = loss
                    if weights and rows.penalized:
                        reg = penalty_rows(weights, rows)  # (K, 2)
                        objective = objective + reg.sum(1)
                        penalties[b] = reg.detach()
                    if len(live) < k_all:  # a stopped member's loss (maybe NaN) adds nothing
                        objective = torch.where(mask, objective, 0.0)
                    optimizer.zero_grad(set_to_none=True)
                    objective.sum().backward()  # type: ignore[no-untyped-call]
                    clip_members(params, rows)
                    step()
                    if len(live) < k_all:
                        _hold_frozen(members, held)
                    losses[b] = loss.detach()
                    if classification:
                        predicted[:, b * batch_size : end] = logits.detach().argmax(2)
                    for k in live:
                        members[k].state.step += 1
                    if probe is not None:
                        probe.finish([m.telemetry for m in members], [m.state for m in members],
                                     params, losses[b], samples)  # fmt: skip
                    if batch_hooks:
                        _each(members, live, "on_batch_end", batch=b, loss=losses[b])
                    window = b + 1 - CHECK_EVERY
                    if window >= 0 and (b + 1) % CHECK_EVERY == 0:
                        live = _check(members, live, losses[window : b + 1], window, stop)
                    if driver.interrupt_requested:
                        break
                if driver.interrupt_requested:
                    break
                samples.flush()  # before the epoch's callbacks read them
                live = _check(members, live, losses[: b + 1], 0, stop)
                scores = evaluate_members(stacked, val, member_losses) if val is not None else None
                seconds = (time.perf_counter() - started) / max(1, len(live))
                numbers = epoch_numbers(losses, penalties, sizes, predicted[:, :seen],
                                         order[:, :seen], train.y, scores)  # fmt: skip
                for k in live:
                    m = members[k]
                    _end_epoch(m, k, lrs[k], seconds, numbers, m.numbers.penalized)
                    ended = m.state.status == "diverged" or m.state.stop_training
                    if ended or m.state.epoch >= epochs:
                        stop(k)
            if driver.interrupt_requested:  # maybe before the first epoch began
                how = "SIGTERM" if driver.info.get("signal") == "SIGTERM" else "Ctrl-C"
                for k, m in enumerate(members):
                    if m.active:
                        m.state.status, m.state.stop_reason = "interrupted", f"interrupted by {how}"
                        stop(k)
        except KeyboardInterrupt:
            for k, m in enumerate(members):
                if m.active:
                    m.state.status, m.state.stop_reason = "interrupted", "interrupted by Ctrl-C"
                    stop(k)
        finally:
            samples.settle()
            for m in members:
                if m.active:  # an exception is propagating
                    m.state.status = "failed"
                    m.active = False
                    m.cbs.call("on_train_end", m.state)
    return [m.state for m in members]


def _order(member: Member, n: int, sample_weights: torch.Tensor | None) -> torch.Tensor:
    """This epoch's row order for one member, drawn as engine.fit draws it."""
    if sample_weights is None:
        return torch.randperm(n, generator=member.generator)
    return torch.multinomial(sample_weights, n, replacement=True, generator=member.generator)


def _each(members: list[Member], live: list[int], hook: str, batch: int,
          loss: torch.Tensor | None = None) -> None:  # fmt: skip
    for k in live:
        state = members[k].state
        state.batch = batch
        if loss is not None:
            state.batch_loss = loss[k]
        members[k].cbs.call(hook, state)


def _sampling(members: list[Member], live: list[int], batch: int) -> list[int]:
    """The live members whose telemetry samples this step."""
    sampled = []
    for k in live:
        m = members[k]
        if m.telemetry is not None:
            m.state.batch = batch
            if m.telemetry._sampled(m.state):
                sampled.append(k)
    return sampled


def _hold_frozen(members: list[Member], held: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for k, m in enumerate(members):
            for t, rows in zip(held, m.frozen, strict=False):
                t[k].copy_(rows)


def _check(
    members: list[Member],
    live: list[int],
    window: torch.Tensor,
    start: int,
    stop: Callable[[int], None],
) -> list[int]:
    """Members whose losses in ``window`` went non-finite are recorded diverged and stopped."""
    bad = ~torch.isfinite(window.sum(0))
    if not bool(bad.any()):
        return live
    for k in [k for k in live if bool(bad[k])]:
        diverged(members[k].state, window[:, k], start)
        stop(k)
    return [k for k in live if members[k].active]


def _end_epoch(
    m: Member,
    k: int,
    lr: float,
    seconds: float,
    numbers: EpochNumbers,
    penalized: bool,
) -> None:
    """The member's epoch record, exactly the keys engine.fit writes, then its callbacks."""
    state = m.state
    if state.first_loss is None:
        state.first_loss = float(numbers.first_loss[k])
    state.logs = {"train_loss": float(numbers.train_loss[k])}
    if exploded(state, state.first_loss):
        return
    if penalized:
        l1, l2 = numbers.penalties[k]
        state.logs.update(train_penalty=l1 + l2, train_l1=l1, train_l2=l2)
    for key, values in numbers.logs.items():  # train_accuracy, then the validation scores
        state.logs[key] = float(values[k])
    state.logs["lr"] = lr
    state.logs["epoch_seconds"] = seconds
    state.record({"epoch": state.epoch, **state.logs})
    m.cbs.call("on_epoch_end", state)
