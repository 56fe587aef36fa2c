"""What the lessons share, kept out of their way: the budget switch, where the datasets are, a
fresh run store, running the ``hone`` command, showing hone's own figures, and the check that
a lesson still measures what its committed figures say.

The budget: ``HONE_LESSON_BUDGET=ci`` runs each lesson on a small slice in under a minute (CI
does); unset or ``full`` runs the budget the committed outputs were made with.

The check: a lesson ``record``s its key numbers, each with a tolerance, and ends with
``check()``. That writes ``results/<lesson>.<budget>.measured.json`` and compares it with the
committed ``results/<lesson>.<budget>.json``; a number outside its tolerance, or one missing,
raises ``LessonDrift`` naming each, so the notebook (and CI) fails loudly.
``HONE_LESSON_UPDATE=1`` writes the committed file instead, after a deliberate change.
"""

from __future__ import annotations

import atexit
import base64
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BUDGET", "Lesson", "LessonDrift", "dataset_path", "pick"]

BUDGET = os.environ.get("HONE_LESSON_BUDGET", "full")
if BUDGET not in ("ci", "full"):
    raise ValueError(f"HONE_LESSON_BUDGET: ci or full, got {BUDGET!r}")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the repository: docs/lessons/ is two levels down
# As the tests find them: ../shared/datasets beside the repository, or $HONE_TEST_DATASETS.
DATASETS = Path(os.environ.get("HONE_TEST_DATASETS", ROOT.parent / "shared" / "datasets"))


# Optuna imports tqdm, which warns in a notebook without ipywidgets: noise, not a lesson.
warnings.filterwarnings("ignore", message="IProgress not found")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def pick(ci: Any, full: Any) -> Any:
    """The value for this budget."""
    return ci if BUDGET == "ci" else full


def dataset_path(name: str) -> str | None:
    """The folder holding a dataset's IDX files, or None to let hone download it."""
    folder = DATASETS / {"mnist": "mnist", "fashion_mnist": "fashion-mnist"}[name]
    return str(folder) if (folder / "train-images-idx3-ubyte.gz").is_file() else None


class LessonDrift(AssertionError):
    """A lesson measured something its committed figures do not say."""


