"""Printing user-supplied text safely: Rich markup escaped, terminal control characters removed.

Every user-supplied string (run names, variant labels, class names, messages that quote a
file) reaches the terminal through ``safe`` or ``plain``: ``a[/]b`` prints as itself, and a
name cannot recolour or clear the terminal with ANSI escapes.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import shlex
from typing import Any

from rich.markup import escape
from rich.text import Text

from hone.yaml_safe import yaml_load

__all__ = ["fmt", "num", "plain", "safe", "set_args", "strip_control", "yaml_diff"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def strip_control(text: Any, keep_newlines: bool = True) -> str:
    """``text`` as a string without terminal escape sequences or control characters."""
    s = _CONTROL.sub("", _ANSI.sub("", str(text)))
    return s if keep_newlines else s.replace("\n", " ").replace("\t", " ")


def safe(text: Any, keep_newlines: bool = True) -> str:
    """User text for a message that also holds markup: controls removed, markup escaped."""
    return escape(strip_control(text, keep_newlines))


def plain(text: Any, limit: int | None = None) -> Text:
    """User text for a table cell: never parsed as markup, one line, optionally shortened."""
    s = strip_control(text, keep_newlines=False)
    if limit is not None and len(s) > limit:
        s = s[: max(1, limit - 1)] + "…"
    return Text(s)


def _rounded(value: Any) -> Any:
    """Floats to 4 significant digits (``0.0133``, not ``0.013333333333333334``)."""
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return float(f"{value:.4g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def set_args(patch: dict[str, Any]) -> str:
    """``--set`` arguments that paste into a shell as they are (values as JSON, quoted)."""
    parts = []
    for key, value in patch.items():
        value = _rounded(value)
        text = json.dumps(value, separators=(", ", ": "))
        if isinstance(value, str) and yaml_load(value) == value:
            text = value  # a plain word reads back as itself: no JSON quotes needed
        parts.append("--set " + shlex.quote(f"{key}={text}"))
    return " ".join(parts)


def num(value: Any, spec: str = ".4f") -> str:
    """A recorded number in ``spec`` (``format``'s), "-" where there is none: ``None`` (stored
    JSON's null), NaN, an infinity, or anything not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return format(value, spec)


def fmt(value: Any) -> str:
    """A number as tables show it: 4 decimals, 6 significant digits from 1,000 (a price's
    4826.52, not 4826.5191), or 3 significant digits when tiny or huge."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.3g}"
        return f"{value:.6g}" if abs(value) >= 1e3 else f"{value:.4f}"
    return strip_control(value, keep_newlines=False)


def yaml_diff(before: str, after: str, old: str = "before", new: str = "after") -> list[str]:
    """The lines of a unified diff of two YAML texts, one line of context around each change
    (so a changed value shows under its key)."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), old, new, n=1,
                                 lineterm="")  # fmt: skip
    return list(lines)
