"""``hone datacurve``: more data or more tuning? Train on growing fractions of the training
split (validation split fixed, a few seeds each) — here with each fraction's seeds stacked,
in ``--jobs`` processes, or as Ray tasks that share the split data through the object store —
and read the curve (``hone.diagnose.datacurve``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from hone.assemble import BuiltRun, build_run, load_run_data
from hone.cluster.backend import Backend
from hone.cluster.processes import local_pool
from hone.config import Config, load_config
from hone.data import DataBundle, Split
from hone.data.split import split_indices
from hone.diagnose.datacurve import CurvePoint, DataCurve, read_curve
from hone.errors import ConfigError
from hone.evaluate.predict import evaluate_split, predict_logits
from hone.experiments.compare import validated
from hone.experiments.ray_tasks import MAX_RETRIES, resources
from hone.runs.stacking import NotStackable, stack_runs, why_not_stacked
from hone.train.losses import per_sample_loss
from hone.train.state import TrainState

__all__ = ["curve_on_ray", "data_curve"]


def _subset(train: Split, fraction: float, seed: int) -> Split:
    if fraction >= 1.0:
        return train
    y = train.y.cpu().numpy()
    strata = y if not train.y.is_floating_point() else np.zeros(len(y), dtype=np.int64)
    stratify = not train.y.is_floating_point()
    _, _, keep = split_indices(strata, (1 - fraction, 0.0, fraction), stratify, True, seed)
    idx = torch.from_numpy(keep).to(train.x.device)
    return Split(train.x.index_select(0, idx), train.y.index_select(0, idx))


def _built(cfg: Config, fraction: float, s: int, base: DataBundle) -> BuiltRun:
    """Seed ``cfg.seed + s``, built on its own ``fraction`` of the training split."""
    member = cfg.model_copy(deep=True)
    member.seed = cfg.seed + s
    sub = _subset(base.train, fraction, seed=cfg.data.split.seed + s)
    data = DataBundle(sub, base.val, base.test, base.classes, base.input_shape, base.preprocess)
    return build_run(member, data)


Point = tuple[int, float, float, list[float] | None]  # n, train error, val error, row errors


def _errors(built: BuiltRun, state: TrainState) -> Point:
    """(n, train, val, val rows) error of a trained point, where error is 1 - accuracy for
    classification and the loss for regression; val rows: each validation row's error (the
    gain's interval resamples them), ``None`` where the loss does not split by row."""
    if state.status == "interrupted":
        raise KeyboardInterrupt  # Ctrl-C stops the whole curve, not one point
    data = built.data
    if state.status == "diverged":  # its errors would read as a model that cannot learn
        epoch = state.diverged_at[0] if state.diverged_at else state.epoch
        raise ConfigError(
            f"datacurve: seed {built.config.seed} on {len(data.train)} training rows diverged "
            f"in epoch {epoch}, so the curve would measure divergence, not data; lower "
            f"train.optimizer.lr (now {built.config.train.optimizer.lr:g}) and run it again"
        )
    assert data.val is not None
    tr = evaluate_split(built.model, data.train, built.loss_fn)
    logits = predict_logits(built.model, data.val.x)
    with torch.inference_mode():
        if data.task == "classification":
            wrong = (logits.argmax(dim=1) != data.val.y).float()
            return len(data.train), 1 - tr["accuracy"], float(wrong.mean()), wrong.tolist()
        each = per_sample_loss(built.loss_spec) if built.loss_spec is not None else None
        rows = each(logits, data.val.y).tolist() if each is not None else None
        return len(data.train), tr["loss"], float(built.loss_fn(logits, data.val.y)), rows


def _point(cfg: Config, fraction: float, s: int, base: DataBundle) -> Point:
    """Train seed ``cfg.seed + s`` on ``fraction`` of the training split: (n, train, val)."""
    built = _built(cfg, fraction, s, base)
    return _errors(built, built.fit())


def _stacked_points(
    cfg: Config, fraction: float, seeds: list[int], base: DataBundle
) -> list[Point]:
    """The seeds of one fraction as one stacked model, each on its own subset (the stacked
    loop's ``blocks``); raises ``NotStackable`` before training when they cannot be."""
    built = [_built(cfg, fraction, s, base) for s in seeds]
    why = why_not_stacked([b.config for b in built])
    if why is not None:
        raise NotStackable(why)
    if len({len(b.data.train) for b in built}) > 1:
        raise NotStackable("the seeds' subsets differ in size")
    stack = stack_runs(built)
    rows = Split(torch.cat([b.data.train.x for b in built]),
                 torch.cat([b.data.train.y for b in built]))  # fmt: skip
    states = stack.fit([list(b.callbacks) for b in built], train=rows, blocks=True)
    return [_errors(b, state) for b, state in zip(built, states, strict=True)]


