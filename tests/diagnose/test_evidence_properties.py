"""Property tests: histories and telemetry with NaN, inf, null, empty and single-epoch series
never crash a rule, and a rule that does fail is reported as unable to judge."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hone.config import Config
from hone.diagnose import RULES, Evidence, Finding, diagnose_run
from hone.diagnose.rules.base import Rule

ODD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.integers(-(10**6), 10**6),
    st.just(float("nan")),
    st.just(math.inf),
)
SERIES = st.lists(ODD, max_size=12)
STATS = st.dictionaries(
    st.sampled_from(["mean", "std", "dead", "saturated", "unit_std"]), ODD, max_size=5
)
LAYER = st.fixed_dictionaries(
    {},
    optional={
        "grad_norm": ODD,
        "weight_norm": ODD,
        "update_ratio": ODD,
        "numel": st.one_of(st.integers(-2, 10**6), st.none()),
    },
)
SAMPLE = st.fixed_dictionaries(
    {},
    optional={
        "epoch": st.integers(0, 5),
        "step": st.integers(0, 50),
        "grad_norm": ODD,
        "finite": st.booleans(),
        "layers": st.dictionaries(st.sampled_from(["hidden1.dense", "output"]), LAYER),
        "activations": st.dictionaries(st.sampled_from(["hidden1.act", "hidden2.act"]), STATS),
    },
)
TELEMETRY = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "samples": st.lists(SAMPLE, max_size=6),
            "at_init": st.dictionaries(st.sampled_from(["hidden1.act", "output.act"]), STATS),
            "at_end": st.dictionaries(st.sampled_from(["hidden1.act"]), STATS),
            "layers": st.just(["hidden1.dense", "output"]),
            "non_finite_at": st.one_of(st.none(), st.just([1, 3])),
        },
    ),
)
REPORT = st.fixed_dictionaries(
    {},
    optional={
        "accuracy": ODD,
        "balanced_accuracy": ODD,
        "r2": ODD,
        "per_class": st.dictionaries(
            st.sampled_from(["0", "1"]),
            st.fixed_dictionaries({"recall": ODD, "support": ODD}),
        ),
        "average": st.just({"f1": {"macro": 0.5}}),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    history=st.dictionaries(
        st.sampled_from(["train_loss", "val_loss", "train_accuracy", "val_accuracy", "epoch"]),
        SERIES,
    ),
    metrics=st.dictionaries(
        st.sampled_from(["train_accuracy", "val_accuracy", "val_loss", "test_accuracy"]), ODD
    ),
    telemetry=TELEMETRY,
    evaluation=st.dictionaries(st.sampled_from(["val", "train"]), REPORT),
    status=st.sampled_from(["completed", "diverged", "interrupted", "failed", "killed"]),
    counts=st.one_of(st.none(), st.lists(st.integers(0, 50), max_size=3)),
    task=st.sampled_from(["classification", "regression"]),
)
def test_no_rule_crashes_on_odd_evidence(
    history: dict[str, list[Any]],
    metrics: dict[str, Any],
    telemetry: dict[str, Any] | None,
    evaluation: dict[str, Any],
    status: str,
    counts: list[int] | None,
    task: str,
) -> None:
    ev = Evidence(
        run_id="r",
        status=status,
        message="loss became nan",
        config=Config().to_dict(),
        history=history,
        metrics=metrics,
        telemetry=telemetry,
        evaluation=evaluation,
        data={"task": task, "stats": {"train": {"class_counts": counts}} if counts else {}},
    )
    result = diagnose_run(ev)
    assert not result.unjudged, result.unjudged
    assert result.findings


class Broken(Rule):
    code = "broken"

    def check(self, ev: Evidence) -> Finding | None:
        raise ZeroDivisionError("a bug in one rule")


def test_a_failing_rule_is_reported_and_the_others_still_run() -> None:
    ev = Evidence("r", "completed", "", Config().to_dict(), {"train_loss": [1.0, 0.5]}, {})
    result = diagnose_run(ev, [Broken(), *RULES])
    assert "broken" in result.unjudged and "ZeroDivisionError" in result.unjudged["broken"]
    assert result.findings
