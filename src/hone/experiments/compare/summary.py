"""An experiment's summary: per variant the mean and 95 % CI of its metric over seeds, the
paired difference against the variant it is judged against (Holm's correction for a grid),
why some runs give no value, and the final test metric, never used to choose."""

from __future__ import annotations

import math
from typing import Any

from hone.errors import HoneError
from hone.experiments.stats import MIN_SEEDS, compare_paired, holm, summarize
from hone.store.runstore import RunRecord, RunStore

__all__ = ["summarize_experiment"]


def _records(store: RunStore, runs: list[dict[str, Any]]) -> dict[int, RunRecord | None]:
    """Each linked seed's run record, read once; ``None`` for a deleted or damaged run (that
    seed is missing, not a crash)."""
    records: dict[int, RunRecord | None] = {}
    for r in runs:
        try:
            records[r["seed"]] = store.get_run(r["run_id"], with_history=False)
        except HoneError:
            records[r["seed"]] = None
    return records


def _metric_values(records: dict[int, RunRecord | None], metric: str) -> dict[int, float]:
    """Each seed's value, from completed runs only: a diverged run's metrics are those of
    weights that blew up, not of the variant (``_missing_note`` says how many there were)."""
    values = {}
    for seed, record in records.items():
        if record is None or record.status != "completed":
            continue
        value = record.metrics.get(metric)
        if isinstance(value, int | float) and math.isfinite(value):
            values[seed] = float(value)
    return values


def _missing_note(
    records: dict[int, RunRecord | None], values: dict[int, float], metric: str
) -> str:
    """Why some of a variant's recorded runs give no value (e.g. "2 diverged"), else ""."""
    why: dict[str, int] = {}
    for seed, record in records.items():
        if seed not in values:
            status = record.status if record is not None else "deleted or damaged"
            why[status] = why.get(status, 0) + 1
    if not why:
        return ""
    causes = ", ".join(f"{n} {status}" for status, n in sorted(why.items()))
    hint = "; lower the learning rate" if "diverged" in why else ""
    return f"{sum(why.values())} of {len(records)} runs have no {metric} ({causes}){hint}"


def summarize_experiment(store: RunStore, exp_id: str) -> dict[str, Any]:
    """Per variant: mean ± 95 % CI of the metric over seeds, the paired difference against the
    variant it is judged against, and — labelled as final, never used to choose — test accuracy.
    Grids of several variants against one baseline also get Holm's correction."""
    record = store.get_experiment(exp_id)
    spec = record.spec
    metric = spec["metric"]
    # the chosen metric's own test counterpart (val_balanced_accuracy: test_balanced_accuracy)
    test_metric = "test_" + metric.split("_", 1)[1] if "_" in metric else "test_loss"
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for r in record.runs:
        by_variant.setdefault(r["variant"], []).append(r)
    records = {v["name"]: _records(store, by_variant.get(v["name"], [])) for v in spec["variants"]}
    values = {name: _metric_values(recs, metric) for name, recs in records.items()}
    rows = []
    for v in spec["variants"]:
        name, mine = v["name"], values[v["name"]]
        test = _metric_values(records[name], test_metric)
        row: dict[str, Any] = {
            "name": name,
            "patch": v["patch"],
            "compare_to": v.get("compare_to"),
            "n": len(mine),
            "values": [mine[s] for s in sorted(mine)],
            "summary": summarize([mine[s] for s in sorted(mine)], metric=metric).to_json(),
            "final_test": {
                "metric": test_metric,
                **summarize([test[s] for s in sorted(test)], metric=test_metric).to_json(),
            },
            "run_ids": [
                r["run_id"] for r in sorted(by_variant.get(name, []), key=lambda r: r["seed"])
            ],
            "missing": _missing_note(records[name], mine, metric),
            "diverged": sum(
                r is not None and r.status == "diverged" for r in records[name].values()
            ),
        }
        ref = v.get("compare_to")
        if ref and ref in values:
            seeds = sorted(set(mine) & set(values[ref]))
            if seeds:
                cmp = compare_paired(
                    [mine[s] for s in seeds], [values[ref][s] for s in seeds], metric
                )
                row["vs"] = {"variant": ref, **cmp.to_json()}
        rows.append(row)
    _holm(rows, record.kind)
    planned = len(spec["variants"]) * len(spec["seeds"])
    return {
        "experiment": record.id,
        "kind": record.kind,
        "status": record.status,
        "metric": metric,
        "seeds": spec["seeds"],
        "complete": len(record.runs) == planned,
        "runs_done": len(record.runs),
        "runs_planned": planned,
        "min_seeds_for_verdict": MIN_SEEDS,
        "variants": rows,
        # a config without a validation split: the share of training rows compared on
        **({"held_back": spec["held_back"]} if spec.get("held_back") else {}),
    }


def _holm(rows: list[dict[str, Any]], kind: str) -> None:
    """Several variants judged against one baseline: a verdict must survive Holm's correction
    for the number of comparisons (a ladder compares each step once, so it needs none). An
    improve adopted its step by the candidate's own test: its verdict stays what improve
    decided on, and the note says what the correction would have made of it."""
    judged = [r for r in rows if "vs" in r and r["vs"]["variant"] == "baseline"]
    if kind == "ladder" or len(judged) < 2:
        return
    keep = holm([float(r["vs"]["p_value"]) for r in judged])
    for r, ok in zip(judged, keep, strict=True):
        r["vs"]["holm"] = ok
        if not ok and r["vs"]["verdict"] in ("better", "worse") and kind == "improve":
            r["vs"]["note"] = (
                f"p = {r['vs']['p_value']:.3g} is uncorrected, as improve judged it; it would "
                f"not survive Holm's correction for {len(judged)} comparisons"
            )
        elif not ok and r["vs"]["verdict"] in ("better", "worse"):
            r["vs"]["verdict"] = "no detectable difference"
            r["vs"]["note"] = (
                f"p = {r['vs']['p_value']:.3g} does not survive Holm's correction for "
                f"{len(judged)} comparisons"
            )
