"""Judging a diagnosis against what a case is known to hold, by construction.

A faulty case is *correct* when a finding with an acceptable code also names an acceptable
cause (``Finding.causes``: dotted config keys; prefix match both ways on whole components,
at least ``section.key`` deep, so ``train.schedule`` matches ``train.schedule.gamma`` but not
``train`` alone). *Code only* ignores the causes. A control is a false alarm when anything
of warning or critical severity fires, and a noise-floor control also when ``underfitting``
fires at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ALARM", "Seen", "cause_matches", "judge", "seen_findings"]

ALARM = ("warning", "critical")
ALIASES = {"train.lr": "train.optimizer.lr"}  # hone's shorthand for the same key


@dataclass
class Seen:
    """A finding as the judge reads it (from hone's ``Finding``, or built by hand in tests)."""

    code: str
    severity: str
    causes: list[str] = field(default_factory=list)
    patch: dict[str, Any] | None = None  # the first prescription's patch

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "causes": self.causes,
            "patch": self.patch,
        }


def seen_findings(diagnosis: Any) -> list[Seen]:
    """Read hone's findings; ``causes`` may not exist yet (older hone): then it is empty."""
    out = []
    for f in diagnosis.findings:
        causes = [str(c) for c in (getattr(f, "causes", None) or [])]
        top = f.prescriptions[0].patch if f.prescriptions else None
        out.append(Seen(str(f.code), str(f.severity), causes, dict(top) if top else None))
    return out


def _parts(key: str) -> list[str]:
    key = key.strip()
    for short, full in ALIASES.items():
        if key == short or key.startswith(short + "."):
            key = full + key[len(short) :]
    return [p for p in key.split(".") if p]


def cause_matches(found: str, expected: str) -> bool:
    a, b = _parts(found), _parts(expected)
    n = min(len(a), len(b))
    return n >= 2 and a[:n] == b[:n]


def judge(label: dict[str, Any], findings: list[Seen]) -> dict[str, Any]:
    """The verdict on one case (``label`` as ``Case.label()``)."""
    codes = [f.code for f in findings]
    alarms = [f.code for f in findings if f.severity in ALARM]
    verdict: dict[str, Any] = {"codes": codes, "alarms": alarms}
    if label["kind"] == "fault":
        hits = [f for f in findings if f.code in label["codes"]]
        named = [
            f for f in hits if any(cause_matches(c, e) for c in f.causes for e in label["causes"])
        ]
        verdict.update(
            code_ok=bool(hits),
            correct=bool(named),
            top_code_ok=bool(findings) and findings[0].code in label["codes"],
            top_correct=bool(findings) and findings[0] in named,
            causes_seen=sorted({c for f in hits for c in f.causes}),
        )
    else:
        underfit = label["kind"] == "noise_control" and "underfitting" in codes
        verdict["false_alarm"] = bool(alarms) or underfit
        verdict["correct"] = verdict["code_ok"] = not verdict["false_alarm"]
    verdict["called_healthy"] = codes == ["healthy"] or not codes
    return verdict
