"""Your own ``nn.Module`` and data from Python: ``hone.run(config, model=..., data=...)``
trains, records, diagnoses, compares, reports, loads and resumes them like any run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import make_moons
from torch import nn
from torch.utils.data import TensorDataset

import hone
from hone.errors import ConfigError, StoreError
from hone.store import RunStore
from tests.conftest import tiny
from tests.train.test_resume import StopAfter


class TwoLayer(nn.Module):
    def __init__(self, width: int = 12) -> None:
        super().__init__()
        self.first = nn.Linear(2, width)
        self.act = nn.ReLU()
        self.head = nn.Linear(width, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.first(x)))  # type: ignore[no-any-return]


@pytest.fixture
def moons() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_moons(n_samples=300, noise=0.2, random_state=0)
    return x.astype(np.float32), y


def _config(**overrides: object) -> dict[str, object]:
    return tiny(**{"train.epochs": 6, "data.split": "6:2:2", **overrides})


def test_own_module_and_arrays_train_record_and_diagnose(
    store: Path, moons: tuple[np.ndarray, np.ndarray]
) -> None:
    from hone.report import render_report

    net = TwoLayer()
    result = hone.run(_config(**{"train.epochs": 30}), model=net, data=moons, store=store)
    assert result.status == "completed" and result.model is net  # trained in place
    assert result.metrics["test_accuracy"] > 0.8
    with RunStore(store) as rs:
        record = rs.get_run(result.run_id)
        assert record.config["data"]["dataset"] == "python"
        assert record.extra["model"]["class"].endswith("TwoLayer")
        telemetry = rs.load_json(result.run_id, "telemetry.json")
        assert set(telemetry["layers"]) == {"first", "head"}
        data = rs.load_json(result.run_id, "data.json")
        assert data["report"]["python_data"]["shape"] == [300, 2]
        page = render_report(rs, result.run_id)  # predictions need the data: noted, not fatal
    assert page.is_file() and "given from Python" in page.read_text()
    diagnosis = hone.diagnose(result.run_id, store=store)
    assert diagnosis.findings


def test_a_dataset_gives_the_same_run_as_its_arrays(
    store: Path, moons: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = moons
    a = hone.run(_config(), model=lambda: TwoLayer(), data=(x, y), store=store)
    dataset = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    b = hone.run(_config(), model=lambda: TwoLayer(), data=dataset, store=store)
    assert a.metrics == b.metrics  # same split, same seed-drawn init, same batches


def test_a_module_with_the_wrong_output_is_a_clear_error(
    store: Path, moons: tuple[np.ndarray, np.ndarray]
) -> None:
    with pytest.raises(ConfigError, match=r"maps \(2, 2\) to \(2, 5\); this data needs \(2, 2\)"):
        hone.run(_config(), model=nn.Linear(2, 5), data=moons, store=store)
    with pytest.raises(ConfigError, match="failed on a batch shaped"):
        hone.run(_config(), model=nn.Linear(3, 2), data=moons, store=store)
    with pytest.raises(hone.DataError, match="one row of x per label"):
        hone.run(_config(), data=(moons[0], moons[1][:10]), store=store)


def test_load_needs_the_architecture_and_then_predicts_like_the_run(
    store: Path, moons: tuple[np.ndarray, np.ndarray]
) -> None:
    result = hone.run(_config(), model=TwoLayer(), data=moons, store=store)
    with pytest.raises(StoreError, match=r"model=\.\.\."):
        hone.load(result.run_id, store=store)
    loaded = hone.load(result.run_id, store=store, model=TwoLayer())
    assert result.model is not None
    x = moons[0][:20]
    expected = torch.softmax(result.model(torch.from_numpy(x)), 1).detach().numpy()
    np.testing.assert_allclose(loaded.predict(x), expected, atol=1e-5)


def test_compare_reinitialises_the_module_per_seed(
    store: Path, moons: tuple[np.ndarray, np.ndarray]
) -> None:
    result = hone.compare(_config(), vary={"train.optimizer.lr": [0.003]}, seeds=3,
                          model=TwoLayer(), data=moons, store=store)  # fmt: skip
    assert result.complete and len(result["baseline"].values) == 3
    assert len(set(result["baseline"].values)) > 1  # different seeds, different initial weights
    assert result["train.optimizer.lr=0.003"].verdict is not None


def test_resume_with_the_same_module_and_data(
    store: Path, tmp_path: Path, moons: tuple[np.ndarray, np.ndarray]
) -> None:
    config = _config(**{"train.epochs": 8, "train.checkpoint_every": 2})
    whole = hone.run(config, model=lambda: TwoLayer(), data=moons, store=tmp_path / "a")
    cut = hone.run(config, model=lambda: TwoLayer(), data=moons, store=store,
                   callbacks=[StopAfter(5)])  # fmt: skip
    with pytest.raises(ConfigError, match="pass data="):
        hone.resume(cut.run_id, store=store)
    with pytest.raises(ConfigError, match="hash differs"):
        hone.resume(cut.run_id, store=store, model=TwoLayer(), data=(moons[0] * 2, moons[1]))
    done = hone.resume(cut.run_id, store=store, model=TwoLayer(), data=moons)
    assert done.status == "completed" and done.metrics == pytest.approx(whole.metrics)


def test_your_module_on_a_price_regression_answers_in_prices(store: Path) -> None:
    """Float targets from Python are a regression; your module learns standardised prices
    (hone wraps it, never changes it) and hone.load gives prices back."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (300, 2)).astype(np.float32)
    price = (250_000 + x @ [50_000.0, -30_000.0] + rng.normal(0, 2_000, 300)).astype(np.float32)

    def module() -> nn.Module:
        return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

    mine = module()
    result = hone.run({"train": {"epochs": 60}}, model=mine, data=(x, price), store=store)
    assert result.notes["task"]["task"] == "regression" and not hasattr(mine, "target")
    assert result.metrics["test_r2"] > 0.9, result.metrics
    loaded = hone.load(result.run_id, store=store, model=module())
    assert result.model is not None
    expected = result.model.eval()(torch.from_numpy(x[:10])).detach().numpy()
    np.testing.assert_allclose(loaded.predict(x[:10]), expected, rtol=1e-5)
    assert abs(float(loaded.predict(x).mean()) - float(price.mean())) < 10_000
