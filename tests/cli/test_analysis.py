"""``hone diagnose``, ``eval``, ``predict`` and ``datacurve`` on real tiny runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hone
from tests.cli.test_app import cli
from tests.conftest import tiny


@pytest.fixture
def digits_run(store: Path) -> str:
    cfg = {
        "name": "digits",
        "data": {"dataset": "digits", "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [32]},
        "train": {"epochs": 5, "optimizer": {"lr": 0.01}},
    }
    return hone.run(cfg, store=str(store)).run_id


def test_diagnose_json_and_table(capsys: pytest.CaptureFixture[str], store: Path) -> None:
    run_id = hone.run(
        tiny(**{"train.optimizer": {"name": "sgd", "lr": 10.0}}), store=str(store)
    ).run_id
    code, out, _ = cli(capsys, "diagnose", run_id, "--json", "--store", str(store))
    assert code == 0
    findings = json.loads(out)["findings"]
    top = findings[0]
    assert top["code"] == "lr_too_high" and top["severity"] in ("warning", "critical")
    assert (
        top["prescriptions"][0]["rank"] == 1
        and "train.optimizer.lr" in top["prescriptions"][0]["patch"]
    )
    code, out, _ = cli(capsys, "diagnose", run_id, "--store", str(store))
    assert code == 0 and "lr_too_high" in out and "--set train.optimizer.lr=0.1" in out


def test_eval_prints_per_class_table_and_matches_json(
    capsys: pytest.CaptureFixture[str], store: Path, digits_run: str
) -> None:
    code, out, _ = cli(capsys, "eval", digits_run, "--json", "--store", str(store))
    report = json.loads(out)
    assert code == 0 and report["split"] == "test" and len(report["confusion_matrix"]) == 10
    from hone.store import RunStore

    with RunStore(str(store)) as rs:
        stored = rs.get_run(digits_run).metrics
    assert report["accuracy"] == pytest.approx(stored["test_accuracy"], abs=1e-6)
    code, out, _ = cli(capsys, "eval", digits_run, "--split", "val", "--store", str(store))
    assert (
        code == 0
        and "confusion matrix" in out
        and "macro avg" in out
        and "balanced_accuracy" in out
    )
    code, _, err = cli(capsys, "eval", digits_run, "--split", "holdout", "--store", str(store))
    assert code == 2 and "--split" in err


def test_predict_index_shows_bars_and_true_label(
    capsys: pytest.CaptureFixture[str], store: Path, digits_run: str
) -> None:
    code, out, _ = cli(capsys, "predict", digits_run, "--index", "19", "--store", str(store))
    assert code == 0 and "record 19 (true:" in out and "█" in out and "◀ true" in out
    code, out, _ = cli(
        capsys, "predict", digits_run, "--index", "19", "--json", "--store", str(store)
    )
    rec = json.loads(out)["records"][0]
    assert abs(sum(rec["outputs"]) - 1) < 1e-5 and rec["predicted"] in [str(d) for d in range(10)]
    code, _, err = cli(capsys, "predict", digits_run, "--index", "99999", "--store", str(store))
    assert code == 2 and "records" in err


def test_predict_new_inputs_apply_the_training_transform(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path, digits_run: str
) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    img = (digits.images[0] / 16 * 255).astype(np.uint8)
    png = tmp_path / "zero.png"
    Image.fromarray(img).resize((32, 32)).convert("RGB").save(png)  # larger and in colour
    npy = tmp_path / "rows.npy"
    np.save(npy, (digits.images[:3] / 16).astype(np.float32))
    csv = tmp_path / "rows.csv"
    np.savetxt(csv, (digits.images[:2] / 16).reshape(2, -1), delimiter=",")
    for path, n in ((png, 1), (npy, 3), (csv, 2)):
        code, out, _ = cli(
            capsys, "predict", digits_run, "--input", str(path), "--json", "--store", str(store)
        )
        assert code == 0 and len(json.loads(out)["records"]) == n, path
    bad = tmp_path / "bad.txt"
    bad.write_text("x")
    code, _, err = cli(capsys, "predict", digits_run, "--input", str(bad), "--store", str(store))
    assert code == 2 and ".npy" in err


def test_datacurve_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny(**{"telemetry": False})))
    code, out, _ = cli(
        capsys, "datacurve", str(path), "--fractions", "0.5,1.0", "--seeds", "1", "--json"
    )
    assert code == 0 and json.loads(out)["verdict"] in ("underfitting", "more_data", "plateau")
    code, _, err = cli(capsys, "datacurve", str(path), "--fractions", "half")
    assert code == 2 and "--fractions" in err


def test_diagnose_piped_prints_each_cause_whole(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    """Piped output is not squeezed to a terminal: the first finding's causes once lost their
    end ("model.hi") while later lines ran wide. A deep sigmoid stack names a long list."""
    deep = tiny(**{"model.hidden": [32] * 12, "model.activation": "sigmoid", "train.epochs": 3})
    run_id = hone.run(deep, store=str(store)).run_id
    code, out, _ = cli(capsys, "diagnose", run_id, "--json", "--store", str(store))
    findings = json.loads(out)["findings"]
    assert code == 0 and any("model.hidden" in f["causes"] for f in findings)
    code, out, _ = cli(capsys, "diagnose", run_id, "--store", str(store))
    lines = [line for line in out.splitlines() if "caused by:" in line]
    assert len(lines) == sum(1 for f in findings if f["causes"])
    for line, f in zip(lines, [f for f in findings if f["causes"]], strict=True):
        assert all(key in line for key in f["causes"]), line
    assert f"model.hidden ({[32] * 12})" in out
    # The evidence tables align their cells without padding the lines out with spaces.
    assert not [line for line in out.splitlines() if line != line.rstrip()]


def test_a_run_without_a_validation_split_says_so_beside_what_is_achievable(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    """The achievable line read "this run: train 0.9087, val -" where the run has no
    validation split (its references are cross-validated on the training rows)."""
    run_id = hone.run(tiny(**{"data.split": "8:2"}), store=str(store)).run_id
    code, out, _ = cli(capsys, "diagnose", run_id, "--store", str(store))
    line = next(line for line in out.splitlines() if line.startswith("achievable:"))
    assert code == 0 and "(no validation split)" in line and "val -" not in line
    code, out, _ = cli(capsys, "report", run_id, "--store", str(store))
    page = next((store / "reports").glob(f"{run_id}*.html")).read_text()
    assert code == 0 and "(no validation split)" in page and "val -" not in page
