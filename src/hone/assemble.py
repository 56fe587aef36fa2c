"""Assemble a run from its config: device, seeds, data, model, loss, optimizer and remedies.

``build_run`` is what the API, experiments, benchmarks and reports share; ``hone.api`` adds
recording around it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hone.config import Config
from hone.data import DataBundle, load_data
from hone.data.augment import Augmenter
from hone.errors import ConfigError, suggest
from hone.nn.build import build_model
from hone.nn.size import check_memory
from hone.nn.target import add_target_scale
from hone.store.runstore import RunStore, resolve_store_root
from hone.tracking.live import check_targets
from hone.train.callbacks import Callback, EarlyStopping, LRSchedule
from hone.train.engine import fit
from hone.train.guards import GradClip
from hone.train.losses import LossFn, LossSpec, make_loss, resolve_output_activation
from hone.train.optim import make_optimizer
from hone.train.regularize import Penalty, penalized_parameters
from hone.train.schedules import Schedule
from hone.train.seeding import seed_torch
from hone.train.state import TrainState
from hone.train.targets import check_regression_settings, resolved_config, target_scale
from hone.train.transfer import Unfreeze, freeze, load_matching

__all__ = [
    "BuiltRun",
    "ModelSource",
    "build_run",
    "choose_threads",
    "load_run_data",
    "own_model",
    "recorded_metrics",
    "resolve_class_weights",
    "resolve_device",
    "seed_everything",
]


def load_run_data(cfg: Config) -> DataBundle:
    """The config's data, with decoded image folders cached in ``<store>/cache``."""
    return load_data(cfg.data, cache_dir=resolve_store_root(cfg.store) / "cache")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(
            f"train.device: '{name}' is not a device; use auto, cpu or cuda:N"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                "train.device: cuda requested but no CUDA device is available; use auto"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"train.device: {name}: this machine has {torch.cuda.device_count()} CUDA "
                "device(s), numbered from 0"
            )
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ConfigError("train.device: mps (Apple GPU) is not available here; use auto or cpu")
    return device


def choose_threads(setting: int | str, model: nn.Module, batch: int) -> int:
    """CPU threads for training: ``auto`` uses one thread when a step's matmuls are tiny.

    Below ~1M multiply-adds per step, a second thread costs more in synchronisation than
    it saves (measured: blobs 2-25-4 at batch 32 runs no faster on 2 threads, at 2x the CPU).
    """
    if isinstance(setting, int):
        return setting
    work = batch * sum(p.numel() for p in model.parameters())
    cores = os.cpu_count() or 1
    if work < 1_000_000:
        return 1
    # Leave the cores other processes are using: OpenMP threads that share a core spin at
    # every barrier, and a run on a loaded machine becomes an order of magnitude slower.
    return max(1, min(cores, cores - _busy_cores()))


def _busy_cores() -> int:
    """Processes running right now besides this one (/proc/loadavg's runnable count, which,
    unlike the load averages, does not lag by a minute), else the 1-minute load."""
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        return max(0, running - 1)
    except (OSError, IndexError, ValueError):
        pass
    try:
        return max(0, int(os.getloadavg()[0] - 1.0 + 0.5))
    except OSError:
        return 0


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return the generator that orders training batches."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    seed_torch(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class BuiltRun:
    """A model with its data, loss, optimizer and training remedies, ready for ``fit``."""

    config: Config
    data: DataBundle
    model: nn.Module
    loss_fn: LossFn
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    output_activation: str
    callbacks: list[Callback] = field(default_factory=list)  # schedule, early stopping
    penalty: Penalty | None = None
    grad_clip: GradClip | None = None
    augment: Augmenter | None = None
    sample_weights: torch.Tensor | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # transfer, class weights, sampler
    loss_spec: LossSpec | None = None  # what loss_fn was made from

    def fit(
        self, callbacks: Sequence[Callback] = (), resume: dict[str, Any] | None = None
    ) -> TrainState:
        train = self.config.train
        batch = len(self.data.train) if train.batch_size == "full" else train.batch_size
        return fit(
            self.model,
            self.optimizer,
            self.loss_fn,
            self.data.train,
            self.data.val,
            epochs=train.epochs,
            batch_size=batch,
            generator=self.generator,
            steps_per_epoch=train.steps_per_epoch,
            callbacks=[*self.callbacks, *callbacks],
            penalty=self.penalty,
            grad_clip=self.grad_clip,
            augment=self.augment,
            sample_weights=self.sample_weights,
            precision=train.precision,
            resume=resume,
        )


ModelSource = nn.Module | Callable[[], nn.Module]


