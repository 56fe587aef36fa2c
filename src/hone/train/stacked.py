"""The training loop for K stacked members (the seeds of one variant) at the cost of about one.

It is ``engine.fit`` with a member dimension: each member draws its own batch order from its
own generator, and one forward/backward/step of the stacked model (``hone.nn.stack``) trains
all K. The objective is the sum of the members' losses, so each member's gradient is exactly
its own; the optimizers hone uses act elementwise, so one optimizer over the stacked
parameters keeps each member's state apart. Per member, as in a run alone: gradient clipping
(norm per member), L1/L2 penalty, divergence detection, the epoch's metrics and every callback
(recorder, checkpoint, telemetry, live diagnosis, early stopping, LR schedule) with its own
``TrainState`` whose model is the member's (a view into the stacked parameters). A member
that stops (early stopping, a live-diagnosis stop, divergence) ends at once: its callbacks'
``on_train_end`` runs (restoring its best weights), and its rows are held fixed from then on
while the others train.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hone.data.base import Split
from hone.nn.stack import member_buffers
from hone.train.callbacks.base import Callback, CallbackList
from hone.train.guards import (
    CHECK_EVERY,
    GradClip,
    biggest_weight,
    diverged,
    exploded,
    never_trained,
    stop_on_ctrl_c,
)
from hone.train.losses import LossFn
from hone.train.stacked_telemetry import MemberTelemetry, StackedProbe, stacked_layers
from hone.train.state import TrainState

__all__ = ["Member", "fit_stacked"]


@dataclass(eq=False)
class Member:
    """One seed's part: its model (views into the stacked one), its own optimizer over those
    views (never stepped: its param groups carry the LR its schedule sets, and its class and
    hyper-parameters shape its checkpoints), its batch-order generator and callbacks."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    callbacks: Sequence[Callback] = ()
    state: TrainState = field(init=False)
    cbs: CallbackList = field(init=False)
    active: bool = True
    frozen: list[torch.Tensor] = field(default_factory=list)  # its rows once it has stopped
    telemetry: MemberTelemetry | None = None


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
    penalty: tuple[Sequence[str], float, float] = ((), 0.0, 0.0),
    grad_clip: GradClip | None = None,
    sample_weights: torch.Tensor | None = None,
    per_sample: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    blocks: bool = False,
) -> list[TrainState]:
    """Train every member in place; returns their final states, in order. ``penalty`` is
    (names of the stacked parameters it applies to, l1, l2); ``per_sample`` (each
    sample's loss, whose mean is ``loss_fn``) gives every member's loss from one call.
    ``blocks``: ``train`` (and ``sample_weights``) hold one equal-sized block of rows per
    member, in member order (each member trains on its own rows, e.g. its own subset)."""
    k_all, n = len(members), len(train) // len(members) if blocks else len(train)
    batch_size = min(batch_size, n)
    steps = -(-n // batch_size)
    if steps > 1 and n % batch_size == 1:
        steps -= 1  # fold a one-row last batch into the one before (as engine.fit does)
    params = list(stacked.parameters())
    # What a stopped member holds fixed: its weights and its running statistics (BatchNorm
    # updates those in every training forward pass, stopped members' rows included). Every
    # stacked tensor has the member dimension first.
    held = [*params, *member_buffers(stacked).values()]
    named = dict(stacked.named_parameters())
    penalized, l1, l2 = penalty
    weights = [named[name] for name in penalized]
    device = train.x.device
    sizes = torch.full((steps,), float(batch_size), device=device)
    sizes[-1] = n - batch_size * (steps - 1)
    classification = not train.y.is_floating_point()
    losses = torch.zeros(steps, k_all, device=device)
    penalties = torch.zeros(steps, k_all, 2, device=device)
    predicted = torch.zeros(k_all, n, dtype=torch.long, device=device)
    driver = TrainState(stacked, optimizer, epochs, steps)  # Ctrl-C lands here
    for k, m in enumerate(members):
        m.state = TrainState(m.model, m.optimizer, epochs, steps)
        m.state.generators["batches"] = m.generator
        m.state.callbacks = list(m.callbacks)
        m.state.init_weight = biggest_weight(m.model)
        m.state.optimizer_state = _member_optimizer_state(optimizer, m.optimizer, k)
        m.cbs = CallbackList(m.callbacks)
        m.telemetry = next((cb for cb in m.callbacks if isinstance(cb, MemberTelemetry)), None)
    member_losses = _per_member(loss_fn, per_sample)
    batch_hooks = any(m.cbs.has("on_batch_begin") or m.cbs.has("on_batch_end") for m in members)
    telemetry_layers = stacked_layers(members[0].model, params)
    telemetries = [m.telemetry for m in members]

    offsets = (torch.arange(k_all, device=device) * n)[:, None] if blocks else None

    def own_rows(k: int) -> slice:
        return slice(k * n, (k + 1) * n) if blocks else slice(None)

    weights_of = [None if sample_weights is None else sample_weights[own_rows(k)]
                  for k in range(k_all)]  # fmt: skip

    def stop(k: int) -> None:
        """End member ``k`` now: its callbacks finish, then its rows are held fixed."""
        m = members[k]
        m.active = False
        if m.state.status == "running":
            m.state.status = "completed"
            if classification:
                never_trained(m.state, train.y[own_rows(k)], m.state.init_weight)
        m.cbs.call("on_train_end", m.state)
        m.frozen = [t.detach()[k].clone() for t in held]

    with stop_on_ctrl_c(driver), warnings.catch_warnings():
        # Each member's schedule steps its own optimizer, which never steps (the shared one
        # does): torch's warning about that order does not apply.
        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
        for m in members:
            m.cbs.call("on_train_begin", m.state)
        try:
            for epoch in range(1, epochs + 1):
                live = [k for k, m in enumerate(members) if m.active]
                if not live:
                    break
                started = time.perf_counter()
                for k in live:
                    members[k].state.epoch = epoch
                    members[k].cbs.call("on_epoch_begin", members[k].state)
                lrs = {k: members[k].optimizer.param_groups[0]["lr"] for k in live}
                stacked.train()
                draws = [_order(m, n, w) if m.active else torch.arange(n)
                         for m, w in zip(members, weights_of, strict=True)]  # fmt: skip
                order = torch.stack(draws).to(device)
                if offsets is not None:
                    order += offsets
                mask = torch.zeros(k_all, dtype=torch.bool, device=device)
                mask[live] = True
                for b in range(steps):
                    end = n if b == steps - 1 else (b + 1) * batch_size
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
                    _follow_schedule(optimizer, members[live[0]].optimizer)
                    logits = stacked(xb)
                    loss = member_losses(logits, yb)
                    objective = loss
                    if weights:
                        reg = _penalty(weights, l1, l2)  # (K, 2)
                        objective = objective + reg.sum(1)
                        penalties[b] = reg.detach()
                    if len(live) < k_all:  # a stopped member's loss (maybe NaN) adds nothing
                        objective = torch.where(mask, objective, 0.0)
                    optimizer.zero_grad(set_to_none=True)
                    objective.sum().backward()  # type: ignore[no-untyped-call]
                    if grad_clip is not None:
                        _clip(params, grad_clip)
                    optimizer.step()
                    if len(live) < k_all:
                        _hold_frozen(members, held)
                    losses[b] = loss.detach()
                    if classification:
                        predicted[:, b * batch_size : end] = logits.detach().argmax(2)
                    for k in live:
                        members[k].state.step += 1
                    if probe is not None:
                        probe.finish(telemetries, [m.state for m in members], params, losses[b])
                    if batch_hooks:
                        _each(members, live, "on_batch_end", batch=b, loss=losses[b])
                    window = b + 1 - CHECK_EVERY
                    if window >= 0 and (b + 1) % CHECK_EVERY == 0:
                        live = _check(members, live, losses[window : b + 1], window, stop, mask)
                    if driver.interrupt_requested:
                        break
                if driver.interrupt_requested:
                    how = "SIGTERM" if driver.info.get("signal") == "SIGTERM" else "Ctrl-C"
                    for k in live:
                        s = members[k].state
                        s.status, s.stop_reason = "interrupted", f"interrupted by {how}"
                        stop(k)
                    break
                live = _check(members, live, losses[: b + 1], 0, stop, mask)
                scores = _evaluate(stacked, val, member_losses) if val is not None else None
                seconds = (time.perf_counter() - started) / max(1, len(live))
                for k in live:
                    _end_epoch(members[k], k, epoch, lrs[k], seconds, losses, penalties, sizes,
                               predicted, order, train.y, scores, bool(weights))  # fmt: skip
                    if members[k].state.status == "diverged" or members[k].state.stop_training:
                        stop(k)
            for k, m in enumerate(members):
                if m.active:
                    stop(k)
        except KeyboardInterrupt:
            for k, m in enumerate(members):
                if m.active:
                    m.state.status, m.state.stop_reason = "interrupted", "interrupted by Ctrl-C"
                    stop(k)
        finally:
            for m in members:
                if m.active:  # an exception is propagating
                    m.state.status = "failed"
                    m.active = False
                    m.cbs.call("on_train_end", m.state)
    return [m.state for m in members]


def _per_member(
    loss_fn: LossFn, per_sample: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Each member's loss, (K,): the per-sample losses of all members in one call where there
    are such, else ``torch.func.vmap`` of the loss, else one call per member."""
    vectorised: Any = torch.func.vmap(loss_fn)

    def losses(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        nonlocal vectorised
        if per_sample is not None:
            k, b = logits.shape[:2]
            return per_sample(logits.flatten(0, 1), target.flatten(0, 1)).view(k, b).mean(1)
        if vectorised is not None:
            try:
                return vectorised(logits, target)  # type: ignore[no-any-return]
            except RuntimeError:  # an op vmap cannot batch (e.g. masked_select)
                vectorised = None
        return torch.stack([loss_fn(logits[k], target[k]) for k in range(len(logits))])

    return losses


def _follow_schedule(shared: torch.optim.Optimizer, own: torch.optim.Optimizer) -> None:
    """The shared optimizer takes the hyper-parameters a member's schedule set on its own
    optimizer (the LR, and the momentum one_cycle cycles); every member's are the same."""
    settings = {key: value for key, value in own.param_groups[0].items() if key != "params"}
    for group in shared.param_groups:
        group.update(settings)


def _gather(rows: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``rows[idx]`` for a (K, batch) index: (K, batch, *row shape)."""
    return rows.index_select(0, idx.reshape(-1)).view(*idx.shape, *rows.shape[1:])


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


def _penalty(weights: Sequence[torch.Tensor], l1: float, l2: float) -> torch.Tensor:
    """Per member ``[l1 * sum|W|, l2 / 2 * sum W^2]`` over the penalised weights: (K, 2)."""
    k = weights[0].shape[0]
    zero = torch.zeros(k, device=weights[0].device)
    a = l1 * sum((w.abs().reshape(k, -1).sum(1) for w in weights), zero) if l1 else zero
    b = l2 / 2 * sum((w.pow(2).reshape(k, -1).sum(1) for w in weights), zero) if l2 else zero
    return torch.stack([a, b], dim=1)


def _clip(params: list[nn.Parameter], clip: GradClip) -> None:
    """``clip_grad_norm_`` and ``clip_grad_value_`` applied to each member on its own."""
    grads = [p.grad for p in params if p.grad is not None]
    if clip.norm is not None and grads:
        k = grads[0].shape[0]
        total = torch.stack([g.reshape(k, -1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
        scale = (clip.norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.view(k, *([1] * (g.dim() - 1))))
    if clip.value is not None:
        for g in grads:
            g.clamp_(-clip.value, clip.value)


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
    mask: torch.Tensor,
) -> list[int]:
    """Members whose losses in ``window`` went non-finite are recorded diverged and stopped."""
    bad = ~torch.isfinite(window.sum(0))
    if not bool(bad.any()):
        return live
    for k in [k for k in live if bool(bad[k])]:
        diverged(members[k].state, window[:, k], start)
        mask[k] = False
        stop(k)
    return [k for k in live if members[k].active]


def _end_epoch(
    m: Member,
    k: int,
    epoch: int,
    lr: float,
    seconds: float,
    losses: torch.Tensor,
    penalties: torch.Tensor,
    sizes: torch.Tensor,
    predicted: torch.Tensor,
    order: torch.Tensor,
    targets: torch.Tensor,
    scores: dict[str, torch.Tensor] | None,
    penalized: bool,
) -> None:
    """The member's epoch record, exactly the keys engine.fit writes, then its callbacks."""
    state, n = m.state, order.shape[1]
    if state.first_loss is None:
        state.first_loss = float(losses[0, k])
    state.logs = {"train_loss": float((losses[:, k] * sizes).sum() / n)}
    if exploded(state, state.first_loss):
        return
    if penalized:
        l1, l2 = ((penalties[:, k] * sizes[:, None]).sum(0) / n).tolist()
        state.logs.update(train_penalty=l1 + l2, train_l1=l1, train_l2=l2)
    if not targets.is_floating_point():
        hits = predicted[k] == targets.index_select(0, order[k])
        state.logs["train_accuracy"] = float(hits.sum() / n)
    for key, values in (scores or {}).items():
        state.logs[f"val_{key}"] = float(values[k])
    state.logs["lr"] = lr
    state.logs["epoch_seconds"] = seconds
    state.record({"epoch": epoch, **state.logs})
    m.cbs.call("on_epoch_end", state)


def _evaluate(
    stacked: nn.Module,
    val: Split,
    member_losses: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    rows: int = 4096,
) -> dict[str, torch.Tensor]:
    """Every member's validation loss (and accuracy), (K,) each, from stacked forward passes
    in eval mode (what ``evaluate_split`` gives for a member alone)."""
    k = next(stacked.parameters()).shape[0]
    stacked.eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(val), rows):
            x = val.x[start : start + rows]
            chunks.append(stacked(x.unsqueeze(0).expand(k, *x.shape)))
        logits = torch.cat(chunks, dim=1)
        target = val.y.unsqueeze(0).expand(k, *val.y.shape)
        out = {"loss": member_losses(logits, target)}
        if not val.y.is_floating_point():
            out["accuracy"] = (logits.argmax(dim=2) == target).float().mean(1)
    stacked.train()
    return out


def _member_optimizer_state(
    shared: torch.optim.Optimizer, own: torch.optim.Optimizer, k: int
) -> Callable[[], dict[str, Any]]:
    """Member ``k``'s optimizer state as its own optimizer would hold it alone: its rows of
    every per-parameter buffer, the shared step counters, and its own LR (for checkpoints)."""

    def state_dict() -> dict[str, Any]:
        full, mine = shared.state_dict(), own.state_dict()
        dims = [p.dim() for group in shared.param_groups for p in group["params"]]
        rows = {
            index: {
                key: value[k].clone() if torch.is_tensor(value) and value.dim() == dims[index]
                else value
                for key, value in buffers.items()
            }
            for index, buffers in full["state"].items()
        }  # fmt: skip
        return {"state": rows, "param_groups": mine["param_groups"]}

    return state_dict
