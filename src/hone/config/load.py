"""Loading a config: YAML files, mappings, ``--set`` overrides and error messages.

``load_config`` accepts a YAML path, a mapping or a ``Config`` plus dotted overrides
(``{"train.optimizer.lr": 0.01}``) and returns a validated ``Config`` or raises ``ConfigError``
naming the offending path.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hone.config.options import KEY_MARK
from hone.config.root import Config
from hone.errors import ConfigError, suggest, warn
from hone.yaml_safe import YamlLimitError, yaml_load

__all__ = [
    "apply_overrides",
    "default_config",
    "format_validation_error",
    "load_config",
    "merge_overrides",
    "parse_set",
    "read_yaml",
    "recorded_config",
]


def default_config() -> dict[str, Any]:
    """The embedded default: the textbook's Keras baseline on make_blobs."""
    text = resources.files("hone").joinpath("defaults/blobs.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml_load(text)
    return data


# Files a user may give where a YAML file belongs: data, not settings.
_DATA_SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".npz": "npz", ".npy": "npz", ".gz": "mnist",
    ".idx": "mnist", ".ubyte": "mnist", ".parquet": "csv", ".png": "image_folder",
    ".jpg": "image_folder", ".jpeg": "image_folder",
}  # fmt: skip


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML file's top-level mapping; a clear error for a missing, unreadable, empty or
    non-YAML file (a data file given as the config, the commonest slip)."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p} is a folder, not a config file (give the path of a YAML file)")
    if not p.is_file():
        raise ConfigError(f"config file not found: {p} (give the path of a YAML file)")
    kind = _DATA_SUFFIXES.get(p.suffix.lower())
    if kind is not None:
        raise ConfigError(
            f"{p} looks like a data file, not a config: a config is a YAML file. Name the "
            f"file in one, e.g. data: {{dataset: {kind}, path: {p}}} (docs/how-to/own-data.md)"
        )
    try:
        with p.open("rb") as fh:
            raw = fh.read(2_000_001)
        data = yaml_load(raw.decode("utf-8"))
    except YamlLimitError as exc:
        raise ConfigError(f"{p}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {_short(str(exc))}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file: {_short(str(exc))}") from None
    if data is None:
        raise ConfigError(
            f"{p}: the file is empty (no settings); write a config in it, or give no config "
            "file to train the built-in blobs baseline"
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"{p}: the top level must be a mapping of keys, got {type(data).__name__}"
        )
    return data


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def parse_set(items: list[str]) -> dict[str, Any]:
    """Parse CLI ``--set key.path=value`` items; values are YAML (``[64,64]``, ``0.01``)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        shown = _short(repr(item), 80)
        if not sep or not key.strip():
            raise ConfigError(
                f"--set {shown}: expected KEY=VALUE, e.g. --set train.optimizer.lr=0.01"
            )
        try:
            out[key.strip()] = yaml_load(raw)
        except YamlLimitError as exc:
            raise ConfigError(f"--set {shown}: refused: {exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"--set {shown}: value is not valid YAML: {_short(str(exc))}"
            ) from None
    return out


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted-key overrides applied (``a.b.c`` or ``a__b__c``)."""
    out = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        keys = dotted.replace("__", ".").split(".")
        if any(not k.strip() for k in keys):
            raise ConfigError(f"cannot set {dotted!r}: empty key in the dotted path")
        node = out
        for i, key in enumerate(keys[:-1]):
            child = node.get(key)
            if isinstance(child, str):  # shorthand like ``optimizer: adam``
                child = {"name": child}
            elif child is None:
                child = {}
            elif not isinstance(child, dict):
                where = ".".join(keys[: i + 1])
                raise ConfigError(
                    f"cannot set {dotted}: {where} is {_short(repr(child), 60)}, not a mapping"
                )
            node[key] = child
            node = child
        node[keys[-1]] = value
    return out


def merge_overrides(
    overrides: Mapping[str, Any] | None, keywords: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Dotted-key overrides given as ``overrides={...}`` and as keyword arguments, as one
    mapping. A key given twice (also as ``a.b`` and ``a__b``) is an error, not a silent pick.

    ``overrides=`` is the one way in for every key: a keyword argument whose name is also a
    parameter of the function (``store``, ``model``, ``data``) is that parameter, never a
    config key."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            "overrides: give a mapping of dotted config keys, e.g. "
            f"overrides={{'train.epochs': 5}}; got {type(overrides).__name__}"
        )
    merged: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for source in (overrides or {}, keywords or {}):
        for key, value in source.items():
            if not isinstance(key, str):
                raise ConfigError(f"overrides: keys are dotted config names, got {key!r}")
            name = key.replace("__", ".")
            if name in seen:
                raise ConfigError(
                    f"{name}: given twice ({seen[name]!r} and {key!r}, in overrides= or as "
                    "keyword arguments); give each config key once"
                )
            seen[name] = key
            merged[key] = value
    return merged


