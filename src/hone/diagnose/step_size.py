"""The step each update took: the learning rate as the run applied it, not only as configured.

A finding that blames steps too large (divergence, a bouncing loss, units knocked out,
gradients thrown) must name the setting that made them large, or its remedy changes nothing.
Three settings do:

- the learning rate itself;
- a schedule that raises the rate above it: ``one_cycle`` climbs to ``max_lr`` (by default
  10x the rate) and its peak, not ``train.optimizer.lr``, is the step; with ``max_lr`` set,
  a smaller ``lr`` does not move it at all;
- SGD's momentum, which sums past steps: along a steady gradient the weights move up to
  ``lr / (1 - momentum)`` a step, 10x the rate at the usual 0.9 and 1,000x at 0.999, so a
  rate that is safe at 0.9 throws the network at 0.999.

The rate is read from the history (recorded every epoch) and the telemetry's sampled steps,
up to where the run stopped, so a schedule is blamed only where it had raised the rate when
the run failed.

One setting makes steps small beside the rate: an adaptive optimizer's ``eps`` far above the
gradients it divides by (``damping_eps``), which a slow run blames before the rate.
"""

from __future__ import annotations

from hone.config.names import OPTIMIZERS
from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Prescription
from hone.diagnose.progress import late_progress
from hone.diagnose.signals import SAFE_LR, finite, grad_rms_by_layer, nice
from hone.diagnose.suspect import Suspect

__all__ = [
    "HEAVY_MOMENTUM",
    "RAISED",
    "damping_eps",
    "heavy_momentum",
    "peak_rate",
    "pinned_peak",
    "raised_by_schedule",
    "smaller_step",
    "step_causes",
    "step_leads",
    "step_suspects",
]

RAISED = 2.0  # a schedule that took the rate past twice the configured one raised the step
HEAVY_MOMENTUM = 0.99  # lr / (1 - m) at least 100x lr: ten times the usual 0.9's
USUAL_MOMENTUM = 0.9
LEADS, FOLLOWS = 0.95, 0.5  # named before the learning rate, or after it
# Optimizers that divide each step by the root of a running mean of squared gradients plus
# ``eps``, and the eps torch gives them (Adagrad's is 1e-10, the others' 1e-8).
DIVIDED = {"adam": 1e-8, "adamw": 1e-8, "rmsprop": 1e-8, "adagrad": 1e-10}
DAMPED = 0.1  # an eps that leaves steps under this share of the undamped ones is the cause


def peak_rate(ev: Evidence) -> float:
    """The largest learning rate the run applied (history and sampled steps), or the
    configured one where none was recorded."""
    lr = float(ev.cfg("train.optimizer.lr", 0.0) or 0.0)
    samples = (ev.telemetry or {}).get("samples") or []
    seen = finite([*ev.series("lr"), *(s.get("lr") for s in samples if isinstance(s, dict))])
    return max([lr, *seen])


def raised_by_schedule(ev: Evidence) -> float | None:
    """The peak rate where a schedule took it past ``RAISED`` times the configured one."""
    lr = float(ev.cfg("train.optimizer.lr", 0.0) or 0.0)
    if ev.cfg("train.schedule") is None or lr <= 0:
        return None
    peak = peak_rate(ev)
    return peak if peak > RAISED * lr else None


def pinned_peak(ev: Evidence) -> bool:
    """A ``one_cycle`` schedule whose ``max_lr`` is set: its peak, not the rate, sets the
    step, and a smaller ``train.optimizer.lr`` does not move it."""
    return ev.cfg("train.schedule.name") == "one_cycle" and bool(ev.cfg("train.schedule.max_lr"))


def heavy_momentum(ev: Evidence) -> float | None:
    """SGD's momentum (set, or the variant's own: 0.9 for ``momentum`` and ``nesterov``)
    where it is ``HEAVY_MOMENTUM`` or more."""
    torch_class, fixed = OPTIMIZERS.get(str(ev.cfg("train.optimizer.name", "adam")), ("", {}))
    if torch_class != "SGD":
        return None
    momentum = ev.cfg("train.optimizer.momentum", fixed.get("momentum", 0.0))
    if not isinstance(momentum, int | float) or momentum < HEAVY_MOMENTUM:
        return None
    return float(momentum)


