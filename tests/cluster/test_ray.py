"""``--backend ray`` on a real Ray cluster on this machine (no mocks of Ray).

One ``ray.init(num_cpus=2)`` serves these in-process tests; ``test_ray_cluster.py`` starts a
real two-node cluster. Both modules are one xdist group, run in order by one worker, so the
in-process Ray is shut down before the cluster starts.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hone
from hone.cluster import Backend, parse_backend
from hone.cluster.backend import _split_address
from hone.config import load_config
from hone.errors import ConfigError
from hone.experiments.compare import plan_experiment, run_pending, summarize_experiment
from hone.experiments.datacurve import data_curve
from hone.experiments.ray_tasks import RayRunFailed
from hone.experiments.tune import parse_space, tune
from hone.experiments.variants import grid
from hone.store import RunStore
from tests.conftest import tiny

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")  # one worker runs them in order: one cluster at a time
RAY_BIN = Path(sys.executable).with_name("ray")
HONE_BIN = Path(sys.executable).with_name("hone")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Backend]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield Backend("ray")
    ray.shutdown()


def _compare(store: Path, backend: Backend | None, seeds: int = 2, **overrides: Any) -> dict:
    base = load_config(tiny(**overrides))
    with RunStore(store) as rs:
        variants = grid(base, ["train.optimizer.lr=0.02,0.05"])
        exp_id = plan_experiment(rs, "compare", base, variants, [0, 1, 2][:seeds], "val_accuracy")
        run_pending(rs, exp_id, None, backend=backend, stack="off")
        return summarize_experiment(rs, exp_id)


@pytest.fixture
def listening() -> Iterator[str]:
    """An address something answers at (the probe only needs a TCP listener)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield f"127.0.0.1:{s.getsockname()[1]}"


def test_parse_backend_names_the_flag(listening: str) -> None:
    with pytest.raises(ConfigError, match="--backend: 'spark'"):
        parse_backend("spark")
    with pytest.raises(ConfigError, match="--address: only with --backend ray"):
        parse_backend("local", "127.0.0.1:6379")
    assert parse_backend("ray").address == "auto"
    assert parse_backend("ray", listening).address == listening


def test_address_defaults_to_hone_ray_address(
    monkeypatch: pytest.MonkeyPatch, listening: str
) -> None:
    monkeypatch.setenv("HONE_RAY_ADDRESS", listening)
    assert parse_backend("ray").address == listening


def test_an_address_nothing_answers_at_is_refused_at_once(tmp_path: Path) -> None:
    assert _split_address("auto") is None
    assert _split_address("ray://10.0.0.1:10001") == ("10.0.0.1", 10001)
    assert _split_address("[::1]:6379") == ("::1", 6379)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(tiny()))
    cmd = [str(HONE_BIN), "compare", str(cfg), "--vary", "train.l2=0.01", "--backend", "ray",
           "--address", f"127.0.0.1:{_free_port()}", "--store", str(tmp_path / "s")]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "--address: nothing answers at 127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "s" / "experiments").exists()  # refused before anything is planned


def test_local_commands_never_import_ray(tmp_path: Path) -> None:
    code = (
        "import sys, hone; from tests.conftest import tiny;"
        f"hone.compare(tiny(), vary=['train.optimizer.lr=0.01,0.05'], seeds=2, "
        f"store={str(tmp_path)!r});"
        "print('ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[2], timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_compare_on_ray_gives_the_local_per_seed_metrics(
    local_ray: Backend, tmp_path: Path
) -> None:
    here = _compare(tmp_path / "local", None)
    there = _compare(tmp_path / "ray", local_ray)
    assert there["complete"] and there["runs_done"] == there["runs_planned"] == 6
    assert [v["values"] for v in there["variants"]] == [v["values"] for v in here["variants"]]
    with RunStore(tmp_path / "ray") as rs:
        runs = rs.list_runs()
        assert len(runs) == 6 and all(r.status == "completed" for r in runs)
        assert all(r.config["store"] == str(tmp_path / "ray") for r in runs)
        assert all(rs.load_weights(r.id) for r in runs)  # weights came back with the record


