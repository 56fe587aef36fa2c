"""``hone improve``: diagnose, prescribe, verify with paired seeds, adopt only what the CI says
helps, repeat. Deterministic given the seeds, so resuming replays finished runs from the store
and continues where it stopped."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from hone.config import Config, load_config
from hone.diagnose import diagnose, load_evidence
from hone.experiments.compare import Progress, run_pending, summarize_experiment
from hone.experiments.stats import compare_paired
from hone.experiments.variants import Variant
from hone.store.runstore import RunStore

__all__ = ["candidates", "improve"]

MAX_CANDIDATES = 4  # per round
PER_FINDING = 2  # prescriptions taken from each finding


def _applied(cfg: Config, patch: dict[str, Any]) -> bool:
    """True when ``patch`` changes nothing in ``cfg`` (already in place)."""
    return load_config(cfg, patch).model_dump_json() == cfg.model_dump_json()


def _standard_next_steps(cfg: Config) -> list[tuple[str, dict[str, Any]]]:
    """The textbook's next steps when nothing is wrong: schedule, wider, deeper, ensemble."""
    steps: list[tuple[str, dict[str, Any]]] = []
    if cfg.train.schedule.name == "constant":
        steps.append(("cosine LR schedule", {"train.schedule": {"name": "cosine"}}))
    hidden = cfg.model.hidden or [32]
    steps.append(("twice as wide", {"model.hidden": [2 * h for h in hidden]}))
    steps.append(("one layer deeper", {"model.hidden": [*hidden, hidden[-1]]}))
    if cfg.train.ensemble is None:
        steps.append(("ensemble of 3", {"train.ensemble": {"members": 3}}))
    return steps


def candidates(
    store: RunStore, run_ids: list[str], cfg: Config
) -> list[tuple[str, dict[str, Any]]]:
    """Prescriptions that most of the baseline's seeds agree on, most severe finding first."""
    votes: dict[str, int] = {}
    first: dict[str, tuple[int, str, dict[str, Any]]] = {}
    for run_id in run_ids:
        findings = diagnose(load_evidence(store, run_id))
        for rank, f in enumerate(findings):
            for p in [p for p in f.prescriptions if p.patch][:PER_FINDING]:
                key = repr(sorted(p.patch.items()))
                votes[key] = votes.get(key, 0) + 1
                first.setdefault(key, (rank, f"{f.code}: {p.why}", p.patch))
    agreed = [first[k] for k, v in votes.items() if v * 2 >= len(run_ids)]
    out = [
        (why, patch)
        for _, why, patch in sorted(agreed, key=lambda t: t[0])
        if not _applied(cfg, patch)
    ]
    if not out:
        out = [(why, patch) for why, patch in _standard_next_steps(cfg) if not _applied(cfg, patch)]
    return out[:MAX_CANDIDATES]


def improve(
    store: RunStore,
    base: Config,
    *,
    seeds: int,
    metric: str,
    budget_runs: int | None = None,
    budget_seconds: float | None = None,
    exp_id: str | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run (or resume ``exp_id``) the improvement loop; returns the summary (also stored)."""
    seed_list = list(range(base.seed, base.seed + seeds))
    if exp_id is None:
        spec = {
            "config": base.to_dict(),
            "variants": [asdict(Variant("baseline", {}))],
            "seeds": seed_list,
            "metric": metric,
            "budget_runs": budget_runs,
            "budget_seconds": budget_seconds,
        }
        exp_id = store.create_experiment("improve", base.name, spec)
    started = time.monotonic()
    adopted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    current_name: str = "baseline"
    current_patch: dict[str, Any] = {}
    stop_reason = "no candidate helped"

    def runs_used() -> int:
        return len(store.get_experiment(exp_id).runs)

    def has_budget(n_new: int) -> bool:
        if budget_runs is not None and runs_used() + n_new > budget_runs:
            return False
        return budget_seconds is None or time.monotonic() - started < budget_seconds

    def add_variants(variants: list[Variant]) -> None:
        record = store.get_experiment(exp_id)
        names = {v["name"] for v in record.spec["variants"]}
        record.spec["variants"] += [asdict(v) for v in variants if v.name not in names]
        store.update_spec(exp_id, record.spec)

    run_pending(store, exp_id, jobs, progress)
    for round_no in range(1, 100):
        summary = summarize_experiment(store, exp_id)
        rows = {r["name"]: r for r in summary["variants"]}
        current_cfg = load_config(base, current_patch)
        proposals = candidates(store, rows[current_name]["run_ids"], current_cfg)
        if not proposals:
            stop_reason = "nothing left to try"
            break
        if not has_budget(len(seed_list) * len(proposals)):
            proposals = proposals[: max(0, (budget_runs or 10**9) - runs_used()) // len(seed_list)]
            if not proposals or not has_budget(len(seed_list)):
                stop_reason = "budget spent"
                break
        variants = [
            Variant(f"round {round_no}: {why}", {**current_patch, **patch}, current_name)
            for why, patch in proposals
        ]
        add_variants(variants)
        run_pending(store, exp_id, jobs, progress)
        rows = {r["name"]: r for r in summarize_experiment(store, exp_id)["variants"]}
        base_values = rows[current_name]["values"]
        best: tuple[float, Variant, dict[str, Any]] | None = None
        for v in variants:
            values = rows[v.name]["values"]
            if len(values) != len(base_values) or len(values) < 2:
                rejected.append({"name": v.name, "reason": "runs failed or diverged"})
                continue
            cmp = compare_paired(values, base_values, metric)
            entry = {"name": v.name, "patch": v.patch, "vs": current_name, **cmp.to_json()}
            if cmp.verdict == "better" and (best is None or abs(cmp.mean_diff) > best[0]):
                best = (abs(cmp.mean_diff), v, entry)
            else:
                rejected.append({**entry, "reason": cmp.verdict})
        if best is None:
            stop_reason = "no candidate helped"
            break
        _, winner, entry = best
        for v in variants:  # candidates that helped but less than the winner
            if (
                v is not winner
                and rows[v.name]["values"]
                and not any(r["name"] == v.name for r in rejected)
            ):
                rejected.append({"name": v.name, "reason": "helped less than the adopted change"})
        adopted.append({**entry, "summary": rows[winner.name]["summary"]})
        current_name, current_patch = winner.name, winner.patch
    final = summarize_experiment(store, exp_id)
    rows = {r["name"]: r for r in final["variants"]}
    final_cfg = load_config(base, current_patch)
    result = {
        "experiment": exp_id,
        "metric": metric,
        "seeds": seed_list,
        "baseline": rows["baseline"]["summary"],
        "adopted": adopted,
        "rejected": rejected,
        "stop_reason": stop_reason,
        "final_variant": current_name,
        "final_summary": rows[current_name]["summary"],
        "final_test": rows[current_name]["final_test"],
        "final_config": final_cfg.to_yaml(),
        "runs_used": runs_used(),
        "seconds": time.monotonic() - started,
    }
    store.finish_experiment(exp_id, "completed", result)
    return result
