"""Trials for free: ``hone tune --stack auto`` against a plain Optuna study driving a plain loop.

1. throughput  The moons example, space lr, weight decay, dropout, momentum and init (SGD with
               momentum, 30 epochs): the same TPE sampler (same seed), the same number of
               trials, for each study seed: ``hone tune --stack auto``, ``--stack off`` and a
               plain Optuna study (in-memory storage) driving a plain PyTorch loop on the same
               tensors. Contenders rotate their order every seed. Trials per minute, the
               ratio against plain, and the best value after N trials compared by seed
               (hone's paired comparison). Also the sampler check: the parameters TPE proposed
               with ``--stack off`` and ``auto``, compared per parameter
               (each study's median proposal, Mann-Whitney U across the seeds).
2. pruning     The median pruner inside stacks, the freed slot refilled or left idle, against
               no pruner: seconds until a trial reaches the no-pruner study's best value
               (within 0.5 point), per study seed, with a 95 % interval of the mean.
3. mnist       MNIST 784-200-10 (10k rows, 1 epoch, lr and weight decay): ``--stack auto``
               against ``off`` (on a CPU, auto declines to stack and says why).
4. overhead    hone's per-trial bookkeeping outside training with ``--stack off``: without a
               profiler (each trial's ask-to-tell from Optuna's timestamps minus its run's
               recorded training time), and by profile (cProfile: time in the trials minus
               the time inside the training loop); cProfile inflates code of many small calls.

    python -m benchmarks.stacked_tune            # ~20 minutes on 2 quiet cores
    python -m benchmarks.stacked_tune --quick    # a smoke run (fewer seeds, trials, epochs)
    python -m benchmarks.stacked_tune --only throughput,pruning --seeds 10
    python -m benchmarks.stacked_tune --only throughput --sampler random --trials 128

Writes benchmarks/results/stacked_tune[-quick].json with the machine and its load.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import optuna
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.common import DATASETS, ROOT, load, machine_info, print_table, write_result
from hone.assemble import build_run
from hone.config import Config, load_config
from hone.experiments.stats import compare_paired, summarize
from hone.experiments.tune import make_sampler, parse_space, tune
from hone.experiments.tune.samplers import TPE_STARTUP
from hone.store import RunStore
from hone.store.studies import open_storage

MOONS_SPACE: dict[str, Any] = {
    "train.optimizer.lr": {"type": "float", "low": 1e-3, "high": 0.5, "log": True},
    "train.optimizer.weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "model.dropout": {"type": "float", "low": 0.01, "high": 0.5},
    "train.optimizer.momentum": {"type": "float", "low": 0.5, "high": 0.99},
    "model.init": {"type": "categorical", "choices": ["he_normal", "xavier_uniform",
                                                      "lecun_normal"]},
}  # fmt: skip
INITS: dict[str, Callable[[torch.Tensor], Any]] = {
    "he_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "xavier_uniform": nn.init.xavier_uniform_,
    "lecun_normal": lambda w: nn.init.normal_(w, 0.0, 1 / w.shape[1] ** 0.5),
}
WITHIN = 0.005
WARM_SEED = 9_999  # the untimed warm-up study, outside any study seeds used
# from the command line
SETTINGS: dict[str, Any] = {"sampler": "tpe", "trials": None, "epochs": None,
                            "contenders": ("auto", "off", "plain"), "first_seed": 0}  # fmt: skip


def sizes(quick: bool) -> tuple[int, int]:
    """(epochs, trials) of a study: the command line's, else quick or full."""
    epochs, trials = (10, 24) if quick else (30, 64)
    return SETTINGS["epochs"] or epochs, SETTINGS["trials"] or trials


def moons(epochs: int) -> Config:
    over = {"train.epochs": epochs, "train.optimizer": {"name": "momentum"}}
    return load_config(ROOT / "examples" / "moons.yaml", over)


