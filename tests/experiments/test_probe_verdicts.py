"""``probe_verdicts``: whether an arm behind the run as it is when a short probe ends would
catch up within the run's remaining epochs (``closes_in_time``), and what a note's probe
that measured a loss concludes."""

from __future__ import annotations

import pytest

from hone.config import load_config
from hone.diagnose import Diagnosis, Finding, Prescription
from hone.experiments.probe_verdicts import closes_in_time, hypotheses, rank_by_probe


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


def _note_probed(severity: str, effect: float, metric: str = "val_accuracy") -> Finding:
    """A saturation finding whose probe measured ``effect`` (inconclusive) over the full
    run's epochs; the finding as ``rank_by_probe`` leaves it."""
    found_by = Finding("saturation", severity, "t", "e", {}, [
        Prescription("standardise", {"data.preprocess.scale": "standard"}),
        Prescription("LeakyReLU", {"model.activation": "leaky_relu"})])  # fmt: skip
    diagnosis = Diagnosis("r", [found_by])
    found = hypotheses(diagnosis)
    vs = {"verdict": "no detectable difference", "mean_diff": effect, "t_ci_low": effect - 0.09,
          "t_ci_high": effect + 0.09, "n": 3}  # fmt: skip
    summary = {"variants": [{"name": "baseline", "values": [0.9] * 3},
                            {"name": found[0].name, "n": 3, "vs": vs}],
               "metric": metric, "seeds": [1, 2, 3], "experiment": "x"}  # fmt: skip
    base = load_config({"train": {"epochs": 6}})
    return rank_by_probe(diagnosis, found, summary, base, 6).findings[0]


def test_a_note_whose_prescription_measured_a_loss_is_refuted() -> None:
    """Generator seed 44: raw CSV features x45 into a wide sigmoid net, train 1.0 and val
    0.90 at its reference: a `saturation` note (no cost seen). Standardising measured -0.071
    [-0.156, +0.015] in the probe, stayed first, and at full length was significantly worse
    (-0.042). With nothing to gain, a measured loss refutes it, and the note offers no
    other remedy (``Finding.top_prescription``)."""
    note = _note_probed("info", -0.071)
    assert note.probe["verdict"] == "refuted" and "nothing to gain" in note.probe["summary"]
    assert note.top_prescription() is None
    # A lower validation loss is a gain, not a loss.
    assert _note_probed("info", -0.05, metric="val_loss").probe["verdict"] == "inconclusive"
    # A finding its rule raised as an alarm keeps an inconclusive verdict: it has a cost to win.
    assert _note_probed("warning", -0.071).probe["verdict"] == "inconclusive"


def _gain_probed(severity: str, caught: bool) -> Finding:
    """A bad_init finding whose 49-of-150-epoch probe confirmed a lower val MSE, with the
    run as it is catching the arm in time (``caught``) or not."""
    found_by = Finding("bad_init", severity, "t", "e", {}, [
        Prescription("He init", {"model.init": "auto"}),
        Prescription("batch norm", {"model.norm": "batch"})])  # fmt: skip
    diagnosis = Diagnosis("r", [found_by])
    found = hypotheses(diagnosis)
    vs = {"verdict": "better", "mean_diff": -0.011, "t_ci_low": -0.018, "t_ci_high": -0.004,
          "n": 3}  # fmt: skip
    summary = {"variants": [{"name": "baseline", "values": [0.02] * 3},
                            {"name": found[0].name, "n": 3, "vs": vs}],
               "metric": "val_loss", "seeds": [1, 2, 3], "experiment": "x"}  # fmt: skip
    base = load_config({"train": {"epochs": 150}})
    caught_up = {found[0].name} if caught else set()
    return rank_by_probe(diagnosis, found, summary, base, 49, caught=caught_up).findings[0]


def test_a_note_s_gain_the_run_was_closing_in_time_is_speed_not_a_remedy() -> None:
    """Dev seed 1: a constant init 0.224 on a linear regression target ([16] units acting as
    one, which fits such a target; val MSE 0.004 against the He-initialised twin's 0.009), a
    `bad_init` note (no cost seen). After 49 of 150 epochs He init led by 0.011 val MSE; at
    full length it was 0.014 worse, and batch norm, next in line, 0.013 worse."""
    note = _gain_probed("info", caught=True)
    assert note.probe["verdict"] == "refuted" and "speed" in note.probe["summary"]
    assert note.top_prescription() is None
    assert _gain_probed("info", caught=False).probe["verdict"] == "confirmed"
    # A finding that saw a cost keeps its confirmed gain.
    assert _gain_probed("warning", caught=True).probe["verdict"] == "confirmed"
