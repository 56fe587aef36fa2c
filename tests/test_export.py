"""A recorded run leaves hone: loaded without its data, exported as TorchScript, ONNX and
safetensors, each checked against the run's own predictions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import hone
from hone.api import load_run
from hone.errors import ConfigError
from hone.evaluate.report import predict_outputs
from tests.cli.test_safety import cli
from tests.conftest import tiny


@pytest.fixture
def trained(store: Path) -> tuple[str, np.ndarray, np.ndarray]:
    """A scaled run, its raw test inputs and hone's own outputs on them."""
    result = hone.run(tiny(**{"train.epochs": 3, "data.preprocess.scale": "standard"}),
                      store=str(store))  # fmt: skip
    run_id, built = load_run(result.run_id, store)
    scaled = built.data.test.x
    pre = built.data.preprocess
    raw = scaled.numpy() * np.asarray(pre["scale"]) + np.asarray(pre["shift"])  # undo scaling
    expected = predict_outputs(built.model, scaled, built.output_activation).numpy()
    return run_id, raw.astype(np.float32), expected


def test_load_predicts_like_the_run_without_its_data(
    trained: tuple[str, np.ndarray, np.ndarray], store: Path
) -> None:
    run_id, raw, expected = trained
    loaded = hone.load(run_id[:12], store=store)
    np.testing.assert_allclose(loaded.predict(raw), expected, atol=1e-5)
    assert loaded.predict(raw[0]).shape == (1, expected.shape[1])  # one record
    assert len(loaded.predict_classes(raw)) == len(raw)
    with pytest.raises(hone.ConfigError, match="this model takes"):
        loaded.predict(np.zeros((2, 7)))
    # NaN came back as NaN without a word, text as a bare ValueError
    nan = raw[:2].copy()
    nan[0, 0] = np.nan
    with pytest.raises(hone.ConfigError, match=r"1 input value\(s\) are NaN.*data\.missing"):
        loaded.predict(nan)
    with pytest.raises(hone.ConfigError, match="must be numbers"):
        loaded.predict([["a", "b"]])


