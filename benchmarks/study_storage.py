"""Optuna storage for hone's pattern: the tuned SQLite file against a journal file.

Each trial does what a ``hone tune`` trial does to its study: ask with five suggested
parameters, a user attribute for its run, one intermediate value per epoch, two more
attributes when it ends, then tell; and the progress display reads the study's trials once.
No training: the figure is the storage's own cost per trial, in one process and in two
processes sharing the study (``--jobs 2``). Contenders alternate, order rotated each repeat.

    python -m benchmarks.study_storage            # 60 trials x 30 epochs, 3 repeats
    python -m benchmarks.study_storage --quick    # 15 trials, 1 repeat

The storage directory is a fresh one under ``--dir`` (default: the current directory, where a
run store lives; a tmpfs ``/tmp`` would flatter whichever storage syncs more).
Writes benchmarks/results/study_storage[-quick].json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna

from benchmarks.common import load, print_table, write_result
from hone.store.studies import open_storage

# sqlite: hone's tuned SQLite file; journal+fsync: Optuna's JournalFileBackend as it comes
# (each write synced to the disk); journal: hone's (each write flushed to the OS).
KINDS = ("sqlite", "journal+fsync", "journal")


def _url(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{(folder / 'studies.db').resolve()}"
    return str((folder / "studies.journal").resolve())


def _storage(kind: str, url: str) -> Any:
    if kind == "journal+fsync":
        backend = optuna.storages.journal.JournalFileBackend(url)
        return optuna.storages.JournalStorage(backend)
    return open_storage(url)


def _trials(kind: str, url: str, name: str, n: int, epochs: int, seed: int) -> float:
    """``n`` trials on the shared study; seconds taken."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name=name, storage=_storage(kind, url),
                              sampler=optuna.samplers.RandomSampler(seed=seed))  # fmt: skip
    started = time.perf_counter()
    for i in range(n):
        trial = study.ask()
        for p in ("lr", "weight_decay", "dropout", "momentum"):
            trial.suggest_float(p, 1e-4, 0.5, log=True)
        trial.suggest_categorical("init", ["he_normal", "xavier_uniform"])
        trial.set_user_attr("run_id", f"run-{seed}-{i}")
        for epoch in range(1, epochs + 1):
            trial.report(1.0 / epoch, epoch)
            trial.should_prune()
        trial.set_user_attr("status", "completed")
        trial.set_user_attr("epochs", epochs)
        study.tell(trial, 0.5)
        study.get_trials(deepcopy=False)  # the progress display
    return time.perf_counter() - started


def _one(args: tuple[str, str, str, int, int, int]) -> float:
    return _trials(*args)


def sample(kind: str, root: Path, trials: int, epochs: int, processes: int) -> float:
    """Milliseconds per trial, ``processes`` sharing one fresh study."""
    folder = Path(tempfile.mkdtemp(prefix=f"hone-storage-{kind}-", dir=root))
    try:
        url = _url(kind, folder)
        optuna.create_study(study_name="s", storage=_storage(kind, url), direction="maximize")
        share = trials // processes
        started = time.perf_counter()
        if processes == 1:
            _trials(kind, url, "s", share, epochs, 0)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(processes) as pool:
                pool.map(_one, [(kind, url, "s", share, epochs, i) for i in range(processes)])
        wall = time.perf_counter() - started
        done = len(optuna.load_study(study_name="s", storage=_storage(kind, url)).trials)
        assert done == share * processes, f"{kind}: {done} trials stored"
        return wall * 1000 / done
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where the files go")
    args = parser.parse_args()
    trials, epochs, repeats = (16, 30, 1) if args.quick else (60, 30, 3)
    before = load()
    out: dict[str, Any] = {"trials": trials, "epochs": epochs, "repeats": repeats}
    rows = []
    for processes in (1, 2):
        ms: dict[str, list[float]] = {k: [] for k in KINDS}
        for r in range(repeats):
            for kind in KINDS[r % len(KINDS) :] + KINDS[: r % len(KINDS)]:
                ms[kind].append(sample(kind, args.dir, trials, epochs, processes))
        out[f"{processes}_process"] = ms
        for kind in KINDS:
            rows.append(
                [processes, kind, statistics.median(ms[kind]), min(ms[kind]), len(ms[kind])]
            )
    out["load_before"], out["load_after"] = before, load()
    print_table(
        f"Optuna storage, ms per trial ({epochs} reports each, hone's pattern); load "
        f"{before:.2f} → {out['load_after']:.2f}",
        ["processes", "storage", "median ms/trial", "min ms/trial", "n"],
        rows,
    )
    print("results:", write_result("study_storage" + ("-quick" if args.quick else ""), out))


if __name__ == "__main__":
    main()
