"""Running one case: train it (and its healthy twin), check the fault is real, diagnose, judge,
and (optionally) check that the top prescription helps."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import hone
from benchmarks.faultgen.cases import Case
from benchmarks.faultgen.judge import Seen, judge, seen_findings
from benchmarks.faultgen.truth import TRUTHS, Evidence, metric_gap, value

__all__ = ["REF_MARGIN", "Runner", "probe_supported", "verify_probed", "verify_top"]

VERIFY_SEEDS = 3  # the top prescription's own paired seeds (not the probe's, not the run's)

REF_MARGIN = {"val_accuracy": 0.05, "val_loss": 0.25}  # "clearly below" the healthy twin
KEPT = ("train_accuracy", "val_accuracy", "train_loss", "val_loss")


def _diagnose() -> Callable[..., Any]:
    """``hone.diagnose``: a package that is also callable (``hone.diagnose(run_id)``)."""
    return cast(Callable[..., Any], hone.diagnose)


def probe_supported() -> bool:
    """Does this hone's ``hone.diagnose`` take ``probe=`` (the issue's item 4)?"""
    try:
        params = inspect.signature(_diagnose()).parameters
    except (TypeError, ValueError):
        return False
    return "probe" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _metrics(result: Any) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for k in KEPT:
        v = result.metrics.get(k)
        out[k] = round(float(v), 5) if isinstance(v, int | float) and math.isfinite(v) else None
    return out


def verify_top(case: Case, result: Any, findings: list[Seen], store: Path) -> dict[str, Any]:
    """Apply the top finding's first prescription, same seed, and compare the val metric."""
    patch = findings[0].patch if findings else None
    if not patch:
        return {"applied": False, "why": "the top finding's first prescription has no patch"}
    metric = case.family.metric
    try:
        after = hone.run(case.config, store=store, seed=case.seed, **patch)
    except Exception as exc:  # a patch hone itself cannot apply is a finding of the study
        return {"applied": False, "patch": patch, "why": f"{type(exc).__name__}: {exc}"[:300]}
    change = -metric_gap(after, result, metric)  # > 0: the patch made it better
    step = 0.01 if "acc" in metric else 0.05
    outcome = "better" if change > step else "worse" if change < -step else "same"
    return {
        "applied": True,
        "patch": patch,
        "before": value(result, metric),
        "after": value(after, metric),
        "outcome": outcome,
    }


def verify_probed(case: Case, result: Any, diagnosis: Any, store: Path) -> dict[str, Any]:
    """The probed diagnosis's top prescription, verified on its own paired seeds at full
    length (``hone.compare``): does it improve the validation metric, is it significantly
    worse, and what did the probe cost against the run itself?"""
    # What hone would apply (``hone diagnose --patch``, ``--repair``): the first prescription
    # a probe did not refute.
    top = diagnosis.top_prescription()
    probe = (diagnosis.reference or {}).get("probe") or {}
    cost = _probe_seconds(store, probe.get("experiment"))
    out: dict[str, Any] = {"probe_seconds": cost, "run_seconds": result.wall_seconds}
    if top is None:
        return {**out, "applied": False, "why": "no prescription with a patch"}
    fresh = case.seed + 1000  # neither the run's seed nor the probe's
    try:
        # on the probe's own metric: balanced accuracy where accuracy was found misleading
        cmp = hone.compare(case.config, variants={"top": dict(top.patch)}, seeds=VERIFY_SEEDS,
                           store=store, seed=fresh, metric=probe.get("metric"))  # fmt: skip
    except Exception as exc:  # a patch hone cannot apply is a finding of the study
        return {**out, "applied": False, "patch": top.patch, "why": f"{exc}"[:300]}
    v, base = cmp["top"], cmp.summary["variants"][0]
    diff = v.mean_diff if v.mean_diff is not None and math.isfinite(v.mean_diff) else 0.0
    improves = diff > 0 if "acc" in cmp.metric else diff < 0
    # The run as it is diverged on every seed and the prescription's runs completed: no
    # pairs to subtract, and plainly an improvement (a diverged run has no usable model).
    rescued = not base["values"] and base["diverged"] == VERIFY_SEEDS and v.n >= 2
    return {**out, "applied": True, "patch": top.patch, "metric": cmp.metric,
            "mean_diff": diff, "verdict": v.verdict, "improves": improves or rescued,
            "rescued": rescued, "significantly_worse": v.verdict == "worse"}  # fmt: skip


def _probe_seconds(store: Path, exp_id: str | None) -> float | None:
    """Training seconds of every run a probe experiment recorded."""
    if not exp_id:
        return None
    from hone.store import RunStore

    with RunStore(store) as rs:
        runs = rs.get_experiment(exp_id).runs
        return round(sum(rs.get_run(r["run_id"], with_history=False).wall_seconds or 0.0
                         for r in runs), 3)  # fmt: skip


class Runner:
    """Runs cases into one store; healthy twins are trained once per family and seed."""

    def __init__(self, store: Path, verify: bool = False, probe: bool = False) -> None:
        self.store = store
        self.verify = verify
        self.probe = probe and probe_supported()
        self.twins: dict[tuple[str, int], Any] = {}

    def twin(self, case: Case) -> Any:
        key = (case.family.name, case.seed)
        if key not in self.twins:
            cfg = case.family.healthy() | {"name": f"twin-{case.family.name.replace('/', '-')}"}
            self.twins[key] = hone.run(cfg, store=self.store, seed=case.seed)
        return self.twins[key]

    def diagnose(self, run_id: str) -> Any:
        if self.probe:
            return _diagnose()(run_id, store=self.store, probe=True)
        return _diagnose()(run_id, store=self.store)

    def run(self, case: Case) -> dict[str, Any]:
        started = time.perf_counter()
        record: dict[str, Any] = {**case.label()}
        try:
            case.prepare()
            twin = self.twin(case)
            same = case.kind == "control"  # a healthy control *is* its twin: train it once
            result = twin if same else hone.run(case.config, store=self.store, seed=case.seed)
            record.update(self._judge(case, result, twin))
        except Exception as exc:  # recorded and counted, never dropped
            record["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        record["seconds"] = round(time.perf_counter() - started, 3)
        return record

    def _judge(self, case: Case, result: Any, twin: Any) -> dict[str, Any]:
        ev = Evidence(result, twin, case.family, self.store, case.recipe, case.strength)
        holds, detail = TRUTHS[case.fault.truth](ev)
        diagnosis = self.diagnose(result.run_id)
        findings = seen_findings(diagnosis)
        verdict = judge(case.label(), findings)
        metric = case.family.metric
        gap = metric_gap(result, twin, metric)
        out: dict[str, Any] = {
            "run_id": result.run_id,
            "status": result.status,
            "epochs_run": result.epochs_run,
            "metrics": _metrics(result),
            "twin": {"run_id": twin.run_id, metric: value(twin, metric)},
            "materialised": holds,
            "truth": detail,
            "findings": [f.to_json() for f in findings],
            "verdict": verdict,
            "healthy_below_reference": verdict["called_healthy"]
            and case.kind != "noise_control"
            and gap > REF_MARGIN[metric],
        }
        if self.verify and case.kind == "fault" and holds:
            if self.probe:
                out["verify"] = verify_probed(case, result, diagnosis, self.store)
            else:
                out["verify"] = verify_top(case, result, findings, self.store)
        return out
