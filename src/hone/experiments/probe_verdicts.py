"""What a probe (``hone.experiments.probe``) concluded: the hypotheses it tests, each
finding's verdict in words, and the diagnosis ranked by them; also read back later from a
probe already in the store (``probed_before``: ``hone diagnose`` without ``--probe``, the
run's report page), without training anything."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hone.config import Config, load_config
from hone.config.names import higher_is_better
from hone.diagnose import Diagnosis, Finding, Prescription
from hone.diagnose.signals import finite
from hone.experiments.compare import summarize_experiment
from hone.store.records import ExperimentRecord
from hone.store.runstore import RunStore

__all__ = [
    "TOP",
    "VERDICTS",
    "Hypothesis",
    "arm_paces",
    "closes_in_time",
    "hypotheses",
    "probed_before",
    "probes_of",
    "rank_by_probe",
]

TOP = 3  # hypotheses tested
VERDICTS = {"better": "confirmed", "worse": "refuted"}  # anything else: inconclusive


@dataclass
class Hypothesis:
    """A finding's claim as a testable change: its first prescription with a patch."""

    finding: Finding
    prescription: Prescription

    @property
    def name(self) -> str:
        return f"{self.finding.code}: {self.prescription.why}"


def hypotheses(diagnosis: Diagnosis, top: int = TOP) -> list[Hypothesis]:
    """The top findings' first prescriptions with a patch, one per distinct patch."""
    out: list[Hypothesis] = []
    seen: set[str] = set()
    for f in diagnosis.findings:
        p = next((p for p in f.prescriptions if p.patch), None)
        if p is None or repr(sorted(p.patch.items())) in seen:
            continue
        seen.add(repr(sorted(p.patch.items())))
        out.append(Hypothesis(f, p))
        if len(out) >= top:
            break
    return out


def probes_of(store: RunStore, run_id: str) -> list[ExperimentRecord]:
    """The probes of ``run_id`` among the store's newest 500 probes, newest first (only
    probes are read: a run page asks this of every run)."""
    probes = store.list_experiments(500, kind="probe")
    return [r for r in probes if r.spec.get("probe_of") == run_id]


def probed_before(store: RunStore, run_id: str, diagnosis: Diagnosis) -> Diagnosis | None:
    """``diagnosis`` ranked by the latest completed probe of ``run_id`` that tested its
    hypotheses (or the first of them, when the budget left the rest untested), else None.
    Reads the store; trains nothing."""
    asked = {h.name: h for h in hypotheses(diagnosis)}
    for record in probes_of(store, run_id):
        spec = record.spec
        names = [v.get("name") for v in spec.get("variants") or []][1:]  # after the baseline
        if record.status != "completed" or not names or any(n not in asked for n in names):
            continue
        base = load_config(store.get_run(run_id, with_history=False).config)
        summary = record.summary or summarize_experiment(store, record.id)
        found = [asked[str(n)] for n in names]
        epochs, cap = int(spec.get("epochs") or base.train.epochs), spec.get("steps_per_epoch")
        gaining, caught = arm_paces(store, summary, int(base.train.epochs))
        ranked = rank_by_probe(diagnosis, found, summary, base, epochs, cap, gaining, caught,
                               spec.get("held_back"))  # fmt: skip
        ranked.reference["probe"]["untested"] = len(asked) - len(found)
        return ranked
    return None


