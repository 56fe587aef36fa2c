"""Reading a data curve: "more data" only where the projected gain clears the curve's noise."""

from __future__ import annotations

import numpy as np
import pytest

from hone.diagnose.datacurve import CurvePoint, gain_interval, read_curve, under_trained

SIZES = (64, 160, 320, 640)
ERRORS = (0.20, 0.19, 0.18, 0.16)  # a curve still falling at its last point


def _points(val_rows: int, seeds: int = 2, seed: int = 0) -> list[CurvePoint]:
    """The same mean errors measured on ``val_rows`` validation rows: each seed's model
    misclassifies its own rows (models trained on different data err on different rows)."""
    rng = np.random.default_rng(seed)
    points = []
    for n, err in zip(SIZES, ERRORS, strict=True):
        rows = []
        for _ in range(seeds):
            wrong = np.zeros(val_rows)
            wrong[rng.choice(val_rows, round(err * val_rows), replace=False)] = 1.0
            rows.append(wrong.tolist())
        points.append(CurvePoint(n / 640, n, [0.12] * seeds, [err] * seeds, rows))
    return points


def test_a_small_validation_split_cannot_tell_a_falling_curve_from_noise() -> None:
    """The same four mean errors: on 160 validation rows (the Keras blobs baseline's) the
    projected gain's interval reaches zero, so more data is not promised; on 20,000 rows the
    same fall is real, and more data is worth it."""
    noisy = read_curve(_points(160), majority_error=0.74)
    sure = read_curve(_points(20_000), majority_error=0.74)
    for curve in (noisy, sure):
        assert curve.projected_gain_when_doubled == pytest.approx(sure.projected_gain_when_doubled)
        assert curve.projected_gain_when_doubled > 0.005
        assert curve.gain_interval is not None
    assert noisy.verdict == "plateau" and "within this curve's noise" in noisy.answer
    assert noisy.gain_interval[0] < 0.0025 < noisy.gain_interval[1]
    assert sure.verdict == "more_data" and sure.gain_interval[0] >= 0.0025
    assert sure.to_json()["projected_gain_interval"] == list(sure.gain_interval)
    assert "val_rows" not in sure.to_json()["points"][0]


def test_without_rows_the_seeds_are_resampled_and_one_seed_alone_gives_no_interval() -> None:
    points = _points(200, seeds=3)
    for p in points:
        p.val_rows = None
    interval = gain_interval(points)
    assert interval is not None and interval[0] <= interval[1]
    lone = [CurvePoint(p.fraction, p.n_train, p.train_error[:1], p.val_error[:1]) for p in points]
    assert gain_interval(lone) is None
    curve = read_curve(lone, majority_error=0.74)
    assert curve.verdict == "more_data" and curve.gain_interval is None  # as before: no noise known


def test_the_interval_is_reproducible() -> None:
    points = _points(160)
    assert gain_interval(points) == gain_interval(points)


def _curve(
    train: list[float], val: list[float], sizes: tuple[int, ...] = (150, 300, 600)
) -> list[CurvePoint]:
    return [
        CurvePoint(n / sizes[-1], n, [t, t], [v, v])
        for n, t, v in zip(sizes, train, val, strict=True)
    ]


def test_training_error_falling_with_the_data_is_read_as_steps_not_data() -> None:
    """A 1-unit tanh net on a 10-feature regression, 30 epochs at every fraction: training
    error fell as validation error did (measured; trained for equal steps instead, every
    fraction reached 0.23-0.24, validation 0.285-0.299, flat). More data is not the answer."""
    curve = read_curve(_curve([0.688, 0.517, 0.236], [0.800, 0.583, 0.285]), majority_error=None)
    assert curve.verdict == "underfitting" and curve.evidence["under_trained"] is True
    assert "Train longer" in curve.answer and "collect" not in curve.answer.lower()
    assert curve.projected_gain_when_doubled > 0.1  # what the curve alone would have promised


def test_a_shrinking_gap_is_data_even_when_training_error_dips() -> None:
    """MNIST 784-200-10 on 600 to 6,000 rows (measured): training error 0.037 to 0.020 while
    validation error fell from 0.137 to 0.064: the gap closed, which is what data does."""
    points = _curve([0.037, 0.025, 0.021, 0.020], [0.137, 0.097, 0.080, 0.064],
                    sizes=(600, 1500, 3000, 6000))  # fmt: skip
    assert not curve_under_trained(points)
    assert read_curve(points, majority_error=0.89).verdict == "more_data"


def curve_under_trained(points: list[CurvePoint]) -> bool:
    return under_trained(points[0], points[-1])


def test_a_regression_loss_is_projected_to_fall_by_a_factor_never_below_zero() -> None:
    """A house-price MSE fell from 974,058 to 21,467 from 18 to 180 rows (measured by a
    user): a straight line in log n projected a cut of 111,071 from doubling, five times the
    loss left. A loss falls by the segment's factor per doubling: a cut smaller than itself,
    judged against a share of itself, and said in rounded numbers."""
    points = _curve([898_415.8, 25_324.9], [974_058.2, 21_466.8], sizes=(18, 180))
    curve = read_curve(points, majority_error=None)  # its training loss fell as much: steps
    gain = curve.projected_gain_when_doubled
    assert gain is not None and 0 < gain < 21_466.8
    assert gain == pytest.approx(21_466.8 * (1 - (21_466.8 / 974_058.2) ** (1 / np.log2(10))))
    assert curve.verdict == "underfitting" and "21,467" in curve.answer
    assert ".828" not in curve.answer  # 21466.828: rounded in prose
    trained = read_curve(_curve([5_000.0, 6_000.0], [974_058.2, 21_466.8], sizes=(18, 180)), None)
    assert trained.verdict == "more_data" and f"{21_466.8 - gain:,.0f}" in trained.answer
    flat = read_curve(_curve([0.5, 0.5, 0.5], [0.90, 0.89, 0.885]), majority_error=None)
    assert flat.verdict == "plateau"  # a 0.6 % cut of a loss of 0.885 is not worth it


def test_one_point_is_no_curve() -> None:
    """A single fraction cannot show a plateau (it said "levelled off" from one point)."""
    from hone.config import load_config
    from hone.errors import ConfigError
    from hone.experiments.datacurve import data_curve

    with pytest.raises(ValueError, match="at least 2 fractions"):
        read_curve(_curve([0.1], [0.2], sizes=(100,)), majority_error=0.5)
    cfg = load_config({"data": {"dataset": "moons", "split": "6:2:2"}, "train": {"epochs": 1}})
    with pytest.raises(ConfigError, match="at least 2 different fractions"):
        data_curve(cfg, [1.0, 1.0], seeds=1)
