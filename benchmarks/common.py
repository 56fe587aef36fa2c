"""Shared benchmark helpers: machine info, medians, result tables and JSON files."""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DATASETS = Path(os.environ.get("HONE_TEST_DATASETS", ROOT.parent / "shared" / "datasets"))


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": "cpu",
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
    return info


def load() -> float:
    """The 1-minute load average: other work on the machine, stated beside every figure."""
    return os.getloadavg()[0]


def interleaved(
    contenders: dict[str, Callable[[Any], Any]],
    repeats: int,
    prepare: Callable[[str], Any] = lambda name: None,
) -> dict[str, dict[str, Any]]:
    """Time each contender ``repeats`` times, interleaved, rotating the order in every repeat
    (so drift in machine load and warm caches favour none). Wall and process CPU seconds per
    sample; medians, minima, n and the spread (max/min of wall) per contender.
    ``prepare(name)`` runs before every sample, untimed, and its result is the contender's
    argument (a freshly built run). A contender may return a dict of extra fields (the last
    one is kept, e.g. its accuracy)."""
    names = list(contenders)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    extra: dict[str, dict[str, Any]] = {k: {} for k in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            arg = prepare(name)
            gc.collect()
            w0, c0 = time.perf_counter(), time.process_time()
            got = contenders[name](arg)
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
            if isinstance(got, dict):
                extra[name] = got
    return {
        k: {
            "n": len(wall[k]),
            "median_s": statistics.median(wall[k]),
            "min_s": min(wall[k]),
            "spread": max(wall[k]) / max(min(wall[k]), 1e-12),
            "median_cpu_s": statistics.median(cpu[k]),
            "wall_s": wall[k],
            "cpu_s": cpu[k],
            **extra[k],
        }
        for k in names
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "machine": machine_info(),
        "when": time.strftime("%F %T"),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=1))
    return path


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in header:
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    console = Console()
    if not console.is_terminal:
        console.width = 160  # a log or file: do not squeeze the columns to 80
    console.print(table)
