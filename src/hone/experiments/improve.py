"""``hone improve``: diagnose, prescribe, verify with paired seeds, adopt only what the CI says
helps, repeat.

Deterministic given the seeds, so a resumed improve replays the finished rounds from the store
and ends with the same ladder as an uninterrupted one: the run budget counts the runs the
rounds *plan* (replayed or new), never the runs the store happens to hold, and the time budget
adds up the seconds of every session.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hone.cluster.backend import Backend
from hone.config import Config, load_config
from hone.config.names import higher_is_better
from hone.diagnose import diagnose
from hone.errors import HoneError
from hone.experiments.compare import (
    Progress,
    holding_back,
    loss_measured_alike,
    plan_experiment,
    resolve_resumable,
    run_pending,
    summarize_experiment,
)
from hone.experiments.probe import probe_diagnosis
from hone.experiments.stats import Comparison, compare_paired
from hone.experiments.variants import Variant
from hone.runs import diagnose_recorded, evidence_of
from hone.store.runstore import RunStore

__all__ = ["Candidate", "candidates", "improve"]

MAX_CANDIDATES = 4  # per round
PER_FINDING = 2  # prescriptions taken from each finding

Candidate = tuple[str, dict[str, Any]]  # (why, patch)


def _applied(cfg: Config, patch: dict[str, Any]) -> bool:
    """True when ``patch`` changes nothing in ``cfg`` (already in place)."""
    try:
        return load_config(cfg, patch).model_dump_json() == cfg.model_dump_json()
    except HoneError:
        return True  # a patch that no longer applies is nothing to try


def _standard_next_steps(cfg: Config) -> list[Candidate]:
    """The textbook's next steps when nothing is wrong: schedule, wider, deeper, ensemble."""
    steps: list[Candidate] = []
    if cfg.train.schedule.name == "constant":
        steps.append(("cosine LR schedule", {"train.schedule": {"name": "cosine"}}))
    hidden = cfg.model.hidden or [32]
    steps.append(("twice as wide", {"model.hidden": [2 * h for h in hidden]}))
    steps.append(("one layer deeper", {"model.hidden": [*hidden, hidden[-1]]}))
    if cfg.train.ensemble is None:
        steps.append(("ensemble of 3", {"train.ensemble": {"members": 3}}))
    return steps


def _merge(values: list[Any]) -> Any:
    """One value for a prescription the seeds gave with different numbers: the median for
    numbers, key by key for mappings, the most common otherwise."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        merged = statistics.median(values)
        return int(merged) if all(isinstance(v, int) for v in values) else float(merged)
    if all(isinstance(v, dict) for v in values):
        keys = {k for v in values for k in v}
        return {k: _merge([v[k] for v in values if k in v]) for k in sorted(keys)}
    texts = [repr(v) for v in values]
    return values[texts.index(max(set(texts), key=texts.count))]


def candidates(
    store: RunStore, run_ids: list[str], cfg: Config, refuted: dict[str, str] | None = None
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Prescriptions most of the baseline's seeds agree on, grouped by what they do (finding
    code and the keys they set, so early stopping with a patience that differs per seed is
    one candidate), most important finding first. Also every group considered, with its fate.
    ``refuted``: what a probe refuted (``patch_key`` -> the probe's words), not tried again."""
    groups: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    for run_id in run_ids:
        findings = diagnose(evidence_of(store, run_id))
        seen_here: set[tuple[str, tuple[str, ...]]] = set()
        for rank, f in enumerate(findings):
            for p in [p for p in f.prescriptions if p.patch][:PER_FINDING]:
                key = (f.code, tuple(sorted(p.patch)))
                if key in seen_here:
                    continue
                seen_here.add(key)
                group = groups.setdefault(key, {"rank": rank, "why": f"{f.code}: {p.why}",
                                                "patches": []})  # fmt: skip
                group["rank"] = min(group["rank"], rank)
                group["patches"].append(p.patch)
    considered: list[dict[str, Any]] = []
    agreed: list[tuple[int, Candidate]] = []
    for (_code, keys), group in groups.items():
        patch = {k: _merge([p[k] for p in group["patches"]]) for k in keys}
        votes = len(group["patches"])
        entry = {"name": group["why"], "patch": patch, "votes": f"{votes}/{len(run_ids)}"}
        if votes * 2 < len(run_ids):
            considered.append({**entry, "fate": "fewer than half of the seeds prescribed it"})
        elif _applied(cfg, patch):
            considered.append({**entry, "fate": "already in place"})
        elif refuted and any(patch_key(p) in refuted for p in group["patches"]):
            why = next(refuted[patch_key(p)] for p in group["patches"] if patch_key(p) in refuted)
            considered.append({**entry, "fate": f"not tried: the probe refuted it ({why})"})
        else:
            agreed.append((group["rank"], (group["why"], patch)))
    out = [c for _, c in sorted(agreed, key=lambda t: t[0])]
    if not out:
        out = [c for c in _standard_next_steps(cfg) if not _applied(cfg, c[1])]
    for why, patch in out[MAX_CANDIDATES:]:
        considered.append({"name": why, "patch": patch, "fate": f"beyond {MAX_CANDIDATES} a round"})
    return out[:MAX_CANDIDATES], considered


