"""Recorded runs as TensorBoard event files (``hone export RUN|EXP DIR --to tensorboard``).

Per run: every per-epoch history series (losses, metrics, learning rate, seconds) at its epoch,
the gradient norm per layer and dead/saturated shares from telemetry at their training step,
the final metrics, and the resolved config as text. An experiment writes one sub-folder per
variant and seed, so TensorBoard overlays them. Needs ``tensorboard`` (``hone[tracking]``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hone.errors import ConfigError, StoreError
from hone.store import RunStore
from hone.tracking.common import epochs_of, finite, require, telemetry_scalars

__all__ = ["to_tensorboard", "write_summary", "writer"]


def writer(folder: Path) -> Any:
    """A ``SummaryWriter`` for ``folder``, or a clear error without ``tensorboard``."""
    require("tensorboard", "--to tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(folder))


def _write_run(rs: RunStore, run_id: str, folder: Path) -> int:
    """One run's scalars and config into ``folder``; returns how many scalars were written."""
    record = rs.get_run(run_id)
    written = 0
    out = writer(folder)
    try:
        epochs = epochs_of(record)
        for key, values in record.history.items():
            if key == "epoch":
                continue
            for epoch, value in zip(epochs, values, strict=False):
                if finite(value):
                    out.add_scalar(f"epoch/{key}", float(value), epoch)
                    written += 1
        written += write_summary(out, rs, run_id)
    finally:
        out.close()
    return written


def write_summary(out: Any, rs: RunStore, run_id: str) -> int:
    """Telemetry, final metrics and the config (what a run has once it ended) to ``out``."""
    import yaml

    record = rs.get_run(run_id, with_history=False)
    written = 0
    tele = _telemetry(rs, run_id)
    for tag, value, step in telemetry_scalars(tele.get("samples") or []):
        out.add_scalar(tag, value, step)
        written += 1
    for key, value in record.metrics.items():
        if finite(value):
            out.add_scalar(f"final/{key}", float(value), record.epochs_run)
            written += 1
    config = yaml.safe_dump(record.config, sort_keys=False)
    out.add_text("config", "```\n" + config + "\n```", 0)
    out.add_text("run", f"{record.id} · {record.name} · {record.status}", 0)
    out.flush()
    return written


def _telemetry(rs: RunStore, run_id: str) -> dict[str, Any]:
    """The run's telemetry, or nothing when it has none (telemetry off, killed early)."""
    if not (rs.run_dir(run_id) / "telemetry.json").is_file():
        return {}
    return rs.load_json(run_id, "telemetry.json") or {}


def _folder_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=,+-]+", "_", text).strip("._")[:80] or "run"


def to_tensorboard(rs: RunStore, ident: str, out: Path) -> dict[str, int]:
    """Write a run, or each run of an experiment, under ``out``; returns runs and scalars."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; give a folder for the TensorBoard logs")
    out.mkdir(parents=True, exist_ok=True)
    if ident.startswith("exp-"):
        record = rs.get_experiment(ident)
        if not record.runs:
            raise StoreError(f"experiment {record.id} has no finished runs to export")
        scalars = 0
        for link in record.runs:
            sub = out / record.id / _folder_name(link["variant"]) / f"seed{link['seed']}"
            scalars += _write_run(rs, link["run_id"], sub)
        return {"runs": len(record.runs), "scalars": scalars}
    run_id = rs.resolve_id(ident)
    return {"runs": 1, "scalars": _write_run(rs, run_id, out / run_id)}
