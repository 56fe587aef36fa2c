"""The generated diagnosis suite: faulty runs built by fault injection, judged against what
each is known to hold by construction (issue 31, item 5).

Families (dataset x architecture) start from a healthy config; each case injects one fault
at a random strength (or is a healthy or noise-floor control), trains with ``hone.run``,
is diagnosed with ``hone.diagnose`` and judged: the expected finding *and* the setting that
caused it (``Finding.causes``). Whole families go to a development or a held-out half.

    python -m benchmarks.diagnosis_generated                  # 320 cases, both halves
    python -m benchmarks.diagnosis_generated --quick --half dev
    python -m benchmarks.diagnosis_generated --verify         # does the top prescription help?

Writes benchmarks/results/generated.json (every case, its label, findings and verdict).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import DATASETS, RESULTS, ROOT, machine_info
from benchmarks.faultgen.cases import build_suite
from benchmarks.faultgen.faults import CONTROLS, FAULTS
from benchmarks.faultgen.report import print_report
from benchmarks.faultgen.runner import Runner, probe_supported
from benchmarks.faultgen.summary import summarize


def default_datasets() -> Path:
    """benchmarks.common's folder (``../shared/datasets``), or from a worktree two levels
    down (``/work/wt/X``) the shared folder beside the main checkout's parent."""
    for folder in (DATASETS, ROOT.parent.parent / "shared" / "datasets"):
        if (folder / "mnist").is_dir():
            return folder
    return DATASETS


KINDS = len(FAULTS) + len(CONTROLS) + 1  # healthy controls are dealt twice a round


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", type=int, default=None, help="cases to generate (default 320)")
    p.add_argument("--seed", type=int, default=0, help="the generator's seed")
    p.add_argument("--half", choices=["dev", "heldout", "both"], default="both")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"one round: each fault and control once per half ({2 * KINDS} cases)",
    )
    p.add_argument("--only", default="", help="comma-separated faults/controls")
    p.add_argument("--out", type=Path, default=RESULTS / "generated.json")
    p.add_argument(
        "--datasets",
        type=Path,
        default=default_datasets(),
        help="folder with mnist/ and fashion-mnist/ IDX files",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="apply each top prescription (same seed) and compare the val metric",
    )
    p.add_argument("--probe", action="store_true", help="diagnose with probe=True if available")
    p.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="work in this folder and keep it (the runs, to look at a case again)",
    )
    args = p.parse_args(argv)
    if args.n is None:
        args.n = 2 * KINDS if args.quick else 320
    return args


def run_suite(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    mnist = (args.datasets / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    if not mnist:
        print(f"MNIST-style families left out: no IDX files under {args.datasets}")
    only = [k for k in args.only.split(",") if k] or None
    suite = build_suite(args.n, args.seed, args.datasets, work / "files", only, mnist=mnist)
    cases = [c for c in suite.cases if args.half in ("both", c.half)]
    probe = {"asked": args.probe, "available": probe_supported()}
    if args.probe and not probe["available"]:
        print("--probe: not available (this hone's hone.diagnose takes no probe= argument)")
    runner = Runner(work / "store", verify=args.verify, probe=args.probe)
    records = []
    for i, case in enumerate(cases, 1):
        rec = runner.run(case)
        records.append(rec)
        print(_line(i, len(cases), rec), flush=True)
    return {
        "layout": suite.layout(),
        "probe": probe,
        "records": records,
        "twins_trained": len(runner.twins),
    }


def _line(i: int, total: int, rec: dict[str, Any]) -> str:
    head = f"[{i:3d}/{total}] {rec['half']:7s} {rec['fault']:12s} {rec['family']:22s}"
    if "error" in rec:
        return f"{head} ERROR {rec['error'][:80]}"
    v = rec["verdict"]
    mark = "ok " if v["correct"] else "~  " if v["code_ok"] else "BAD"
    weak = " weak" if not rec["materialised"] else ""
    codes = ",".join(f"{f['code']}:{f['severity'][0]}" for f in rec["findings"])
    return f"{head} {mark}{weak} {codes} ({rec['seconds']:.1f}s)"


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    torch.set_num_threads(1)  # one core per run; the machine is shared
    started = time.perf_counter()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        out = run_suite(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="hone-generated-") as tmp:
            out = run_suite(args, Path(tmp))
    seconds = time.perf_counter() - started
    summary = summarize(out["records"])
    summary["seconds"] = round(seconds, 1)
    summary["twins_trained"] = out["twins_trained"]
    print_report(summary, out["layout"], out["probe"], out["records"])
    payload = {
        "benchmark": "diagnosis_generated",
        "machine": machine_info(),
        "when": time.strftime("%F %T"),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "layout": out["layout"],
        "probe": out["probe"],
        "summary": summary,
        "cases": out["records"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1, default=str))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
