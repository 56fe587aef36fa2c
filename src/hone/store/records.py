"""The records the store returns, and how index rows become records (damaged rows included)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

__all__ = ["STATUSES", "ExperimentRecord", "RunRecord", "clean_json", "config_yaml",
           "experiment_from_row", "record_from_row", "strict_json"]  # fmt: skip

# libyaml's emitter when PyYAML has it: the pure-Python one costs ~8 ms a config, per run
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# running: in progress (or killed: see ``RunRecord.alive``); stopped: ended early on purpose
# (a watch rule or a pruner); killed: the owning process died without recording an end.
STATUSES = ("running", "completed", "interrupted", "diverged", "failed", "stopped", "killed")

RUN_COLUMNS = (
    "id, name, status, created, finished, seed, config, metrics, epochs_run, wall_seconds, "
    "message, extra, pid, host, proc_start, heartbeat"
)


def clean_json(value: Any) -> Any:
    """Replace NaN/inf by ``None`` recursively so the result is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


# orjson writes NaN and infinities as null (as ``clean_json`` does); with these options it
# refuses keys that are not strings, dataclasses, dates and subclasses of str, int and dict,
# which fall to Python's encoder as before (an enum, which that refuses, orjson writes as its
# value).
_ORJSON = (orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
           | orjson.OPT_PASSTHROUGH_SUBCLASS)  # fmt: skip


def config_yaml(config: dict[str, Any]) -> str:
    """A run's ``config.yaml``: its config in the order it was given."""
    return str(yaml.dump(config, Dumper=_DUMPER, sort_keys=False))


def strict_json(value: Any, indent: int | None = None) -> str:
    """``json.dumps(clean_json(value))``, without the walk in Python when nothing needs
    cleaning: JSON's encoder refuses a NaN, an infinity or a key it cannot write, and only
    then is the value cleaned first (the walk costs ~10x the encoding on a run's telemetry).
    Keys ``True``, ``False`` and ``None`` are written as JSON writes them (``"true"``).
    Unindented, orjson writes it: a run's telemetry in 0.11 ms against the standard
    encoder's 1.1 ms. Its output is used only where it is ASCII, as Python's encoder writes,
    so a file reads back the same whatever the reader's locale."""
    if indent is None:
        try:
            out = orjson.dumps(value, option=_ORJSON)
        except TypeError:  # a value orjson does not write (a huge int, a number as key)
            pass
        else:
            if out.isascii():
                return out.decode("ascii")
    try:
        return json.dumps(value, indent=indent, allow_nan=False)
    except (ValueError, TypeError):
        return json.dumps(clean_json(value), indent=indent)


@dataclass
class RunRecord:
    id: str
    name: str
    status: str
    created: float
    finished: float | None
    seed: int | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    epochs_run: int
    wall_seconds: float | None
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[Any]] = field(default_factory=dict)
    owner: dict[str, Any] = field(default_factory=dict)  # pid, host, proc_start, heartbeat
    damaged: list[str] = field(default_factory=list)  # index fields that could not be read

    def _fields(self) -> dict[str, Any]:
        """Every field, ``damaged`` only when something is."""
        fields = dict(self.__dict__)
        if not self.damaged:
            fields.pop("damaged")
        return fields

    def to_json(self) -> dict[str, Any]:
        return clean_json(self._fields())  # type: ignore[no-any-return]

    def json_text(self) -> str:
        """``to_json()`` as JSON text (``run.json``), without cleaning what needs none."""
        return strict_json(self._fields())

    @property
    def ensemble_members(self) -> list[str]:
        """An ensemble run's member runs (it keeps no weights of its own); else none."""
        members = self.extra.get("members")
        if not isinstance(members, list):  # a stacked run's "members" is a count, elsewhere
            return []
        return [str(m["run_id"]) for m in members if isinstance(m, dict) and "run_id" in m]


@dataclass
class ExperimentRecord:
    id: str
    kind: str
    name: str
    status: str
    created: float
    finished: float | None
    spec: dict[str, Any]
    summary: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)  # {variant, seed, run_id}

    def to_json(self) -> dict[str, Any]:
        return clean_json(self.__dict__)  # type: ignore[no-any-return]


def _loads(text: Any, name: str, damaged: list[str]) -> dict[str, Any]:
    # The index writes JSON as ASCII: U+FFFD is where the file held bytes that are not UTF-8.
    if isinstance(text, str) and "\ufffd" in text:
        damaged.append(name)
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        damaged.append(name)
        return {}
    if not isinstance(value, dict):
        damaged.append(name)
        return {}
    return value


def _number(value: Any, name: str, damaged: list[str]) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    damaged.append(name)
    return None


def record_from_row(row: tuple[Any, ...]) -> RunRecord:
    """A row of ``RUN_COLUMNS``; fields that do not parse are listed in ``damaged``."""
    (id_, name, status, created, finished, seed, config, metrics, epochs_run, wall, message,
     extra, pid, host, proc_start, heartbeat) = row  # fmt: skip
    damaged: list[str] = []
    if status not in STATUSES:
        damaged.append("status")
        status = "failed"
    return RunRecord(
        id=str(id_),
        name=str(name) if name is not None else "",
        status=str(status),
        created=_number(created, "created", damaged) or 0.0,
        finished=_number(finished, "finished", damaged),
        seed=seed if isinstance(seed, int) else None,
        config=_loads(config, "config", damaged),
        metrics=_loads(metrics, "metrics", damaged),
        epochs_run=epochs_run if isinstance(epochs_run, int) else 0,
        wall_seconds=_number(wall, "wall_seconds", damaged),
        message=str(message or ""),
        extra=_loads(extra, "extra", damaged),
        owner={"pid": pid, "host": host, "proc_start": proc_start, "heartbeat": heartbeat},
        damaged=damaged,
    )


def experiment_from_row(row: tuple[Any, ...], runs: list[dict[str, Any]]) -> ExperimentRecord:
    id_, kind, name, status, created, finished, spec, summary = row
    damaged: list[str] = []
    return ExperimentRecord(
        str(id_),
        str(kind),
        str(name),
        str(status),
        _number(created, "created", damaged) or 0.0,
        _number(finished, "finished", damaged),
        _loads(spec, "spec", damaged),
        _loads(summary, "summary", damaged),
        runs,
    )
