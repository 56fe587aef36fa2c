"""``dead_units`` (ReLU units that output zero for every sample, or a layer whose outputs are
nearly all zero: units that each fire for a few samples) and ``saturation``
(sigmoid/tanh outputs pinned at their bounds), measured at the end of training (saturation
also at initialisation, where raw inputs caused it and the run paid for it). In a run
that reaches what is achievable on its data they cost nothing measurable: a note (info). In
a network that fits its training data they are named only when nearly every unit of a layer
is dead or saturated: such a layer works as a tenth of its width (saturated, as fixed random
sign features that its weights barely move) — or, as a note, when raw inputs far from unit
scale saturate a third of a layer's outputs (the cause is plain and standardising is free)."""

from __future__ import annotations

from typing import Any

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.progress import TINY_UPDATE
from hone.diagnose.rules.base import Rule
from hone.diagnose.rules.lr_too_high import lower_lr
from hone.diagnose.settings import NARROW, no_cost_seen, suspects_for_underfitting
from hone.diagnose.signals import (
    DEAD_SHARE,
    SAFE_LR,
    at_init_activation,
    fits_training_set,
    last_epoch_activation,
    median_update_ratio,
    unscaled_inputs,
)
from hone.diagnose.step_size import smaller_step, step_causes, step_leads, step_suspects

DEAD = DEAD_SHARE  # a layer with >= 40 % dead units
SEVERE_DEAD = 0.9  # ... or >= 90 % even in a network that fits its data
OFF = 0.9  # ... or >= 90 % of a layer's outputs zero (about half, with zero biases)
STILL_OFF = 0.75  # ... or >= 75 % still, in a layer a negative bias switched off at init
SATURATED = 0.3  # a layer with >= 30 % of outputs within 0.02 of a bound
SEVERE_SATURATED = 0.9  # ... or >= 90 % even in a network that fits its data
AT_INIT = 0.5  # ... or >= 50 % at initialisation, by raw inputs, in a run that paid for it
CRAWL = 1e-2  # a rate below a hundredth of the safe one explains tiny steps on its own
MIN_UNITS = 4  # a share of fewer units says more about the model's size than about its units


def _judged(ev: Evidence, shares: dict[str, float], severe: float = 1.01) -> dict[str, float]:
    """Layers wide enough to judge, in a network that does not already fit its data — or,
    at ``severe`` or more, whatever it fits (a layer running on a tenth of its units)."""
    if fits_training_set(ev):
        shares = {k: v for k, v in shares.items() if v >= severe}
    return _wide_enough(ev, shares)


def _widths(ev: Evidence) -> dict[str, Any]:
    """Each hidden layer's activation name (as telemetry names it) and its configured width."""
    return {f"hidden{i}.act": w for i, w in enumerate(ev.cfg("model.hidden") or [], start=1)}


def _wide_enough(ev: Evidence, shares: dict[str, float]) -> dict[str, float]:
    """The layers of ``shares`` with ``MIN_UNITS`` or more."""
    widths = _widths(ev)
    return {k: v for k, v in shares.items() if widths.get(k, MIN_UNITS) >= MIN_UNITS}