def plain_objective(cfg: Config) -> Callable[[optuna.Trial], float]:
    """What a user writes by hand: the same model, data tensors, batch and epochs."""
    data = build_run(cfg).data
    x, y = data.train.x, data.train.y
    assert data.val is not None
    vx, vy = data.val.x, data.val.y
    specs = parse_space(MOONS_SPACE, cfg)

    def objective(trial: optuna.Trial) -> float:
        p = {s.key.split(".")[-1]: s.suggest(trial) for s in specs}
        torch.manual_seed(cfg.seed)
        layers: list[nn.Module] = []
        width = x.shape[1]
        for units in cfg.model.hidden:
            dense = nn.Linear(width, units)
            INITS[p["init"]](dense.weight)
            nn.init.zeros_(dense.bias)
            layers += [dense, nn.ReLU(), nn.Dropout(p["dropout"])]
            width = units
        layers.append(nn.Linear(width, 2))
        model = nn.Sequential(*layers)
        opt = torch.optim.SGD(model.parameters(), lr=p["lr"], momentum=p["momentum"],
                              weight_decay=p["weight_decay"])  # fmt: skip
        batch = int(cfg.train.batch_size)  # type: ignore[arg-type]
        for _ in range(cfg.train.epochs):
            model.train()
            order = torch.randperm(len(y))
            for i in range(0, len(y), batch):
                idx = order[i : i + batch]
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            return float((model(vx).argmax(1) == vy).float().mean())

    return objective


def hone_study(cfg: Config, trials: int, seed: int, stack: str, pruner: str = "none",
               refill: bool = True) -> dict[str, Any]:  # fmt: skip
    """One ``hone tune`` study in a fresh store; its wall time and trials (each with the
    time it was told)."""
    cfg = load_config(cfg, {"seed": seed})
    specs = parse_space(MOONS_SPACE, cfg)
    store = tempfile.mkdtemp(prefix="hone-bench-tune-")
    started = time.perf_counter()
    told: list[float] = []
    result = tune(cfg, specs, trials=trials, metric="val_accuracy", store=store, storage=None,
                  study_name="bench", sampler=SETTINGS["sampler"], pruner=pruner, stack=stack,
                  refill=refill,
                  progress=lambda *_: told.append(time.perf_counter() - started))  # fmt: skip
    wall = time.perf_counter() - started
    rows = [t for t in result.trials if t["state"] in ("complete", "pruned")]
    return {"wall_s": wall, "best": result.best_value, "told_s": told,
            "values": [t["value"] for t in result.trials],
            "params": [t["params"] for t in rows], "store": store,
            "storage": result.storage}  # fmt: skip