def rank_by_probe(
    diagnosis: Diagnosis,
    found: list[Hypothesis],
    summary: dict[str, Any],
    base: Config,
    epochs: int,
    cap: int | None = None,
    gaining: set[str] | None = None,
    caught: set[str] | None = None,
    held_back: float | None = None,
) -> Diagnosis:
    """Each tested finding gets its probe result; confirmed findings first (largest effect
    first), then the inconclusive and the untested in the rules' order (a hypothesis left
    untested to keep within the budget ranked lower to begin with), then the refuted. A
    prescription that a probe shorter than the run measured worse is inconclusive, not
    refuted, where it was a smaller learning rate (it starts slower) or still gaining on the
    run as it is when the probe ended (``gaining``, from ``arm_paces``): a short probe sees
    only the start (short-horizon bias). A note's gain is refuted where the run as it is was
    catching the arm in time (``caught``): speed, not a better end, on a run that already
    reaches what is achievable. ``held_back``: the share of the training rows every arm
    left out to be compared on, where the run had no validation split."""
    configured = int(base.train.epochs)
    length = _length(epochs, configured, cap)
    if held_back:
        length += f", compared on {held_back * 100:.0f} % of the training rows held back"
    short = epochs < configured or cap is not None
    rows = {r["name"]: r for r in summary["variants"]}
    order: dict[int, tuple[int, int, float]] = {}
    lost = _all_diverged(rows.get("baseline", {}), len(summary["seeds"]))
    for h in found:
        row = rows.get(h.name, {})
        vs = row.get("vs") or {}
        verdict = VERDICTS.get(str(vs.get("verdict")), "inconclusive")
        effect = vs.get("mean_diff")
        rescued = lost and int(row.get("n") or 0) >= 2  # no pairs, yet a clear verdict
        if rescued:
            verdict = "confirmed"
            done = f"{row['n']} of {len(summary['seeds'])}"
            vs = {**vs, "rescued": f"the run as it is diverged on every seed; with the "
                  f"prescription it completed on {done}"}  # fmt: skip
        slower = short and _slower_start(h.prescription.patch, base)
        still = short and h.name in (gaining or set())
        closed = short and h.name in (caught or set())
        verdict, vs = _short_horizon(verdict, vs, h, summary["metric"], (slower, still, closed))
        h.finding.probe = {
            "verdict": verdict,
            "prescription": h.prescription.why,
            "patch": h.prescription.patch,
            "metric": summary["metric"],
            "effect": effect,
            "ci": [vs.get("t_ci_low"), vs.get("t_ci_high")],
            "p_value": vs.get("p_value"),
            "seeds": len(summary["seeds"]),
            "epochs": f"{epochs} of {configured}",
            "steps_per_epoch": cap,
            "experiment": summary["experiment"],
            "summary": _words(verdict, vs, summary["metric"], length),
        }
        rank = {"confirmed": 0, "inconclusive": 1, "refuted": 3}[verdict]
        order[id(h.finding)] = (rank, 0, 0.0)
        if verdict == "refuted":
            h.prescription.why += " (refuted by the probe)"
    _rank_confirmed(found, order)
    keep = {id(f): i for i, f in enumerate(diagnosis.findings)}
    diagnosis.findings.sort(key=lambda f: (*order.get(id(f), (1, 0, 0.0)), keep[id(f)]))
    diagnosis.probed = True
    diagnosis.reference["probe"] = {"experiment": summary["experiment"], "epochs": epochs,
                                    "steps_per_epoch": cap,
                                    "seeds": summary["seeds"],
                                    "metric": summary["metric"]}  # fmt: skip
    if held_back:  # the run had no validation split
        diagnosis.reference["probe"]["held_back"] = held_back
    return diagnosis


def _rank_confirmed(found: list[Hypothesis], order: dict[int, tuple[int, int, float]]) -> None:
    """Only a confirmed effect's size ranks, and only where it is told apart: an
    inconclusive one may be large and of either sign (a clearly worse but short-horizon
    result), and confirmed effects whose intervals reach the largest one's are not told
    apart by a short probe (a smaller learning rate starts slower). Those keep the rules'
    order, in which a consequence follows its cause. (Seed 36: Adam at 0.386 on a deep
    spiral net; after 3 of 150 epochs LeakyReLU gained 0.22 [0.09, 0.34] and the rate
    0.003 gained 0.16 [0.07, 0.26], so dead units led the rate that killed them.)"""
    gains: dict[int, tuple[float, ...]] = {}
    for h in found:
        probe = h.finding.probe
        numbers = finite([probe.get("effect"), *(probe.get("ci") or [None, None])])
        if probe.get("verdict") == "confirmed" and len(numbers) == 3:
            gains[id(h.finding)] = (abs(numbers[0]), *sorted(abs(v) for v in numbers[1:]))
    if not gains:
        return
    best = max(gains.values())
    for key, (size, _, high) in gains.items():
        order[key] = (0, 0, 0.0) if high >= best[1] else (0, 1, -size)