def build_run(
    cfg: Config,
    data: DataBundle | None = None,
    init_seed: int | None = None,
    model: ModelSource | None = None,
) -> BuiltRun:
    """Seed, load data (unless given), build the model, loss, optimizer and remedies.

    ``init_seed`` (default: ``cfg.seed``) seeds the weights alone, so an ensemble can vary
    the initialisation while keeping the batch order. ``model`` replaces ``cfg.model``: a
    module trained as it is, or a function that builds one (called after seeding, so each
    seed gets its own initialisation).
    """
    device = resolve_device(cfg.train.device)
    if cfg.log_to:
        check_targets(cfg.log_to)
    generator = seed_everything(cfg.seed)
    data = (data or load_run_data(cfg)).to(device)
    cfg = resolved_config(cfg, data)
    check_regression_settings(cfg, data)
    check_memory(cfg, data.input_shape, data.n_outputs, _batch_size(cfg, data), device)
    seed_torch(cfg.seed if init_seed is None else init_seed)
    net: nn.Module
    if model is None:
        net = build_model(cfg.model, data.input_shape, data.n_outputs).to(device)
        notes = _transfer(cfg, net)
    else:
        net, notes = own_model(model, data, device), {}
        notes["model"] = {"class": f"{type(net).__module__}.{type(net).__qualname__}",
                          "parameters": sum(p.numel() for p in net.parameters())}  # fmt: skip
    if cfg.train.precision != "fp32" and device.type != "cuda":
        raise ConfigError(
            f"train.precision: {cfg.train.precision} autocast is for CUDA devices; this run is on "
            f"{device.type}, use fp32"
        )
    if device.type == "cpu":
        torch.set_num_threads(choose_threads(cfg.train.threads, net, _batch_size(cfg, data)))
    train = cfg.train
    out_act = resolve_output_activation(cfg.model.output_activation, train.loss, data.task)
    data, target = target_scale(data, out_act, notes)
    if "task" in data.report:  # data.task: auto decided, and why (said once, recorded)
        notes["task"] = data.report["task"]
    net = add_target_scale(net, target, own=model is not None)
    weights = resolve_class_weights(train.class_weight, data)
    spec = LossSpec(train.loss, out_act, data.n_outputs, data.task, train.label_smoothing,
                    train.huber_delta, weights,
                    tuple(target["scale"]) if target else None)  # fmt: skip
    loss_fn = make_loss(spec)
    opt = train.optimizer
    optimizer = make_optimizer(opt.name, net.parameters(), opt.lr, opt.options())
    if cfg.train.compile:  # after the optimizer holds the parameters; the module is wrapped
        net = torch.compile(net)  # type: ignore[assignment]
    built = BuiltRun(cfg, data, net, loss_fn, optimizer, generator, out_act, notes=notes)
    built.loss_spec = spec
    if weights is not None:
        built.notes["class_weights"] = dict(zip(data.classes, weights, strict=True))
    _add_remedies(built, device)
    return built