def plain_study(cfg: Config, trials: int, seed: int) -> dict[str, Any]:
    cfg = load_config(cfg, {"seed": seed})
    specs = parse_space(MOONS_SPACE, cfg)
    sampler = make_sampler(SETTINGS["sampler"], specs, seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    started = time.perf_counter()
    study.optimize(plain_objective(cfg), n_trials=trials)
    return {"wall_s": time.perf_counter() - started, "best": study.best_value,
            "params": [t.params for t in study.trials]}  # fmt: skip


def sampler_check(off: list[dict[str, Any]], auto: list[dict[str, Any]]) -> dict[str, Any]:
    """Per numeric parameter: each study's median proposal, ``--stack off`` against ``auto``
    across the study seeds (Mann-Whitney U; trials within a study are not independent,
    studies are); the categorical init by its share of each choice."""
    from scipy import stats

    out: dict[str, Any] = {}
    for key, spec in MOONS_SPACE.items():
        if spec["type"] == "categorical":
            a = [p[key] for study in off for p in study["params"]]
            b = [p[key] for study in auto for p in study["params"]]
            out[key] = {c: (a.count(c) / len(a), b.count(c) / len(b)) for c in spec["choices"]}
            continue
        a = [statistics.median(p[key] for p in study["params"]) for study in off]
        b = [statistics.median(p[key] for p in study["params"]) for study in auto]
        p_value = float(stats.mannwhitneyu(a, b).pvalue) if len(a) > 1 else float("nan")
        out[key] = {"mann_whitney_p": p_value, "median_off": statistics.median(a),
                    "median_auto": statistics.median(b)}  # fmt: skip
    return out


def bench_throughput(quick: bool, seeds: int) -> dict[str, Any]:
    epochs, trials = sizes(quick)
    cfg = moons(epochs)
    names = tuple(SETTINGS["contenders"])
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    # Each contender once, untimed, on a seed outside the study seeds: what a process pays
    # once (imports such as SciPy's for the study's summary, first calls) is not a trial's
    # cost, and would otherwise fall on whichever contender goes first.
    for name in names:
        warm = min(trials, 2 * TPE_STARTUP)
        if name == "plain":
            plain_study(cfg, warm, WARM_SEED)
        else:
            hone_study(cfg, warm, WARM_SEED, name)
    before = load()
    for seed in range(SETTINGS["first_seed"], SETTINGS["first_seed"] + seeds):
        for name in names[seed % len(names) :] + names[: seed % len(names)]:
            got = plain_study(cfg, trials, seed) if name == "plain" else hone_study(
                cfg, trials, seed, name)  # fmt: skip
            runs[name].append(got)
            print(f"  seed {seed} {name}: {got['wall_s']:.1f} s, best {got['best']:.4f}",
                  flush=True)  # fmt: skip
    rate = {n: trials * 60 / statistics.median(r["wall_s"] for r in runs[n]) for n in names}
    best = {n: [float(r["best"]) for r in runs[n]] for n in names}
    paired = compare_paired(best["auto"], best["plain"], "best val_accuracy") if seeds > 1 else None
    check = sampler_check(runs["off"], runs["auto"]) if "off" in names else {}
    # per seed, the two studies ran back to back under the same load: their ratio, with an
    # interval over the seeds
    per_seed = [p["wall_s"] / a["wall_s"] for a, p in zip(runs["auto"], runs["plain"], strict=True)]
    ratio = summarize(per_seed)
    rows = [[n, seeds, trials, epochs, rate[n], rate[n] / rate["plain"],
             statistics.fmean(best[n])] for n in names]  # fmt: skip
    print_table(f"1. trials/min, moons space, {SETTINGS['sampler']}, {trials} trials x {epochs} "
                f"epochs, {seeds} "
                f"study seeds; load {before:.2f} → {load():.2f}",
                ["contender", "seeds", "trials", "epochs", "trials/min", "x plain",
                 "mean best val acc"], rows)  # fmt: skip
    print(
        f"   auto vs plain, per-seed ratio of study times: {ratio.mean:.2f}x "
        f"[{ratio.ci_low:.2f}, {ratio.ci_high:.2f}] (95 % CI over {seeds} seeds)"
    )
    if paired is not None:
        print(
            f"   best value auto vs plain, paired by seed: {paired.verdict} "
            f"(p = {paired.p_value:.3f}, mean difference {paired.mean_diff:+.4f})"
        )
    for key, res in check.items():
        if "mann_whitney_p" in res:
            print(
                f"   sampler: {key}: per-study medians, Mann-Whitney p = "
                f"{res['mann_whitney_p']:.3f} (off {res['median_off']:.4g}, auto "
                f"{res['median_auto']:.4g})"
            )
        else:
            print(f"   sampler: {key}: share off/auto {res}")
    return {"trials": trials, "epochs": epochs, "seeds": seeds, "runs": runs,
            "trials_per_min": rate, "ratio_auto_vs_plain": rate["auto"] / rate["plain"],
            "ratio_per_seed": per_seed, "ratio_ci": [ratio.mean, ratio.ci_low, ratio.ci_high],
            "best": best, "paired_auto_vs_plain": paired.to_json() if paired else None,
            "sampler_check": check, "load_before": before, "load_after": load()}  # fmt: skip


def time_to(study: dict[str, Any], target: float) -> float | None:
    hits = [t for t, v in zip(study["told_s"], study["values"], strict=False)
            if v is not None and v >= target - WITHIN]  # fmt: skip
    return min(hits) if hits else None


def bench_pruning(quick: bool, seeds: int) -> dict[str, Any]:
    epochs, trials = sizes(quick)
    cfg = moons(epochs)
    modes = {"none": ("none", True), "median, refill": ("median", True),
             "median, idle": ("median", False)}  # fmt: skip
    got: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for i in range(seeds):
        seed = SETTINGS["first_seed"] + i
        names = list(modes)
        for name in names[i % 3 :] + names[: i % 3]:
            pruner, refill = modes[name]
            got[name].append(hone_study(cfg, trials, seed, "auto", pruner, refill))
    out: dict[str, Any] = {"trials": trials, "epochs": epochs, "seeds": seeds}
    rows = []
    for name in modes:
        times = []
        for seed in range(seeds):
            target = float(got["none"][seed]["best"])
            reached = time_to(got[name][seed], target)
            times.append(reached if reached is not None else got[name][seed]["wall_s"])
        summary = summarize(times)
        mean, low, high = summary.mean, summary.ci_low, summary.ci_high
        reached_n = sum(time_to(got[name][s], float(got["none"][s]["best"])) is not None
                        for s in range(seeds))  # fmt: skip
        wall = statistics.fmean(r["wall_s"] for r in got[name])
        out[name] = {"time_to_none_best_s": times, "mean": mean, "ci": [low, high],
                     "reached": reached_n, "mean_wall_s": wall}  # fmt: skip
        rows.append([name, f"{mean:.2f} [{low:.2f}, {high:.2f}]", f"{reached_n}/{seeds}", wall])
    print_table(f"2. median pruner inside stacks: seconds to reach the no-pruner best, "
                f"{trials} trials x {epochs} epochs, {seeds} seeds (95 % CI)",
                ["pruner", "s to best (CI)", "reached", "mean study s"], rows)  # fmt: skip
    return out


def bench_mnist(quick: bool) -> dict[str, Any]:
    cfg = load_config({
        "name": "mnist", "data": {"dataset": "mnist", "path": str(DATASETS / "mnist"),
                                  "split": {"train": 10000 / 60000, "val": 2000 / 60000}},
        "model": {"hidden": [200], "activation": "leaky_relu"}, "telemetry": False,
        "train": {"loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.001},
                  "batch_size": 128, "epochs": 1},
    })  # fmt: skip
    space = {"train.optimizer.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
             "train.optimizer.weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2,
                                              "log": True}}  # fmt: skip
    specs = parse_space(space, cfg)
    trials = 4 if quick else 12
    out: dict[str, Any] = {"trials": trials}
    said: list[str] = []
    for stack in ("off", "auto", "off", "auto")[: 2 if quick else 4]:
        store = tempfile.mkdtemp(prefix="hone-bench-mnist-")
        t = time.perf_counter()
        tune(cfg, specs, trials=trials, metric="val_accuracy", store=store, storage=None,
             study_name="m", sampler="tpe", pruner="none", stack=stack,
             say=said.append)  # fmt: skip
        out.setdefault(stack, []).append(time.perf_counter() - t)
    out["said"] = said
    off, auto = statistics.median(out["off"]), statistics.median(out["auto"])
    print(
        f"3. MNIST 784-200-10, {trials} trials x 1 epoch on 10k rows: --stack off {off:.1f} s,"
        f" auto {auto:.1f} s ({off / auto:.2f}x); auto said: {said[:1]}"
    )
    return out


