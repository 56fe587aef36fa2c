"""Variants of a base config: a grid of ``--vary`` values, a cumulative ladder, or a YAML file
of named patches. Every variant is a name and a dotted-key patch on the base config."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.config import Config, load_config, read_yaml, yaml_load
from hone.errors import ConfigError

__all__ = ["Variant", "from_file", "grid", "ladder", "parse_vary", "split_top_level"]


@dataclass
class Variant:
    name: str
    patch: dict[str, Any]  # dotted keys, applied to the base config
    compare_to: str | None = None  # the variant it is judged against (None: the baseline itself)

    def config(self, base: Config) -> Config:
        return load_config(base, self.patch)


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside brackets, so ``[64],[64,64]`` stays two values."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[{("
        depth -= ch in "]})"
        if ch == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_vary(item: str) -> list[tuple[str, list[Any]]]:
    """``KEY=V1,V2`` -> [(KEY, [v1, v2])]; ``K1=V;K2=W`` (one ladder step) -> two pairs."""
    pairs = []
    if not item.strip():
        raise ConfigError("--vary '': expected KEY=V1,V2 (e.g. train.optimizer.lr=0.1,0.01)")
    for part in split_top_level(item, ";"):
        key, sep, raw = part.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise ConfigError(
                f"--vary {item!r}: expected KEY=V1,V2 (e.g. train.optimizer.lr=0.1,0.01)"
            )
        values = [yaml_load(v) for v in split_top_level(raw, ",")]
        pairs.append((key.strip(), values))
    return pairs


def _label(patch: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in patch.items())


def grid(base: Config, varies: list[str]) -> list[Variant]:
    """The baseline plus every combination of the ``--vary`` values. A combination equal to
    the baseline is kept (an A/A check is a fair question); repeats of a combination are not."""
    if not varies:
        raise ConfigError("--vary: give at least one KEY=V1,V2")
    axes = [pair for item in varies for pair in parse_vary(item)]
    variants = [Variant("baseline", {})]
    seen: set[str] = set()
    for combo in itertools.product(*[[(k, v) for v in values] for k, values in axes]):
        patch = dict(combo)
        key = load_config(base, patch).model_dump_json()
        if key in seen:
            continue
        seen.add(key)
        name = _label(patch)
        if key == base.model_dump_json():
            name += " (same as baseline)"
        variants.append(Variant(name, patch, compare_to="baseline"))
    return variants


def ladder(base: Config, varies: list[str]) -> list[Variant]:
    """Step 0 is the baseline; step i adds ``varies[i-1]`` on top of step i-1."""
    variants = [Variant("baseline", {})]
    patch: dict[str, Any] = {}
    for item in varies:
        step: dict[str, Any] = {}
        for key, values in parse_vary(item):
            if len(values) != 1:
                raise ConfigError(
                    f"--ladder --vary {item!r}: a ladder step takes one value per key"
                )
            step[key] = values[0]
        patch = {**patch, **step}
        variants.append(Variant(f"+ {_label(step)}", dict(patch), compare_to=variants[-1].name))
    for v in variants:
        load_config(base, v.patch)  # a bad key fails now, not after hours of training
    return variants


def from_file(base: Config, path: Path) -> tuple[list[Variant], bool]:
    """``variants: [{name, patch}]`` and optional ``ladder: true`` (patches accumulate)."""
    raw = read_yaml(path)
    items = raw.get("variants")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}: needs a 'variants:' list of {{name, patch}} entries")
    is_ladder = bool(raw.get("ladder", False))
    return from_items(base, items, is_ladder, str(path)), is_ladder


def from_items(base: Config, items: list[Any], is_ladder: bool, where: str) -> list[Variant]:
    """The baseline plus ``[{name, patch}]`` (each patch on top of the last for a ladder)."""
    variants = [Variant("baseline", {})]
    cumulative: dict[str, Any] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"{where}: variants[{i}] needs a name and a patch")
        patch = dict(item.get("patch") or {})
        if is_ladder:
            cumulative = {**cumulative, **patch}
            patch = dict(cumulative)
        compare_to = variants[-1].name if is_ladder else "baseline"
        variants.append(Variant(str(item["name"]), patch, compare_to))
        try:
            load_config(base, patch)
        except ConfigError as exc:
            raise ConfigError(f"{where}: variant '{item['name']}': {exc}") from None
    return variants
