"""``hone run --repair``: an early critical finding restarts the run with its top
prescription; every attempt is recorded and linked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import hone
from hone.store import RunStore
from tests.cli.test_app import cli
from tests.conftest import tiny


def test_a_far_too_high_lr_is_repaired_into_a_better_completed_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "c.yaml"
    far_too_high = {"train.epochs": 40, "train.optimizer": {"name": "adam", "lr": 3.0}}
    config.write_text(yaml.safe_dump(tiny(**far_too_high)))
    code, out, err = cli(capsys, "run", str(config), "--repair", "--json", "--store", str(store))
    assert code == 0, err
    final = json.loads(out)
    assert final["status"] == "completed" and final["epochs_run"] == 40
    [repair] = final["repairs"]
    assert repair["code"] == "lr_too_high" and repair["patch"]["train.optimizer.lr"] < 0.1
    with RunStore(store) as rs:
        bad, good = rs.get_run(repair["run_id"]), rs.get_run(final["run_id"])
    assert bad.status == "stopped" and bad.epochs_run <= 10  # stopped early, not at epoch 40
    assert bad.extra["repaired_by"] == good.id and good.extra["repair_of"] == bad.id
    assert good.config["train"]["optimizer"]["lr"] == repair["patch"]["train.optimizer.lr"]
    assert good.metrics["val_accuracy"] > bad.metrics["val_accuracy"]
    assert good.metrics["val_loss"] < bad.metrics["val_loss"] / 2
    code, shown, _ = cli(capsys, "runs", "show", bad.id, "--store", str(store))
    assert f"repaired by run {good.id}" in shown and "while training: epoch" in shown
    page = tmp_path / "bad.html"
    code, _, err = cli(capsys, "report", bad.id, "--out", str(page), "--store", str(store))
    html = page.read_text()
    assert code == 0 and "While it trained" in html
    assert f'Repaired by run <a href="{good.id}' in html
    # A run cut short at epoch 5 of 40 is never told to "train longer" with fewer epochs.
    for finding in hone.diagnose(bad.id, store=store).findings:
        assert all(p.patch.get("train.epochs", 41) > 40 for p in finding.prescriptions)


def test_a_healthy_run_is_not_repaired(store: Path) -> None:
    result = hone.run(tiny(**{"train.epochs": 20}), store=store, repair=2)
    assert result.status == "completed" and result.notes["repairs"] == []
    with RunStore(store) as rs:
        assert len(rs.list_runs()) == 1


def test_a_divergence_at_the_start_is_repaired(store: Path) -> None:
    config = tiny(**{"train.epochs": 20, "train.optimizer": {"name": "sgd", "lr": 50.0},
                     "model.hidden": [64, 64]})  # fmt: skip
    first = hone.run(config, store=store)
    assert first.status == "diverged"  # the premise: this config diverges on its own
    result = hone.run(config, store=store, repair=2)
    assert result.status == "completed" and result.notes["repairs"]
    assert result.notes["repairs"][0]["code"] == "lr_too_high"


def test_the_last_attempt_is_never_cut_short(store: Path) -> None:
    # Symmetric zero weights and a far too high lr: one repair fixes one of them, and the
    # last attempt trains to the end whatever live diagnosis sees.
    config = tiny(**{"train.epochs": 30, "model.init": "zeros", "model.hidden": [32, 32],
                     "train.optimizer": {"name": "adam", "lr": 3.0}})  # fmt: skip
    result = hone.run(config, store=store, repair=1)
    assert len(result.notes["repairs"]) == 1
    assert result.epochs_run == 30 and result.status in ("completed", "diverged")


def test_a_prescription_the_probe_refuted_is_not_the_repair(store: Path) -> None:
    """A diagnosis whose top prescription a probe refuted restarts with the next one."""
    from hone.diagnose import Diagnosis
    from hone.runs import diagnose_recorded
    from hone.runs.restart import run_with_repair

    refuted: list[dict[str, object]] = []

    def diagnose(run_id: str, root: Path) -> Diagnosis:
        with RunStore(root) as rs:
            found = diagnose_recorded(run_id, rs)
        top = next(f for f in found.findings if f.severity == "critical")
        first = next(p for p in top.prescriptions if p.patch)
        top.probe = {"verdict": "refuted", "patch": first.patch}
        refuted.append(first.patch)
        return found

    config = tiny(**{"train.epochs": 40, "train.optimizer": {"name": "adam", "lr": 3.0}})
    result = run_with_repair(config, attempts=1, store=store, diagnose=diagnose)
    [repair] = result.notes["repairs"]
    assert refuted and repair["patch"] and repair["patch"] != refuted[0]