def outside_fit(got: dict[str, Any]) -> dict[str, Any]:
    """Without a profiler: per trial, Optuna's ask-to-tell (the trial's start and completion
    timestamps) minus its run's training time (the run's recorded ``wall_seconds``, the time
    inside ``engine.fit``); the study's own costs are its wall time outside the trials."""
    study = optuna.load_study(study_name="bench", storage=open_storage(got["storage"]))
    trials = study.get_trials(deepcopy=False)
    with RunStore(got["store"]) as rs:
        fit = [float(rs.get_run(t.user_attrs["run_id"], with_history=False).wall_seconds or 0)
               for t in trials]  # fmt: skip
    spans = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials
             if t.datetime_complete is not None and t.datetime_start is not None]  # fmt: skip
    outside = [s - f for s, f in zip(spans, fit, strict=True)]
    return {"trials": len(trials), "trials_s": sum(spans), "fit_s": sum(fit),
            "ms_per_trial": statistics.fmean(outside) * 1000,
            "ms_per_trial_median": statistics.median(outside) * 1000,
            "study_once_s": got["wall_s"] - sum(spans)}  # fmt: skip


def bench_overhead(quick: bool) -> dict[str, Any]:
    """``--stack off``: per trial, the time in Optuna's ask-to-tell outside ``engine.fit``,
    without a profiler and then by profile (cProfile); and the study's own once-per-process
    costs (opening it, the summary with Optuna's parameter importances) apart."""
    trials = 8 if quick else 24
    cfg = moons(30)
    hone_study(cfg, 5, 0, "off")  # warm: imports, and a summary with importances (4+ trials)
    before = load()
    plain = outside_fit(hone_study(cfg, trials, 1, "off"))
    prof = cProfile.Profile()
    prof.enable()
    got = hone_study(cfg, trials, 1, "off")
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]

    def cumulative(path: str, name: str) -> float:
        return float(sum(v[3] for k, v in stats.items() if k[2] == name and k[0].endswith(path)))

    fit = cumulative("train/engine.py", "fit")
    in_trials = cumulative("optuna/study/_optimize.py", "_run_trial")
    per_trial = (in_trials - fit) * 1000 / trials
    study = got["wall_s"] - in_trials
    after = load()
    print(
        f"4. per-trial bookkeeping outside training, --stack off, {trials} trials, load "
        f"{before:.2f} → {after:.2f}:\n"
        f"   without a profiler: {plain['ms_per_trial']:.0f} ms (median "
        f"{plain['ms_per_trial_median']:.0f} ms; {plain['trials_s']:.1f} s in trials, "
        f"{plain['fit_s']:.1f} s of it in engine.fit); the study's own costs once: "
        f"{plain['study_once_s']:.1f} s\n"
        f"   by profile (cProfile): {per_trial:.0f} ms ({in_trials:.1f} s in trials, {fit:.1f} s "
        f"of it in engine.fit); the study's own costs once: {study:.1f} s"
    )
    return {"trials": trials, "unprofiled": plain, "wall_s": got["wall_s"], "fit_s": fit,
            "trials_s": in_trials, "ms_per_trial": per_trial, "study_once_s": study,
            "load_before": before, "load_after": after}  # fmt: skip


