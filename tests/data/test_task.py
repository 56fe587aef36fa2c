"""``data.task: auto`` decides from the target (scikit-learn's ``type_of_target`` reasoning), and
a regression target's scaler is fitted on the training split only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hone.config import load_config
from hone.data import load_data
from hone.data.memory import from_python
from hone.data.task import infer_task
from hone.errors import DataError

ROWS = 300


def decide(values: object) -> tuple[str, str]:
    choice = infer_task(values, "target 'y'", "data.csv")
    return choice.task, choice.reason


def test_fractional_numbers_are_a_regression() -> None:
    prices = np.linspace(1000.5, 9000.25, ROWS)
    assert decide(prices) == ("regression", "target 'y' is continuous, 300 distinct values")
    assert decide([f"{v:.2f}" for v in prices])[0] == "regression"  # CSV cells are text
    assert decide(np.random.default_rng(0).normal(size=(ROWS, 2)))[0] == "regression"


def test_labels_are_a_classification() -> None:
    pets = ["cat", "dog", "cat"] * 4
    assert decide(pets) == ("classification", "target 'y' holds text: 2 classes")
    assert decide(np.array([True, False] * 10)) == ("classification", "target 'y' holds booleans")
    binary = decide(np.array([0.0, 1.0] * (ROWS // 2)))  # a 0.0/1.0 float column
    assert binary == ("classification", "target 'y' has 2 values (0, 1): binary classification")
    few = decide(np.arange(ROWS) % 10)  # 30 rows per class
    assert few[0] == "classification" and "10 whole-number values (0, 1, 2, ... 9)" in few[1]
    assert decide(["1", "2", "3"] * 20)[0] == "classification"  # whole numbers as text


def test_many_whole_numbers_ask_for_the_task() -> None:
    with pytest.raises(DataError) as info:
        decide(np.arange(ROWS) * 7)  # 300 distinct whole numbers in 300 rows
    message = str(info.value)
    assert "data.csv: target 'y'" in message and "300 distinct values in 300 rows" in message
    assert "data.task: regression" in message and "data.task: classification (300 classes)" in (
        message
    )
    # Just at the line: 5 rows per distinct value is still a classification.
    assert decide(np.arange(ROWS) % 60)[0] == "classification"
    with pytest.raises(DataError, match="61 distinct values"):
        decide(np.arange(ROWS) % 61)


def test_unusable_targets_are_clear_errors() -> None:
    with pytest.raises(DataError, match=r"NaN or infinite in 1 row\(s\) \(first: row 2\)"):
        decide([1.5, 2.5, float("nan")] + [3.5] * 9)
    with pytest.raises(DataError, match=r"the same value \(250000\.5\) in all 12 rows"):
        decide([250000.5] * 12)
    with pytest.raises(DataError, match=r"1 row\(s\); hone needs at least 10"):
        decide([4.5])
    with pytest.raises(DataError, match="has no values"):
        decide([])


def price_csv(path: Path, scale: float = 1.0) -> Path:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (ROWS, 3))
    price = (300_000 + x @ [60_000, 25_000, -40_000] + rng.normal(0, 5_000, ROWS)) * scale
    lines = ["size,rooms,age,price"] + [
        f"{a:.4f},{b:.4f},{c:.4f},{p:.2f}" for (a, b, c), p in zip(x, price, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_price_csv_loads_as_a_regression_with_its_scaler(tmp_path: Path) -> None:
    path = price_csv(tmp_path / "prices.csv")
    cfg = load_config({"data": {"dataset": "csv", "path": str(path), "target": "price"}})
    data = load_data(cfg.data)
    assert data.task == "regression" and data.classes == []
    assert data.report["task"] == {
        "task": "regression",
        "reason": "target 'price' is continuous, 300 distinct values",
    }
    assert "ignored" not in data.report  # stratify was never written: nothing to say
    # The targets stay in their units; the scaler comes from the training split alone.
    y_train = data.train.y.numpy().astype(np.float64)
    target = data.preprocess["target"]
    assert target["shift"] == pytest.approx([y_train.mean()], rel=1e-6)
    assert target["scale"] == pytest.approx([y_train.std()], rel=1e-6)
    assert float(data.test.y.mean()) > 100_000  # not standardised
    none = load_config({"data": {"dataset": "csv", "path": str(path), "target": "price",
                                 "preprocess": {"target_scale": "none"}}})  # fmt: skip
    assert "target" not in load_data(none.data).preprocess


def test_explicit_task_wins_and_stratify_true_is_ignored_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("a,code\n" + "".join(f"{i % 7},{i * 3}\n" for i in range(ROWS)))
    base = {"dataset": "csv", "path": str(path), "target": "code"}
    with pytest.raises(DataError, match="target 'code' holds whole numbers with 300 distinct"):
        load_data(load_config({"data": base}).data)
    data = load_data(load_config({"data": {**base, "task": "regression"}}).data)
    assert data.task == "regression" and "task" not in data.report  # nothing was decided
    stratified = {**base, "task": "regression", "split": {"stratify": True}}
    data = load_data(load_config({"data": stratified}).data)
    assert data.report["ignored"] == [
        "data.split.stratify: true is ignored: a regression target has no classes to stratify "
        "by (leave it out, or set it to false)"
    ]
    classes = load_data(load_config({"data": {**base, "task": "classification",
                                              "split": {"test": 0.5}}}).data)  # fmt: skip
    assert classes.n_classes == ROWS  # asked for: 300 classes


def test_a_binary_float_column_and_float_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(ROWS, 3))
    binary = tmp_path / "churn.csv"
    binary.write_text("a,b,c,churn\n" + "".join(
        f"{a:.3f},{b:.3f},{c:.3f},{float(a > 0):.1f}\n" for a, b, c in x))  # fmt: skip
    data = load_data(load_config({"data": {"dataset": "csv", "path": str(binary),
                                           "target": "churn"}}).data)  # fmt: skip
    assert data.task == "classification" and data.classes == ["0", "1"]
    assert "binary classification" in data.report["task"]["reason"]
    npz = tmp_path / "d.npz"
    np.savez(npz, x=x, y=x @ [1.0, -2.0, 0.5] + 0.25)
    data = load_data(load_config({"data": {"dataset": "npz", "path": str(npz)}}).data)
    assert data.task == "regression" and data.report["task"]["reason"].startswith("target y is")
    np.savez(npz, x=x, y=(x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0))
    assert load_data(load_config({"data": {"dataset": "npz", "path": str(npz)}}).data).classes == [
        "0", "1", "2", "3"]  # fmt: skip


def test_data_given_from_python_is_decided_too() -> None:
    x = np.zeros((ROWS, 2), dtype=np.float32)
    raw = from_python((x, np.linspace(0.5, 10.0, ROWS)), "auto")
    assert raw.task == "regression" and raw.task_reason == "y is continuous, 300 distinct values"
    assert from_python((x, np.arange(ROWS) % 3), "auto").classes == ["0", "1", "2"]
    assert from_python((x, np.arange(ROWS) % 3), "regression").task == "regression"


def test_generated_datasets_keep_their_tasks() -> None:
    blobs = load_data(
        load_config({"data": {"dataset": "blobs", "params": {"n_samples": 100}}}).data
    )
    assert blobs.task == "classification" and "task" not in blobs.report
    reg = load_data(load_config({"data": {"dataset": "regression",
                                          "params": {"n_samples": 100}}}).data)  # fmt: skip
    assert reg.task == "regression" and "task" not in reg.report
    assert "target" in reg.preprocess
