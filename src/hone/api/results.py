"""What ``hone.compare`` and ``hone.tune`` return: typed results with a short ``repr`` (the
verdicts and key numbers; the full data one attribute away) that render as tables in Jupyter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hone.errors import HoneError
from hone.experiments.stats import format_p
from hone.experiments.tune import TuneResult
from hone.experiments.variants import parse_vary, split_top_level
from hone.notebook import comparison_html, tune_html
from hone.text import num

__all__ = ["ComparisonResult", "TuneOutcome", "VariantResult", "result_of"]

SAME_AS_BASELINE = " (same as baseline)"  # how a grid labels a variant equal to the baseline


@dataclass(repr=False)
class VariantResult:
    """One variant over its seeds and, against ``compare_to``, the paired difference with its
    95 % interval, the p value, the verdict and the smallest effect these seeds could have
    detected (80 % power): what the terminal's table shows."""

    name: str
    patch: dict[str, Any]
    values: list[float]  # the metric per completed seed, in seed order
    mean: float
    ci_low: float
    ci_high: float
    run_ids: list[str]  # every run, diverged ones too, in seed order
    compare_to: str | None = None
    mean_diff: float | None = None
    p_value: float | None = None
    verdict: str | None = None  # better | worse | no detectable difference | too few seeds
    missing: str = ""  # why some runs give no value, e.g. "2 of 5 runs ... (2 diverged)"
    diff_ci_low: float | None = None  # the paired difference's 95 % CI (t interval)
    diff_ci_high: float | None = None
    detectable: float | None = None  # smallest effect these seeds could detect (80 % power)
    note: str = ""  # e.g. "with 3 seeds only a difference larger than 0.0358 could be detected"

    @property
    def n(self) -> int:
        """Seeds with a value."""
        return len(self.values)

    def __repr__(self) -> str:
        text = (f"VariantResult({self.name!r}: {num(self.mean)} "
                f"[{num(self.ci_low)}, {num(self.ci_high)}], n={self.n}")  # fmt: skip
        if self.compare_to is not None and self.mean_diff is not None:
            text += (f"; vs {self.compare_to}: {num(self.mean_diff, '+.4f')} "
                     f"[{num(self.diff_ci_low, '+.4f')}, {num(self.diff_ci_high, '+.4f')}], "
                     f"p {format_p(self.p_value)}, {self.verdict}")  # fmt: skip
            if self.verdict == "no detectable difference" and self.detectable is not None:
                text += f" (detectable: {num(self.detectable, '.3g')})"
        return text + ")"


@dataclass(repr=False)
class ComparisonResult:
    """Every variant of a comparison; ``result[name]`` finds one by the name it was given."""

    experiment_id: str
    kind: str  # compare | ladder | tune
    metric: str
    complete: bool
    variants: list[VariantResult]
    summary: dict[str, Any] = field(repr=False)  # what `hone compare --json` prints

    def __getitem__(self, name: str) -> VariantResult:
        """The variant named ``name``: its name as shown, or as written (``vary`` keys and
        values, so ``"train.optimizer.lr=0.01"`` finds that variant also when it equals the
        baseline and is shown as ``... (same as baseline)``)."""
        for v in self.variants:
            if name in (v.name, v.name.removesuffix(SAME_AS_BASELINE)):
                return v
        wanted = _as_patch(name)
        for v in self.variants:
            if wanted is not None and wanted == v.patch:
                return v
        names = ", ".join(repr(v.name) for v in self.variants)
        raise KeyError(f"no variant {name!r} in experiment {self.experiment_id}; have: {names}")

    def __repr__(self) -> str:
        done = "" if self.complete else ", incomplete"
        lines = [f"ComparisonResult({self.experiment_id}, {self.kind} on {self.metric}{done}: "
                 f"{len(self.variants)} variants"]  # fmt: skip
        lines += [f"  {v!r}" for v in self.variants]
        return "\n".join(lines) + "\n)"

    def _repr_html_(self) -> str:
        return comparison_html(self.summary)


def _as_patch(name: str) -> dict[str, Any] | None:
    """``"k=v, k2=v2"`` as a patch with YAML values, or ``None`` when it is not one."""
    patch: dict[str, Any] = {}
    for part in split_top_level(name, ","):
        if "=" not in part:
            return None
        try:
            (key, values), *_ = parse_vary(part)
        except HoneError:
            return None
        patch[key] = values[0] if len(values) == 1 else values
    return patch or None


def result_of(summary: dict[str, Any]) -> ComparisonResult:
    """The typed result of a ``summarize_experiment`` summary."""
    variants = []
    for row in summary["variants"]:
        s, vs = row["summary"], row.get("vs") or {}
        variants.append(
            VariantResult(
                row["name"], row["patch"], row["values"], s["mean"], s["ci_low"], s["ci_high"],
                row["run_ids"], row.get("compare_to"), vs.get("mean_diff"), vs.get("p_value"),
                vs.get("verdict"), row.get("missing", ""), vs.get("t_ci_low"),
                vs.get("t_ci_high"), vs.get("detectable"), vs.get("note", ""),
            )
        )  # fmt: skip
    return ComparisonResult(
        summary["experiment"], summary["kind"], summary["metric"], summary["complete"],
        variants, summary,
    )  # fmt: skip


@dataclass(repr=False)
class TuneOutcome:
    """The study and, when ``seeds_final`` > 0, the best config re-run on fresh seeds."""

    study: TuneResult
    final: ComparisonResult | None

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.study.best_params)

    @property
    def best_value(self) -> float | None:
        value: float | None = self.study.best_value  # Any or float, by Optuna's version
        return value

    def __repr__(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.study.counts.items() if v)
        text = (f"TuneOutcome(study {self.study.study_name!r}: {counts}; best "
                f"{num(self.best_value)} with {self.best_params}")  # fmt: skip
        if self.final is not None and self.final.variants:
            v = self.final.variants[0]
            text += (f"; re-run on {v.n} fresh seeds: {num(v.mean)} "
                     f"[{num(v.ci_low)}, {num(v.ci_high)}]")  # fmt: skip
        return text + ")"

    def _repr_html_(self) -> str:
        final = comparison_html(self.final.summary) if self.final else ""
        return tune_html(self.study) + final
