"""Judging evidence: every rule on its own (one that fails is reported as unable to judge),
``healthy`` when none fires, and the findings put in causal order with their prescriptions
checked against the config."""

from __future__ import annotations

from collections.abc import Collection

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
        findings = [
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
    watch = ev.extra.get("watch") if isinstance(ev.extra, dict) else None
    timeline = watch.get("timeline") if isinstance(watch, dict) else None
    timeline = [t for t in timeline or [] if isinstance(t, dict) and "code" in t]
    return Diagnosis(ev.run_id, finalize(findings, ev.config, prescribe), unjudged, timeline)


def diagnose(ev: Evidence, rules: list[Rule] | None = None) -> list[Finding]:
    """Findings, root cause first; ``healthy`` (and nothing else) when no rule fires."""
    return diagnose_run(ev, rules).findings
