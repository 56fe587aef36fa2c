"""Faulty runs by fault injection, for ``benchmarks/diagnosis_generated.py`` (issue 31).

``families`` (dataset x architecture, healthy configs, the development / held-out halves),
``faults`` (what each breaks and what it is known to cause), ``cases`` (the seeded suite),
``truth`` (did the fault materialise), ``runner`` (train, diagnose, verify), ``judge`` and
``summary`` (scoring), ``report`` (tables).
"""

from __future__ import annotations

from benchmarks.faultgen.cases import Case, Suite, build_suite
from benchmarks.faultgen.faults import CONTROLS, FAULTS, Fault
from benchmarks.faultgen.judge import Seen, cause_matches, judge
from benchmarks.faultgen.runner import Runner

__all__ = [
    "CONTROLS",
    "FAULTS",
    "Case",
    "Fault",
    "Runner",
    "Seen",
    "Suite",
    "build_suite",
    "cause_matches",
    "judge",
]
