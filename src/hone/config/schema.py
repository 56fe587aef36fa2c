"""The config's JSON Schema, generated from the pydantic models, for editors.

``hone schema`` prints it, and the package ships it as ``hone/config/hone.schema.json`` (a test
keeps that file equal to what the models generate). An editor that reads
``# yaml-language-server: $schema=...`` at the top of a YAML file (VS Code with Red Hat's YAML
extension, and any editor using yaml-language-server) then validates and completes a config:
every key with its type, bounds, default and meaning (the docstring under the field).

The schema says what a config may hold; hone's own validation says the rest (an optimizer's
torch options, integral floats such as ``epochs: 1e3``, cross-key rules such as ``kind: cnn``
needing ``conv``), with an error naming the key.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from hone.config.root import Config

__all__ = ["SCHEMA_FILE", "SCHEMA_URI", "config_schema", "schema_text", "shipped_schema_text"]

SCHEMA_FILE = "config/hone.schema.json"  # inside the hone package
SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"

# Constraints pydantic could not push into a type wrapped by a validator come out under their
# Python names; JSON Schema's names for them.
_STANDARD = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
_TIGHTER = {"minimum": max, "exclusiveMinimum": max, "maximum": min, "exclusiveMaximum": min}


def _normalise(node: Any, in_properties: bool = False) -> Any:
    if isinstance(node, list):
        return [_normalise(item) for item in node]
    if not isinstance(node, dict):
        return node
    if in_properties:  # {key: schema}: the keys are config keys, not schema keywords
        return {key: _normalise(value) for key, value in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        name = str(_STANDARD.get(key) or key)
        value = _normalise(value, in_properties=key in ("properties", "$defs"))
        if name in out and name in _TIGHTER:
            value = _TIGHTER[name](out[name], value)
        out[name] = value
    return out


def _untitled(node: Any) -> Any:
    """Drop the titles pydantic derives from key names ("Batch Size"): noise on hover."""
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                k: {kk: _untitled(vv) for kk, vv in v.items() if kk != "title"}
                for k, v in value.items()
            }
        else:
            out[key] = _untitled(value)
    return out


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a hone config, generated from ``Config``."""
    body = _untitled(_normalise(Config.model_json_schema()))
    body["title"] = "hone config"
    body["description"] = (
        "A hone run config (hone run CONFIG). Generated from hone's pydantic models by "
        "`hone schema`; the config reference in the documentation lists the same keys."
    )
    return {"$schema": SCHEMA_URI, **body}


def schema_text() -> str:
    """The schema as ``hone schema`` prints it and the package ships it."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


def shipped_schema_text() -> str:
    """The schema file inside the installed package."""
    return resources.files("hone").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
