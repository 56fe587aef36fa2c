"""Reports: self-contained HTML pages for runs, experiments and studies (``render``), their
figures (``plots``, matplotlib) and the index of a whole store (``index``).

``render_report`` loads on first use, so importing this package loads neither matplotlib nor
PyTorch."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hone.report.render import render_report

__all__ = ["render_report"]


def __getattr__(name: str) -> Any:
    if name == "render_report":
        return import_module("hone.report.render").render_report
    raise AttributeError(f"module 'hone.report' has no attribute {name!r}")
