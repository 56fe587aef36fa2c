"""The rule interface: one method that returns a finding or nothing."""

from __future__ import annotations

from abc import ABC, abstractmethod

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding

__all__ = ["Rule"]


class Rule(ABC):
    code: str

    @abstractmethod
    def check(self, ev: Evidence) -> Finding | None:
        """Return a finding when the evidence shows this condition."""
