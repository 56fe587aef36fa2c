"""Diagnosis: rules over a run's history, telemetry and evaluation produce findings with
evidence and ranked prescriptions."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence, load_evidence
from hone.diagnose.finding import SEVERITIES, Finding, Prescription
from hone.diagnose.rules import RULES, Rule

__all__ = [
    "CODES",
    "RULES",
    "Evidence",
    "Finding",
    "Prescription",
    "Rule",
    "diagnose",
    "load_evidence",
]

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
    "healthy",
)


def diagnose(ev: Evidence, rules: list[Rule] | None = None) -> list[Finding]:
    """Findings, most severe first; ``healthy`` (and nothing else) when no rule fires."""
    findings = [f for rule in (rules or RULES) if (f := rule.check(ev)) is not None]
    if not findings:
        return [
            Finding(
                "healthy",
                "info",
                "No problem found",
                "No rule fired: the curves, gradients, units and splits look sound.",
                {
                    "epochs": len(ev.series("train_loss")),
                    "status": ev.status,
                    **{k: v for k, v in ev.metrics.items() if k.startswith("val_")},
                },
            )
        ]
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: -rank[f.severity])
