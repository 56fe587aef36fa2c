"""The unit of work a worker trains (a ``--jobs`` process, a Ray task, the driver itself):
one run, or the seeds of one variant trained as one stacked model."""

from __future__ import annotations

from typing import Any

from hone.config import load_config
from hone.runs.stacking import NotStackable, run_stacked
from hone.runs.train import run

__all__ = ["train_one", "train_unit"]


def train_one(cfg: dict[str, Any], store_root: str, threads: int | None) -> tuple[str, str]:
    """One run (module-level, so it pickles into a worker): ``(run_id, status)``."""
    overrides: dict[str, Any] = {"train.threads": threads} if threads else {}
    result = run(cfg, store=store_root, overrides=overrides)
    return result.run_id, result.status


def train_unit(
    cfgs: list[dict[str, Any]], store_root: str, threads: int | None
) -> tuple[list[tuple[str, str]], str | None]:
    """A unit of work: one run, or the seeds of one variant trained stacked. Returns
    ``(run_id, status)`` per config, and why they ran one by one when the built model turned
    out not to stack."""
    why = None
    if len(cfgs) > 1:
        configs = [load_config(c, {"train.threads": threads} if threads else None) for c in cfgs]
        try:
            return [(r.run_id, r.status) for r in run_stacked(configs, store_root)], None
        except NotStackable as exc:
            why = str(exc)
    return [train_one(c, store_root, threads) for c in cfgs], why
