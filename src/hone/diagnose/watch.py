"""Live diagnosis: the diagnosis rules that make sense mid-run, judged while the run trains.

At the end of an epoch (at most every ``every`` epochs, and never more than ~2 % of the time
spent training, or 10 % when a finding may stop the run) the rules look at the history and
telemetry gathered so far, with dead and saturated units measured on the fixed probe rows.
A finding is recorded with the epoch and step where it first appeared (the run's *diagnosis
timeline*); ``on_finding`` is told once per code (the progress display prints a warning).
A code in ``stop_on`` (or any critical finding with ``stop_on: critical``) seen ``patience``
evaluations in a row stops the run, recorded ``stopped`` with the reason; a warning-level
finding only once the loss it harms has also stopped improving.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from hone.config.train import WATCH_CODES
from hone.diagnose.evidence import Evidence
from hone.diagnose.judge import diagnose_run
from hone.diagnose.rules import RULES
from hone.train.callbacks.base import Callback
from hone.train.callbacks.telemetry import Telemetry
from hone.train.state import TrainState

__all__ = ["LIVE_CODES", "StepWatch", "Watch"]

# Findings that mean something before the run ends (config.train.WATCH_CODES). Not there:
# underfitting, not_converged and lr_too_low (the run is not over), and the judgements of the
# final evaluation.
LIVE_CODES = WATCH_CODES
MAX_SHARE = 0.02  # diagnosis may take at most this share of the training time
STOP_SHARE = 0.1  # ... or this share when it may stop the run: a stop saves far more
MIN_EPOCHS = 3  # curves shorter than this say nothing about a trend
GAIN_WINDOW = 5  # a warning stops a run only when these epochs brought no new best ...
MIN_GAIN = 0.01  # ... lower by 1 % of the loss
WINDOW = 5  # telemetry of the last sampled epochs only: what the network does now, at a fixed cost


class Watch(Callback):
    def __init__(
        self,
        config: dict[str, Any],
        data: dict[str, Any],
        every: int = 1,
        stop_on: Sequence[str] | str = (),
        patience: int = 3,
        on_finding: Callable[[dict[str, Any]], None] | None = None,
        stop_within: int | None = None,
    ) -> None:
        self.config = config
        self.data = data
        self.every = every
        self.stop_on = stop_on
        self.patience = patience
        self.on_finding = on_finding
        self.stop_within = stop_within
        self.timeline: list[dict[str, Any]] = []
        self._streak: dict[str, int] = {}
        self._spent = 0.0  # all the time judging (reported)
        self._paced = 0.0  # less the one-off cost of a code's first appearance (paces judging)
        self._started = time.monotonic()
        self.share = 1.0  # of the time budget: 1/K for each of K stacked members

    def _due(self, state: TrainState) -> bool:
        if state.epoch < MIN_EPOCHS or state.epoch % self.every:
            return False
        return self._in_budget()

    def _in_budget(self) -> bool:
        elapsed = time.monotonic() - self._started
        return self._paced <= (STOP_SHARE if self.stop_on else MAX_SHARE) * self.share * elapsed

    def on_train_begin(self, state: TrainState) -> None:
        self._started = time.monotonic()
        self.timeline = [t for t in self.timeline if t["epoch"] <= state.epoch]  # resumed

    def on_epoch_end(self, state: TrainState) -> None:
        if self._due(state):
            self._judge_now(state)

    def _judge_now(self, state: TrainState) -> None:
        began = time.monotonic()
        seen = {t["code"] for t in self.timeline}
        findings = []
        try:
            findings = self._judge(state)
        finally:
            took = time.monotonic() - began
            self._spent += took
            # A new code's prescriptions are checked once (the config is built per patch):
            # that one-off cost must not hold back the next judgements.
            if not {f.code for f in findings} - seen:
                self._paced += took
        for f in findings:
            if f.code not in seen:
                top = next((p for p in f.prescriptions if p.patch), None)
                entry = {
                    "code": f.code,
                    "severity": f.severity,
                    "title": f.title,
                    "epoch": state.epoch,
                    "step": state.step,
                    "prescription": {"why": top.why, "patch": top.patch} if top else None,
                }
                self.timeline.append(entry)
                if self.on_finding is not None:
                    self.on_finding(entry)
        current = {f.code: f for f in findings}
        self._streak = {c: self._streak.get(c, 0) + 1 for c in current}
        if self.stop_within is not None and state.epoch > self.stop_within:
            return
        for code, f in current.items():
            wanted = (
                f.severity == "critical" if self.stop_on == "critical" else code in self.stop_on
            )
            if wanted and self._streak[code] >= self.patience and _hopeless(state, f):
                state.stop_training = True
                state.status = "stopped"
                state.stop_reason = f"watch: {code} at epoch {state.epoch}: {f.title}"
                break

    def _judge(self, state: TrainState) -> list[Any]:
        telemetry = None
        for cb in state.callbacks:
            if isinstance(cb, Telemetry):
                telemetry = cb.live_json(state.model)
                samples = telemetry["samples"]
                recent = sorted({s.get("epoch", 0) for s in samples})[-WINDOW:]
                telemetry["samples"] = [s for s in samples if s.get("epoch", 0) in recent]
        logs = {k: v for k, v in state.logs.items() if k.startswith("train_")}
        ev = Evidence(
            run_id="", status="running", message="", config=self.config,
            history=state.history, metrics=logs, telemetry=telemetry, data=self.data,
        )  # fmt: skip
        rules = [r for r in RULES if r.code in LIVE_CODES]
        new = set(LIVE_CODES) - {t["code"] for t in self.timeline}
        return [f for f in diagnose_run(ev, rules, new).findings if f.code in LIVE_CODES]

    def state_dict(self) -> dict[str, Any]:
        return {"timeline": self.timeline}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.timeline = list(saved["timeline"])

    def on_train_end(self, state: TrainState) -> None:
        state.info["watch"] = {"timeline": self.timeline, "seconds": round(self._spent, 4)}


def _hopeless(state: TrainState, finding: Any) -> bool:
    """A critical finding (diverging, stuck at chance, symmetric weights) does not heal. A
    warning often does (tanh units saturate for a while as classes separate), so it stops a
    run only when the loss it harms has also stopped improving: the training loss, or for
    overfitting the validation loss."""
    if finding.severity == "critical":
        return True
    key = "val_loss" if finding.code == "overfitting" else "train_loss"
    return not improving(state.history.get(key, []))


def improving(values: Sequence[float], window: int = GAIN_WINDOW, gain: float = MIN_GAIN) -> bool:
    """The last ``window`` values reached a new best, lower by ``gain`` of its size (a curve
    too short to tell counts as improving)."""
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) <= window:
        return True
    before, recent = min(finite[:-window]), min(finite[-window:])
    return recent < before - gain * abs(before)


class StepWatch(Watch):
    """``every: N steps``: judged every N optimizer steps, for epochs too long to wait for.
    Telemetry-based findings (gradients, units, initialisation) can appear in the first epoch;
    curve-based ones still need three finished epochs. A stop takes effect at the epoch's end.
    """

    def __init__(self, *args: Any, steps: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps = steps

    def on_epoch_end(self, state: TrainState) -> None:
        return  # judged on steps instead

    def on_batch_end(self, state: TrainState) -> None:
        if state.step % self.steps == 0 and self._in_budget():
            self._judge_now(state)
