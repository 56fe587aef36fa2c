"""Turning rules' findings into a diagnosis a person can act on.

- Root cause first: findings are ordered by causal tier (``TIERS``), then severity, and a
  capacity finding that follows from an earlier one says so (``explained_by``). A capacity
  finding whose most likely cause is strong regularisation is the exception: the optimisation
  and unit findings that such a setting produces follow from it instead (``_SIDE_EFFECTS``).
- No prescription is a no-op (a patch that leaves the config as it is) or moves a quantity in
  a direction another finding on the same run shows to be harmful (raising the LR of a run
  that oscillates, adding capacity to one that memorises); a key of a patch that changes
  nothing (``bias_init: zeros`` where biases already start at zero) is left out of it.
- Numbers are rounded to three significant digits.
- The sentence says what the patch does: ``{dotted.key}`` in a prescription's text is filled
  with the patch's (rounded) value, so the two cannot drift apart; ``disagreements`` lists a
  number the text states that the patch does not set (the scenario tests keep it empty).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from typing import Any

from hone.config import Config, load_config
from hone.diagnose.finding import SEVERITIES, Finding, Prescription
from hone.diagnose.settings import REGULARISERS
from hone.diagnose.signals import nice
from hone.errors import HoneError

__all__ = ["disagreements", "effective", "effects", "fill", "finalize"]

# Capacity findings that an earlier root cause explains, and the root causes that can.
_CONSEQUENCES = ("underfitting", "overfitting", "not_converged", "bias_variance")
# Symptoms not reported beside their cause: tiny steps in a network of dead or saturated
# units, or vanishing gradients, are not a learning rate that is too low. A defect that cost
# the run nothing seen (``_NOTES`` at info level) hides nothing.
# A loss that bounces or explodes is never also "too slow": the learning rate cannot be both.
# Defects of the units that their rules say at info level only where they cost nothing seen.
_NOTES = ("dead_units", "saturation", "bad_init")
_INPUTS = "data.preprocess.scale"  # raw inputs far from unit scale
# Regularisation strong enough to stop a model fitting (``settings.regularisation`` names it
# only then) also makes symptoms of its own: dropout of most units makes the training loss
# noisy (read as a rate too high), multiplies what each layer passes on, and its gradients,
# by 1 / (1 - rate) in training, and leaves units silent at the end; a penalty that dominates
# the loss shrinks every weight and step. Where underfitting names such a setting first, those
# findings follow from it unless they name it themselves. (On generated seeds 24 to 26, 15
# dropout runs, 0.7 to 0.93, were verified with LeakyReLU or a smaller rate first: 13 found no
# difference, one a gain and one a loss; less dropout, where it came first, gained 0.04 to
# 0.88 in val accuracy.)
_SIDE_EFFECTS = ("lr_too_high", "exploding_gradients", "saturation", "dead_units",
                 "vanishing_gradients", "lr_too_low", "not_converged")  # fmt: skip
_HIDDEN_BY = {
    "lr_too_low": {"saturation", "vanishing_gradients", "dead_units", "bad_init", "lr_too_high",
                   "exploding_gradients"},
}  # fmt: skip


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return nice(value)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def _summary(cfg: Any) -> dict[str, float]:
    """The quantities prescriptions move: learning rate, capacity, regularisation, epochs."""
    hidden = list(cfg.model.hidden)
    filters = [c.filters for c in cfg.model.conv]
    return {
        "lr": float(cfg.train.optimizer.lr),
        "capacity": float(sum(hidden) + sum(filters) + 10 * len(hidden) + 10 * len(filters)),
        "regularization": float(cfg.model.dropout + 1e3 * (cfg.train.l2 + cfg.train.l1)),
        "epochs": float(cfg.train.epochs),
    }


def effects(config: dict[str, Any], patch: dict[str, Any],
            before: Config | None = None) -> dict[str, int] | None:  # fmt: skip
    """+1/-1 per quantity the patch raises/lowers; {} for a no-op; None when it is invalid.
    ``before``: ``config`` already validated (``finalize`` checks many patches on one)."""
    try:
        if before is None:
            before = load_config(config)
        after = load_config(before, patch)
    except HoneError:
        return None
    if after.model_dump_json() == before.model_dump_json():
        return {}
    a, b = _summary(before), _summary(after)
    moved = {k: (1 if b[k] > a[k] else -1) for k in a if b[k] != a[k]}
    return moved or {"other": 1}


def effective(config: dict[str, Any], patch: dict[str, Any],
              before: Config | None = None) -> dict[str, Any]:  # fmt: skip
    """``patch`` without the keys that leave ``config`` as it is (each tried on its own).
    ``before``: ``config`` already validated."""
    try:
        if before is None:
            before = load_config(config)
        was = before.model_dump_json()
    except HoneError:
        return patch
    kept = {}
    for key, value in patch.items():
        try:
            same = load_config(before, {key: value}).model_dump_json() == was
        except HoneError:
            same = False  # invalid alone: effects() judges the whole patch
        if not same:
            kept[key] = value
    return kept


def _lookup(tree: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` in a patch (dotted keys, nested values) or a config; KeyError."""
    for key in sorted(tree, key=len, reverse=True):
        if dotted == key:
            return tree[key]
        if dotted.startswith(key + "."):
            value = tree[key]
            for part in dotted[len(key) + 1 :].split("."):
                value = value[part]
            return value
    raise KeyError(dotted)