def step_suspects(ev: Evidence) -> list[Suspect]:
    """The settings besides the learning rate that made each step large: a schedule that
    raised the rate, heavy momentum (each with the remedy that moves it). One weighs
    ``LEADS`` where the rate alone would be safe (or, for a schedule with ``max_lr`` set,
    the rate does not set the peak), and ``FOLLOWS`` where the rate itself is too high."""
    out = []
    name = str(ev.cfg("train.optimizer.name", "adam"))
    lr = float(ev.cfg("train.optimizer.lr", 0.0) or 0.0)
    peak = raised_by_schedule(ev)
    if peak is not None:
        schedule = str(ev.cfg("train.schedule.name", "constant"))
        target = nice(min(peak / 10, SAFE_LR.get(name, 0.01)))
        if schedule == "one_cycle":
            fix = Prescription(f"a lower peak for the one_cycle schedule ({target:g})",
                               {"train.schedule.max_lr": target})  # fmt: skip
        else:
            fix = Prescription("a schedule that never raises the rate (cosine)",
                               {"train.schedule": {"name": "cosine"}})  # fmt: skip
        why = (f"the {schedule} schedule raised the learning rate to {peak:.3g}, "
               f"{peak / lr:.0f}x the configured {lr:g}")  # fmt: skip
        weight = LEADS if pinned_peak(ev) or lr <= SAFE_LR.get(name, 0.01) else FOLLOWS
        out.append(Suspect("train.schedule", why, weight, [fix], {"peak_lr": peak}))
    momentum = heavy_momentum(ev)
    if momentum is not None:
        why = (f"momentum {momentum:g} moves the weights by up to {1 / (1 - momentum):.0f}x "
               f"the rate a step (the usual {USUAL_MOMENTUM:g}: "
               f"{1 / (1 - USUAL_MOMENTUM):.0f}x)")  # fmt: skip
        fix = Prescription(f"the usual momentum ({USUAL_MOMENTUM:g})",
                           {"train.optimizer.momentum": USUAL_MOMENTUM})  # fmt: skip
        # measured against plain SGD's safe rate: momentum is what multiplies it
        weight = LEADS if lr <= SAFE_LR["sgd"] else FOLLOWS
        out.append(Suspect("train.optimizer.momentum", why, weight, [fix],
                           {"momentum": momentum}))  # fmt: skip
    return sorted(out, key=lambda s: -s.weight)


def step_leads(ev: Evidence) -> bool:
    """Whether a setting besides the learning rate made the steps too large at a rate that
    alone would be safe (heavy momentum, a schedule that raised the rate): then what those
    steps did (dead units, exploding gradients) is traced to it before anything else."""
    return any(s.weight == LEADS for s in step_suspects(ev))


def step_causes(ev: Evidence) -> list[str]:
    """The settings a too-large step can be traced to, the strongest first."""
    found = step_suspects(ev)
    return [*(s.key for s in found if s.weight == LEADS), "train.optimizer.lr",
            *(s.key for s in found if s.weight != LEADS)]  # fmt: skip


def smaller_step(ev: Evidence, target: float, what: str) -> list[Prescription]:
    """Remedies for steps too large: each suspect's first, then ``what`` with the learning
    rate ``target`` where the rate sets the step (not under a ``one_cycle`` schedule whose
    ``max_lr`` is set: there the rate does not move it)."""
    found = step_suspects(ev)
    out = [p for s in found if s.weight == LEADS for p in s.remedies]
    if not pinned_peak(ev):
        out.append(Prescription(what, {"train.optimizer.lr": target}))
    return out + [p for s in found if s.weight != LEADS for p in s.remedies]


def damping_eps(ev: Evidence) -> Suspect | None:
    """An ``eps`` far above the gradients' size in an optimizer that divides by their root
    mean square: its step is ``lr * g / (rms + eps)``, so where eps dwarfs the rms the step is
    ``lr * g / eps``, plain SGD at a tiny rate. (Adam at 0.003 with eps 1 on a spiral: val
    0.45, read as a rate too low.) Named where the steps were measured slow and eps leaves
    them under ``DAMPED`` of what the default eps would (by the recorded gradient RMS)."""
    name = str(ev.cfg("train.optimizer.name", "adam"))
    eps = ev.cfg("train.optimizer.eps")
    if name not in DIVIDED or not isinstance(eps, int | float) or eps <= 100 * DIVIDED[name]:
        return None
    progress = late_progress(ev)
    rms = list(grad_rms_by_layer(ev.telemetry).values()) if ev.telemetry else []
    if progress is None or not progress.slow or not rms:
        return None
    typical = sorted(rms)[len(rms) // 2]
    share = typical / (typical + eps)
    if share >= DAMPED:
        return None
    return Suspect(
        "train.optimizer.eps",
        f"{name}'s eps of {eps:g} dwarfs the gradients (their RMS per weight about "
        f"{typical:.1g}), so each step was about {share:.1g} of what {name} would take",
        0.92,
        [Prescription(f"{name}'s default eps", {"train.optimizer.eps": DIVIDED[name]})],
        {"eps": eps, "grad_rms": typical, "step_share": share},
    )
