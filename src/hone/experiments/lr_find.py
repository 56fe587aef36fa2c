"""The LR range test (``hone lr-find``): raise the learning rate exponentially over a few
hundred steps, record the loss, smooth it, and suggest a learning rate."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from hone.assemble import build_run
from hone.config import Config

__all__ = ["LRFinding", "lr_find", "suggest"]


@dataclass
class LRFinding:
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    steepest: float | None  # where the smoothed loss falls fastest (per decade of lr)
    min_over_10: float | None  # the lr at the smoothed minimum, divided by 10
    stopped_early: bool  # the loss exploded before end_lr

    def recommended(self) -> tuple[float | None, str]:
        """The suggestion to use, and why in one line.

        The lower of the two: both mark where the loss still falls, and past the larger one a
        real run (longer than the test, with the LR held there) is closer to the divergence the
        test ends in. With one suggestion, that one.
        """
        s, m = self.steepest, self.min_over_10
        if s is None and m is None:
            return None, "the loss never fell; widen --start/--end or check the data and model"
        if s is None or m is None:
            only = s if s is not None else m
            what = "steepest descent" if s is not None else "the minimum / 10"
            return only, f"{what}; the curve was too short or flat for the other suggestion"
        if s <= m:
            return s, "steepest descent: the loss falls fastest there, well before its minimum"
        return m, "minimum / 10: the steepest fall lies too close to where the loss turns up"

    def to_json(self) -> dict[str, Any]:
        value, reason = self.recommended()
        return {**asdict(self), "recommended": value, "reason": reason}


def suggest(
    lrs: list[float], smoothed: list[float], skip: float = 0.1
) -> tuple[float | None, float | None]:
    """Steepest-descent and min/10 suggestions from a smoothed curve (first ``skip`` ignored)."""
    n = len(smoothed)
    start = int(n * skip)
    if n - start < 5:
        return None, None
    log_lr = np.log10(np.asarray(lrs[start:]))
    loss = np.asarray(smoothed[start:])
    best = int(np.argmin(loss))
    window = max(5, (n - start) // 10)
    if best < window:
        return None, float(lrs[start + best]) / 10
    # Least-squares slope of loss against log10(lr) over a sliding window: a pointwise
    # gradient would chase noise in the flat start of the curve.
    slopes = [
        np.polyfit(log_lr[i : i + window], loss[i : i + window], 1)[0]
        for i in range(0, best - window + 2)
    ]
    i = int(np.argmin(slopes))
    steepest = float(10 ** log_lr[i + window // 2])
    return steepest, float(lrs[start + best]) / 10


def lr_find(
    cfg: Config,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 200,
    beta: float = 0.98,
    diverge: float = 4.0,
) -> LRFinding:
    """Repeatable under ``cfg.seed``: same init, same batches."""
    built = build_run(cfg)
    model, opt, loss_fn = built.model, built.optimizer, built.loss_fn
    x, y = built.data.train.x, built.data.train.y
    batch = len(y) if cfg.train.batch_size == "full" else min(cfg.train.batch_size, len(y))
    factor = (end_lr / start_lr) ** (1 / max(steps - 1, 1))
    order = torch.randperm(len(y), generator=built.generator).to(x.device)
    lrs, losses, smoothed = [], [], []
    avg, best, stopped, pos = 0.0, math.inf, False, 0
    model.train()
    for i in range(steps):
        lr = start_lr * factor**i
        for group in opt.param_groups:
            group["lr"] = lr
        if pos + batch > len(y):
            order = torch.randperm(len(y), generator=built.generator).to(x.device)
            pos = 0
        idx = order[pos : pos + batch]
        pos += batch
        loss = loss_fn(model(x.index_select(0, idx)), y.index_select(0, idx))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            stopped = True
            break
        avg = beta * avg + (1 - beta) * value
        smooth = avg / (1 - beta ** (i + 1))  # bias-corrected moving average
        lrs.append(lr)
        losses.append(value)
        smoothed.append(smooth)
        best = min(best, smooth)
        if i > steps // 10 and smooth > diverge * best:
            stopped = True
            break
    steepest, min10 = suggest(lrs, smoothed)
    return LRFinding(lrs, losses, smoothed, steepest, min10, stopped)