_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)+)\}")


def fill(why: str, patch: dict[str, Any], config: dict[str, Any] | None = None) -> str:
    """``why`` with each ``{dotted.key}`` replaced by the patch's value for it (else the
    config's): the sentence is made from the patch it describes."""

    def value(m: re.Match[str]) -> str:
        for source in (patch, config or {}):
            try:
                found = _lookup(source, m.group(1))
            except (KeyError, TypeError):
                continue
            return f"{found:g}" if isinstance(found, float) else str(found)
        return m.group(0)

    return _SLOT.sub(value, why)


# A number the sentence states; "epoch 12" is a point in the run's history, not a setting.
_NUMBER = re.compile(r"(?<![\w.])(?<!epoch )[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.%])")


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers(v)]
    return []


def disagreements(why: str, patch: dict[str, Any]) -> list[str]:
    """The numbers ``why`` states that ``patch`` does not set (to 3 significant digits; an
    ``epoch N`` is where something happened in the run, not a setting)."""
    wanted = [nice(n) for n in _numbers(patch)]
    out = []
    for text in _NUMBER.findall(why):
        number = nice(float(text))
        if not any(math.isclose(number, w, rel_tol=1e-3, abs_tol=1e-12) for w in wanted):
            out.append(text)
    return out


def _costless(f: Finding) -> bool:
    """A defect of the units said at info level: its rule saw it cost the run nothing."""
    return f.severity == "info" and f.code in _NOTES


def _more_epochs(f: Finding, named: set[str]) -> bool:
    """``not_converged`` said at info ("more epochs should help") beside an underfitting
    alarm that names another setting first (``named``): that setting is what holds the run
    back. (Blobs with class 0 weighted 20: its loss still fell at epoch 100, and "train
    longer" led the underfitting that names the weights.) Where the underfitting names the
    epochs too, the run was cut short, and ``not_converged`` stays the root."""
    return f.code == "not_converged" and f.severity == "info" and bool(named - set(f.causes[:1]))


