"""Generated cases: a family, a fault (or a control) at a random strength, a seed.

The case list depends only on ``n`` and ``seed``: the faults (and controls) are dealt round
robin over the two halves, so any prefix of the list covers every fault in both halves; the
family, the training seed and the strength are drawn from one seeded generator.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.faultgen.data import DataRecipe
from benchmarks.faultgen.families import HALVES, Family, assign_halves, families
from benchmarks.faultgen.faults import CONTROLS, FAULTS, Fault

__all__ = ["SEEDS", "Case", "Suite", "build_suite", "deal"]

SEEDS = 5  # training seeds 0..4: twins are shared by the cases of a family that draw a seed
HEALTHY_WEIGHT = 2  # healthy controls are dealt twice per round (false alarms matter most)


@dataclass
class Case:
    id: str
    family: Family
    half: str
    fault: Fault
    seed: int
    strength: dict[str, Any]
    config: dict[str, Any]
    recipe: DataRecipe | None = None  # altered data, written by ``prepare``

    @property
    def kind(self) -> str:
        return self.fault.kind

    def prepare(self) -> None:
        """Write the files the config reads (altered data, the CSV family's base file)."""
        if self.recipe is not None:
            self.recipe.write(self.family.files_dir)
        if self.family.dataset.name == "csv":
            self.family.base_csv()

    def label(self) -> dict[str, Any]:
        """What is known by construction, as stored in the results."""
        return {
            "id": self.id,
            "family": self.family.name,
            "dataset": self.family.dataset.name,
            "arch": self.family.arch,
            "half": self.half,
            "fault": self.fault.name,
            "kind": self.kind,
            "codes": list(self.fault.codes),
            "causes": list(self.fault.causes),
            "seed": self.seed,
            "strength": self.strength,
        }


@dataclass
class Suite:
    cases: list[Case]
    halves: dict[str, str]  # family name -> half
    families: list[Family] = field(default_factory=list)

    def layout(self) -> dict[str, list[str]]:
        """Which families are in which half."""
        return {h: sorted(f for f, half in self.halves.items() if half == h) for h in HALVES}


def deal(kinds: list[str], n: int) -> list[tuple[str, str]]:
    """(half, kind) for n cases: every kind in each half before any repeats."""
    slots = [(half, kind) for kind in kinds for half in HALVES]
    return list(itertools.islice(itertools.cycle(slots), n))


def build_suite(
    n: int,
    seed: int,
    datasets_dir: Path,
    files_dir: Path,
    only: list[str] | None = None,
    mnist: bool = True,
) -> Suite:
    """``n`` cases (``only``: just these faults/controls, e.g. for a quick check)."""
    fams = families(datasets_dir, files_dir, mnist=mnist)
    halves = assign_halves(fams)
    catalogue = {**FAULTS, **CONTROLS}
    kinds = [*FAULTS, *["healthy"] * HEALTHY_WEIGHT, "noise_floor"]
    if only:
        unknown = sorted(set(only) - set(catalogue))
        if unknown:
            raise ValueError(f"unknown faults {unknown}; valid: {', '.join(catalogue)}")
        kinds = [k for k in dict.fromkeys(only)]
    rng = np.random.default_rng(seed)
    cases = []
    for i, (half, kind) in enumerate(deal(kinds, n)):
        fault = catalogue[kind]
        pool = [f for f in fams if halves[f.name] == half and fault.applies(f)]
        fam = pool[int(rng.integers(len(pool)))]
        injected = fault.inject(fam, rng)
        run_seed = int(rng.integers(SEEDS))
        injected.config["name"] = f"gen-{i:03d}-{kind}"
        cases.append(
            Case(
                f"{i:03d}-{kind}-{fam.name}",
                fam,
                half,
                fault,
                run_seed,
                injected.strength,
                injected.config,
                injected.recipe,
            )
        )
    return Suite(cases, halves, fams)
