"""A cheaper start: a fresh ``hone run examples/moons.yaml --set train.epochs=1``, end to end.

Each sample is a new process, timed from outside (wall seconds): the hone command, and, as
its floor, ``python -c "import torch"``. Contenders alternate, order rotated each repeat.
Then one ``python -X importtime`` run of the command: what it imported (torch, and whether
``torch._dynamo``, scikit-learn or SciPy were on the path) with their cumulative import times.

    python -m benchmarks.startup            # 7 repeats
    python -m benchmarks.startup --quick    # 2 repeats

Writes benchmarks/results/startup[-quick].json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.common import ROOT, load, print_table, write_result

WATCHED = ("torch", "torch._dynamo", "sklearn", "scipy", "optuna", "hone")


def commands(store: str) -> dict[str, list[str]]:
    return {
        "hone run moons, 1 epoch": [sys.executable, "-m", "hone.cli", "run",
                                    str(ROOT / "examples" / "moons.yaml"), "--set",
                                    "train.epochs=1", "--store", store, "--quiet"],
        "import torch (floor)": [sys.executable, "-c", "import torch"],
    }  # fmt: skip


def wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def import_times(cmd: list[str]) -> dict[str, float]:
    """Cumulative import seconds of the watched top-level modules (absent: not imported)."""
    done = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], check=True,
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        name = name.strip()
        if name in WATCHED:
            found[name] = max(found.get(name, 0.0), int(cumulative) / 1e6)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else 7
    with tempfile.TemporaryDirectory() as store:
        cmds = commands(store)
        wall(cmds["hone run moons, 1 epoch"])  # warm the file cache, not measured
        names = list(cmds)
        samples: dict[str, list[float]] = {n: [] for n in names}
        before = load()
        for r in range(repeats):
            for name in names[r % 2 :] + names[: r % 2]:
                samples[name].append(wall(cmds[name]))
        after = load()
        imports = import_times(cmds["hone run moons, 1 epoch"])
    rows = [[n, statistics.median(s), min(s), len(s)] for n, s in samples.items()]
    print_table(f"fresh-process wall seconds; load {before:.2f} → {after:.2f}",
                ["command", "median s", "min s", "n"], rows)  # fmt: skip
    print("imported by the hone command (cumulative s, -X importtime): "
          + ", ".join(f"{k} {v:.2f}" for k, v in imports.items()))  # fmt: skip
    missing = [k for k in ("torch._dynamo", "sklearn", "scipy") if k not in imports]
    print(f"not imported: {', '.join(missing) or 'none'}")
    payload: dict[str, Any] = {"samples": samples, "imports": imports, "not_imported": missing,
                               "load_before": before, "load_after": after}  # fmt: skip
    print("results:", write_result("startup" + ("-quick" if args.quick else ""), payload))


if __name__ == "__main__":
    main()
