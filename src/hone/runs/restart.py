"""``hone run --repair``: restart a run that goes wrong early with its top prescription.

AutoTrainer's idea, on hone's live diagnosis: while the first part of training runs (a third
of the epochs, and at least long enough for the watch to judge), a critical finding stops the
run (``train.watch.stop_on: critical``), and so does a divergence. The run is diagnosed, its
root cause's first prescription is applied to the config, and training starts again from
scratch, at most ``attempts`` times. Every attempt is recorded as its own run, linked both
ways (``repaired_by`` / ``repair_of`` in the run's record), so the user sees what was tried
and why. The last attempt trains with the user's own watch settings and is never cut short.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.config import Config, load_config, merge_overrides
from hone.config.train import WatchConfig
from hone.diagnose import Diagnosis
from hone.diagnose.watch import MIN_EPOCHS
from hone.errors import ConfigError
from hone.runs.diagnosis import diagnose_recorded
from hone.runs.result import RunResult
from hone.runs.train import check_arguments, check_sources, run
from hone.store import RunStore
from hone.train.callbacks import Callback

__all__ = ["Diagnoser", "Repair", "repair_window", "run_with_repair"]

SHARE = 1 / 3  # "the first part of training"
Diagnoser = Callable[[str, Path], Diagnosis]  # (run id, store) -> its diagnosis


@dataclass
class Repair:
    """One restart: the run that went wrong, why, and the patch the next run applied."""

    run_id: str
    code: str
    epoch: int
    why: str
    patch: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def repair_window(cfg: Config) -> int:
    """The epochs in which a critical finding triggers a repair."""
    watch = cfg.train.watch or WatchConfig()
    least = MIN_EPOCHS + (watch.patience - 1) * (1 if watch.every_steps else int(watch.every))
    return min(cfg.train.epochs, max(least, math.ceil(cfg.train.epochs * SHARE)))


def run_with_repair(
    config: str | Path | Mapping[str, Any] | Config | None = None,
    *,
    attempts: int = 2,
    store: str | Path | None = None,
    on_repair: Callable[[Repair], None] | None = None,
    diagnose: Diagnoser | None = None,
    model: Any = None,
    data: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    overrides: Mapping[str, Any] | None = None,
    **keywords: Any,
) -> RunResult:
    """``hone.run`` that restarts an early-failing run with its top prescription, at most
    ``attempts`` times; returns the last run's result, with ``notes["repairs"]``.
    ``diagnose(run_id, store)`` reads what went wrong (default: the rules alone; the faces
    pass one that probes the top prescriptions first, ``hone.experiments.probe``)."""
    check_sources(model, data)
    callbacks = check_arguments(callbacks)[0]
    cfg = load_config(config, merge_overrides(overrides, keywords))
    run_args = {"model": model, "data": data, "callbacks": callbacks, "progress": progress}
    if cfg.train.ensemble is not None:
        raise ConfigError("--repair: not for ensembles; repair a member's config, then ensemble")
    user_watch = cfg.train.watch
    repairs: list[Repair] = []
    while True:
        last = len(repairs) >= attempts
        watch = user_watch if last else _repair_watch(cfg)
        trial = cfg.model_copy(update={"train": cfg.train.model_copy(update={"watch": watch})})
        result = run(trial, store=store, **run_args)
        if repairs:
            _link(result.store, repairs[-1].run_id, result.run_id, repairs[-1])
        found = None if last else _what_went_wrong(result, repair_window(cfg), diagnose)
        if found is None:
            break
        code, why, patch = found
        repairs.append(Repair(result.run_id, code, result.epochs_run, why, patch))
        if on_repair is not None:
            on_repair(repairs[-1])
        cfg = load_config(cfg, patch)
    result.notes["repairs"] = [r.to_json() for r in repairs]
    return result


def _repair_watch(cfg: Config) -> WatchConfig:
    watch = cfg.train.watch or WatchConfig()
    return watch.model_copy(update={"stop_on": "critical", "stop_within": repair_window(cfg)})


def _what_went_wrong(
    result: RunResult, window: int, diagnose: Diagnoser | None = None
) -> tuple[str, str, dict[str, Any]] | None:
    """(code, why, patch) for a run the watch stopped or that diverged within ``window``
    epochs and whose diagnosis prescribes a change; else ``None``. A probed diagnosis's
    confirmed prescription wins."""
    stopped = result.status == "stopped" and result.message.startswith("watch: ")
    diverged = result.status == "diverged" and result.epochs_run <= window
    if not (stopped or diverged):
        return None
    wanted = result.message.split()[1] if stopped else None
    found = (diagnose or diagnose_recorded)(result.run_id, result.store)
    findings = found.findings
    confirmed = next((f for f in findings if f.probe.get("verdict") == "confirmed"), None)
    if confirmed is not None:
        patch = confirmed.probe["patch"]
        return confirmed.code, str(confirmed.probe["prescription"]), dict(patch)
    for f in findings:
        if (f.code == wanted or (wanted is None and f.severity == "critical")) and f.explained_by:
            wanted = f.explained_by  # fix the cause, not its consequence
    for f in findings:
        if f.code == wanted or (wanted is None and f.severity == "critical"):
            top = f.top_prescription()
            if top is not None:
                return f.code, top.why, dict(top.patch)
    for entry in (result.notes.get("watch") or {}).get("timeline") or []:  # what it saw live
        fix = entry.get("prescription")
        if entry.get("code") == wanted and fix and fix.get("patch"):
            return str(wanted), str(fix["why"]), dict(fix["patch"])
    return None


def _link(root: Path, before: str, after: str, repair: Repair) -> None:
    with RunStore(root) as rs:
        rs.update_extra(before, {"repaired_by": after, "repair": repair.to_json()})
        rs.update_extra(after, {"repair_of": before, "repair": repair.to_json()})