@dataclass
class Lesson:
    """One lesson's store, CLI and measured numbers."""

    name: str
    store: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hone-lesson-")))
    numbers: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        os.environ["HONE_HOME"] = str(self.store)  # the CLI and the API share this store
        # The store lives as long as the kernel: explore it (hone report, hone runs list)
        # while the notebook is open; it is removed when the kernel stops.
        atexit.register(shutil.rmtree, self.store, ignore_errors=True)

    # ---- running hone -------------------------------------------------------------------

    @staticmethod
    def path(relative: str) -> str:
        """A file of this repository (``examples/...``), wherever the notebook runs from."""
        return str(ROOT / relative)

    @staticmethod
    def read(path: str) -> str:
        """The text of a file (a config the lesson shows before running it)."""
        return Path(path).read_text(encoding="utf-8")

    def hone(self, *args: str, show: bool = True) -> Any:
        """Run ``hone ARGS`` as a shell would, print the command and what it printed; with
        ``--json`` return the parsed object."""
        command = [sys.executable, "-m", "hone.cli", *args]
        if show:
            print("$ hone " + shlex.join(args))
        env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"hone {shlex.join(args)} exited {done.returncode}:\n"
                               f"{done.stderr[-2000:]}")  # fmt: skip
        if "--json" in args:
            return json.loads(done.stdout)
        text = _ANSI.sub("", done.stdout)
        if show:
            print(text.rstrip())
        return text

    def histories(self, run_ids: list[str]) -> list[dict[str, list[float]]]:
        """Each run's per-epoch history, read from the store (``hone runs show ID --json``
        prints the same, one run at a time)."""
        from hone.store import RunStore

        with RunStore(self.store) as store:
            return [dict(store.get_run(run_id).history) for run_id in run_ids]

    # ---- hone's figures -----------------------------------------------------------------

    @staticmethod
    def figure(uri: str) -> Any:
        """Show one of hone's report figures (a PNG data URI) in the notebook."""
        from IPython.display import Image

        return Image(data=base64.b64decode(uri.split(",", 1)[1]))

    def bands(self, comparison: Any, series: str) -> Any:
        """One ``series`` (``val_loss``) per variant of a comparison, the mean over its seeds
        with a band from the lowest to the highest: the figure of hone's experiment page."""
        from hone.report.plots import band_curves

        by_variant = {}
        for variant in comparison.variants:
            runs = self.histories(variant.run_ids)
            by_variant[variant.name] = [list(h.get(series) or []) for h in runs]
        return self.figure(band_curves(by_variant, series))

    def curves(self, histories: dict[str, dict[str, list[float]]], metric: str) -> Any:
        """Learning curves of several runs on one axis, drawn by hone's report code:
        ``{label: history}``, each history's ``train_<metric>`` and ``val_<metric>``."""
        from hone.report.plots import curves

        series: dict[str, list[Any]] = {}
        longest = 0
        for label, history in histories.items():
            for split in ("train", "val"):
                values = history.get(f"{split}_{metric}")
                if values:
                    series[f"{label} {split}"] = list(values)
                    longest = max(longest, len(values))
        padded = {k: v + [math.nan] * (longest - len(v)) for k, v in series.items()}
        return self.figure(curves(list(range(1, longest + 1)), padded, metric))

    # ---- the check ----------------------------------------------------------------------

    def record(self, key: str, value: float, tol: float) -> float:
        """Keep a key number with the tolerance it must repeat within."""
        self.numbers[key] = {"value": round(float(value), 6), "tol": tol}
        return value

    def check(self) -> None:
        """Compare this run's numbers with the committed ones; raise on any drift."""
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        measured = results / f"{self.name}.{BUDGET}.measured.json"
        committed = results / f"{self.name}.{BUDGET}.json"
        text = json.dumps(self.numbers, indent=1, sort_keys=True) + "\n"
        measured.write_text(text)
        if os.environ.get("HONE_LESSON_UPDATE") == "1":
            committed.write_text(text)
            print(f"updated {committed.relative_to(ROOT)}")
            return
        expected = json.loads(committed.read_text()) if committed.is_file() else {}
        print(f"{'number':34} {'measured':>10} {'committed':>10} {'tolerance':>10}")
        problems = compare(self.numbers, expected)
        for key, got in self.numbers.items():
            want = expected.get(key, {}).get("value", float("nan"))
            print(f"{key:34} {got['value']:>10.4f} {want:>10.4f} {got['tol']:>10.4f}")
        if problems:
            raise LessonDrift(
                f"{self.name} ({BUDGET} budget) no longer matches "
                f"{committed.relative_to(ROOT)}:\n  " + "\n  ".join(problems)
            )
        print(f"all {len(self.numbers)} numbers within tolerance of the committed figures")


def compare(measured: dict[str, dict[str, float]], expected: dict[str, dict[str, float]]
            ) -> list[str]:  # fmt: skip
    """What differs beyond tolerance (the committed tolerance rules), each as one line."""
    problems = []
    for key in sorted(set(measured) | set(expected)):
        if key not in expected:
            problems.append(f"{key}: measured {measured[key]['value']:g}, nothing committed")
        elif key not in measured:
            problems.append(f"{key}: committed {expected[key]['value']:g}, not measured")
        else:
            got, want = measured[key]["value"], expected[key]["value"]
            tol = expected[key]["tol"]
            both_nan = math.isnan(got) and math.isnan(want)  # "no value" (all diverged)
            if not (both_nan or abs(got - want) <= tol):  # NaN against a number fails
                problems.append(f"{key}: measured {got:.4f}, committed {want:.4f} ± {tol:g}")
    return problems
