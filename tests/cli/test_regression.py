"""Issue 37, as a new user meets it: a table of prices is a regression, decided from the target,
trained on standardised targets and reported in the target's own units — through ``hone`` and
through the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn import metrics as skm

import hone
from hone.api import load_run
from hone.evaluate.report import predict_outputs
from hone.store import RunStore
from tests.cli.test_app import cli

ROWS = 300
TASK_LINE = "task: regression — target 'price' is continuous, 300 distinct values"


def price_table(scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Three features and a price linear in them, plus noise (R² of the truth: about 0.99)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (ROWS, 3))
    price = 300_000 + x @ [60_000, 25_000, -40_000] + rng.normal(0, 5_000, ROWS)
    return x, price * scale


def write_csv(path: Path, x: np.ndarray, y: np.ndarray, target: str = "price") -> Path:
    lines = [f"size,rooms,age,{target}"]
    lines += [f"{a:.4f},{b:.4f},{c:.4f},{float(v)!r}" for (a, b, c), v in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_config(csv: Path, target: str) -> Path:
    """``data: {dataset: csv, target: ...}`` and nothing else, as the issue's user wrote."""
    config = csv.with_suffix(".yaml")
    config.write_text(yaml.safe_dump({"data": {"dataset": "csv", "path": str(csv),
                                               "target": target}}))  # fmt: skip
    return config


def price_config(tmp_path: Path, scale: float = 1.0, name: str = "prices") -> Path:
    return csv_config(write_csv(tmp_path / f"{name}.csv", *price_table(scale)), "price")


