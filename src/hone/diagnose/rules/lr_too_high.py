"""``lr_too_high``: divergence (NaN/inf), or a training loss that bounces up and down or ends
above where it started."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import fraction_rising

OSCILLATING = 0.25  # a quarter of epochs raise the training loss by more than 5 %


class LrTooHigh(Rule):
    code = "lr_too_high"

    def check(self, ev: Evidence) -> Finding | None:
        train = ev.series("train_loss")
        lr = float(ev.cfg("train.optimizer.lr", 0.0))
        diverged = ev.status == "diverged"
        rising = fraction_rising(train)
        ended_higher = len(train) >= 3 and train[-1] > train[0] * 1.05
        if not (diverged or (len(train) >= 4 and rising >= OSCILLATING) or ended_higher):
            return None
        if diverged:
            why = f"training diverged: {ev.message}"
        elif ended_higher:
            why = f"train loss ended higher than it started ({train[0]:.4g} -> {train[-1]:.4g})"
        else:
            why = f"train loss rose by more than 5 % in {rising:.0%} of epochs"
        evidence = {
            "lr": lr,
            "diverged": diverged,
            "diverged_at": ev.extra.get("diverged_at"),
            "share_of_epochs_rising": rising,
            "first_train_loss": train[0] if train else None,
            "final_train_loss": train[-1] if train else None,
        }
        return Finding(
            self.code,
            "critical" if diverged else "warning",
            "The learning rate is too high",
            f"With lr {lr:g}, {why}. Each step overshoots the minimum it aims at.",
            evidence,
            [
                Prescription("a 10x smaller learning rate", {"train.optimizer.lr": lr / 10}),
                Prescription(
                    "clip the gradient norm so one bad batch cannot throw the weights",
                    {"train.grad_clip": {"norm": 1.0}},
                ),
                Prescription(
                    "warm up, then anneal the learning rate",
                    {"train.schedule": {"name": "cosine", "warmup_epochs": 3}},
                ),
                Prescription("measure a good learning rate with an LR range test (hone lr-find)"),
            ],
        )
