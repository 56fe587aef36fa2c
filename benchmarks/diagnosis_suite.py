"""The diagnosis study: every scenario of tests/diagnose/scenarios.py over several seeds.

For each run: did the expected codes fire, did anything unrelated fire, was a root cause
ranked first, and (``--verify``) does the top prescription, applied with the same seeds,
improve the validation metric in hone's own paired comparison?

    python -m benchmarks.diagnosis_suite --seeds 3 --verify
    python -m benchmarks.diagnosis_suite --only overfit-moons,lr-high-cnn --seeds 1

Writes benchmarks/results/diagnosis_suite.json and prints the per-code table for the README.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import hone
from benchmarks.common import print_table, write_result
from hone.config import load_config
from hone.diagnose import CODES, diagnose
from hone.experiments.stats import compare_paired
from hone.runs import evidence_of
from hone.store import RunStore
from tests.diagnose.scenarios import Scenario, scenarios


def judge(s: Scenario, fired: list[str]) -> dict[str, Any]:
    got = set(fired)
    unrelated = got - s.expected - s.consequences
    return {
        "fired": fired,
        "detected": s.expected <= got,
        "false_alarm": bool(unrelated),
        "unrelated": sorted(unrelated),
        "root_first": bool(fired) and fired[0] in s.root_codes,
        "correct": s.expected <= got and not unrelated,
    }


def run_scenario(s: Scenario, seeds: list[int], store: str, verify: bool) -> dict[str, Any]:
    runs = []
    for seed in seeds:
        result = hone.run(s.config, store=store, seed=seed, name=s.name)
        with RunStore(store) as rs:
            findings = diagnose(evidence_of(rs, result.run_id))
        verdict = judge(s, [f.code for f in findings])
        verdict["truth_holds"] = s.truth(result) if s.truth else None
        top = next((p for f in findings[:1] for p in f.prescriptions if p.patch), None)
        verdict["top_patch"] = top.patch if top else None
        verdict["metrics"] = _metrics(result, store)
        runs.append(verdict)
    out: dict[str, Any] = {"name": s.name, "expected": sorted(s.expected), "runs": runs}
    if verify and not s.control:
        out["prescription"] = verify_top(s, runs, seeds, store)
    return out


def verify_top(s: Scenario, runs: list[dict[str, Any]], seeds: list[int], store: str) -> Any:
    """Apply the patch most seeds agree on, with the same seeds; compare paired."""
    patches = [repr(sorted(r["top_patch"].items())) for r in runs if r["top_patch"]]
    if not patches:
        return {"helps": False, "why": "no prescription"}
    chosen = max(set(patches), key=patches.count)
    patch = next(
        r["top_patch"] for r in runs if repr(sorted((r["top_patch"] or {}).items())) == chosen
    )
    cfg = load_config(s.config, patch)
    after = []
    for seed in seeds:
        result = hone.run(cfg, store=store, seed=seed, name=f"{s.name}+rx")
        after.append(_metrics(result, store))
    verdicts = {}
    for metric in ("val_accuracy", "val_loss", "val_balanced_accuracy"):
        # A run that diverged has no validation metric: count it as the worst value, so a
        # remedy that turns a diverged run into a trained one is an improvement.
        worst = 0.0 if "acc" in metric else 1e9
        before_v = [_value(r["metrics"].get(metric), worst) for r in runs]
        after_v = [_value(m.get(metric), worst) for m in after]
        if len(seeds) >= 2:
            verdicts[metric] = compare_paired(after_v, before_v, metric).verdict
        else:
            better = after_v[0] > before_v[0] if "acc" in metric else after_v[0] < before_v[0]
            verdicts[metric] = "better" if better else "no detectable difference"
    if s.metric == "val_balanced_accuracy":  # accuracy is the misleading number here
        helps = verdicts[s.metric] == "better"
    else:
        shown = {k: v for k, v in verdicts.items() if k != "val_balanced_accuracy"}
        helps = shown.get(s.metric) == "better" or (
            "better" in shown.values() and "worse" not in shown.values()
        )
    return {"patch": patch, "verdicts": verdicts, "helps": helps}


def _metrics(result: Any, store: str) -> dict[str, Any]:
    out = {k: result.metrics.get(k) for k in ("val_accuracy", "val_loss")}
    try:
        with RunStore(store) as rs:
            report = rs.load_json(result.run_id, "evaluation.json").get("val") or {}
        out["val_balanced_accuracy"] = report.get("balanced_accuracy")
    except Exception:
        out["val_balanced_accuracy"] = None
    return out


def _value(v: Any, worst: float) -> float:
    return float(v) if isinstance(v, int | float) and v == v and abs(v) < 1e9 else worst


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    runs = [(r, run) for r in results for run in r["runs"]]
    for r, run in runs:
        expected = set(r["expected"]) - {"healthy"}
        fired = set(run["fired"]) - {"healthy"}
        for code in CODES:
            if code in fired and code in expected:
                tp[code] += 1
            elif code in fired and code not in expected and code in set(run["unrelated"]):
                fp[code] += 1
            elif code in expected and code not in fired:
                fn[code] += 1
    problems = [(r, run) for r, run in runs if r["expected"] != ["healthy"]]
    controls = [(r, run) for r, run in runs if r["expected"] == ["healthy"]]
    verified = [r["prescription"] for r in results if "prescription" in r]
    per_code = {
        code: {
            "precision": tp[code] / (tp[code] + fp[code]) if tp[code] + fp[code] else None,
            "recall": tp[code] / (tp[code] + fn[code]) if tp[code] + fn[code] else None,
            "runs": tp[code] + fn[code],
        }
        for code in CODES
        if code != "healthy" and (tp[code] + fn[code] + fp[code])
    }
    return {
        "scenarios": len(results),
        "runs": len(runs),
        "fully_correct": sum(run["correct"] for _, run in runs) / max(1, len(runs)),
        "false_alarms_on_controls": sum(run["false_alarm"] for _, run in controls),
        "control_runs": len(controls),
        "root_first": sum(run["root_first"] for _, run in problems) / max(1, len(problems)),
        "truth_holds": sum(
            bool(run["truth_holds"]) for _, run in runs if run["truth_holds"] is not None
        ),
        "truth_checked": sum(1 for _, run in runs if run["truth_holds"] is not None),
        "prescription_helps": (sum(v["helps"] for v in verified) / len(verified))
        if verified
        else None,
        "prescriptions_verified": len(verified),
        "per_code": per_code,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--verify", action="store_true", help="check the top prescription helps")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        chosen = [s for s in scenarios(folder) if not args.only or s.name in args.only.split(",")]
        store = str(folder / "store")
        results = []
        for s in chosen:
            results.append(run_scenario(s, list(range(args.seeds)), store, args.verify))
            last = results[-1]
            bad = [
                run["fired"] for run in last["runs"] if not run["correct"] or not run["root_first"]
            ]
            rx = last.get("prescription", {})
            print(
                f"{s.name:24s} {'ok ' if not bad else 'BAD'} {bad[:2]} "
                f"{'helps' if rx.get('helps') else rx.get('verdicts', '')}",
                flush=True,
            )
    summary = summarize(results)
    summary["seconds"] = time.perf_counter() - started
    rows = [
        [
            code,
            v["runs"],
            f"{v['precision']:.2f}" if v["precision"] is not None else "-",
            f"{v['recall']:.2f}" if v["recall"] is not None else "-",
        ]
        for code, v in summary["per_code"].items()
    ]
    print_table("diagnosis suite: per code", ["code", "runs", "precision", "recall"], rows)
    for key in (
        "scenarios",
        "runs",
        "fully_correct",
        "false_alarms_on_controls",
        "control_runs",
        "root_first",
        "prescription_helps",
        "prescriptions_verified",
        "truth_holds",
        "truth_checked",
        "seconds",
    ):
        print(f"{key}: {summary[key]}")
    print("wrote", write_result("diagnosis_suite", {"summary": summary, "results": results}))


if __name__ == "__main__":
    main()