HELPED_LESS = "helped less than the adopted change"


def patch_key(patch: dict[str, Any]) -> str:
    return repr(sorted(patch.items()))


def improve(
    store: RunStore,
    base: Config,
    *,
    seeds: int,
    metric: str,
    budget_runs: int | None = None,
    budget_seconds: float | None = None,
    exp_id: str | None = None,
    jobs: int | None = 1,
    progress: Progress | None = None,
    announce: Any = None,
    stack: str = "auto",
    say: Any = None,
    backend: Backend | None = None,
    held_back: float | None = None,
) -> dict[str, Any]:
    """Run (or resume ``exp_id``) the improvement loop; returns the summary (also stored).
    ``announce(exp_id)`` is called once the experiment exists (to print how to resume);
    ``stack``, ``say`` and ``backend`` are ``run_pending``'s. ``held_back``: a config
    without a validation split is improved on that share of its training rows, held back
    from every run (the final config keeps the split as it was)."""
    seed_list = list(range(base.seed, base.seed + seeds))
    if exp_id is None:
        extra: dict[str, Any] = {"budget_runs": budget_runs, "budget_seconds": budget_seconds,
                                 "seconds_used": 0.0}  # fmt: skip
        if held_back:
            extra.update(held_back=held_back, own_split=base.data.split.model_dump(mode="json"))
            base = holding_back(base, held_back)
        exp_id = plan_experiment(store, "improve", base, [Variant("baseline", {})], seed_list,
                                 metric, extra)  # fmt: skip
    else:
        exp_id = resolve_resumable(store, exp_id, "improve")
    if announce is not None:
        announce(exp_id)
    spec = store.get_experiment(exp_id).spec
    loop = _Loop(store, exp_id, base, metric, list(spec["seeds"]), budget_runs, budget_seconds,
                 float(spec.get("seconds_used") or 0.0),
                 lambda: run_pending(store, exp_id, jobs, progress, "improve", stack=stack,
                                     say=say, backend=backend),
                 held_back=spec.get("held_back"), own_split=spec.get("own_split"))  # fmt: skip
    loop.run_pending()
    for round_no in range(1, 100):
        stop = loop.round(round_no)
        if stop is not None:
            loop.stop_reason = stop
            break
    result = loop.result()
    store.finish_experiment(exp_id, "completed", result)
    return result


