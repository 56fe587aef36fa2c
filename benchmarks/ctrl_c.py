"""Ctrl-C at each phase of a run, as a real SIGINT this process sends itself at that moment:
at the start (while the model is built), while training, during the final evaluation, and
while the weights are being saved. Run it in a child process of its own (the signals are
real):

    python -m benchmarks.ctrl_c STORE_ROOT [PHASE ...]

Each phase trains in a store that already holds an uninterrupted run of the same config
(the reference); it prints one JSON line per phase: what the interrupted run was recorded
as, whether its weights and checkpoint were kept, whether ``hone.resume`` then completed it
with the reference's metrics, and whether the reference run is intact.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

import hone
from hone.store import RunStore
from hone.train.callbacks import Callback
from hone.train.state import TrainState

PHASES = ("start", "training", "evaluation", "saving")
CONFIG = {"train": {"epochs": 4, "checkpoint_every": 1}, "telemetry": False}
_rng = np.random.default_rng(0)
X = _rng.normal(size=(400, 4)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _interrupt() -> None:
    os.kill(os.getpid(), signal.SIGINT)


class Net(nn.Module):
    """A small MLP that sends SIGINT when ``armed`` says so: in an evaluation forward pass
    after training, or when its weights are read to be saved."""

    armed = ""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x: Any) -> Any:
        if Net.armed == "evaluation" and not self.training:
            Net.armed = ""
            _interrupt()
        return self.body(x)

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        if Net.armed == "saving":
            Net.armed = ""
            _interrupt()
        return super().state_dict(*args, **kwargs)


class Arm(Callback):
    def __init__(self, phase: str) -> None:
        self.phase = phase

    def on_epoch_end(self, state: TrainState) -> None:
        if self.phase == "training" and state.epoch == 2:
            _interrupt()

    def on_train_end(self, state: TrainState) -> None:
        if self.phase in ("evaluation", "saving"):
            Net.armed = self.phase


def _model_for(phase: str) -> Any:
    def build() -> nn.Module:
        if phase == "start":
            _interrupt()
        return Net()

    return build


def one(phase: str, root: Path) -> dict[str, Any]:
    store = root / phase
    reference = hone.run(CONFIG, model=Net, data=(X, Y), store=store)
    out: dict[str, Any] = {"phase": phase, "raised": None, "result": None}
    try:
        result = hone.run(CONFIG, model=_model_for(phase), data=(X, Y), store=store,
                          callbacks=[Arm(phase)])  # fmt: skip
        out["result"] = result.status
    except KeyboardInterrupt:
        out["raised"] = "KeyboardInterrupt"
    with RunStore(store) as rs:
        records = {r.id: r for r in rs.list_runs()}
        kept = records.get(reference.run_id)
        out["reference_intact"] = bool(
            kept and kept.status == "completed" and kept.metrics == reference.metrics
        )
        others = [r for r in records.values() if r.id != reference.run_id]
        if not others:
            return out
        run = others[0]
        folder = rs.run_dir(run.id)
        out.update(status=run.status, message=run.message, run_id=run.id,
                   weights=(folder / "weights.safetensors").is_file(),
                   checkpoint=(folder / "checkpoint.pt").is_file())  # fmt: skip
    if out["checkpoint"]:
        resumed = hone.resume(run.id, model=Net, data=(X, Y), store=store)
        out["resumed"] = resumed.status
        out["same_as_reference"] = resumed.metrics == reference.metrics
    return out


def main() -> None:
    root = Path(sys.argv[1])
    root.mkdir(parents=True, exist_ok=True)
    for phase in sys.argv[2:] or PHASES:
        print(json.dumps(one(phase, root)), flush=True)


if __name__ == "__main__":
    main()
