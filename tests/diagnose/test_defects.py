"""Defects seen in wave 1, each reproduced on a real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hone
from hone.cli import main
from hone.diagnose import diagnose_run, load_evidence
from hone.store import RunStore
from tests.conftest import tiny


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def test_diverged_runs_are_diagnosed_and_reported(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    """NaN losses store null gradient norms; diagnose and report must still work."""
    result = hone.run(tiny(**{"train.optimizer": {"name": "sgd", "lr": 1e4}}), store=str(store))
    assert result.status == "diverged"
    code, out, err = cli(capsys, "diagnose", result.run_id, "--json", "--store", str(store))
    assert code == 0, err
    payload = json.loads(out)
    assert payload["findings"][0]["code"] == "lr_too_high" and not payload["unjudged"]
    code, _, err = cli(capsys, "report", result.run_id, "--store", str(store))
    assert code == 0, err


def test_sgd_lr_40_is_too_high_and_nothing_raises_the_lr(store: Path) -> None:
    result = hone.run(
        tiny(**{"train.optimizer": {"name": "sgd", "lr": 40.0}, "train.epochs": 8}),
        store=str(store),
    )
    with RunStore(store) as rs:
        diagnosis = diagnose_run(load_evidence(rs, result.run_id))
    codes = [f.code for f in diagnosis.findings]
    assert codes[0] == "lr_too_high" and "lr_too_low" not in codes
    for f in diagnosis.findings:
        for p in f.prescriptions:
            lr = p.patch.get("train.optimizer.lr") or (p.patch.get("train.optimizer") or {}).get(
                "lr"
            )
            assert lr is None or lr < 40.0, (f.code, p.patch)


def test_constant_init_names_its_symmetric_layers(store: Path) -> None:
    result = hone.run(
        tiny(**{"model.init": "constant", "model.init_value": 0.05, "model.hidden": [8, 8]}),
        store=str(store),
    )
    with RunStore(store) as rs:
        findings = {f.code: f for f in diagnose_run(load_evidence(rs, result.run_id)).findings}
    assert findings["bad_init"].evidence["symmetric_layers"] == ["hidden1.act", "hidden2.act"]


def test_prescriptions_are_rounded_and_paste_into_a_shell(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    import shlex

    result = hone.run(
        tiny(**{"train.optimizer": {"name": "sgd", "lr": 0.000333333}, "train.epochs": 12}),
        store=str(store),
    )
    code, out, _ = cli(capsys, "diagnose", result.run_id, "--store", str(store))
    assert code == 0
    for line in out.splitlines():
        if "--set" in line:
            args = shlex.split(line)  # pastes into bash as printed
            for arg in args:
                if "=" in arg:
                    assert "0000000" not in arg and "9999999" not in arg, arg


def test_diagnose_patch_writes_the_patched_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    result = hone.run(tiny(**{"train.optimizer": {"name": "sgd", "lr": 40.0}}), store=str(store))
    target = tmp_path / "patched.yaml"
    code, _, err = cli(
        capsys, "diagnose", result.run_id, "--patch", str(target), "--store", str(store)
    )
    assert code == 0, err
    patched = hone.load_config(target)
    assert patched.train.optimizer.lr < 40.0


def test_center_box_can_be_given_in_yaml(tmp_path: Path) -> None:
    result = hone.run(
        tiny(**{"data.params": {"n_samples": 120, "center_box": [-4, 4]}, "train.epochs": 2}),
        store=str(tmp_path / "s"),
    )
    assert result.status == "completed"
