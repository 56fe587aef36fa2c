"""``bad_init``: at initialisation, before any step, every unit of a layer computes the same
thing (a symmetric init such as zeros or a constant), or the activations' scale collapses or
explodes with depth, or most units start saturated."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.settings import no_cost_seen
from hone.diagnose.signals import at_init_activation, finite, unscaled_inputs

GROWTH = 10.0  # activation std grows (or shrinks) more than 10x from first to last layer
# Initialisers scaled by fan-in: what saturates their units at the start is the inputs.
SCALED = ("auto", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_normal",
          "torch_default")  # fmt: skip
SYMMETRIC = 1e-6  # spread across units below this (relative): every unit is the same


class BadInit(Rule):
    code = "bad_init"

    def check(self, ev: Evidence) -> Finding | None:
        at_init = (ev.telemetry or {}).get("at_init") or {}
        hidden = {k: v or {} for k, v in at_init.items() if not k.startswith("output")}
        # A layer whose every unit is silent at the start (one dead unit) has no scale to
        # compare: ``dead_units`` and the capacity it leaves read it.
        stds = {k: finite([v.get("std")])[0] for k, v in hidden.items()
                if finite([v.get("std")]) and v.get("dead") != 1.0}  # fmt: skip
        symmetric = []
        for k, v in hidden.items():
            # Telemetry records the spread across units for every layer of two units or
            # more; a layer without it is one unit, symmetric with nothing (a single unit
            # silent for every input is dead, which ``dead_units`` reads, not symmetric).
            spread = finite([v.get("unit_std")])
            mean = finite([v.get("mean")])
            scale = abs(mean[0]) if mean else 0.0
            if spread and spread[0] <= SYMMETRIC * max(1.0, scale):
                symmetric.append(k)
        values = list(stds.values())
        if not values and not symmetric:
            return None
        ratio = values[-1] / values[0] if values and values[0] > 1e-7 else float("inf")
        saturated = at_init_activation(ev.telemetry or {}, "saturated")
        mostly_saturated = [k for k, s in saturated.items() if s >= 0.5]
        exploding = len(values) >= 2 and values[0] > 1e-7 and (ratio > GROWTH or ratio < 1 / GROWTH)
        if not (symmetric or exploding or mostly_saturated):
            return None
        init = ev.cfg("model.init", "auto")
        if not (symmetric or exploding) and unscaled_inputs(ev) and init in SCALED:
            return None  # a sound init saturated by raw inputs: ``saturation`` names them
        if symmetric:
            why = (
                f"at initialisation every unit of {', '.join(symmetric)} outputs the same value "
                f"for a given input: with init '{init}' all units get identical gradients and "
                "stay identical"
            )
        elif exploding:
            why = (
                f"activation std goes {values[0]:.3g} -> {values[-1]:.3g} ({ratio:.3g}x) across "
                f"{len(values)} layers at initialisation"
            )
        else:
            why = f"at initialisation {', '.join(mostly_saturated)} are mostly saturated"
        out = []
        if unscaled_inputs(ev):
            out.append(
                Prescription(
                    "standardise the inputs: raw features far from unit scale blow up the first "
                    "layer's activations whatever the initialisation",
                    {"data.preprocess.scale": "standard"},
                )
            )
        out += [
            Prescription(
                "He for ReLU-family, Xavier for sigmoid/tanh, with zero biases",
                {"model.init": "auto", "model.bias_init": "zeros"},
            ),
            Prescription(
                "normalisation layers repair the scale as training goes", {"model.norm": "batch"}
            ),
        ]
        # Identical units work as one: on data a narrow model fits (a linear target) that
        # may cost nothing, and then it is a note, as dead or saturated units are.
        costless = no_cost_seen(ev)
        return Finding(
            self.code,
            "info" if costless else "critical" if symmetric else "warning",
            "The initial weights are badly scaled",
            why + ". He (ReLU) and Xavier (sigmoid/tanh) initialisation keep the scale constant "
            "and break the symmetry between units." + (costless or ""),
            {
                "init": init,
                "activation_std_at_init": stds,
                "std_ratio_last_to_first": ratio,
                "symmetric_layers": symmetric,
                "saturated_at_init": saturated,
            },
            out,
            causes=(["data.preprocess.scale"] if unscaled_inputs(ev) else [])
            + _init_keys(ev, bool(symmetric)),
        )


def _init_keys(ev: Evidence, symmetric: bool) -> list[str]:
    """The initialiser settings to blame: a constant or zero bias can make units symmetric
    (or dead) as surely as constant weights."""
    keys = ["model.init"]
    if ev.cfg("model.init") == "constant" or ev.cfg("model.bias_init") == "constant":
        keys.append("model.init_value")
    if ev.cfg("model.bias_init", "zeros") not in ("zeros", "auto"):
        keys.insert(0 if not symmetric else 1, "model.bias_init")
    return keys