@dataclass
class _Loop:
    """The state of one improvement loop: what was adopted, rejected and considered, the
    current step, and the budgets (runs planned, seconds spent over every session)."""

    store: RunStore
    exp_id: str
    base: Config
    metric: str
    seeds: list[int]
    budget_runs: int | None
    budget_seconds: float | None
    earlier: float  # seconds spent by earlier sessions of this experiment
    run_pending: Callable[[], object]
    started: float = field(default_factory=time.monotonic)
    adopted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    considered: list[dict[str, Any]] = field(default_factory=list)
    current_name: str = "baseline"
    current_patch: dict[str, Any] = field(default_factory=dict)
    stop_reason: str = "no candidate helped"
    held_back: float | None = None  # a share of the training rows held back for validation
    own_split: dict[str, Any] | None = None  # ... and the split as it was before

    def __post_init__(self) -> None:
        self.planned = len(self.seeds)  # the baseline's runs

    def seconds(self) -> float:
        return self.earlier + time.monotonic() - self.started

    def rows(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in summarize_experiment(self.store, self.exp_id)["variants"]}

    def round(self, round_no: int) -> str | None:
        """One round: candidates from the current step's diagnosis, run over the seeds, the
        best one that is ``better`` adopted. Returns why the loop stops, else ``None``."""
        current_cfg = load_config(self.base, self.current_patch)
        run_ids = self.rows()[self.current_name]["run_ids"]
        proposals, skipped = candidates(self.store, run_ids, current_cfg, self._probe(run_ids))
        self.considered += [{**c, "round": round_no} for c in skipped]
        proposals = self._comparable(proposals, current_cfg, round_no)
        if not proposals:
            return "nothing left to try"
        if self.budget_runs is not None:
            affordable = max(0, self.budget_runs - self.planned) // len(self.seeds)
            for why, patch in proposals[affordable:]:
                self.considered.append({"name": why, "patch": patch, "round": round_no,
                                        "fate": "not tried: run budget spent"})  # fmt: skip
            proposals = proposals[:affordable]
        out_of_time = self.budget_seconds is not None and self.seconds() >= self.budget_seconds
        if not proposals or out_of_time:
            return "budget spent"
        variants = [
            Variant(f"round {round_no}: {why}", {**self.current_patch, **patch}, self.current_name)
            for why, patch in proposals
        ]
        self.planned += len(variants) * len(self.seeds)
        self._add(variants)
        self.run_pending()
        best = self._judge(variants, self.rows())
        if best is None:
            return "no candidate helped"
        winner, entry, summary = best
        self.adopted.append({**entry, "summary": summary})
        self.current_name, self.current_patch = winner.name, winner.patch
        return None

    def _comparable(
        self, proposals: list[tuple[str, dict[str, Any]]], current: Config, round_no: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """The proposals whose runs report ``metric`` as the current step's do: on a loss, a
        change of what the loss measures (a Huber delta, label smoothing) would be judged
        by a number on another scale."""
        if "loss" not in self.metric:
            return proposals
        kept = []
        for why, patch in proposals:
            if loss_measured_alike(current, load_config(current, patch)):
                kept.append((why, patch))
                continue
            self.considered.append({
                "name": why, "patch": patch, "round": round_no,
                "fate": f"not tried: it changes what {self.metric} measures, so the two "
                        "cannot be compared (name another --metric, e.g. val_r2)",
            })  # fmt: skip
        return kept

    def _probe(self, run_ids: list[str]) -> dict[str, str]:
        """Probe the current step's first run (short runs, at most what that run cost) and
        return what the probe refuted: those prescriptions are not worth full runs."""
        if not run_ids:
            return {}
        found = probe_diagnosis(self.store, run_ids[0], diagnose_recorded(run_ids[0], self.store),
                                top=MAX_CANDIDATES)  # fmt: skip
        self.planned += 1  # a probe costs what one run of the step cost
        return {patch_key(f.probe["patch"]): str(f.probe["summary"]) for f in found.findings
                if f.probe.get("verdict") == "refuted"}  # fmt: skip

    def _add(self, variants: list[Variant]) -> None:
        """Record the round's variants in the experiment's plan, so that it resumes."""
        record = self.store.get_experiment(self.exp_id)
        names = {v["name"] for v in record.spec["variants"]}
        record.spec["variants"] += [asdict(v) for v in variants if v.name not in names]
        record.spec["seconds_used"] = self.seconds()
        self.store.update_spec(self.exp_id, record.spec)

    def _judge(
        self, variants: list[Variant], rows: dict[str, dict[str, Any]]
    ) -> tuple[Variant, dict[str, Any], dict[str, Any]] | None:
        """The variant that is ``better`` than the current step by the most, if any; every
        other one is rejected with the reason."""
        current = rows[self.current_name]
        base_values = current["values"]
        best: tuple[float, Variant, dict[str, Any]] | None = None
        for v in variants:
            values = rows[v.name]["values"]
            if len(values) < len(self.seeds) or len(values) < 2:
                self.rejected.append({"name": v.name, "patch": v.patch,
                                      "reason": self._lost(rows[v.name])})  # fmt: skip
                continue
            if len(base_values) < len(values):  # the current step failed where this trains
                entry = self._rescue(v, current)
                score = statistics.fmean(values) * (1 if higher_is_better(self.metric) else -1)
                if best is not None and best[0] >= score:
                    self.rejected.append({**entry, "reason": HELPED_LESS})
                    continue
                if best is not None:
                    self.rejected.append({**best[2], "reason": HELPED_LESS})
                best = (score, v, entry)
                continue
            cmp = compare_paired(values, base_values, self.metric)
            entry = {"name": v.name, "patch": v.patch, "vs": self.current_name, **cmp.to_json()}
            if cmp.verdict == "better" and (best is None or abs(cmp.mean_diff) > best[0]):
                if best is not None:
                    self.rejected.append(
                        {**best[2], "reason": "helped less than the adopted change"}
                    )
                best = (abs(cmp.mean_diff), v, entry)
            elif cmp.verdict == "better":
                self.rejected.append({**entry, "reason": HELPED_LESS})
            else:
                self.rejected.append({**entry, "reason": cmp.verdict})
        if best is None:
            return None
        return best[1], best[2], rows[best[1].name]["summary"]

    def _rescue(self, v: Variant, current: dict[str, Any]) -> dict[str, Any]:
        """A change whose runs all train where the current step's failed or diverged in some
        seeds is better whatever its metric: a step with no value in a seed has no result to
        keep, and no value to pair a gain with (left NaN). Such changes rank by their mean."""
        note = f"{self._lost(current)} in the current step; this change trains in every seed"
        cmp = Comparison(current["n"], math.nan, math.nan, math.nan, math.nan, math.nan,
                         math.nan, "better", note=note)  # fmt: skip
        return {"name": v.name, "patch": v.patch, "vs": self.current_name, **cmp.to_json()}

    def _lost(self, row: dict[str, Any]) -> str:
        """How many of a variant's seeds give no value, and why ("2 of 3 runs diverged")."""
        lost, diverged = len(self.seeds) - row["n"], row["diverged"]
        if not lost:
            return "one seed cannot show a difference; use --seeds 3 or more"
        if diverged == lost:
            return f"{lost} of {len(self.seeds)} runs diverged"
        return (f"{lost} of {len(self.seeds)} runs have no {self.metric}"
                + (f" ({diverged} diverged)" if diverged else ""))  # fmt: skip

    def _final(self) -> Config:
        """The config the loop ends with, on the split it was given."""
        final = load_config(self.base, self.current_patch)
        if self.own_split is None:
            return final
        return load_config(final, {"data.split": self.own_split})

    def result(self) -> dict[str, Any]:
        """The loop's summary: the ladder of adopted changes, what was rejected and why,
        the final config."""
        rows = self.rows()
        return {
            "experiment": self.exp_id,
            "metric": self.metric,
            "seeds": self.seeds,
            "baseline": rows["baseline"]["summary"],
            "adopted": self.adopted,
            "rejected": self.rejected,
            "considered": self.considered,
            "stop_reason": self.stop_reason,
            "final_variant": self.current_name,
            "final_summary": rows[self.current_name]["summary"],
            "final_test": rows[self.current_name]["final_test"],
            "final_config": self._final().to_yaml(),
            "held_back": self.held_back,
            "runs_used": self.planned,
            "seconds": self.seconds(),
        }