def test_stacked_seeds_train_as_one_ray_task(local_ray: Backend, tmp_path: Path) -> None:
    base = load_config(tiny())
    with RunStore(tmp_path) as rs:
        exp_id = plan_experiment(rs, "compare", base, grid(base, ["train.l2=0,0.01"]),
                                 [0, 1, 2], "val_accuracy")  # fmt: skip
        run_pending(rs, exp_id, None, backend=local_ray, stack="auto")
        runs = rs.list_runs()
    assert len(runs) == 9  # baseline, l2 0 (same as baseline), l2 0.01: 3 seeds each
    assert all(r.extra.get("stacked", {}).get("members") == 3 for r in runs)


def test_init_from_a_run_in_the_driver_store_reaches_the_worker(
    local_ray: Backend, tmp_path: Path
) -> None:
    source = hone.run(tiny(), store=tmp_path).run_id
    base = load_config(tiny(**{"model.init_from": source}))
    with RunStore(tmp_path) as rs:
        exp_id = plan_experiment(rs, "compare", base, grid(base, ["train.l2=0.01"]), [0, 1],
                                 "val_accuracy")  # fmt: skip
        run_pending(rs, exp_id, None, backend=local_ray, stack="off")
        summary = summarize_experiment(rs, exp_id)
        runs = rs.list_runs()
    assert summary["complete"]
    assert len(runs) == 1 + 4  # the source once, and each new run; the source is not copied
    assert sum(r.id == source for r in runs) == 1
    assert all(r.extra.get("init_from", {}).get("run") == source or r.id == source for r in runs)


def test_a_run_that_raises_on_a_worker_names_its_variant(
    local_ray: Backend, tmp_path: Path
) -> None:
    base = load_config(tiny())
    with RunStore(tmp_path) as rs:
        # a variant whose model is refused when the worker builds it (the memory check)
        exp_id = plan_experiment(rs, "compare", base, grid(base, ["model.hidden=[100000,100000]"]),
                                 [0], "val_accuracy")  # fmt: skip
        with pytest.raises(RayRunFailed, match=r"model.hidden=.* seed 0 failed on a Ray worker"):
            run_pending(rs, exp_id, None, backend=local_ray, stack="off")
        baseline = [r for r in rs.get_experiment(exp_id).runs if r["variant"] == "baseline"]
    assert len(baseline) <= 1  # what finished before the failure stays recorded and linked


def test_tune_on_ray_prunes_while_trials_run(local_ray: Backend, tmp_path: Path) -> None:
    base = load_config(tiny(train__epochs=8))
    space = {"train.optimizer.lr": {"type": "float", "low": 1e-4, "high": 0.3, "log": True}}
    result = tune(base, parse_space(space, base), trials=8, metric="val_accuracy",
                  store=str(tmp_path), storage=None, study_name="s", sampler="random",
                  pruner="median", jobs=2, backend=local_ray)  # fmt: skip
    assert sum(v for k, v in result.counts.items() if k != "diverged") == 8
    finished = [t for t in result.trials if t["state"] in ("complete", "pruned")]
    assert len(finished) == 8
    # intermediate values reached the study from inside the running trials
    assert all(t["intermediate"] for t in finished)
    with RunStore(tmp_path) as rs:
        ids = {r.id for r in rs.list_runs()}
    assert {t["run_id"] for t in result.trials} <= ids
    pruned = [t for t in result.trials if t["state"] == "pruned"]
    for t in pruned:  # a pruned trial stopped before its last epoch
        assert max(int(k) for k in t["intermediate"]) < 8


def test_datacurve_on_ray_equals_local(local_ray: Backend) -> None:
    cfg = load_config(tiny(train__epochs=3))
    here = data_curve(cfg, [0.5, 1.0], seeds=2, stack="off").to_json()
    there = data_curve(cfg, [0.5, 1.0], seeds=2, backend=local_ray, jobs=2).to_json()
    assert there["points"] == here["points"] and there["verdict"] == here["verdict"]


# -- a two-node cluster started with `ray start` -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