def own_model(source: ModelSource, data: DataBundle, device: torch.device) -> nn.Module:
    """The user's module, checked on two training rows: it must map ``(N, *input_shape)`` to
    ``(N, n_outputs)`` and have parameters to train."""
    net = source if isinstance(source, nn.Module) else source()
    if not isinstance(net, nn.Module):
        raise ConfigError(f"model=: expected a torch nn.Module (or a function returning one), "
                          f"got {type(net).__name__}")  # fmt: skip
    net = net.to(device)
    if not any(p.requires_grad for p in net.parameters()):
        raise ConfigError("model=: the module has no trainable parameters")
    probe = data.train.x[:2]
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            out = net(probe)
    except Exception as exc:  # the user's forward pass: report it, whatever it raised
        raise ConfigError(
            f"model=: the module failed on a batch shaped {tuple(probe.shape)}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    finally:
        net.train(was_training)
    want = (len(probe), data.n_outputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(
            f"model=: the module maps {tuple(probe.shape)} to {got}; this data needs {want} "
            f"({data.n_outputs} outputs, as logits)"
        )
    return net


def _transfer(cfg: Config, model: nn.Module) -> dict[str, Any]:
    """``model.init_from`` and ``model.freeze``; returns what was done, for the run record."""
    notes: dict[str, Any] = {}
    if cfg.model.init_from:
        with RunStore(cfg.store) as rs:
            source = rs.resolve_id(cfg.model.init_from)
            weights = rs.load_weights(source)
        loaded = load_matching(model, weights, cfg.model.init_from_skip)
        broken = [n for n in loaded["loaded"] if not bool(torch.isfinite(weights[n]).all())]
        if broken:
            raise ConfigError(
                f"model.init_from: run {source}'s weights hold NaN or inf (in "
                f"{', '.join(broken[:5])}); it diverged, and a run started from them diverges "
                "at once. Start from another run, or leave those layers fresh with "
                "model.init_from_skip"
            )
        if not loaded["loaded"]:
            raise ConfigError(
                f"model.init_from: run {source}'s weights share no layer (name and shape) with "
                "this model, so nothing would be loaded; check the run id"
            )
        notes["init_from"] = {"run": source, **loaded}
    if cfg.model.freeze:
        notes["frozen"] = freeze(model, cfg.model.freeze)
    elif cfg.train.unfreeze_at_epoch:
        raise ConfigError("train.unfreeze_at_epoch: nothing is frozen; set model.freeze too")
    return notes


def resolve_class_weights(
    setting: str | dict[str, float] | None, data: DataBundle
) -> tuple[float, ...] | None:
    """Per-class loss weights: ``balanced`` is n / (classes * count) on the training split."""
    if setting is None:
        return None
    if data.task != "classification":
        raise ConfigError(
            "train.class_weight: weights classes, and this is a regression task (no classes); "
            "remove train.class_weight"
        )
    if setting == "balanced":
        counts = torch.bincount(data.train.y.cpu(), minlength=data.n_classes).double()
        n, k = float(counts.sum()), data.n_classes
        return tuple(n / (k * c) if c else 0.0 for c in counts.tolist())
    assert isinstance(setting, dict)
    unknown = [str(label) for label in setting if str(label) not in data.classes]
    if unknown:
        raise ConfigError(
            f"train.class_weight: unknown label(s) {', '.join(unknown)}; labels: "
            + ", ".join(data.classes)
        )
    given = {str(k): float(v) for k, v in setting.items()}
    weights = tuple(given.get(c, 1.0) for c in data.classes)
    per_class = torch.bincount(data.train.y.cpu(), minlength=data.n_classes).tolist()
    if not any(w > 0 and n > 0 for w, n in zip(weights, per_class, strict=True)):
        present = [c for c, n in zip(data.classes, per_class, strict=True) if n]
        raise ConfigError(
            "train.class_weight: every class in the training split ("
            + ", ".join(present[:20])
            + ") has weight 0, so no example counts and the loss is NaN at the first step; "
            "give at least one of them a positive weight"
        )
    return weights


def recorded_metrics(data: DataBundle, penalty: bool) -> list[str]:
    """The per-epoch history keys a run on ``data`` will have (what can be monitored)."""
    names = ["train_loss"] + (["train_accuracy"] if data.task == "classification" else [])
    if penalty:
        names += ["train_penalty", "train_l1", "train_l2"]
    if data.val is not None:
        names += [
            n.replace("train_", "val_") for n in names if n in ("train_loss", "train_accuracy")
        ]
    return [*names, "lr"]


def _check_monitor(field: str, monitor: str, available: list[str]) -> None:
    if monitor in available:
        return
    if monitor.startswith("val_") and not any(a.startswith("val_") for a in available):
        raise ConfigError(
            f"{field}: '{monitor}' needs a validation split, and this run has none; set "
            f"data.split.val (e.g. 0.2) or monitor a train metric"
        )
    raise ConfigError(
        f"{field}: '{monitor}' is not recorded{suggest(monitor, available)}; "
        f"recorded: {', '.join(available)}"
    )


def _add_remedies(built: BuiltRun, device: torch.device) -> None:
    cfg, train = built.config, built.config.train
    if train.l1 or train.l2:
        weights = penalized_parameters(built.model, train.regularize_bias)
        built.penalty = Penalty(weights, train.l1, train.l2)
    available = recorded_metrics(built.data, built.penalty is not None)
    sched = train.schedule
    if sched.name != "constant" or sched.warmup_epochs:
        params = sched.options()
        if sched.name == "reduce_on_plateau":
            _check_monitor(
                "train.schedule.monitor", str(params.get("monitor", "val_loss")), available
            )
        built.callbacks.append(LRSchedule(sched.name, params, sched.warmup_epochs))
        # Validate settings now (a bad key is a config error before training, not after).
        probe = make_optimizer("sgd", [nn.Parameter(torch.zeros(1))], train.optimizer.lr, {})
        Schedule(probe, sched.name, params, sched.warmup_epochs, train.epochs, 1)
    if train.early_stopping is not None:
        es = train.early_stopping
        _check_monitor("train.early_stopping.monitor", es.monitor, available)
        built.callbacks.append(
            EarlyStopping(
                es.monitor, es.mode, es.min_delta, es.patience, es.start_from_epoch, es.restore_best
            )
        )
    if train.grad_clip is not None:
        built.grad_clip = GradClip(train.grad_clip.norm, train.grad_clip.value)
    if train.augment is not None:
        built.augment = Augmenter(train.augment, built.data.input_shape, cfg.seed, device)
    if cfg.data.sampler == "balanced":
        if built.data.task != "classification":
            raise ConfigError(
                "data.sampler: balanced draws each class equally often, and this is a "
                "regression task (no classes); remove data.sampler (or set it to none)"
            )
        y = built.data.train.y
        counts = torch.bincount(y, minlength=built.data.n_classes).double()
        built.sample_weights = (1.0 / counts[y]).cpu()
        built.notes["sampler"] = "balanced"
    if train.unfreeze_at_epoch:
        built.callbacks.append(Unfreeze(train.unfreeze_at_epoch))


def _batch_size(cfg: Config, data: DataBundle) -> int:
    return len(data.train) if cfg.train.batch_size == "full" else cfg.train.batch_size
