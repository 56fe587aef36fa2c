"""Training checkpoints that a run can continue from (``hone run --resume RUN``).

A checkpoint is everything the next epoch depends on: weights, optimizer and gradient-scaler
state, every random generator (batch order, augmentation, dropout through torch's global RNG,
Python and NumPy), the epoch and step counters, the history so far, and the state of each
callback that keeps some (schedule, early stopping, telemetry). Restoring it and training on
gives the same weights as never stopping (Keras ``BackupAndRestore`` is the model).

Loaded with ``torch.load(weights_only=True)``: a checkpoint holds tensors, numbers, strings,
lists and dicts only, so a planted file cannot run code.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from hone.errors import StoreError
from hone.store.files import atomic_write
from hone.train.state import TrainState

__all__ = [
    "CHECKPOINT_FILE",
    "Stateful",
    "capture",
    "load_checkpoint",
    "restore",
    "restore_counters",
    "restore_ending",
    "save_checkpoint",
]

CHECKPOINT_FILE = "checkpoint.pt"
VERSION = 1


@runtime_checkable
class Stateful(Protocol):
    """A callback whose state a resumed run needs (named by its class)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def _key(callback: object, index: int) -> str:
    return f"{index}:{type(callback).__name__}"


def capture(state: TrainState, callbacks: list[Any], elapsed: float) -> dict[str, Any]:
    """A checkpoint of ``state`` at the end of ``state.epoch``."""
    np_state: tuple[Any, ...] = np.random.get_state(legacy=True)  # type: ignore[assignment]
    return {
        "version": VERSION,
        "epoch": state.epoch,
        "step": state.step,
        "history": {k: list(v) for k, v in state.history.items()},
        "first_loss": state.first_loss,
        "init_weight": state.init_weight,
        "elapsed": elapsed,
        "model": {k: v.detach().clone() for k, v in state.model.state_dict().items()},
        "optimizer": (state.optimizer_state or state.optimizer.state_dict)(),
        "scaler": state.scaler.state_dict() if state.scaler is not None else {},
        "generators": {name: g.get_state() for name, g in state.generators.items()},
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python_rng": _python_state(),
        "numpy_rng": [np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:]],
        "callbacks": {
            _key(cb, i): cb.state_dict()
            for i, cb in enumerate(callbacks)
            if isinstance(cb, Stateful)
        },
    }


def _python_state() -> list[Any]:
    # random.getstate()'s 625 ints as a tensor: tuples of ints would load as well, but slowly.
    version, internal, gauss = random.getstate()
    return [version, torch.tensor(internal, dtype=torch.int64), gauss]


def restore_counters(state: TrainState, ckpt: dict[str, Any]) -> None:
    """Epoch, step and history: set before ``on_train_begin`` so callbacks see where it is."""
    state.epoch = int(ckpt["epoch"])
    state.step = int(ckpt["step"])
    state.history = {k: list(v) for k, v in ckpt["history"].items()}
    state.first_loss = ckpt["first_loss"]
    state.init_weight = float(ckpt["init_weight"])


def restore(state: TrainState, callbacks: list[Any], ckpt: dict[str, Any]) -> None:
    """Weights, optimizer, RNGs and callback states: after ``on_train_begin`` (which builds
    schedules and resets early stopping), so the saved state wins."""
    try:
        state.model.load_state_dict(ckpt["model"])
        state.optimizer.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise StoreError(
            "the checkpoint does not fit this model (layer names or shapes differ: "
            f"{str(exc).splitlines()[0][:160]}); resume with the model the run trained"
        ) from None
    if state.scaler is not None and ckpt["scaler"]:
        state.scaler.load_state_dict(ckpt["scaler"])
    for name, g in state.generators.items():
        if name in ckpt["generators"]:
            g.set_state(ckpt["generators"][name])
    torch.set_rng_state(ckpt["torch_rng"])
    if ckpt["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
    version, internal, gauss = ckpt["python_rng"]
    random.setstate((version, tuple(internal.tolist()), gauss))
    kind, keys, *rest = ckpt["numpy_rng"]
    np.random.set_state((kind, keys.numpy(), *rest))
    saved = ckpt["callbacks"]
    for i, cb in enumerate(callbacks):
        if isinstance(cb, Stateful) and _key(cb, i) in saved:
            cb.load_state_dict(saved[_key(cb, i)])


def restore_ending(state: TrainState, ckpt: dict[str, Any]) -> None:
    """A checkpoint of a run that had trained to its end (it was interrupted during its final
    evaluation): the run ends as it did, without training on."""
    ended = ckpt.get("ended")
    if isinstance(ended, dict):
        state.status = str(ended.get("status") or "completed")
        state.stop_reason = str(ended.get("stop_reason") or "")
        at = ended.get("diverged_at")
        state.diverged_at = (int(at[0]), int(at[1])) if at else None


def _tensor_bytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_tensor_bytes(v) for v in value)
    return 0


def save_checkpoint(folder: Path, ckpt: dict[str, Any]) -> Path:
    """Write atomically: a kill mid-write leaves the previous checkpoint whole; a full disk
    leaves it too, and raises ``DiskFullError`` naming the file and the space it needs
    (``torch.save`` reports a failed write as a ``RuntimeError``)."""
    path = folder / CHECKPOINT_FILE
    needed = _tensor_bytes(ckpt) + 64 * 1024

    def write(tmp: str) -> None:
        # A file this function closes: torch.save's own writer keeps its file open after a
        # failed write until it is garbage-collected, holding the space the failure freed.
        with open(tmp, "wb") as fh:
            torch.save(ckpt, fh)

    atomic_write(path, write, needed=needed, errors=(RuntimeError,))
    return path


def load_checkpoint(folder: Path) -> dict[str, Any] | None:
    """The run's checkpoint, ``None`` when it has none; a damaged file is a clear error."""
    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
        raise StoreError(
            f"{path} is damaged and cannot be read ({type(exc).__name__}); the run cannot be "
            "resumed from it: start it again"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("version") != VERSION:
        raise StoreError(
            f"{path} is not a hone checkpoint (version {VERSION}); start the run again"
        )
    return ckpt
