"""The unit of work a worker trains (a ``--jobs`` process, a Ray task, the driver itself):
one run, or the seeds of one variant trained as one stacked model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hone.config import load_config
from hone.progress import Pulse
from hone.runs.stacking import NotStackable, run_stacked
from hone.runs.train import run
from hone.train.callbacks import Callback, Pulses

__all__ = ["train_one", "train_unit"]


PulseSink = Callable[[Pulse], None]


def train_one(
    cfg: dict[str, Any], store_root: str, threads: int | None, callbacks: Sequence[Callback] = ()
) -> tuple[str, str]:
    """One run (module-level, so it pickles into a worker): ``(run_id, status)``."""
    overrides: dict[str, Any] = {"train.threads": threads} if threads else {}
    result = run(cfg, store=store_root, callbacks=callbacks, overrides=overrides)
    return result.run_id, result.status


def train_unit(
    cfgs: list[dict[str, Any]],
    store_root: str,
    threads: int | None,
    pulse: PulseSink | None = None,
    labels: list[str] | None = None,
    unstacked: Callable[[str], None] | None = None,
) -> tuple[list[tuple[str, str]], str | None]:
    """A unit of work: one run, or the seeds of one variant trained stacked. Returns
    ``(run_id, status)`` per config, and why they ran one by one when the built model turned
    out not to stack (also told to ``unstacked`` before they train). ``pulse`` is told where
    each run is (``labels``: one per config)."""

    def live() -> list[list[Callback]]:
        if pulse is None:
            return [[] for _ in cfgs]
        names = labels or [str(c.get("name", "run")) for c in cfgs]
        return [[Pulses(pulse, name)] for name in names]

    why = None
    if len(cfgs) > 1:
        configs = [load_config(c, {"train.threads": threads} if threads else None) for c in cfgs]
        try:
            stacked = run_stacked(configs, store_root, member_callbacks=live())
            return [(r.run_id, r.status) for r in stacked], None
        except NotStackable as exc:
            why = str(exc)
            if unstacked is not None:
                unstacked(why)
    each = zip(cfgs, live(), strict=True)
    return [train_one(c, store_root, threads, cbs) for c, cbs in each], why
