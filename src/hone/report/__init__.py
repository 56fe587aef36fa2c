"""Reports: self-contained HTML pages for runs, experiments and studies."""

from hone.report.render import render_report

__all__ = ["render_report"]