def _sequential(
    cfg: Config, points: list[tuple[float, int]], base: DataBundle, stack: str
) -> tuple[list[Point], str | None]:
    """Every point in this process, the seeds of each fraction stacked where they can be;
    returns the results in order and why they were not stacked (``None`` when they were)."""
    results: dict[tuple[float, int], Point] = {}
    why: str | None = "stacking is off" if stack == "off" else None
    for fraction in sorted({f for f, _ in points}):
        seeds = [s for f, s in points if f == fraction]
        if why is None and len(seeds) > 1:
            try:
                for s, r in zip(seeds, _stacked_points(cfg, fraction, seeds, base), strict=True):
                    results[fraction, s] = r
                continue
            except NotStackable as exc:
                why = str(exc)
        for s in seeds:
            results[fraction, s] = _point(cfg, fraction, s, base)
    return [results[p] for p in points], why


_BASE: list[DataBundle] = []  # a --jobs worker's copy of the split data, sent once


def _keep_base(base: DataBundle) -> None:
    _BASE[:] = [base]


def _point_here(cfg: dict[str, Any], fraction: float, s: int) -> Point:
    return _point(load_config(cfg), fraction, s, _BASE[0])


def _in_processes(
    cfg: Config, points: list[tuple[float, int]], base: DataBundle, jobs: int
) -> list[Point]:
    """``--jobs N`` on this machine: N processes, each with ``cores // N`` threads."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    config = cfg.to_dict()
    config["train"] = {**config["train"], "threads": threads}
    with local_pool(jobs, _keep_base, (base,)) as pool:
        futures = [pool.submit(_point_here, config, f, s) for f, s in points]
        return [f.result() for f in futures]


def _train_point(cfg: dict[str, Any], fraction: float, s: int, base: DataBundle) -> Point:
    return _point(load_config(cfg), fraction, s, base)


def curve_on_ray(
    cfg: Config,
    points: list[tuple[float, int]],
    base: DataBundle,
    backend: Backend,
    jobs: int | None,
) -> list[Point]:
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


def data_curve(
    cfg: Config,
    fractions: list[float],
    seeds: int = 2,
    backend: Backend | None = None,
    jobs: int | None = None,
    stack: str = "auto",
) -> DataCurve:
    """Train ``cfg`` on each fraction of its training split with ``seeds`` seeds each;
    ``backend`` ray trains the points as Ray tasks (at most ``jobs`` at once), sharing the
    split data through the object store. In one process (no ``jobs``), ``stack`` auto
    trains the seeds of each fraction as one stacked model (``evidence.stacked``), or says
    why not (``evidence.not_stacked``). A config without a validation split holds a share of
    its training rows back for one (``evidence.held_back``), and the curve is of the rest."""
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ConfigError("--fractions: each fraction must be in (0, 1], e.g. 0.1,0.25,0.5,1.0")
    if len(set(fractions)) < 2:  # one point shows no trend: neither a plateau nor a fall
        raise ConfigError("--fractions: a curve needs at least 2 different fractions (3 or more "
                          "to fit its shape), e.g. 0.25,0.5,1.0")  # fmt: skip
    if seeds < 1:
        raise ConfigError("--seeds: give at least 1 seed per fraction")
    cfg, held = validated(cfg, None)  # none: a share of the training rows held back
    base = load_run_data(cfg)
    if base.val is None:  # data given from Python, split as given
        raise ConfigError("datacurve needs a validation split: set data.split.val (e.g. 0.2)")
    jobs_list = [(f, s) for f in sorted(set(fractions)) for s in range(seeds)]
    why: str | None = ""  # parallel points: stacking does not apply, nothing to say
    if backend is not None and backend.is_ray:
        results = curve_on_ray(cfg, jobs_list, base, backend, jobs)
    elif jobs and jobs > 1:
        results = _in_processes(cfg, jobs_list, base, jobs)
    else:
        results, why = _sequential(cfg, jobs_list, base, stack)
    points = []
    for fraction in sorted(set(fractions)):
        mine = [r for (f, _), r in zip(jobs_list, results, strict=True) if f == fraction]
        rows = [r[3] for r in mine if r[3] is not None]
        points.append(CurvePoint(fraction, mine[0][0], [r[1] for r in mine], [r[2] for r in mine],
                                 rows if len(rows) == len(mine) else None))  # fmt: skip
    curve = read_curve(points, _majority_error(base))
    if seeds > 1 and why is None:
        curve.evidence["stacked"] = seeds
    elif seeds > 1 and why:
        curve.evidence["not_stacked"] = why
    if held:
        curve.evidence["held_back"] = held
    return curve


def _majority_error(base: DataBundle) -> float | None:
    """The error of always guessing the most common training class; ``None`` for regression."""
    if base.task != "classification":
        return None
    counts = torch.bincount(base.train.y.cpu(), minlength=base.n_classes)
    return 1 - float(counts.max()) / float(counts.sum())
