"""A cheaper start: a fresh ``hone run examples/moons.yaml --set train.epochs=1``, end to end.

Each sample is a new process, timed from outside (wall seconds): the hone command, and, as
its floor, ``python -c "import torch"``. Contenders alternate, order rotated each repeat.
Then one ``python -X importtime`` run of the command: what it imported (torch, and whether
``torch._dynamo``, scikit-learn or SciPy were on the path) with their cumulative import times.

hone is timed as an installed package runs: its bytecode compiled once and cached (pip
compiles a wheel's modules when it installs them). A third contender runs hone from a copy of
``src/`` with ``PYTHONDONTWRITEBYTECODE=1``, as an editable checkout does on a machine that sets
it (the development VM does): every one of hone's ~150 modules compiled from source each time.

    python -m benchmarks.startup            # 7 repeats
    python -m benchmarks.startup --quick    # 2 repeats

Writes benchmarks/results/startup[-quick].json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, load, print_table, write_result

WATCHED = ("torch", "torch._dynamo", "sklearn", "scipy", "optuna", "hone")


HONE = "hone run moons, 1 epoch"
UNCACHED = f"{HONE}, no bytecode cache"


def commands(
    store: str, before: Path | None, uncached: Path
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each contender's command line and environment (``PYTHONPATH``: which hone it runs;
    ``before``: another checkout's ``src``, e.g. the main branch, as another contender;
    ``uncached``: a copy of ``src`` without bytecode, run with ``PYTHONDONTWRITEBYTECODE``)."""
    run = [sys.executable, "-m", "hone.cli", "run", str(ROOT / "examples" / "moons.yaml"),
           "--set", "train.epochs=1", "--store", store, "--quiet"]  # fmt: skip
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = {**cached, "PYTHONPATH": str(ROOT / "src")}
    out = {HONE: (run, env), "import torch (floor)": ([sys.executable, "-c", "import torch"], env)}
    shutil.copytree(ROOT / "src", uncached, ignore=shutil.ignore_patterns("__pycache__"))
    out[UNCACHED] = (run, {**env, "PYTHONPATH": str(uncached), "PYTHONDONTWRITEBYTECODE": "1"})
    if before is not None:
        out[f"{HONE} (before: {before})"] = (run, {**env, "PYTHONPATH": str(before)})
    return out


def wall(cmd: tuple[list[str], dict[str, str]]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd[0], check=True, capture_output=True, cwd=ROOT, env=cmd[1])
    return time.perf_counter() - started


def import_times(cmd: tuple[list[str], dict[str, str]]) -> tuple[dict[str, float], list[Any]]:
    """Cumulative import seconds of the watched top-level modules (absent: not imported), and
    the top-level packages by their own cumulative time, slowest first: what is left."""
    argv = cmd[0]
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], check=True,
                          capture_output=True, text=True, cwd=ROOT, env=cmd[1])  # fmt: skip
    found: dict[str, float] = {}
    top: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        seconds, module = int(cumulative) / 1e6, name.strip()
        if module in WATCHED:
            found[module] = max(found.get(module, 0.0), seconds)
        if not name.startswith("  "):  # " module": imported at the top level, not by another
            top[module] = max(top.get(module, 0.0), seconds)
    return found, sorted(top.items(), key=lambda kv: -kv[1])[:12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--before", type=Path, help="another checkout's src/, timed alongside")
    args = parser.parse_args()
    repeats = 2 if args.quick else 7
    with tempfile.TemporaryDirectory() as store:
        cmds = commands(store, args.before, Path(store) / "uncached-src")
        for cmd in cmds.values():
            wall(cmd)  # warm the file cache (and write hone's bytecode), not measured
        names = list(cmds)
        samples: dict[str, list[float]] = {n: [] for n in names}
        before = load()
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                samples[name].append(wall(cmds[name]))
        after = load()
        imports, top = import_times(cmds[HONE])
    rows = [[n, statistics.median(s), min(s), len(s)] for n, s in samples.items()]
    print_table(f"fresh-process wall seconds; load {before:.2f} → {after:.2f}",
                ["command", "median s", "min s", "n"], rows)  # fmt: skip
    print("imported by the hone command (cumulative s, -X importtime): "
          + ", ".join(f"{k} {v:.2f}" for k, v in imports.items()))  # fmt: skip
    print("top-level imports, cumulative s: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    floor = statistics.median(samples["import torch (floor)"])
    for name in names:
        median = statistics.median(samples[name])
        print(f"{name}: {median / floor:.2f}x import torch, {median - floor:+.2f} s")
    missing = [k for k in ("torch._dynamo", "sklearn", "scipy") if k not in imports]
    print(f"not imported: {', '.join(missing) or 'none'}")
    payload: dict[str, Any] = {"samples": samples, "imports": imports, "not_imported": missing,
                               "top_imports": top,
                               "load_before": before, "load_after": after}  # fmt: skip
    print("results:", write_result("startup" + ("-quick" if args.quick else ""), payload))


if __name__ == "__main__":
    main()
