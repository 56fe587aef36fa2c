"""Runs: one config trained and recorded — alone, as the seeds of a variant stacked into one
model, as the members of an ensemble, resumed from a checkpoint, restarted with a
prescription (``--repair``) — and rebuilt from its record later.

Every layer above (experiments, reports, the faces) trains and reads runs through these
public names; workers train ``unit.train_unit``.
"""

from hone.runs.diagnosis import diagnose_recorded, evidence_of
from hone.runs.rebuild import final_metrics, load_run
from hone.runs.result import RunResult
from hone.runs.train import check_sources, python_data, python_defaults, resume, run

__all__ = [
    "RunResult",
    "check_sources",
    "diagnose_recorded",
    "evidence_of",
    "final_metrics",
    "load_run",
    "python_data",
    "python_defaults",
    "resume",
    "run",
]
