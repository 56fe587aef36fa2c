"""``--jobs N`` on this machine: the worker processes shared by compare, tune and datacurve.

A fresh interpreter pays ~6 s on a laptop core before its first run: torch, pydantic and hone
(~2.8 s), ``torch._dynamo``, which torch's optimisers import on first use (~1.9 s), and
scikit-learn for the generated datasets (~1.5 s). Spawning N workers pays that N times. Where
the platform has a fork server (Linux, macOS), it imports them once and every worker is forked
from it, sharing those pages copy-on-write; a second pool in the same process starts at once.
Elsewhere (Windows) workers are spawned.

Never plain ``fork`` from the parent: it may hold torch's thread pools, a Ray or CUDA context,
or a progress thread, which a forked child inherits broken. The fork server imports modules
only; it runs no tensor code.

A forked worker starts from the fork server's state, not the parent's. multiprocessing gives it
the parent's working directory and ``sys.path``; the pool also hands it the parent's environment
as it is when the pool is made (``CUDA_VISIBLE_DEVICES``, thread limits), as a spawned worker
would have.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["PRELOAD", "interrupt_workers", "local_pool", "start_method"]

# What a worker imports before its first run; the fork server imports them once.
PRELOAD = [
    "hone.experiments.tune",
    "hone.runs.stacking",
    "hone.diagnose.datacurve",
    "torch._dynamo",
    "sklearn.datasets",
]


def start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def local_pool(
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    method: str | None = None,
) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes; ``initializer(*initargs)`` runs in each, after it
    has taken the parent's environment. ``method`` (forkserver or spawn) overrides the start
    method, for benchmarks."""
    method = method or start_method()
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)  # read once, when the fork server starts
    environ = dict(os.environ)
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=ctx,
        initializer=_enter,
        initargs=(environ, initializer, initargs),
    )


def _enter(
    environ: dict[str, str],
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    os.environ.clear()
    os.environ.update(environ)
    if initializer is not None:
        initializer(*initargs)


def interrupt_workers(pool: ProcessPoolExecutor) -> None:
    """Ctrl-C for every live worker of ``pool``: each run in flight finishes its step and
    records itself interrupted. A terminal's Ctrl-C reaches the workers already (the
    process group); a signal sent to the parent alone (``kill PID``, ``docker stop``) not."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.pid and proc.is_alive():
            os.kill(proc.pid, signal.SIGINT)
