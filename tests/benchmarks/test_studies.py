"""The fuzz and fault studies in their short forms: no traceback, no hang, nothing lost.
The full studies (``python -m benchmarks.fuzz_study``, ``python -m benchmarks.fault_study``)
give the README's counts."""

from __future__ import annotations

from benchmarks.fault_study import study as fault_study
from benchmarks.fuzz_study import study as fuzz_study


def test_the_short_fuzz_study_meets_bad_input_cleanly() -> None:
    results = fuzz_study(n_configs=300, n_cli=20, n_api=40, train_share=0.1, seed=1)
    for family, counts in results.items():
        assert counts["traceback"] == counts["hang"] == counts["data lost"] == 0, (family, counts)
        assert sum(counts.values()) > 0, family


def test_the_short_fault_study_meets_every_fault_cleanly() -> None:
    result = fault_study(quick=True)
    assert set(result["counts"]) >= {"damaged index", "Ctrl-C", "inputs", "full disk"}
    assert not result["not_clean"], result["not_clean"]
