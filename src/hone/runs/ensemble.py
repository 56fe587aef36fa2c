"""An ensemble run (``train.ensemble``): its members trained and recorded as runs of their
own, then combined, and the ensemble recorded as one run with the combined metrics.

Members that differ only in their seed (``vary: seed``) or their initial weights (``vary:
init``) train as one stacked model (``--stack auto``, ``hone.runs.stacking``); a
member is recorded exactly as if it had trained alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from torch import nn

from hone.assemble import build_run, load_run_data
from hone.config import Config
from hone.data import DataBundle
from hone.evaluate.metrics import regression_report
from hone.evaluate.predict import predict_logits
from hone.evaluate.report import REGRESSION_HEADLINE
from hone.runs.record import train_and_record
from hone.runs.result import RunResult
from hone.runs.stacking import NotStackable, run_stacked, why_not_stacked
from hone.store.runstore import RunStore
from hone.train.callbacks import Callback
from hone.train.ensemble import combine, member_configs
from hone.train.losses import output_transform, resolve_output_activation

__all__ = ["train_ensemble"]


def train_ensemble(
    cfg: Config,
    *,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    stack: str = "auto",
) -> RunResult:
    """Train ``train.ensemble.members`` members and record the ensemble as one run with each
    member's and the combined metrics."""
    ens = cfg.train.ensemble
    assert ens is not None
    data = load_run_data(cfg)
    run_store = RunStore(cfg.store)
    started = time.perf_counter()
    try:
        ens_id = run_store.create_run(cfg.name, cfg.to_dict(), cfg.seed)
        members, how = _train_members(cfg, data, run_store, ens_id, callbacks, progress, stack)
        if "task" in data.report:  # data.task: auto decided: say so once, for the ensemble
            how["task"] = data.report["task"]
        status = next((m.status for m in members if m.status != "completed"), "completed")
        metrics = _combined_metrics(cfg, members, data) if status == "completed" else {}
        wall = time.perf_counter() - started
        extra = {
            "members": [
                {"run_id": m.run_id, "status": m.status, "metrics": m.metrics} for m in members
            ],
            "combine": ens.combine,
            "vary": ens.vary,
            **how,
        }
        message = "" if status == "completed" else f"a member ended {status}"
        run_store.finish_run(ens_id, status, metrics, wall, message, extra)
        return RunResult(
            run_id=ens_id,
            status=status,
            epochs_run=max(m.epochs_run for m in members),
            metrics=metrics,
            history={},
            wall_seconds=wall,
            config=cfg,
            message=message,
            store=run_store.root,
            model=None,
            members=members,
            notes=how,
        )
    finally:
        run_store.close()


def _train_members(
    cfg: Config,
    data: DataBundle,
    store: RunStore,
    ens_id: str,
    callbacks: Sequence[Callback],
    progress: bool,
    stack: str,
) -> tuple[list[RunResult], dict[str, Any]]:
    """The members' results, and how they trained: ``{"stacked": K}``, or why they
    trained one by one (``{"not_stacked": why}``)."""
    planned = member_configs(cfg)
    why = _why_not(cfg, callbacks, stack)
    if why is None:
        try:
            results = run_stacked(
                [c for c, _ in planned], store.root, extra={"ensemble": ens_id},
                init_seeds=[s for _, s in planned],
                progress=f"{cfg.name} ({len(planned)} members stacked)" if progress else None,
            )  # fmt: skip
            return results, {"stacked": len(planned)}
        except NotStackable as exc:
            why = str(exc)
    members: list[RunResult] = []
    for member_cfg, init_seed in planned:
        built = build_run(member_cfg, data, init_seed=init_seed)
        result = train_and_record(built, store, callbacks, progress, extra={"ensemble": ens_id})
        members.append(result)
        if result.status != "completed":
            break
    return members, ({"not_stacked": why} if why else {})


def _why_not(cfg: Config, callbacks: Sequence[Callback], stack: str) -> str | None:
    """Why the members train one by one; ``None`` when they can be stacked."""
    ens = cfg.train.ensemble
    assert ens is not None
    if stack == "off":
        return ""  # asked for: nothing to explain
    if ens.vary == "hyperparams":
        return "vary: hyperparams gives each member its own learning rate"
    if callbacks:
        return "callbacks given from Python keep state per run"
    return why_not_stacked([c for c, _ in member_configs(cfg)])


def _combined_metrics(cfg: Config, members: list[RunResult], data: DataBundle) -> dict[str, float]:
    """Loss and accuracy of the combined members on each split (every member trained on the
    same splits)."""
    ens = cfg.train.ensemble
    assert ens is not None
    # Every member shares the model and the loss, so their output activation.
    activation = resolve_output_activation(cfg.model.output_activation, cfg.train.loss, data.task)
    models: list[nn.Module] = [m.model for m in members if m.model is not None]
    metrics: dict[str, float] = {}
    for split_name, split in {"train": data.train, "val": data.val, "test": data.test}.items():
        if split is None:
            continue
        outputs = [output_transform(predict_logits(model, split.x), activation) for model in models]
        pred, mean_prob = combine(outputs, ens.combine, data.task)
        if data.task == "regression":  # the members' mean, in the target's units
            report = regression_report(split.y, pred)
            metrics[f"{split_name}_loss"] = report["mse"]
            metrics.update({f"{split_name}_{k}": report[k] for k in REGRESSION_HEADLINE})
            continue
        metrics[f"{split_name}_accuracy"] = float((pred == split.y).float().mean())
        if mean_prob is not None:
            picked = mean_prob.gather(1, split.y[:, None]).clamp_min(1e-12)
            metrics[f"{split_name}_loss"] = float(-picked.log().mean())
    return metrics
