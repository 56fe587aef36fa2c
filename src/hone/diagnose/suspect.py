"""``Suspect``: a setting that can explain a finding (``hone.diagnose.settings``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hone.diagnose.finding import Prescription

__all__ = ["Suspect"]


@dataclass
class Suspect:
    """A setting that can explain a finding: its config key, the evidence in words, how
    strongly it points there (0..1), and remedies that move it the right way."""

    key: str
    why: str
    weight: float
    remedies: list[Prescription] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
