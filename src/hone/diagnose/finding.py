"""What a diagnosis says: findings with evidence and ranked prescriptions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hone.notebook import diagnosis_html, finding_html

__all__ = ["SEVERITIES", "TIERS", "Diagnosis", "Finding", "Prescription"]

SEVERITIES = ("info", "warning", "critical")

# Causal order: a finding in an earlier tier can explain one in a later tier, never the other
# way round. Data and split problems first, then initialisation, divergence and the units it
# breaks, then optimisation, then capacity and regularisation. A split whose labels differ
# from training's makes accuracy misleading (its classes were never trained on), never the
# other way round.
TIERS: dict[str, int] = {
    "split_mismatch": 0,
    "misleading_accuracy": 1,
    "bad_init": 1,
    "lr_too_high": 2,
    "exploding_gradients": 2,
    "saturation": 3,
    "dead_units": 3,
    "vanishing_gradients": 3,
    "lr_too_low": 4,
    "not_converged": 4,
    "underfitting": 5,
    "overfitting": 5,
    "bias_variance": 5,
    "overconfidence": 5,
    "healthy": 6,
}


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
    # Directions this finding shows to be harmful, e.g. {"lr": +1}: raising the learning rate
    # would make it worse. No prescription of any finding may move a quantity that way.
    harmful: dict[str, int] = field(default_factory=dict)
    explained_by: str | None = None  # the root-cause finding this one follows from
    # The settings that can explain it (dotted config keys), the most likely first: the top
    # prescription moves the first of them.
    causes: list[str] = field(default_factory=list)
    # With ``hone diagnose --probe``: what applying the top prescription measured (effect,
    # interval, verdict: confirmed | refuted | inconclusive); empty when not probed.
    probe: dict[str, Any] = field(default_factory=dict)

    @property
    def tier(self) -> int:
        return TIERS.get(self.code, 5)

    def refuted(self, prescription: Prescription) -> bool:
        """Whether this finding's probe measured ``prescription`` and refuted it."""
        probe = self.probe
        return probe.get("verdict") == "refuted" and probe.get("patch") == prescription.patch

    def top_prescription(self) -> Prescription | None:
        """This finding's first prescription with a patch that its probe did not refute; none
        for a note (info: its rule saw no cost) whose probe refuted what it tested: such a
        finding has nothing measured to offer, and its untested remedies measured no
        difference or worse where they were tried (generator seeds 44, 46, 47; dev seed 1)."""
        if self.severity == "info" and self.probe.get("verdict") == "refuted":
            return None
        return next((p for p in self.prescriptions if p.patch and not self.refuted(p)), None)

    def _repr_html_(self) -> str:
        return finding_html(self)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("harmful")
        out["prescriptions"] = [
            {"rank": i + 1, **asdict(p)} for i, p in enumerate(self.prescriptions)
        ]
        return out


@dataclass
class Diagnosis:
    """Findings in causal order (root cause first) and the rules that could not judge."""

    run_id: str
    findings: list[Finding]
    unjudged: dict[str, str] = field(default_factory=dict)  # rule code -> why it could not
    # What live diagnosis saw while the run trained: {code, severity, title, epoch, step,
    # prescription}, in the order the findings first appeared.
    timeline: list[dict[str, Any]] = field(default_factory=list)
    # What is achievable on the run's data (the reference models, or the target error) and
    # how the run compares; empty when there is no reference (data given from Python).
    reference: dict[str, Any] = field(default_factory=dict)
    probed: bool = False  # hone diagnose --probe measured the top prescriptions

    def top_prescription(self) -> Prescription | None:
        """What hone would apply: the first prescription with a patch that no probe refuted
        (``hone diagnose --patch``, ``hone run --repair``)."""
        tops = (f.top_prescription() for f in self.findings)
        return next((p for p in tops if p is not None), None)

    def __repr__(self) -> str:
        found = ", ".join(f"{f.code} ({f.severity})" for f in self.findings) or "healthy"
        return f"Diagnosis(run {self.run_id}: {found})"

    def _repr_html_(self) -> str:
        return diagnosis_html(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "findings": [f.to_json() for f in self.findings],
            "unjudged": self.unjudged,
            "timeline": self.timeline,
            "reference": self.reference,
            "probed": self.probed,
        }
