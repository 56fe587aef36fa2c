"""How fast stacked trials could be: the stacked arithmetic alone against a plain Optuna study.

``benchmarks/stacked_tune.py`` measures ``hone tune --stack auto`` against a plain Optuna
study driving a plain loop. This asks what is left to win: for each study seed it trains the
same number of trials, in the stacks a TPE study of that size trains (10, 10, 20, 24 for 64:
``hone.experiments.tune.stacked``'s in-flight rule), with hone's stacked loop and **no**
per-member bookkeeping (no history records to the store, telemetry, live diagnosis,
checkpoints, Optuna reports; parameters drawn at random from the same space), and the plain
study beside it. Their ratio is the most stacking can give on this machine; the study's own
ratio (run here too) over it says what share of that the bookkeeping keeps.

    python -m benchmarks.stacked_ceiling              # 5 seeds, ~4 minutes on 2 quiet cores
    python -m benchmarks.stacked_ceiling --seeds 10

Writes benchmarks/results/stacked_ceiling.json with the machine and its load.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

import optuna

from benchmarks.common import load, machine_info, print_table, write_result
from benchmarks.stacked_tune import MOONS_SPACE, hone_study, moons, plain_study
from hone.assemble import build_run, load_run_data
from hone.config import Config, load_config
from hone.experiments.stats import summarize
from hone.experiments.tune.samplers import TPE_STARTUP
from hone.experiments.tune.stacked import LIE_SHARE, MAX_SIZE
from hone.runs.stacking import stack_runs

EPOCHS, TRIALS = 30, 64


def tpe_stacks(trials: int) -> list[int]:
    """The stack sizes a TPE study of ``trials`` trains (the in-flight rule, one stack at a
    time: each as wide as the trials finished allow)."""
    sizes: list[int] = []
    finished = 0
    while finished < trials:
        k = max(TPE_STARTUP - finished, int(finished * LIE_SHARE))
        k = max(1, min(MAX_SIZE["cpu"], k, trials - finished))
        sizes.append(k)
        finished += k
    return sizes


def _draw(rng: random.Random) -> dict[str, Any]:
    """One trial's parameters, drawn at random from the benchmark's space."""
    out: dict[str, Any] = {}
    for key, spec in MOONS_SPACE.items():
        if spec["type"] == "categorical":
            out[key] = rng.choice(spec["choices"])
        elif spec.get("log"):
            low, high = spec["low"], spec["high"]
            out[key] = low * (high / low) ** rng.random()
        else:
            out[key] = rng.uniform(spec["low"], spec["high"])
    return out


def bare_stacks(cfg: Config, stacks: list[int], seed: int) -> float:
    """Seconds to train stacks of these sizes by hone's stacked loop, no callbacks at all."""
    rng = random.Random(seed)
    data = load_run_data(cfg)
    started = time.perf_counter()
    for k in stacks:
        built = [build_run(load_config(cfg, {**_draw(rng), "seed": seed}), data)
                 for _ in range(k)]  # fmt: skip
        stack_runs(built, force=True, memberwise=True).fit([[] for _ in built])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="study seeds (default 5)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    print(f"machine: {machine_info()}")
    cfg = moons(EPOCHS)
    stacks = tpe_stacks(TRIALS)
    before = load()
    walls: dict[str, list[float]] = {"bare": [], "auto": [], "plain": []}
    for seed in range(args.seeds):
        names = ("bare", "auto", "plain")
        for name in names[seed % 3 :] + names[: seed % 3]:
            if name == "bare":
                wall = bare_stacks(cfg, stacks, seed)
            elif name == "auto":
                wall = hone_study(cfg, TRIALS, seed, "auto")["wall_s"]
            else:
                wall = plain_study(cfg, TRIALS, seed)["wall_s"]
            walls[name].append(wall)
            print(f"  seed {seed} {name}: {wall:.2f} s", flush=True)
    ratio = {n: summarize([p / w for p, w in zip(walls["plain"], walls[n], strict=True)])
             for n in ("bare", "auto")}  # fmt: skip
    rows = [[n, args.seeds, statistics.median(walls[n]),
             f"{ratio[n].mean:.2f} [{ratio[n].ci_low:.2f}, {ratio[n].ci_high:.2f}]"
             if n in ratio else "1"] for n in walls]  # fmt: skip
    print_table(f"{TRIALS} trials x {EPOCHS} epochs in stacks {stacks}; load {before:.2f} → "
                f"{load():.2f}", ["contender", "seeds", "median s", "x plain (95 % CI)"],
                rows)  # fmt: skip
    share = ratio["auto"].mean / ratio["bare"].mean
    print(f"   the study keeps {share:.0%} of what the stacked arithmetic alone gives")
    write_result("stacked_ceiling", {
        "trials": TRIALS, "epochs": EPOCHS, "stacks": stacks, "seeds": args.seeds, "walls": walls,
        "ratio": {n: [r.mean, r.ci_low, r.ci_high] for n, r in ratio.items()},
        "share_kept": share, "load_before": before, "load_after": load(),
    })  # fmt: skip


if __name__ == "__main__":
    main()