def arm_paces(
    store: RunStore, summary: dict[str, Any], configured: int
) -> tuple[set[str], set[str]]:
    """The probe's arms still gaining on the run as it is when the probe ended, and the arms
    the run as it is was catching (each curve read once). Gaining: over the second half of
    the probe's epochs the arm closed the gap to the baseline's validation metric (means of
    their seeds), fast enough to close the rest within the run's remaining epochs
    (``closes_in_time``). (Seed 32: raw inputs x466 into a deep tanh net on a spiral, 150
    epochs; after 3, standardised inputs with batch normalisation stood at 0.48 against 0.65
    and were refuted; after 150, 0.98 against 0.70.) Caught: the same, the other way round,
    an arm whose lead a short probe measured may be speed only."""
    rows = {r["name"]: r for r in summary.get("variants") or []}
    metric = str(summary.get("metric") or "")
    base = _mean_curve(store, rows.get("baseline", {}), metric)
    gaining: set[str] = set()
    caught: set[str] = set()
    if len(base) < 2:
        return gaining, caught
    sign = 1.0 if higher_is_better(metric) else -1.0
    remaining = configured - len(base)
    for name, row in rows.items():
        if name == "baseline":
            continue
        curve = _mean_curve(store, row, metric)[: len(base)]
        if len(curve) < 2:
            continue
        gap = [sign * (b - c) for b, c in zip(base, curve, strict=False)]  # > 0: behind
        if closes_in_time(gap, remaining):
            gaining.add(name)
        if closes_in_time([-g for g in gap], remaining):
            caught.add(name)
    return gaining, caught


def closes_in_time(gap: list[float], remaining: int) -> bool:
    """Whether an arm ``gap`` behind the run as it is (epoch by epoch, > 0: behind) closes it
    within ``remaining`` more epochs at the pace it closed it over the probe's second half,
    that pace slowing as it slowed from the first half (geometrically). Seed 37: standardised
    inputs into a wide sigmoid net closed 0.035 an epoch over the first half of a 10-epoch
    probe and 0.006 over the second, then stalled 0.05 behind for the run's 80 epochs: a
    straight line through the second half had closed the gap in 10."""
    if len(gap) < 2:
        return False  # one epoch shows no pace
    start = (len(gap) - 1) // 2
    behind = gap[-1]
    second = (gap[start] - gap[-1]) / (len(gap) - 1 - start)
    if behind <= 0 or second <= 0:
        return False
    first = (gap[0] - gap[start]) / start if start else 0.0
    if first <= second:  # not slowing: a straight line
        return behind <= second * remaining
    # Each half's pace is the pace at its middle; the middles lie (len - 1) / 2 epochs
    # apart, so the pace falls by ``ratio`` an epoch, and at the probe's end it is ``last``.
    ratio = math.pow(second / first, 2 / (len(gap) - 1))
    last = second * math.pow(ratio, (len(gap) - 1 - start) / 2)
    return behind <= last * ratio * (1 - ratio**remaining) / (1 - ratio)


def _mean_curve(store: RunStore, row: dict[str, Any], metric: str) -> list[float]:
    """``metric``'s history, epoch by epoch, averaged over the row's runs (as long as the
    shortest of them; empty where a run did not record it)."""
    curves = []
    for run_id in row.get("run_ids") or []:
        history = store.get_run(run_id).history.get(metric) or []
        values = [float(v) for v in history if isinstance(v, int | float)]
        if len(values) != len(history) or not all(math.isfinite(v) for v in values):
            return []
        curves.append(values)
    if not curves:
        return []
    length = min(len(c) for c in curves)
    return [sum(c[i] for c in curves) / len(curves) for i in range(length)]


def _all_diverged(row: dict[str, Any], seeds: int) -> bool:
    """Whether the run as it is gave no value on any seed because it diverged on each."""
    return not row.get("values") and row.get("diverged") == seeds


