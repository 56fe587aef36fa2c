"""Judging evidence: every rule on its own (one that fails is reported as unable to judge),
``healthy`` when none fires, and the findings put in causal order with their prescriptions
checked against the config."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from hone.diagnose.achievable import achievable, score_of
from hone.diagnose.evidence import DamagedEvidence, Evidence, unreadable
from hone.diagnose.finding import Diagnosis, Finding
from hone.diagnose.prescribe import finalize
from hone.diagnose.rules import RULES, Rule

__all__ = ["CODES", "diagnose", "diagnose_run"]

CODES = (
    "underfitting",
    "overfitting",
    "lr_too_high",
    "lr_too_low",
    "not_converged",
    "vanishing_gradients",
    "exploding_gradients",
    "dead_units",
    "saturation",
    "bad_init",
    "misleading_accuracy",
    "split_mismatch",
    "bias_variance",
    "overconfidence",
    "healthy",
)


def diagnose_run(
    ev: Evidence, rules: list[Rule] | None = None, prescribe: Collection[str] | None = None
) -> Diagnosis:
    """Every rule judges the evidence on its own: one that fails (odd evidence, a bug) is
    reported as unable to judge, and the others still run. ``prescribe`` limits the
    prescriptions checked against the config to those codes (live diagnosis needs only new
    findings')."""
    findings: list[Finding] = []
    unjudged: dict[str, str] = {}
    given = unreadable(ev)  # a rule that needs a damaged file cannot judge: it says so
    for rule in rules or RULES:
        try:
            found = rule.check(given)
        except DamagedEvidence as exc:
            unjudged[rule.code] = f"the run's {exc}"
            continue
        except Exception as exc:  # one rule must never abort the whole diagnosis
            unjudged[rule.code] = f"{type(exc).__name__}: {str(exc)[:200]}"
            continue
        if found is not None:
            findings.append(found)
    if not findings:
        findings = [_healthy(ev)]
    watch = ev.extra.get("watch") if isinstance(ev.extra, dict) else None
    timeline = watch.get("timeline") if isinstance(watch, dict) else None
    timeline = [t for t in timeline or [] if isinstance(t, dict) and "code" in t]
    return Diagnosis(ev.run_id, finalize(findings, ev.config, prescribe), unjudged, timeline,
                     _reference(ev))  # fmt: skip


def _healthy(ev: Evidence) -> Finding:
    """No rule fired. With a reference, say how the run compares with what is achievable:
    within its noise is as good as the data allows (a noise floor, when that is well below
    perfect)."""
    explanation = "No rule fired: the curves, gradients, units and splits look sound."
    target = achievable(ev)
    val = score_of(ev, "val") if ev.has_val else score_of(ev, "train")
    if target is not None and val is not None:
        explanation += (
            f" Its {target.metric} ({val:.3f}) is within the noise of what is achievable on "
            f"this data: {target.describe()}."
        )
        if target.score < 0.95 and target.metric == "accuracy":
            explanation += " That is the data's noise floor: more capacity will not lift it."
    return Finding(
        "healthy",
        "info",
        "No problem found",
        explanation,
        {
            "epochs": len(ev.series("train_loss")),
            "status": ev.status,
            **{k: v for k, v in ev.metrics.items() if k.startswith("val_")},
            **({"achievable": target.to_json()} if target is not None else {}),
        },
    )


def _reference(ev: Evidence) -> dict[str, Any]:
    """The reference models' scores, what is achievable, and where the run stands."""
    ref = ev.reference if isinstance(ev.reference, dict) else None
    target = achievable(ev)
    if ref is None and target is None:
        return {}
    return {
        **({"models": ref.get("models"), "split": ref.get("split"), "best": ref.get("best"),
            "scored_on": ref.get("scored_on") or ref.get("split"),
            "seconds": ref.get("seconds"), "rows": ref.get("n_train")} if ref else {}),
        **({"achievable": target.to_json()} if target is not None else {}),
        "run": {"train": score_of(ev, "train"), "val": score_of(ev, "val")},
    }  # fmt: skip


def diagnose(ev: Evidence, rules: list[Rule] | None = None) -> list[Finding]:
    """Findings, root cause first; ``healthy`` (and nothing else) when no rule fires."""
    return diagnose_run(ev, rules).findings
