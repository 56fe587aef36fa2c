"""``bad_init``: at initialisation, before any step, hidden activations are identical across
units (a symmetric init such as zeros), or their scale collapses or explodes with depth."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule

GROWTH = 10.0  # activation std grows (or shrinks) more than 10x from first to last layer
SYMMETRIC = 1e-7  # std below this: every unit computes the same thing


class BadInit(Rule):
    code = "bad_init"

    def check(self, ev: Evidence) -> Finding | None:
        at_init = (ev.telemetry or {}).get("at_init") or {}
        hidden = {k: v for k, v in at_init.items() if not k.startswith("output")}
        stds = {k: v["std"] for k, v in hidden.items()}
        if not stds:
            return None
        values = list(stds.values())
        symmetric = [k for k, s in stds.items() if s < SYMMETRIC]
        ratio = values[-1] / values[0] if values[0] > SYMMETRIC else float("inf")
        saturated = {k: v.get("saturated", 0.0) for k, v in hidden.items()}
        mostly_saturated = [k for k, s in saturated.items() if s >= 0.5]
        exploding = (
            len(values) >= 2 and values[0] > SYMMETRIC and (ratio > GROWTH or ratio < 1 / GROWTH)
        )
        if not (symmetric or exploding or mostly_saturated):
            return None
        init = ev.cfg("model.init", "auto")
        if symmetric:
            why = (
                f"at initialisation every unit of {', '.join(symmetric)} outputs the same value "
                f"(std {stds[symmetric[0]]:.2g}): with init '{init}' all units get identical "
                "gradients and stay identical"
            )
        elif exploding:
            why = (
                f"activation std goes {values[0]:.3g} -> {values[-1]:.3g} ({ratio:.3g}x) across "
                f"{len(values)} layers at initialisation"
            )
        else:
            why = f"at initialisation {', '.join(mostly_saturated)} are mostly saturated"
        return Finding(
            self.code,
            "critical" if symmetric else "warning",
            "The initial weights are badly scaled",
            why + ". He (ReLU) and Xavier (sigmoid/tanh) initialisation keep the scale constant.",
            {
                "init": init,
                "activation_std_at_init": stds,
                "std_ratio_last_to_first": ratio,
                "symmetric_layers": symmetric,
                "saturated_at_init": saturated,
            },
            [
                Prescription(
                    "He for ReLU-family, Xavier for sigmoid/tanh",
                    {"model.init": "auto", "model.bias_init": "zeros"},
                ),
                Prescription(
                    "normalisation layers repair the scale as training goes",
                    {"model.norm": "batch"},
                ),
            ],
        )
