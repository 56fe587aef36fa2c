"""``hone datacurve --backend ray``: each (fraction, seed) point trains as a Ray task on the
split data the driver loaded once and put in the object store; only three numbers return."""

from __future__ import annotations

from typing import Any

from hone.cluster.backend import Backend
from hone.cluster.ray_runs import MAX_RETRIES, resources
from hone.config import Config
from hone.data import DataBundle

__all__ = ["curve_on_ray"]


def _train_point(
    cfg: dict[str, Any], fraction: float, s: int, base: DataBundle
) -> tuple[int, float, float]:
    from hone.config import load_config
    from hone.diagnose.datacurve import _point

    return _point(load_config(cfg), fraction, s, base)


def curve_on_ray(
    cfg: Config,
    points: list[tuple[float, int]],
    base: DataBundle,
    backend: Backend,
    jobs: int | None,
) -> list[tuple[int, float, float]]:
    """``(n_train, train error, val error)`` per ``(fraction, seed offset)``, in order."""
    cpus, gpus = resources(cfg)
    config = cfg.to_dict()
    config["train"]["threads"] = cpus
    limit = jobs or len(points)
    refs: list[Any] = []
    with backend.session() as ray:
        task = ray.remote(_train_point).options(num_cpus=cpus, num_gpus=gpus,
                                                max_retries=MAX_RETRIES)  # fmt: skip
        shared = ray.put(base)
        try:
            for i, (fraction, s) in enumerate(points):
                if i >= limit:  # at most ``jobs`` in flight: wait for the oldest to finish
                    ray.wait(refs[i - limit : i - limit + 1], num_returns=1)
                refs.append(task.remote(config, fraction, s, shared))
            return list(ray.get(refs))
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=False)
            raise