def load_config(
    source: str | Path | Mapping[str, Any] | Config | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build a validated ``Config`` from a YAML path, mapping, Config or ``None`` (the default).

    Every relative path written in a config file (``store``, ``data.path``, a ``log_to``
    folder) is taken relative to that file's folder; from ``--set`` or a mapping it is
    relative to the current directory.
    """
    origin = "config"
    base_dir: Path | None = None
    if source is None:
        raw = default_config()
        origin = "config (the built-in blobs baseline)"
    elif isinstance(source, Config):
        raw = source.to_dict()
    elif isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        raw = read_yaml(source)
        origin = str(source)
        base_dir = Path(source).resolve().parent
    if base_dir is not None:
        _resolve_paths(raw, base_dir, origin)
    if overrides:
        raw = apply_overrides(raw, overrides)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origin)) from None
    except RecursionError:
        raise ConfigError(f"invalid {origin}: nested too deeply") from None


def _relative(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "\x00" not in value and (
        not Path(value).expanduser().is_absolute())  # fmt: skip


def _resolve_paths(raw: dict[str, Any], base_dir: Path, origin: str) -> None:
    """Relative paths in a config file, made absolute against the file's folder. A
    ``data.path`` found only relative to the working directory (where older versions read
    it) is still read there, with a warning that gives the fix."""
    if _relative(raw.get("store")):
        raw["store"] = str(base_dir / str(raw["store"]))
    data = raw.get("data")
    if isinstance(data, dict) and _relative(data.get("path")):
        written = str(data["path"])
        here, old = base_dir / written, Path.cwd() / written
        if not here.exists() and old.exists() and here.resolve() != old.resolve():
            old = Path(os.path.abspath(old))  # as written (a link stays a link)
            fix = os.path.relpath(old, base_dir)
            warn(
                f"{origin}: data.path '{written}' is read relative to the config file's folder "
                f"({here}), where it does not exist; it was found relative to the working "
                f"directory ({old}), where older versions read it, and is read from "
                f"there this time. Write data.path: {fix} (or an absolute path) so the config "
                "works from any folder"
            )
            here = old
        data["path"] = os.path.abspath(here)
    log_to = raw.get("log_to")
    if isinstance(log_to, dict) and _relative(log_to.get("tensorboard")):
        log_to["tensorboard"] = str(base_dir / str(log_to["tensorboard"]))


def format_validation_error(exc: ValidationError, origin: str) -> str:
    lines: list[str] = []
    errors = exc.errors()
    paths = [_clean_loc(err["loc"]) for err in errors]
    for err, loc in zip(errors, paths, strict=True):
        path = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden" and loc:
            options = _field_names(loc[:-1])
            line = f"  {path}: unknown key '{_short(loc[-1], 60)}'{suggest(loc[-1], options)}"
        else:
            longer = any(len(p) > len(loc) and p[: len(loc)] == loc for p in paths)
            if err["type"] == "literal_error" and longer:
                continue  # a union's other branch explains the problem better
            if err["type"] == "literal_error" and paths.count(loc) > 1:
                continue  # said with the other branch's line: "(or 'full')"
            msg = err["msg"].removeprefix("Value error, ")
            if msg.startswith(KEY_MARK):  # an option's own key: name it in the path
                key, msg = msg[1:].split(KEY_MARK, 1)
                path = f"{path}.{key}"
            got = err.get("input")
            text = _safe_repr(got)
            plain = isinstance(got, dict | list | bool) or got is None
            # a number may appear in the message as a bound ("greater than 0"): only "got 0"
            # says what was given
            said = f"got {text}" in msg or (isinstance(got, str) and text in msg)
            shown = "" if plain or said else f" (got {_short(text, 60)})"
            line = f"  {path}: {_short(msg)}{shown}{_or_literal(errors, paths, loc, err)}"
        if line not in lines:
            lines.append(line)
    if len(lines) > 20:
        lines = [*lines[:20], f"  ... and {len(lines) - 20} more"]
    return "\n".join([f"invalid {origin}:", *lines])


def _or_literal(errors: list[Any], paths: list[tuple[str, ...]], loc: tuple[str, ...],
                err: Any) -> str:  # fmt: skip
    """A union with a literal branch (``int | "full"``) at the same path as ``err``: the
    words that branch would take, said once with the other branch's message."""
    if err["type"] == "literal_error":
        return ""
    same = [e for e, p in zip(errors, paths, strict=True) if p == loc and e is not err]
    words = [
        str(e.get("ctx", {}).get("expected", "")) for e in same if e["type"] == "literal_error"
    ]
    return f" (or {' or '.join(w for w in words if w)})" if any(words) else ""


_UNION_TAG = re.compile(r"^[a-z][a-z-]*\[.*\]$")
_TYPE_TAGS = {"int", "float", "str", "bool", "none"}


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """The config path of an error, without pydantic's union-branch labels."""
    parts = [str(p) for p in loc]
    return tuple(
        p for i, p in enumerate(parts) if not (_UNION_TAG.match(p) or (i and p in _TYPE_TAGS))
    )


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except ValueError:  # an int too long to print
        return f"<{type(value).__name__}>"


def _field_names(loc: tuple[str, ...]) -> list[str]:
    """The valid keys of the model found by following ``loc`` from ``Config``."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def recorded_config(raw: Mapping[str, Any]) -> Config:
    """A recorded run's config, read so the run rebuilds as it trained.

    Runs recorded before ``data.preprocess.target_scale`` existed (their config lacks the key)
    trained on unscaled targets, and their ``data.task: auto`` meant regression only for the
    ``regression`` generator: both are made explicit here, so resuming or re-evaluating such a
    run gives the model it trained."""
    data = raw.get("data")
    if not isinstance(data, dict):
        return load_config(raw)
    preprocess = data.get("preprocess")
    if isinstance(preprocess, dict) and "target_scale" in preprocess:
        return load_config(raw)
    legacy = {"data.preprocess.target_scale": "none"}
    if data.get("task", "auto") == "auto":
        regression = data.get("dataset") == "regression"
        legacy["data.task"] = "regression" if regression else "classification"
    return load_config(raw, legacy)
