from __future__ import annotations

import pytest

from hone.train.batches import EpochBatches


@pytest.mark.parametrize("n", [1, 2, 7, 33, 64, 65, 100])
@pytest.mark.parametrize("batch_size", [1, 2, 32, 64, 500])
@pytest.mark.parametrize("cap", [None, 1, 3, 1000])
def test_steps_cover_the_rows_they_claim_in_batches_of_the_size_asked(
    n: int, batch_size: int, cap: int | None
) -> None:
    plan = EpochBatches.plan(n, batch_size, cap)
    sizes = plan.sizes("cpu").tolist()
    starts = [b * plan.batch_size for b in range(plan.steps)]
    ends = [plan.end(b) for b in range(plan.steps)]
    assert sum(sizes) == plan.seen == ends[-1]
    assert [e - s for s, e in zip(starts, ends, strict=True)] == sizes
    assert plan.batch_size == min(batch_size, n)
    assert all(s == plan.batch_size for s in sizes[:-1]) and sizes[-1] >= 1
    if plan.steps > 1 and plan.batch_size > 1:
        assert sizes[-1] >= 2  # never a one-row step (BatchNorm has no batch statistics)
    whole = EpochBatches.plan(n, batch_size)
    assert whole.seen == n  # uncapped: every row, once
    if cap is None or cap >= whole.steps:
        assert plan == whole
    else:
        assert plan.steps == cap and plan.seen == cap * plan.batch_size


def test_a_one_row_last_batch_joins_the_batch_before() -> None:
    plan = EpochBatches.plan(65, 32)
    assert plan.steps == 2 and plan.sizes("cpu").tolist() == [32.0, 33.0]


def test_a_cap_takes_the_first_full_batches() -> None:
    plan = EpochBatches.plan(1000, 32, cap=3)
    assert (plan.steps, plan.seen) == (3, 96) and plan.sizes("cpu").tolist() == [32.0] * 3