class DeadUnits(Rule):
    code = "dead_units"

    def check(self, ev: Evidence) -> Finding | None:
        silent = _silent_layer(ev)
        if silent is None or ev.status == "diverged":
            return None
        layer, share, mostly_off = silent
        leads = step_leads(ev)  # heavy momentum or a raised schedule made the steps
        out = _dead_remedies(ev, leads)
        causes = (
            ["model.bias_init", "model.init_value"] if out[0].patch.get("model.bias_init") else []
        )
        tele = ev.telemetry or {}
        evidence = {"dead_fraction_by_layer": last_epoch_activation(tele, "dead"),
                    "threshold": _off_line(ev, layer) if mostly_off else DEAD,
                    "bias_init": ev.cfg("model.bias_init")}  # fmt: skip
        unmoved = None if mostly_off else _dead_since_init(ev, layer)
        if unmoved is not None:  # the rate did not kill them: it barely moved the network
            out = [p for p in out if "train.optimizer.lr" not in p.patch]
            evidence["median_update_to_weight_ratio"] = unmoved
            why = (
                f"In {layer}, {share:.0%} of the units output zero for every sample, as they "
                f"did at initialisation: with steps of {unmoved:.1e} of the weights' size the "
                "network barely moved from its start, so they are not what holds it back."
            )
            causes += ["model.activation", "model.init"]
            return Finding(self.code, "info", "Many ReLU units are dead", why, evidence, out,
                           causes=causes)  # fmt: skip
        if mostly_off:
            evidence["off_share_by_layer"] = last_epoch_activation(tele, "off")
            why = (
                f"In {layer}, {share:.0%} of the outputs are zero (about half, with zero "
                "biases): most units fire for few samples, so they pass gradient for few and "
                "learn slowly."
            )
        else:
            why = (f"In {layer}, {share:.0%} of the units output zero for every sample, so "
                   "they pass no gradient and never recover.")  # fmt: skip
            if leads:
                why += f" Most likely cause: {step_suspects(ev)[0].why}."
        costless = no_cost_seen(ev) if mostly_off or share < 0.8 else None
        if not costless and not mostly_off and share < 0.8 and not causes:  # (no bias fault)
            costless = _enough_left(ev, layer, share)
        severe = "critical" if share >= 0.8 and not mostly_off else "warning"
        return Finding(
            self.code,
            "info" if costless else severe,
            "Most ReLU outputs are zero" if mostly_off else "Many ReLU units are dead",
            why + (costless or ""),
            evidence,
            out,
            harmful={"lr": 1},
            causes=[*causes, *_dead_causes(ev, leads)],
        )


# What dead units can be blamed for: the settings their remedies move.
_UNIT_KEYS = ("model.activation", "model.init", "model.bias_init", "model.init_value",
              "train.optimizer.lr")  # fmt: skip


def _enough_left(ev: Evidence, layer: str, share: float) -> str | None:
    """Why dead units in ``layer`` are a note where the run falls short: the units still
    alive are no bottleneck (``settings.NARROW``, and as many as the outputs), and a setting
    their remedies do not move explains the shortfall (a schedule that killed the rate,
    early stopping, too few epochs, regularisation). Seed 30's five digits CNNs with half of
    a 32-unit layer dead led with LeakyReLU, which measured no difference on any of them."""
    width = _widths(ev).get(layer)
    outputs = len(ev.data.get("classes") or []) or 1
    if not isinstance(width, int) or width * (1 - share) < max(NARROW, outputs):
        return None
    other = next((s for s in suspects_for_underfitting(ev)
                  if s.key not in _UNIT_KEYS and s.key != "model.hidden"), None)  # fmt: skip
    if other is None:
        return None
    return (f" The {round(width * (1 - share))} units still alive are enough for this task: "
            f"the shortfall has a likelier cause, {other.why}.")  # fmt: skip


def _silent_layer(ev: Evidence) -> tuple[str, float, bool] | None:
    """The worst layer by its share of dead units, else (``True``) by the share of its
    outputs that are zero: a layer of units that each fire for a few samples is nearly dead
    too, though few are dead for every sample (a negative bias does this)."""
    tele = ev.telemetry or {}
    dead = _judged(ev, last_epoch_activation(tele, "dead"), SEVERE_DEAD)
    worst = {k: v for k, v in dead.items() if v >= DEAD}
    if worst:
        return (*max(worst.items(), key=lambda kv: kv[1]), False)
    # In a network that fits its data, only a layer that a setting switched off from the
    # start (a negative bias): one that fits a few rows may grow that sparse by training.
    at_init, fits = at_init_activation(tele, "off"), fits_training_set(ev)
    off = {k: v for k, v in last_epoch_activation(tele, "off").items()
           if not fits or at_init.get(k, 0.0) >= OFF}  # fmt: skip
    # A layer a negative bias switched off from the start that is still mostly off (three
    # quarters, where a healthy ReLU layer is about half) is still the bias's doing. (Seed
    # 45: bias -3.03 in a [16] net on a CSV, 97 % off at init and 88 % at the end, val 0.863
    # where its twin reached 0.925: called healthy.)
    off = {k: v for k, v in _judged(ev, off, OFF).items() if v >= _off_line(ev, k)}
    if off:
        return (*max(off.items(), key=lambda kv: kv[1]), True)
    return None