def test_a_price_csv_is_a_regression_said_once_with_r2_mae_rmse(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = price_config(tmp_path)
    code, out, err = cli(capsys, "run", str(config), "--store", str(store))
    assert code == 0, err
    assert out.count(TASK_LINE) == 1 and "task:" not in err
    rows = [line.split()[1] for line in out.splitlines() if line.startswith("│")]
    assert rows == ["loss", "r2", "mae", "rmse"]  # beside the loss, in this order
    assert "targets: trained standardised (mean 3" in out and "results in their units" in out
    code, out, _ = cli(capsys, "run", str(config), "--store", str(store), "--json")
    result = json.loads(out)
    assert code == 0 and result["task"]["task"] == "regression"
    metrics = result["metrics"]
    assert metrics["test_r2"] >= 0.95, metrics
    # The recorded metrics are scikit-learn's on the model's own predictions, in price units.
    run_id, built = load_run(result["run_id"], store)
    for split in ("train", "test"):
        part = getattr(built.data, split)
        pred = predict_outputs(built.model, part.x, built.output_activation).double().numpy()
        truth = part.y.double().numpy()
        for key, fn in (("r2", skm.r2_score), ("mae", skm.mean_absolute_error),
                        ("rmse", skm.root_mean_squared_error)):  # fmt: skip
            assert metrics[f"{split}_{key}"] == pytest.approx(fn(truth, pred), rel=1e-9, abs=1e-9)
        assert metrics[f"{split}_loss"] == pytest.approx(
            skm.mean_squared_error(truth, pred), rel=1e-5
        )  # the MSE loss, in price² (float32 arithmetic)
    with RunStore(store) as rs:
        record = rs.get_run(run_id)
        data_json = rs.load_json(run_id, "data.json")
    assert record.config["data"]["task"] == "regression" and record.config["train"]["loss"] == "mse"
    assert record.config["data"]["preprocess"]["target_scale"] == "standard"
    assert record.extra["task"]["reason"] == "target 'price' is continuous, 300 distinct values"
    assert data_json["report"]["task"]["task"] == "regression"
    assert data_json["preprocess"]["target"]["shift"][0] == pytest.approx(300_000, rel=0.05)
    assert max(record.history["train_loss"]) > 1e7  # the history's losses are in price² too
    code, out, _ = cli(capsys, "eval", run_id, "--store", str(store), "--json")
    assert json.loads(out)["r2"] == pytest.approx(metrics["test_r2"], abs=1e-12)


def test_an_integer_column_with_300_values_stops_and_asks(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = price_table()
    csv = write_csv(tmp_path / "codes.csv", x, np.arange(ROWS) * 17 + 1000, target="code")
    config = csv_config(csv, "code")
    code, out, err = cli(capsys, "run", str(config), "--store", str(store))
    assert code == 2 and "Traceback" not in err
    assert "target 'code' holds whole numbers with 300 distinct values in 300 rows" in err
    assert "data.task: regression" in err and "data.task: classification (300 classes)" in err
    assert not (store / "runs").is_dir() or not any((store / "runs").iterdir())  # nothing recorded
    code, out, err = cli(capsys, "run", str(config), "--store", str(store), "--json", "--set",
                         "data.task=regression")  # fmt: skip
    assert code == 0 and "task" not in json.loads(out)  # explicit: nothing was decided


def test_a_zero_one_float_column_is_a_binary_classification(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, price = price_table()
    csv = write_csv(tmp_path / "sold.csv", x, (price > np.median(price)).astype(float), "sold")
    code, out, err = cli(capsys, "run", str(csv_config(csv, "sold")), "--store", str(store))
    assert code == 0, err
    assert out.count("task: classification — target 'sold' has 2 values (0, 1)") == 1
    assert "accuracy" in out and "r2" not in out
    result = hone.run({"data": {"dataset": "csv", "path": str(csv), "target": "sold"}},
                      store=store)  # fmt: skip
    assert result.notes["task"]["task"] == "classification" and "test_accuracy" in result.metrics


def test_a_float_npz_and_python_arrays_are_regressions(tmp_path: Path, store: Path) -> None:
    x, price = price_table()
    npz = tmp_path / "houses.npz"
    np.savez(npz, x=x.astype(np.float32), y=(price / 1000).astype(np.float32))
    result = hone.run({"data": {"dataset": "npz", "path": str(npz)}}, store=store)
    assert result.status == "completed" and result.notes["task"]["task"] == "regression"
    assert result.metrics["test_r2"] >= 0.95, result.metrics
    given = hone.run({"name": "arrays"}, data=(x, price), store=store)
    assert given.notes["task"]["reason"] == "y is continuous, 300 distinct values"
    assert given.metrics["test_r2"] >= 0.95, given.metrics


def test_a_target_times_1000_gives_the_same_r2_and_predictions_in_its_units(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    units = hone.run(price_config(tmp_path, 1.0, "units"), store=store)
    thousands = hone.run(price_config(tmp_path, 1000.0, "thousands"), store=store)
    assert units.metrics["test_r2"] >= 0.95
    assert thousands.metrics["test_r2"] == pytest.approx(units.metrics["test_r2"], abs=0.01)
    assert thousands.metrics["test_mae"] == pytest.approx(1000 * units.metrics["test_mae"],
                                                          rel=0.05)  # fmt: skip
    x, price = price_table()
    for run, scale in ((units, 1.0), (thousands, 1000.0)):
        pred = hone.load(run.run_id, store=store).predict(x.astype(np.float32))[:, 0]
        assert skm.r2_score(price * scale, pred) >= 0.95  # in the target's units
    new = write_csv(tmp_path / "new.csv", x[:5], price[:5] * 1000)
    code, out, _ = cli(capsys, "predict", thousands.run_id, "--input", str(new), "--store",
                       str(store), "--json")  # fmt: skip
    predicted = [r["outputs"][0] for r in json.loads(out)["records"]]
    np.testing.assert_allclose(predicted, price[:5] * 1000, rtol=0.1)
    code, out, _ = cli(capsys, "predict", thousands.run_id, "--index", "0", "--store", str(store))
    assert code == 0 and out.startswith("record 0 -> price ") and "(true: " in out
    unscaled = hone.run(price_config(tmp_path, 1000.0, "unscaled"), store=store,
                        **{"data.preprocess.target_scale": "none"})  # fmt: skip
    assert unscaled.metrics["test_r2"] < units.metrics["test_r2"] - 0.2  # what scaling fixes


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("train.class_weight=balanced", r"train.class_weight: weights classes, and this is a "
         r"regression task \(target 'price' is continuous.*remove train.class_weight"),
        ("data.sampler=balanced", r"data.sampler: draws classes equally often.*regression.*"
         r"remove data.sampler"),
        ("train.label_smoothing=0.1", r"train.label_smoothing: smooths class labels.*"
         r"regression.*remove train.label_smoothing"),
        ("train.loss=cross_entropy", r"train.loss: cross_entropy is a classification loss.*"
         r"continuous.*use one of mse, mae, huber"),
    ],
    ids=["class_weight", "sampler", "label_smoothing", "loss"],
)  # fmt: skip
def test_classification_settings_on_a_regression_are_refused(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str], setting: str, message: str
) -> None:
    code, _, err = cli(capsys, "run", str(price_config(tmp_path)), "--store", str(store),
                       "--set", setting)  # fmt: skip
    assert code == 2 and "Traceback" not in err
    import re

    assert re.search(message, " ".join(err.split())), err


def test_stratify_true_is_ignored_with_a_note(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "run", str(price_config(tmp_path)), "--store", str(store),
                       "--set", "data.split.stratify=true", "--set", "train.epochs=2")  # fmt: skip
    assert code == 0
    assert "note: data.split.stratify: true is ignored: a regression target has no classes" in (
        " ".join(out.split())
    )


def test_bad_regression_inputs_are_clear_errors(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = price_config(tmp_path)
    code, _, err = cli(capsys, "run", str(config), "--store", str(store), "--set",
                       "train.optimizer={name: sgd, lr: 100000}")  # fmt: skip
    assert code == 1 and "diverged" in err and "Traceback" not in err
    one_row = tmp_path / "one.csv"
    one_row.write_text("size,price\n1.0,250000.5\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("size,price\n")
    nan = tmp_path / "nan.csv"
    nan.write_text("size,price\n" + "".join(f"{i},{i * 1.5}\n" for i in range(20)) + "3,NA\n")
    for path, expected in ((one_row, "1 row(s); hone needs at least 10"),
                           (empty, "needs a header row and at least one data row"),
                           (nan, "nan.csv:22: column 'price' is empty or NA")):  # fmt: skip
        code, _, err = cli(capsys, "run", str(csv_config(path, "price")), "--store", str(store))
        assert code == 2 and expected in " ".join(err.split()) and "Traceback" not in err
