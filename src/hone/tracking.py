"""Recorded runs as TensorBoard event files (``hone export RUN|EXP DIR --to tensorboard``).

Per run: every per-epoch history series (losses, metrics, learning rate, seconds) at its epoch,
the gradient norm per layer and dead/saturated shares from telemetry at their training step,
the final metrics, and the resolved config as text. An experiment writes one sub-folder per
variant and seed, so TensorBoard overlays them. Needs ``tensorboard`` (``hone[tracking]``).
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from typing import Any

from hone.errors import ConfigError, StoreError
from hone.store import RunStore

__all__ = ["TARGETS", "to_tensorboard"]

TARGETS = ("tensorboard",)


def _writer(folder: Path) -> Any:
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "--to tensorboard needs the tensorboard package: pip install 'hone[tracking]'"
        )
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(folder))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _write_run(rs: RunStore, run_id: str, folder: Path) -> int:
    """One run's scalars and config into ``folder``; returns how many scalars were written."""
    import yaml

    record = rs.get_run(run_id)
    written = 0
    writer = _writer(folder)
    try:
        epochs = [int(e) for e in record.history.get("epoch", [])] or list(
            range(1, record.epochs_run + 1)
        )
        for key, values in record.history.items():
            if key == "epoch":
                continue
            for epoch, value in zip(epochs, values, strict=False):
                if _finite(value):
                    writer.add_scalar(f"epoch/{key}", float(value), epoch)
                    written += 1
        tele = rs.load_json(run_id, "telemetry.json") or {}
        for sample in tele.get("samples") or []:
            step = int(sample.get("step") or 0)
            for layer, stats in (sample.get("layers") or {}).items():
                if _finite(stats.get("grad_norm")):
                    writer.add_scalar(f"grad_norm/{layer}", float(stats["grad_norm"]), step)
                    written += 1
            for layer, stats in (sample.get("activations") or {}).items():
                for kind in ("dead", "saturated"):
                    if _finite(stats.get(kind)):
                        writer.add_scalar(f"{kind}/{layer}", float(stats[kind]), step)
                        written += 1
        for key, value in record.metrics.items():
            if _finite(value):
                writer.add_scalar(f"final/{key}", float(value), record.epochs_run)
                written += 1
        config = yaml.safe_dump(record.config, sort_keys=False)
        writer.add_text("config", "```\n" + config + "\n```", 0)
        writer.add_text("run", f"{record.id} · {record.name} · {record.status}", 0)
    finally:
        writer.close()
    return written


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