def test_torchscript_and_safetensors_exports(
    trained: tuple[str, np.ndarray, np.ndarray], store: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run_id, raw, expected = trained
    code, out, _ = cli(capsys, "export", run_id, str(tmp_path / "m.pt"), "--store", str(store))
    assert code == 0 and "torchscript" in out
    scripted = torch.jit.load(str(tmp_path / "m.pt"))
    np.testing.assert_allclose(scripted(torch.from_numpy(raw)).detach().numpy(), expected,
                               atol=1e-5)  # fmt: skip
    code, _, _ = cli(capsys, "export", run_id, str(tmp_path / "m.safetensors"), "--format",
                     "safetensors", "--store", str(store))  # fmt: skip
    from safetensors import safe_open

    with safe_open(str(tmp_path / "m.safetensors"), "pt") as f:
        meta = f.metadata()
        assert json.loads(meta["input_shape"]) == [2] and meta["hone_run"] == run_id
        assert len(json.loads(meta["shift"])) == 2 and any("weight" in k for k in f.keys())  # noqa: SIM118


def test_the_python_export_takes_a_str_path_or_the_format_from_the_suffix(
    trained: tuple[str, np.ndarray, np.ndarray], store: Path, tmp_path: Path
) -> None:
    """``hone.export(run, "safetensors", "m.st")`` raised AttributeError on the str."""
    run_id = trained[0]
    assert hone.export(run_id, "safetensors", str(tmp_path / "a.st"), store=store).is_file()
    path = hone.export(run_id, str(tmp_path / "b.pt"), store=store)  # torchscript by suffix
    assert torch.jit.load(str(path)) is not None
    with pytest.raises(hone.ConfigError, match=r"a file ending \.pt, \.ts, \.onnx"):
        hone.export(run_id, str(tmp_path / "c.bin"), store=store)


def test_onnx_matches_torch_to_1e5(
    trained: tuple[str, np.ndarray, np.ndarray], store: Path, tmp_path: Path
) -> None:
    pytest.importorskip("onnxscript", reason="pip install 'hone[onnx]'")
    ort = pytest.importorskip("onnxruntime", reason="pip install 'hone[onnx]'")
    run_id, raw, expected = trained
    path = hone.export(run_id, "onnx", tmp_path / "m.onnx", store=store)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": raw})
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_export_errors_name_the_fix(
    trained: tuple[str, np.ndarray, np.ndarray], store: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run_id = trained[0]
    code, _, err = cli(capsys, "export", run_id, str(tmp_path / "m"), "--format", "pickle",
                       "--store", str(store))  # fmt: skip
    assert code == 2 and "valid: torchscript, onnx, safetensors" in err
    code, _, err = cli(capsys, "export", run_id, str(tmp_path), "--store", str(store))
    assert code == 2 and "is a folder" in err


@pytest.mark.parametrize(
    ("args", "package", "extra"),
    [
        (["--to", "tensorboard"], "tensorboard", "tracking"),
        (["--format", "onnx"], "onnxscript", "onnx"),
    ],
)
def test_a_missing_extra_is_named_before_anything_is_written_with_a_hint_that_works_here(
    trained: tuple[str, np.ndarray, np.ndarray], store: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    args: list[str], package: str, extra: str,
) -> None:  # fmt: skip
    """The package made unimportable in this process (``sys.modules[name] = None`` is how
    Python marks a module that cannot be imported). hone runs here from a checkout, so the
    hint is an editable install of this checkout, from its root ``.``."""
    import sys

    monkeypatch.setitem(sys.modules, package, None)
    root = Path(hone.__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    target = tmp_path / ("tb" if package == "tensorboard" else "model.onnx")
    code, _, err = cli(capsys, "export", trained[0], str(target), *args, "--store", str(store))
    assert code == 2 and "needs" in err and package in err
    assert f"pip install -e '.[{extra}]'" in err and "'hone[" not in err
    assert not target.exists()  # no empty folder, no half file
    monkeypatch.chdir(tmp_path)  # elsewhere: the checkout's own path
    code, _, err = cli(capsys, "export", trained[0], str(target), *args, "--store", str(store))
    assert f"pip install -e '{root}[{extra}]'" in err.replace("\n", "")


def test_a_mnist_shaped_cnn_exports_with_per_channel_scaling(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    cfg = tiny(**{"data": {"dataset": "digits", "split": "6:2:2"},
                  "data.preprocess.scale": "standard", "train.epochs": 1})  # fmt: skip
    path.write_text(yaml.safe_dump(cfg))
    result = hone.run(path, store=str(store))
    loaded = hone.load(result.run_id, store=store)
    x = np.random.default_rng(0).random((3, *loaded.input_shape), dtype=np.float32)
    assert loaded.predict(x).shape == (3, 10)


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_a_run_exports_to_tensorboard_and_reads_back(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tensorboard", reason="pip install 'hone[tracking]'")
    result = hone.run(tiny(**{"train.epochs": 4}), store=str(store))
    code, out, _ = cli(capsys, "export", result.run_id, str(tmp_path / "tb"), "--to",
                       "tensorboard", "--store", str(store))  # fmt: skip
    assert code == 0 and "tensorboard --logdir" in out
    got = _scalars(tmp_path / "tb" / result.run_id)
    losses = got["epoch/train_loss"]
    assert [s for s, _ in losses] == [1, 2, 3, 4]
    assert [v for _, v in losses] == pytest.approx(result.history["train_loss"], rel=1e-6)
    assert any(tag.startswith("grad_norm/") for tag in got) and "epoch/lr" in got
    assert got["final/test_accuracy"][0][1] == pytest.approx(result.metrics["test_accuracy"])


def test_an_experiment_exports_one_folder_per_variant_and_seed(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tensorboard", reason="pip install 'hone[tracking]'")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny(**{"train.epochs": 2})))
    code, _, _ = cli(capsys, "compare", str(path), "--vary", "train.optimizer.lr=0.001,0.1",
                     "--seeds", "2", "--store", str(store), "--quiet")  # fmt: skip
    _, listing, _ = cli(capsys, "experiments", "list", "--store", str(store), "--json")
    exp_id = json.loads(listing)[0]["id"]
    code, out, _ = cli(capsys, "export", exp_id, str(tmp_path / "tb"), "--to", "tensorboard",
                       "--store", str(store))  # fmt: skip
    assert code == 0 and "wrote 6 run(s)" in out
    seeds = sorted((tmp_path / "tb" / exp_id).glob("*/seed*"))
    assert len(seeds) == 6 and all(_scalars(s)["epoch/val_loss"] for s in seeds)
    code, _, err = cli(capsys, "export", exp_id, str(tmp_path / "x"), "--to", "wandb",
                       "--store", str(store))  # fmt: skip
    assert code == 2 and "valid: tensorboard" in err


def test_a_regression_exports_in_the_targets_units(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Trained on standardised prices, every export answers in prices."""
    from sklearn.metrics import r2_score

    from tests.cli.test_regression import price_config, price_table

    run = hone.run(price_config(tmp_path), store=store)
    x, price = price_table()
    raw = x.astype(np.float32)
    expected = hone.load(run.run_id, store=store).predict(raw)
    assert r2_score(price, expected[:, 0]) >= 0.95  # prices, not standard deviations
    code, _, _ = cli(capsys, "export", run.run_id, str(tmp_path / "m.pt"), "--store", str(store))
    assert code == 0
    scripted = torch.jit.load(str(tmp_path / "m.pt"))
    np.testing.assert_allclose(scripted(torch.from_numpy(raw)).detach().numpy(), expected,
                               rtol=1e-6)  # fmt: skip
    hone.export(run.run_id, "safetensors", tmp_path / "m.safetensors", store=store)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "m.safetensors"), "pt") as f:
        meta = f.metadata()
    assert json.loads(meta["target_shift"])[0] == pytest.approx(price.mean(), rel=0.02)
    assert "target_scale" in meta and "target's units" in meta["transform"]
    if importlib.util.find_spec("onnxscript") and importlib.util.find_spec("onnxruntime"):
        import onnxruntime as ort

        path = hone.export(run.run_id, "onnx", tmp_path / "m.onnx", store=store)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {"input": raw})
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_predict_takes_the_unambiguous_shapes_and_uint8_pixels(store: Path, datasets: Path) -> None:
    """A (1, 28, 28) model: (N, 28, 28), one (28, 28) image and one (1, 28, 28) record are the
    same inputs; uint8 0-255 pixels are scaled to the [0, 1] it trained on; float pixels above
    1 are refused with the fix; a wrong shape names the shape received."""
    data = {"dataset": "mnist", "path": str(datasets / "mnist"),
            "split": {"train": 0.01, "val": 0.01}}  # fmt: skip
    run = hone.run({"data": data, "model": {"hidden": [16]}, "train": {"epochs": 1}}, store=store)
    model = hone.load(run.run_id, store=store)
    assert model.input_shape == (1, 28, 28) and "1, 28, 28" in repr(model)
    pixels = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    floats = pixels.astype(np.float32) / 255.0
    want = model.predict(floats[:, None])
    np.testing.assert_allclose(model.predict(floats), want, rtol=1e-6)
    np.testing.assert_allclose(model.predict(pixels), want, rtol=1e-6)
    np.testing.assert_allclose(model.predict(floats[0]), want[:1], rtol=1e-6)
    np.testing.assert_allclose(model.predict(floats[0][None]), want[:1], rtol=1e-6)
    with pytest.raises(ConfigError, match="divide by 255"):
        model.predict(pixels.astype(np.float32))
    with pytest.raises(ConfigError, match=r"got inputs shaped \(4, 27, 28\); this model takes"):
        model.predict(floats[:, 1:])
    labels = model.predict_classes(pixels)
    assert all(type(label) is int for label in labels) and set(labels) <= set(range(10))


def test_predict_classes_keeps_string_labels(store: Path, tmp_path: Path) -> None:
    csv = tmp_path / "pets.csv"
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{'cat' if a > b else 'dog'}" for a, b in rng.random((120, 2))]
    csv.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    run = hone.run({"data": {"dataset": "csv", "path": str(csv), "target": "label"},
                    "train": {"epochs": 2}}, store=str(store))  # fmt: skip
    labels = hone.load(run.run_id, store=store).predict_classes(np.zeros((3, 2), np.float32))
    assert all(label in ("cat", "dog") for label in labels)


@pytest.mark.parametrize("combine", ["mean_prob", "vote"])
def test_an_ensemble_loads_exports_and_predicts_as_its_members_combined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], combine: str
) -> None:
    """An ensemble run keeps no weights of its own: load, predict and export failed on it
    ("weights.safetensors is missing"). It loads as its members combined as it trained."""
    store = tmp_path / "s"
    run = hone.run({"data": {"dataset": "moons", "split": "6:2:2"}, "model": {"hidden": [8]},
                    "train": {"epochs": 2, "ensemble": {"members": 3, "combine": combine}}},
                   store=str(store))  # fmt: skip
    x = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    from hone.store import RunStore

    with RunStore(store) as rs:
        members = [m["run_id"] for m in rs.get_run(run.run_id).extra["members"]]
    each = np.stack([hone.load(m, store).predict(x) for m in members])
    got = hone.load(run.run_id, store).predict(x)
    if combine == "mean_prob":
        np.testing.assert_allclose(got, each.mean(0), atol=1e-6)
    else:  # each class's share of the votes
        votes = np.eye(2)[each.argmax(2)].mean(0)
        np.testing.assert_allclose(got, votes, atol=1e-6)
    path = hone.export(run.run_id, str(tmp_path / "e.pt"), store=store)
    scripted = torch.jit.load(str(path))
    np.testing.assert_allclose(scripted(torch.from_numpy(x)).detach().numpy(), got, atol=1e-6)
    code, _, err = cli(capsys, "eval", run.run_id, "--store", str(store))
    assert code == 2 and "is an ensemble of 3 runs" in err