def _short_horizon(verdict: str, vs: dict[str, Any], h: Hypothesis, metric: str,
                   seen: tuple[bool, bool, bool]) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """A verdict read with what a short probe cannot see (``seen``: the prescription is a
    smaller learning rate, which starts slower; the arm was still gaining on the run as it
    is; the run as it is was catching the arm). A prescription measured worse is
    inconclusive where it starts slower or was still gaining. A note's (info: its rule saw
    no cost) is refuted where it measured worse at all, excused by neither, or where its
    gain was one the run as it is was closing in time: speed, not a better end (generator
    dev seed 1: a constant init on a linear regression target, its units one unit, which
    fits such a target; He initialisation led after 49 of 150 epochs, -0.011 val MSE, and
    ended 0.014 worse). A finding that saw a cost keeps a confirmed gain."""
    slower, still, closed = seen
    if verdict == "refuted" and slower:
        return "inconclusive", {**vs, "short": "a smaller learning rate starts slower, and a "
                                "probe this short sees only the start"}  # fmt: skip
    if verdict == "refuted" and still:
        return "inconclusive", {**vs, "short": "it was still gaining on the run as it is when "
                                "the probe ended, fast enough to close the gap in the run's "
                                "epochs"}  # fmt: skip
    note = h.finding.severity == "info"
    lost = _note_lost(h, vs.get("mean_diff"), metric)
    if verdict == "inconclusive" and lost and not (slower or still):
        return "refuted", {**vs, "short": "a note (no cost seen) has nothing to gain, and the "
                           "probe measured a loss"}  # fmt: skip
    if verdict == "confirmed" and closed and note:
        return "refuted", {**vs, "short": "a note (no cost seen): the run as it is was catching "
                           "up, fast enough to close the gap in its own epochs; the gain is "
                           "speed"}  # fmt: skip
    return verdict, vs


def _note_lost(h: Hypothesis, effect: Any, metric: str) -> bool:
    """A finding said at info (its rule saw no cost) whose prescription the probe measured
    worse on average, if not significantly: with nothing measurable to gain, a measured loss
    is what there is. (Generator seed 44: raw CSV features x45 into a wide sigmoid net, train
    1.0 and val 0.90 at its reference; standardising measured -0.071 [-0.156, +0.015] in the
    probe and stayed first; at full length it was significantly worse, -0.042.)"""
    if h.finding.severity != "info" or not isinstance(effect, int | float):
        return False
    return effect < 0 if higher_is_better(metric) else effect > 0


def _slower_start(patch: dict[str, Any], base: Config) -> bool:
    """Whether ``patch`` lowers the learning rate of the same optimizer."""
    optimizer = patch.get("train.optimizer")
    lr = patch.get("train.optimizer.lr")
    if isinstance(optimizer, dict):
        if optimizer.get("name", base.train.optimizer.name) != base.train.optimizer.name:
            return False
        lr = optimizer.get("lr", lr)
    return isinstance(lr, int | float) and lr < base.train.optimizer.lr


def _length(epochs: int, configured: int, cap: int | None) -> str:
    """How long each probe run trained: ``2 of 30 epochs`` (``, 50 steps each`` when cut)."""
    return f"{epochs} of {configured} epochs" + (f", {cap:,} steps each" if cap else "")


def _words(verdict: str, vs: dict[str, Any], metric: str, length: str) -> str:
    if vs.get("rescued"):
        return f"{verdict}: {vs['rescued']} ({length})"
    effect = vs.get("mean_diff")
    if not isinstance(effect, int | float) or not math.isfinite(effect):
        return f"{verdict}: no measurable difference in {metric}"
    low, high = vs.get("t_ci_low"), vs.get("t_ci_high")
    interval = f" [95 % CI {low:+.3g}, {high:+.3g}]" if isinstance(low, float) else ""
    note = f"; {vs['short']}" if vs.get("short") else ""
    return (
        f"{verdict}: {metric} {effect:+.3g}{interval} with the prescription, over "
        f"{vs.get('n')} paired seeds of {length}{note}"
    )
