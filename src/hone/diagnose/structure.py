"""The model's shape as a cause: a hidden layer too narrow to carry the outputs, hidden layers
frozen at their random start, units that compute a linear function (so the stack is one
linear map however deep), and last, too little capacity (``hone.diagnose.settings`` weighs
them with the other settings)."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Prescription
from hone.diagnose.suspect import Suspect

__all__ = ["LINEAR_SLOPE", "NARROW", "bottleneck", "capacity", "frozen", "linear_units"]

NARROW = 4  # a hidden layer with fewer units than this (or than the outputs) is a bottleneck
LINEAR_SLOPE = 0.1  # a leaky ReLU whose negative slope is this close to 1 is nearly the identity


def bottleneck(ev: Evidence) -> Suspect | None:
    """A hidden layer narrower than what it must carry (fewer units than the outputs, or
    than ``NARROW``): too little capacity by construction, whatever else the run does."""
    hidden = [int(h) for h in ev.cfg("model.hidden") or [] if isinstance(h, int)]
    outputs = len(ev.data.get("classes") or []) or 1
    if not hidden or min(hidden) >= max(NARROW, outputs):
        return None
    wider = [max(64, 4 * h) for h in hidden]
    return Suspect(
        "model.hidden",
        f"a hidden layer of {min(hidden)} unit{'s' * (min(hidden) != 1)} must carry "
        f"{outputs} output{'s' * (outputs != 1)}",
        0.92,
        [Prescription("wider hidden layers (a bottleneck this narrow cannot fit the data)",
                      {"model.hidden": wider})],
    )  # fmt: skip


def frozen(ev: Evidence) -> Suspect | None:
    """Hidden layers frozen: only the head learns, on features the run never trained. From
    a random start (no ``init_from``) they are random features, never what a network that
    underfits was meant to be. (Moons, [8, 8] frozen but the head: train 0.87 where 0.94 is
    achievable, read as too little capacity.)"""
    freeze = ev.cfg("model.freeze")
    if not freeze or ev.cfg("train.unfreeze_at_epoch"):
        return None
    pretrained = bool(ev.cfg("model.init_from"))
    what = "pretrained" if pretrained else "random"
    return Suspect(
        "model.freeze",
        f"the hidden layers are frozen ({freeze}) at their {what} weights: only the head learns",
        0.6 if pretrained else 0.95,
        [Prescription("train every layer", {"model.freeze": None})],
    )


def linear_units(ev: Evidence) -> Suspect | None:
    """Leaky ReLUs with a negative slope near 1 compute (nearly) the identity: the stack is
    one linear map however deep or wide, and more capacity cannot help. (Moons with
    ``negative_slope: 1``: 0.86, the linear model's level, read as too little capacity.) A
    slope of 2 or -1 still bends."""
    slope = ev.cfg("model.negative_slope")
    if ev.cfg("model.activation") != "leaky_relu" or not isinstance(slope, int | float):
        return None
    if abs(slope - 1.0) > LINEAR_SLOPE:
        return None
    return Suspect(
        "model.negative_slope",
        f"leaky ReLUs with negative slope {slope:g} are nearly linear: the network is one "
        "linear map",
        0.95,
        [
            Prescription(
                "a leaky ReLU that bends (negative slope 0.01)", {"model.negative_slope": 0.01}
            )
        ],
    )


def capacity(ev: Evidence) -> Suspect:
    """Too little capacity: what is left when no setting explains the shortfall."""
    hidden = list(ev.cfg("model.hidden") or [16])
    if len(hidden) >= 3:
        wider = [max(64, 2 * h) for h in hidden]
        remedy = Prescription("wider layers (more capacity per layer)", {"model.hidden": wider})
    else:
        wider = [max(64, 4 * h) for h in hidden]
        remedy = Prescription(
            "a wider and deeper model (more capacity)", {"model.hidden": [*wider, wider[-1]]}
        )
    return Suspect("model.hidden", f"hidden layers {hidden}", 0.3, [remedy])