def _off_line(ev: Evidence, layer: str) -> float:
    """The share of zero outputs that makes ``layer`` mostly off: ``STILL_OFF`` where a
    negative constant bias switched it off at initialisation, else ``OFF``."""
    at_init = at_init_activation(ev.telemetry or {}, "off").get(layer, 0.0)
    return STILL_OFF if _negative_bias(ev) and at_init >= OFF else OFF


def _negative_bias(ev: Evidence) -> bool:
    """Biases initialised to a negative constant: they switch ReLU units off from the start."""
    return ev.cfg("model.bias_init") == "constant" and float(ev.cfg("model.init_value", 0.0)) < 0


def _dead_causes(ev: Evidence, leads: bool) -> list[str]:
    """The activation that can die, and the settings that made the steps that killed its
    units; those first where the rate alone would be safe (``step_leads``). (Momentum 0.999
    under SGD at 0.1 on moons, 97 % of a layer dead: LeakyReLU diverged on 6 of 6 seeds,
    momentum 0.9 reached val 0.95.)"""
    if leads:
        return [*step_causes(ev), "model.activation"]
    return ["model.activation", *step_causes(ev)]


def _dead_remedies(ev: Evidence, leads: bool) -> list[Prescription]:
    out = []
    if _negative_bias(ev):
        out.append(
            Prescription(
                "zero biases: a negative bias switches ReLU units off from the start",
                {"model.bias_init": "zeros"},
            )
        )
    alive = [
        Prescription(
            "LeakyReLU keeps a small gradient for negative inputs",
            {"model.activation": "leaky_relu"},
        ),
        Prescription("ELU is smooth and never flat", {"model.activation": "elu"}),
    ]
    smaller = smaller_step(ev, lower_lr(ev), "a smaller learning rate knocks fewer units out")
    first, then = (smaller, alive) if leads else (alive, smaller)
    he = Prescription("He initialisation with zero biases",
                      {"model.init": "he_normal", "model.bias_init": "zeros"})  # fmt: skip
    return [*out, *first, *then, he]


def _dead_since_init(ev: Evidence, layer: str) -> float | None:
    """The median update/weight ratio when ``layer``'s units were already dead at
    initialisation and a rate far below the safe one (``CRAWL``) made steps too small to move
    the network (``TINY_UPDATE``): neither training nor its rate killed them, and the rate,
    not the units, explains the tiny steps (dead units pass no gradient, which makes tiny
    steps too, at any rate)."""
    at_init = at_init_activation(ev.telemetry or {}, "dead").get(layer)
    update = median_update_ratio(ev.telemetry) if ev.telemetry else None
    lr = float(ev.cfg("train.optimizer.lr", 0.0) or 0.0)
    safe = SAFE_LR.get(str(ev.cfg("train.optimizer.name", "adam")), 0.01)
    if at_init is None or at_init < DEAD or update is None or update >= TINY_UPDATE:
        return None
    return update if lr < CRAWL * safe else None


