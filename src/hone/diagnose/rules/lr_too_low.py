"""``lr_too_low``: steady but slow progress — the curve has not begun to bend, or each step
moves the weights by less than 0.01 % of their size, a tenth of the healthy ~1e-3
update/weight ratio."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.progress import late_progress
from hone.diagnose.rules.base import Rule
from hone.diagnose.settings import nothing_to_gain, slowed_by_setting
from hone.diagnose.signals import SAFE_LR, longer, nice
from hone.diagnose.training_length import rate_for_tiny_steps

__all__ = ["LrTooLow"]


class LrTooLow(Rule):
    code = "lr_too_low"

    def check(self, ev: Evidence) -> Finding | None:
        progress = late_progress(ev)
        if progress is None or not progress.slow or slowed_by_setting(ev) is not None:
            return None  # strong regularisation or a dying schedule, not the rate, is slow
        if nothing_to_gain(ev):
            return None  # already at what the data allows: a faster rate has nothing to win
        lr = float(ev.cfg("train.optimizer.lr", 0.0))
        name = str(ev.cfg("train.optimizer.name", "adam"))
        # A tenth of the optimizer's safe rate at least: a curve this straight is far from
        # the right step size, and x10 alone often leaves it slow. Where the steps were
        # measured tiny, the rate they call for (what underfitting prescribes): Adam at
        # 1.46e-05 on a deep spiral, steps of 1.9e-05 of the weights, gained +0.64 val
        # accuracy at 0.001 and +0.20 (inconclusive) at 0.0003.
        safe = SAFE_LR.get(name, 0.01)
        higher = nice(max(lr * 3, min(max(lr * 10, safe / 10), safe)))
        if progress.update is not None:  # steps measured on a slow curve: as tiny_steps reads it
            higher = max(higher, rate_for_tiny_steps(lr, name))
        remedies = [
            Prescription(f"a larger learning rate ({higher:g})", {"train.optimizer.lr": higher})
        ]
        if name in ("sgd", "momentum", "nesterov", "adagrad"):
            remedies.append(
                Prescription(
                    "Adam adapts the step per weight (at lr {train.optimizer.lr})",
                    {"train.optimizer": {"name": "adam", "lr": max(lr, 0.001)}},
                )
            )
        remedies.append(Prescription("train longer", {"train.epochs": longer(ev, progress.epochs)}))
        return Finding(
            self.code,
            "warning",
            "The learning rate is too low",
            f"{progress.fell()}, as fast as at the start ({progress.early:.1%}): with lr "
            f"{lr:g} the curve has not begun to flatten.",
            progress.evidence(lr),
            remedies,
            harmful={"lr": -1, "epochs": -1},
            causes=["train.optimizer.lr"],
        )
