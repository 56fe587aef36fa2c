"""What a diagnosis says: findings with evidence and ranked prescriptions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["SEVERITIES", "Finding", "Prescription"]

SEVERITIES = ("info", "warning", "critical")


@dataclass
class Prescription:
    """A remedy as a config patch (dotted keys), or advice when no key expresses it."""

    why: str
    patch: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding:
    code: str  # stable: scripts match on it
    severity: str  # info | warning | critical
    title: str
    explanation: str
    evidence: dict[str, Any]
    prescriptions: list[Prescription] = field(default_factory=list)  # best first

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["prescriptions"] = [
            {"rank": i + 1, **asdict(p)} for i, p in enumerate(self.prescriptions)
        ]
        return out
