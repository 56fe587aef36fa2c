"""When a stacked study refills a freed slot (``stacked.refill_is_cheap``): only while the
stack trains on long enough anyway, or when what is left fits the free slots."""

from __future__ import annotations

import pytest

from hone.experiments.tune.stacked import refill_is_cheap


@pytest.mark.parametrize(("left", "waiting", "free", "cheap"), [
    (29, 40, 1, True),   # a member diverged at its first epoch: the stack trains 29 more
    (15, 40, 1, True),   # half a trial's epochs still to train: it costs half
    (14, 40, 1, False),  # most of a new trial's epochs would be the stack's alone
    (2, 21, 17, False),  # most members just ended: the next stack takes the 21 left
    (2, 4, 17, True),    # ... unless they all fit now: a stack of their own costs 30 epochs
    (0, 0, 20, True),    # nothing waits: nothing is asked either way
])  # fmt: skip
def test_a_slot_is_refilled_only_where_that_is_cheap(
    left: int, waiting: int, free: int, cheap: bool
) -> None:
    assert refill_is_cheap(30, left, waiting, free) is cheap
