"""How hone meets faults of the machine and inputs that used to slip through: a full disk, a
read-only store, a damaged index, Ctrl-C at each phase of a run, and the inputs of issue 36.
Every fault is real (a small tmpfs or a file-size limit, a read-only bind mount or
permissions, flipped bytes, SIGINT sent to a real process).

Each case ends *clean* (the exit code and message it should have, the store as it should
be), *traceback*, *hang* (over its time limit), *data lost* (a run recorded before the fault
is gone or changed, or a run whose folder is intact did not come back) or *unexpected*
(none of those, but not the exit code, message or state it should have).

    python -m benchmarks.fault_study [--quick] [--seeds 20]

Writes benchmarks/results/fault_study.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import print_table, write_result
from benchmarks.fault_cases import (
    ctrl_c_cases,
    damaged_index_cases,
    full_disk_cases,
    input_cases,
    read_only_cases,
)

OUTCOMES = ("clean", "traceback", "hang", "data lost", "unexpected")


@dataclass
class Case:
    family: str
    name: str
    check: Callable[[Path], str]  # returns an outcome; "" for clean, else what was wrong


def run_case(case: Case, folder: Path, limit: float = 300) -> tuple[str, str]:
    work = folder / f"{case.family}-{case.name}".replace(" ", "_").replace("/", "_")
    work.mkdir(parents=True)
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            problem = case.check(work)
    except subprocess.TimeoutExpired:
        return "hang", "timed out"
    except Exception:
        return "traceback", traceback.format_exc(limit=4)[-600:]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if time.monotonic() - started > limit:
        return "hang", f"took {time.monotonic() - started:.0f} s"
    if not problem:
        return "clean", ""
    outcome = problem.split(":", 1)[0]
    return (outcome if outcome in OUTCOMES else "unexpected"), problem


def cases(quick: bool, seeds: int) -> list[Case]:
    out: list[Case] = []
    for family, found in (
        ("full disk", full_disk_cases(quick)),
        ("read-only store", read_only_cases(quick)),
        ("damaged index", damaged_index_cases(quick, seeds)),
        ("Ctrl-C", ctrl_c_cases(quick)),
        ("inputs", input_cases(quick)),
    ):
        out += [Case(family, name, check) for name, check in found]
    return out


def study(quick: bool = False, seeds: int = 20) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = {}
    details: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="hone-faults-") as tmp:
        for case in cases(quick, seeds):
            outcome, detail = run_case(case, Path(tmp))
            counts.setdefault(case.family, Counter())[outcome] += 1
            if outcome != "clean":
                details.append({"family": case.family, "case": case.name, "outcome": outcome,
                                "detail": detail})  # fmt: skip
                print(outcome.upper(), case.family, case.name, detail[:400], file=sys.stderr)
    return {"counts": {k: dict(v) for k, v in counts.items()}, "not_clean": details}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one or two cases per family")
    parser.add_argument("--seeds", type=int, default=20, help="damaged-index variants")
    args = parser.parse_args()
    started = time.perf_counter()
    result = study(args.quick, args.seeds)
    rows = [[family, sum(c.values()), *(c.get(o, 0) for o in OUTCOMES)]
            for family, c in result["counts"].items()]  # fmt: skip
    print_table("fault study", ["family", "tried", *OUTCOMES], rows)
    result["seconds"] = time.perf_counter() - started
    print("wrote", write_result("fault_study" + ("_quick" if args.quick else ""), result))


__all__ = ["Case", "run_case", "study"]

if __name__ == "__main__":
    main()
