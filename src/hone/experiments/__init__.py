"""Experiments: paired comparisons with confidence intervals, Optuna searches, the LR range
test and the improve loop."""

from hone.experiments.compare import plan_experiment, run_pending, summarize_experiment
from hone.experiments.lr_find import LRFinding, lr_find
from hone.experiments.stats import Comparison, Summary, compare_paired, summarize
from hone.experiments.variants import Variant, from_file, grid, ladder

__all__ = [
    "Comparison",
    "LRFinding",
    "Summary",
    "Variant",
    "compare_paired",
    "from_file",
    "grid",
    "ladder",
    "lr_find",
    "plan_experiment",
    "run_pending",
    "summarize",
    "summarize_experiment",
]