class Saturation(Rule):
    code = "saturation"

    def check(self, ev: Evidence) -> Finding | None:
        sat = last_epoch_activation(ev.telemetry or {}, "saturated")
        judged = _judged(ev, sat, SEVERE_SATURATED)
        # raw inputs: layers saturated at the end, else at initialisation (cost seen)
        worst = {k: v for k, v in judged.items() if v >= SATURATED} or _raw_inputs_saturate(ev, sat)
        when = "the outputs sit"
        if not worst:
            worst = _saturated_by_the_inputs(ev)
            when = "the outputs sat at initialisation"
        if not worst:
            return None
        layer, share = max(worst.items(), key=lambda kv: kv[1])
        deep = len(ev.cfg("model.hidden") or []) >= 4
        out = _saturation_remedies(ev, deep)
        costless = no_cost_seen(ev)
        return Finding(
            self.code,
            "info" if costless else "warning",
            "Sigmoid/tanh units are saturated",
            f"In {layer}, {share:.0%} of {when} within 0.02 of the activation's bounds, "
            "where its slope is almost zero and learning stalls." + (costless or ""),
            {
                "saturated_fraction_by_layer": sat,
                "threshold": SATURATED,
                "inputs_unscaled": unscaled_inputs(ev),
            },
            out,
            causes=[
                p
                for p, hit in (
                    ("data.preprocess.scale", unscaled_inputs(ev)),
                    ("model.init", ev.cfg("model.init") in ("normal", "uniform", "constant")),
                    ("model.norm", deep),
                    ("model.activation", True),
                )
                if hit
            ],
        )


_BATCH_NORM = {"model.norm": "batch", "model.norm_position": "before_activation"}


def _saturation_remedies(ev: Evidence, deep: bool) -> list[Prescription]:
    """Saturation's remedies, the inputs' scale first where raw inputs are why."""
    out = []
    raw = unscaled_inputs(ev)
    unnormalised = deep and ev.cfg("model.norm", "none") == "none"
    if raw and unnormalised:
        # Measured on a [64]x4 sigmoid moons net with inputs x37 (val 0.944 over 8 seeds):
        # standardised alone 0.878 (the deep stack then stalls near the linear model's
        # level), with pre-activations normalised too 0.971.
        out.append(
            Prescription(
                "standardise the inputs and normalise pre-activations: in a deep sigmoid/"
                "tanh stack, scaled inputs alone leave the deeper layers to stall",
                {"data.preprocess.scale": "standard", **_BATCH_NORM},
            )
        )
    if raw:
        out.append(
            Prescription(
                "standardise the inputs: raw features far from unit scale push sigmoid/tanh "
                "units to their bounds",
                {"data.preprocess.scale": "standard"},
            )
        )
    if unnormalised:
        out.append(
            Prescription(
                "normalise pre-activations: in a deep stack only normalisation keeps every "
                "layer in the linear range",
                dict(_BATCH_NORM),
            )
        )
    if ev.cfg("model.init") in ("normal", "uniform", "constant"):
        out.append(
            Prescription(
                "Xavier initialisation keeps sigmoid/tanh inputs in their linear range",
                {"model.init": "auto"},
            )
        )
    out += [
        Prescription(
            "ReLU-family activations do not saturate for positive inputs",
            {"model.activation": "leaky_relu", "model.init": "auto"},
        ),
        Prescription(
            "normalise pre-activations to keep them in the linear range", dict(_BATCH_NORM)
        ),
    ]
    return out


def _raw_inputs_saturate(ev: Evidence, sat: dict[str, float]) -> dict[str, float]:
    """Layers ``SATURATED`` or more at the end in a network that fits its data, where raw
    inputs far from unit scale are why: a note where it reaches what is achievable (the
    setting that caused it is plain and standardising is free), a warning where validation
    falls short: units pinned at their bounds turn raw features into near-binary codes the
    network memorises. (Held-out seed 51: regression features x39 into a [256] tanh net,
    85 % saturated, train R² 0.99 and val 0.37, read as overfitting that wanted dropout;
    standardising cut val loss by 0.61, dropout 0.3 by 0.41.)"""
    if not unscaled_inputs(ev):
        return {}
    return _wide_enough(ev, {k: v for k, v in sat.items() if v >= SATURATED})


def _saturated_by_the_inputs(ev: Evidence) -> dict[str, float]:
    """Layers mostly saturated at initialisation (``AT_INIT``) by raw inputs far from unit
    scale, in a run that paid for it (short of what is achievable), though training later
    pulled them out: the units were saturated, and the inputs are why."""
    if not unscaled_inputs(ev) or no_cost_seen(ev) is not None:
        return {}
    shares = at_init_activation(ev.telemetry or {}, "saturated")
    return {k: v for k, v in _judged(ev, shares).items() if v >= AT_INIT}
