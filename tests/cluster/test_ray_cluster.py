"""``--backend ray`` against a real two-node Ray cluster on this machine: a head and a second
node started with ``ray start`` on 127.0.0.1, ``hone --address`` pointed at them (no mocks)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hone.store import RunStore
from tests.conftest import tiny

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")  # with test_ray.py: one Ray at a time, in order
RAY_BIN = Path(sys.executable).with_name("ray")
HONE_BIN = Path(sys.executable).with_name("hone")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([str(RAY_BIN), *args], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, (
        f"ray {' '.join(args)}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, dict[str, str]]]:
    if not RAY_BIN.exists():
        pytest.skip("the ray command is not installed")
    port = _free_port()
    # short: Ray's socket paths under it must stay within AF_UNIX's 107 bytes, which a
    # pytest-xdist worker's tmp_path (…/popen-gw1/ray0/session_…/sockets/…) exceeds
    temp = Path(tempfile.mkdtemp(prefix="hone-ray-"))
    # token authentication (Ray's default for clusters) with a token of this test's own
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
           "RAY_USAGE_STATS_ENABLED": "0"}  # fmt: skip
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    _ray(env, "start", "--head", "--port", str(port), "--include-dashboard", "false",
         "--temp-dir", str(temp), *common)  # fmt: skip
    try:
        _ray(env, "start", "--address", address, *common)
        yield address, env
    finally:
        subprocess.run([str(RAY_BIN), "stop", "--force"], env=env, capture_output=True,
                       timeout=120)  # fmt: skip
        shutil.rmtree(temp, ignore_errors=True)


def _task_pids(name: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().startswith(f"ray::{name}".encode()):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_a_worker_killed_mid_run_is_retried_with_no_duplicates(
    cluster: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    address, env = cluster
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(tiny(train__epochs=150, data__params__n_samples=600)))
    cmd = [str(HONE_BIN), "compare", str(cfg), "--vary", "train.optimizer.lr=0.02,0.05",
           "--seeds", "2", "--stack", "off", "--backend", "ray", "--address", address,
           "--store", str(tmp_path / "s"), "--json", "-q"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    killed = None
    deadline = time.monotonic() + 90
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        pids = _task_pids("train_unit")
        if pids:
            time.sleep(0.5)  # mid-run, not at its start
            os.kill(pids[0], signal.SIGKILL)
            killed = pids[0]
        time.sleep(0.1)
    out, err = proc.communicate(timeout=300)
    assert killed is not None, "no Ray worker was seen training"
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["complete"] and summary["runs_done"] == summary["runs_planned"] == 6
    with RunStore(tmp_path / "s") as rs:
        runs = rs.list_runs()
        linked = rs.get_experiment(summary["experiment"]).runs
    # one recorded run per (variant, seed): the killed attempt left nothing in the store
    assert len(runs) == 6 and all(r.status == "completed" for r in runs)
    assert sorted(r["run_id"] for r in linked) == sorted(r.id for r in runs)


def test_tune_cli_on_a_two_node_cluster(
    cluster: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    address, env = cluster
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(tiny()))
    space = tmp_path / "space.yaml"
    space.write_text("train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}\n")
    cmd = [str(HONE_BIN), "tune", str(cfg), "--space", str(space), "--trials", "4",
           "--seeds-final", "2", "--backend", "ray", "--address", address,
           "--store", str(tmp_path / "s"), "--json"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads(done.stdout)
    assert payload["counts"]["complete"] + payload["counts"]["pruned"] == 4
    assert payload["final"]["complete"]
    with RunStore(tmp_path / "s") as rs:
        assert len(rs.list_runs()) == 4 + 2
