"""``dead_units`` and ``saturation``: a warning where the run falls short of what is
achievable, a note where it reaches it (the units cost nothing measurable there)."""

from __future__ import annotations

from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.rules.units import DeadUnits, Saturation


def _evidence(val_accuracy: float, stat: str, share: float) -> Evidence:
    cfg = Config().to_dict()
    cfg["model"]["hidden"] = [32]
    return Evidence(
        "r", "completed", "", cfg,
        {"train_loss": [2.3, 1.6, 1.3, 1.2], "val_loss": [2.2, 1.7, 1.6, 1.55]},
        {"train_accuracy": 0.70, "val_accuracy": val_accuracy},
        telemetry={"at_end": {"hidden1.act": {stat: share}}},
        data={"task": "classification", "stats": {"train": {"n": 1000}, "val": {"n": 360}}},
        reference={"split": "val", "n_scored": 360,
                   "models": {"majority": {"val_accuracy": 0.11},
                              "neighbours": {"val_accuracy": 0.644}}},
    )  # fmt: skip


def test_dead_units_in_a_run_that_reaches_what_is_achievable_are_a_note() -> None:
    # a noise-floor digits CNN: 44 % of its dense layer dead, val 0.61 against 0.644 (the
    # shortfall within the 360 scored rows' noise)
    note = DeadUnits().check(_evidence(0.61, "dead", 0.44))
    assert note is not None and note.severity == "info" and "no cost seen" in note.explanation
    warning = DeadUnits().check(_evidence(0.45, "dead", 0.44))
    assert warning is not None and warning.severity == "warning"
    nearly_all = DeadUnits().check(_evidence(0.61, "dead", 0.9))
    assert nearly_all is not None and nearly_all.severity == "critical"


def test_saturation_in_a_run_that_reaches_what_is_achievable_is_a_note() -> None:
    assert Saturation().check(_evidence(0.61, "saturated", 0.5)).severity == "info"  # type: ignore[union-attr]
    assert Saturation().check(_evidence(0.45, "saturated", 0.5)).severity == "warning"  # type: ignore[union-attr]
