"""An experiment's units as Ray tasks (``--backend ray``): each finished unit's runs come
back into the driver's store and are linked to the experiment there."""

from __future__ import annotations

from collections.abc import Callable

from hone.cluster.backend import Backend
from hone.experiments.compare.plan import FINAL, Progress, Unit, tell_once, unit_label
from hone.experiments.ray_tasks import UnitOutcome, run_units
from hone.store.runstore import RunStore

__all__ = ["run_on_ray"]


def run_on_ray(
    store: RunStore,
    exp_id: str,
    units: list[Unit],
    backend: Backend,
    jobs: int | None,
    progress: Progress | None,
    say: Callable[[str], None] | None,
) -> None:
    told: set[str] = set()
    total, count, last = sum(len(u) for u in units), [0], [""]

    def done(unit: Unit, outcome: UnitOutcome) -> None:
        tell_once(say, told, unit, outcome.why)
        for (name, seed, _), (run_id, status) in zip(unit, outcome.results, strict=True):
            if status in FINAL:
                store.link_run(exp_id, name, seed, run_id)
            count[0] += 1
            last[0] = f"{name} seed {seed}: {status}"

    def active(units_now: list[Unit]) -> None:  # submitted, running or queued on the cluster
        if progress:
            progress(last[0], count[0], total, [unit_label(u) for u in units_now])

    run_units(store, units, backend, jobs, done, active)