BENCHES = ("throughput", "pruning", "mnist", "overhead")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--seeds", type=int, default=None, help="study seeds (default 10)")
    parser.add_argument("--only", default=",".join(BENCHES))
    parser.add_argument("--sampler", default="tpe", choices=("tpe", "random"))
    parser.add_argument("--trials", type=int, help="trials per study (default 64, quick 24)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default 30, quick 10)")
    parser.add_argument("--contenders", default="auto,off,plain",
                        help="throughput: which of auto, off, plain (off is the slowest; the "
                        "sampler check needs it)")  # fmt: skip
    parser.add_argument("--first-seed", type=int, default=0, help="study seeds start here")
    parser.add_argument("--tag", default="", help="a suffix for the result file's name")
    args = parser.parse_args()
    contenders = tuple(c for c in args.contenders.split(",") if c)
    if not {"auto", "plain"} <= set(contenders) or not set(contenders) <= {"auto", "off", "plain"}:
        parser.error("--contenders: auto and plain, and optionally off")
    SETTINGS.update(sampler=args.sampler, trials=args.trials, epochs=args.epochs,
                    contenders=contenders, first_seed=args.first_seed)  # fmt: skip
    chosen = [b for b in args.only.split(",") if b]
    seeds = args.seeds or (2 if args.quick else 10)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    print(f"machine: {machine_info()}")
    out: dict[str, Any] = {"quick": args.quick, **SETTINGS}
    name = "stacked_tune" + ("-quick" if args.quick else "")
    name += "" if args.sampler == "tpe" else f"-{args.sampler}"
    name += f"-{args.tag}" if args.tag else ""
    for bench in chosen:
        if bench == "throughput":
            out[bench] = bench_throughput(args.quick, seeds)
        elif bench == "pruning":
            out[bench] = bench_pruning(args.quick, seeds)
        elif bench == "mnist" and not (DATASETS / "mnist").is_dir():
            print(f"3. MNIST: skipped, no {DATASETS / 'mnist'} (set HONE_TEST_DATASETS)")
        elif bench == "mnist":
            out[bench] = bench_mnist(args.quick)
        elif bench == "overhead":
            out[bench] = bench_overhead(args.quick)
        path = write_result(name, out)  # after each: a crash keeps what was measured
    print(f"results: {path}")


if __name__ == "__main__":
    main()
