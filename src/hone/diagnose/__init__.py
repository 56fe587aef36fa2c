"""Diagnosis: rules over a run's history, telemetry and evaluation produce findings with
evidence and ranked prescriptions, root cause first."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence, load_evidence
from hone.diagnose.finding import SEVERITIES, TIERS, Diagnosis, Finding, Prescription
from hone.diagnose.judge import CODES, diagnose, diagnose_run
from hone.diagnose.rules import RULES, Rule

__all__ = [
    "CODES",
    "RULES",
    "SEVERITIES",
    "TIERS",
    "Diagnosis",
    "Evidence",
    "Finding",
    "Prescription",
    "Rule",
    "diagnose",
    "diagnose_run",
    "load_evidence",
]
