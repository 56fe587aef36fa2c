"""``probe_verdicts.closes_in_time``: whether an arm behind the run as it is when a short
probe ends would catch up within the run's remaining epochs."""

from __future__ import annotations

import pytest

from hone.experiments.probe_verdicts import closes_in_time


def _gap(base: list[float], arm: list[float]) -> list[float]:
    return [b - a for b, a in zip(base, arm, strict=True)]


def test_a_remedy_that_stalls_behind_the_run_does_not_close_the_gap() -> None:
    """Held-out seed 37: raw CSV features x31.8 into a [256] sigmoid net, 80 epochs. The
    probe's 10 epochs (means of 3 seeds) had standardised inputs 0.056 behind, closing
    0.035 an epoch over the first half and 0.006 over the second; the full runs then
    stalled at 0.84 against 0.91. A straight line through the second half closed the gap
    in 10 epochs; the pace falling as it fell does not close it at all."""
    base = [0.821, 0.871, 0.885, 0.881, 0.888, 0.894, 0.906, 0.896, 0.902, 0.902]
    arm = [0.596, 0.635, 0.769, 0.783, 0.804, 0.829, 0.838, 0.85, 0.846, 0.846]
    assert not closes_in_time(_gap(base, arm), 70)


def test_a_remedy_gaining_faster_and_faster_closes_the_gap() -> None:
    """Held-out seed 32 (tests/experiments/test_probe.py): standardised inputs with batch
    normalisation 0.22 behind after 3 of 150 epochs, closing faster in the second epoch
    than in the first: a straight line closes it in 11 epochs."""
    base, arm = [0.646, 0.657, 0.681], [0.394, 0.417, 0.461]
    assert closes_in_time(_gap(base, arm), 147)
    assert not closes_in_time(_gap(base, arm), 10)


@pytest.mark.parametrize("ratio", [0.7, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("length", [4, 10])
def test_a_pace_falling_geometrically_closes_what_its_tail_closes(
    ratio: float, length: int
) -> None:
    """An arm that closes 0.1 * ratio**t of the gap in epoch t: over the run's remaining
    40 epochs it closes the geometric tail. The largest gap the rule says it closes, found
    by bisection, is within 12 % of that tail (the rule sees only the halves' mean paces)."""
    paces = [0.1 * ratio**t for t in range(length - 1)]
    tail = sum(0.1 * ratio**t for t in range(length - 1, length - 1 + 40))

    def closes(behind: float) -> bool:
        return closes_in_time([behind + sum(paces[t:]) for t in range(length)], 40)

    low, high = 0.0, 10.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if closes(middle) else (low, middle)
    assert low == pytest.approx(tail, rel=0.12)


def test_an_arm_ahead_or_losing_ground_is_not_gaining() -> None:
    assert not closes_in_time([0.1, 0.05, -0.01], 100)  # already ahead
    assert not closes_in_time([0.1, 0.1, 0.12], 100)  # falling further behind
    assert not closes_in_time([0.2, 0.1, 0.1], 100)  # stopped closing
    assert not closes_in_time([0.1], 100) and not closes_in_time([], 100)  # no pace seen
