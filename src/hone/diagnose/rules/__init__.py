"""Diagnosis rules, one per finding code."""

from hone.diagnose.rules.bad_init import BadInit
from hone.diagnose.rules.base import Rule
from hone.diagnose.rules.bias_variance import BiasVariance
from hone.diagnose.rules.gradients import ExplodingGradients, VanishingGradients
from hone.diagnose.rules.lr_too_high import LrTooHigh
from hone.diagnose.rules.lr_too_low import LrTooLow
from hone.diagnose.rules.misleading_accuracy import MisleadingAccuracy
from hone.diagnose.rules.not_converged import NotConverged
from hone.diagnose.rules.overconfidence import Overconfidence
from hone.diagnose.rules.overfitting import Overfitting
from hone.diagnose.rules.split_mismatch import SplitMismatch
from hone.diagnose.rules.underfitting import Underfitting
from hone.diagnose.rules.units import DeadUnits, Saturation

__all__ = [
    "RULES",
    "BadInit",
    "BiasVariance",
    "DeadUnits",
    "ExplodingGradients",
    "LrTooHigh",
    "LrTooLow",
    "MisleadingAccuracy",
    "NotConverged",
    "Overconfidence",
    "Overfitting",
    "Rule",
    "Saturation",
    "SplitMismatch",
    "Underfitting",
    "VanishingGradients",
]

# Order of evaluation, and of the report when severities tie.
RULES: list[Rule] = [
    LrTooHigh(),
    BadInit(),
    VanishingGradients(),
    ExplodingGradients(),
    DeadUnits(),
    Saturation(),
    Underfitting(),
    Overfitting(),
    Overconfidence(),
    LrTooLow(),
    NotConverged(),
    MisleadingAccuracy(),
    SplitMismatch(),
    BiasVariance(),
]