def _regularised_first(ordered: list[Finding], config: dict[str, Any]) -> list[Finding]:
    """``ordered`` with an underfitting whose most likely cause is strong regularisation
    before the findings that setting can produce (``_SIDE_EFFECTS``), each linked to it."""
    cause = next((f for f in ordered if f.code == "underfitting"
                  and f.causes and f.causes[0] in REGULARISERS), None)  # fmt: skip
    if cause is None:
        return ordered
    key = cause.causes[0]
    # An underfitting said at info level (a shortfall within the reference's noise, named
    # for a strong setting) leads only notes: the dead units of an L1 of 0.1 on the blobs
    # follow from the L1, not from the activation; an alarm it does not explain away.
    notes = cause.severity == "info"
    follow = [f for f in ordered if f.code in _SIDE_EFFECTS and key not in f.causes
              and (_costless(f) if notes else not _costless(f))
              and f.explained_by is None]  # fmt: skip
    if not follow:
        return ordered
    try:
        said = f"{key} = {nice(float(_lookup(config, key)))}"
    except (KeyError, TypeError, ValueError):
        said = key
    for f in follow:
        f.explained_by = cause.code
        f.explanation += (
            f" Here {f.code} may follow from {said}, the cause {cause.code} names: fix that first."
        )
    rest = [f for f in ordered if f is not cause]
    at = rest.index(follow[0])
    return [*rest[:at], cause, *rest[at:]]


def finalize(
    findings: list[Finding], config: dict[str, Any], prescribe: Collection[str] | None = None
) -> list[Finding]:
    """Order by cause, link consequences to their cause, clean the prescriptions (of the
    codes in ``prescribe`` only, when given: checking each patch builds the config twice)."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    checked: list[Config | None] = []  # the config validated once, for every patch checked

    def validated() -> Config | None:
        if not checked:
            try:
                checked.append(load_config(config))
            except HoneError:
                checked.append(None)  # each check then says the config is invalid itself
        return checked[0]

    codes = {f.code for f in findings if not _costless(f)}
    findings = [f for f in findings if not (_HIDDEN_BY.get(f.code, set()) & codes)]
    # A defect that cost the run nothing seen explains nothing, and follows the alarms; so
    # does a note that more epochs would help, beside an underfitting with another cause.
    alarmed = any(f.severity != "info" for f in findings)
    # Within a tier, raw inputs come first: they feed every layer (saturated units are why
    # gradients vanish, not the other way round).
    named = {g.causes[0] for g in findings if g.code == "underfitting" and g.severity != "info"
             and g.causes}  # fmt: skip
    ordered = sorted(
        findings,
        key=lambda f: (
            alarmed and (_costless(f) or _more_epochs(f, named)),
            f.tier,
            f.causes[:1] != [_INPUTS],
            -rank[f.severity],
        ),
    )
    ordered = _regularised_first(ordered, config)
    roots = [f for f in ordered if f.code not in _CONSEQUENCES and f.tier < 5
             and not _costless(f) and f.explained_by is None]  # fmt: skip
    for f in ordered:
        if f.code in _CONSEQUENCES and roots and f.explained_by is None:
            root = roots[0]
            if root.tier < f.tier:
                f.explained_by = root.code
                f.explanation += f" Here {f.code} is a consequence of {root.code}: fix that first."
                f.causes = [*root.causes, *(c for c in f.causes if c not in root.causes)]
    for f in ordered:
        if prescribe is not None and f.code not in prescribe:
            continue
        harmful: dict[str, int] = {}
        for other in ordered:
            if other is not f:
                harmful.update(other.harmful)
        harmful.update(f.harmful)
        kept: list[Prescription] = []
        seen: set[str] = set()
        for p in f.prescriptions:
            patch = _round(p.patch)
            if patch and config:
                patch = effective(config, patch, validated())
                if not patch:  # every key already in place
                    continue
            if patch:
                moved = effects(config, patch, validated()) if config else {"other": 1}
                if not moved:  # invalid or already in place
                    continue
                if any(harmful.get(k) == d for k, d in moved.items()):
                    continue  # moves something the way another finding shows is harmful
                key = repr(sorted(patch.items()))
                if key in seen:
                    continue
                seen.add(key)
            kept.append(Prescription(fill(p.why, patch, config), patch))
        f.prescriptions = kept
    return ordered
