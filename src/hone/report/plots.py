"""Figures for reports, drawn with matplotlib (Agg) and returned as PNG data URIs, so a page
needs no network and no file beside it. Every figure is closed after drawing (no leaks)."""

from __future__ import annotations

import base64
import io
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

__all__ = [
    "bars",
    "curves",
    "improve_ladder",
    "ladder",
    "parallel",
    "scatter",
    "series_by_layer",
]

COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"]


@contextmanager
def figure(width: float = 6.0, height: float = 3.2) -> Iterator[tuple[Figure, Any]]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    try:
        yield fig, ax
    finally:
        plt.close(fig)


def to_uri(fig: Figure, grow: bool = True) -> str:
    """The figure as a PNG data URI. ``tight_layout`` fits the axes, their labels and a
    colour bar into the figure; ``grow`` also grows the image to hold every artist (a legend
    or text beside the axes is never cut), at about twice the cost: the plots that keep
    everything inside their axes pass ``grow=False``."""
    buf = io.BytesIO()
    with warnings.catch_warnings():  # a layout that cannot fit: "grow" below fixes it
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
    fig.savefig(buf, format="png", bbox_inches="tight" if grow else None, pad_inches=0.05)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _log_y(ax: Any) -> None:
    """A log y axis labelled at its decades only (labelling every minor tick is slow to lay
    out and crowds the axis)."""
    ax.set_yscale("log")
    ax.yaxis.set_minor_formatter(NullFormatter())


def _finite(values: list[Any]) -> list[float]:
    return [float(v) if v is not None and math.isfinite(v) else np.nan for v in values]


def curves(
    epochs: list[int],
    series: dict[str, list[Any]],
    ylabel: str,
    marks: dict[str, int] | None = None,
    log: bool = False,
) -> str:
    """Learning curves (train vs val), with vertical marks such as the best epoch."""
    with figure() as (fig, ax):
        for i, (name, values) in enumerate(series.items()):
            ax.plot(epochs, _finite(values), label=name, color=COLORS[i % len(COLORS)], lw=1.6)
        for j, (label, epoch) in enumerate((marks or {}).items()):
            ax.axvline(epoch, ls="--", color=COLORS[(j + 3) % len(COLORS)], lw=1, label=label)
        if log:
            _log_y(ax)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        return to_uri(fig, grow=False)


def band_curves(series: dict[str, list[list[float]]], ylabel: str) -> str:
    """Mean curve per variant with a min-max band over seeds."""
    with figure(6.5, 3.4) as (fig, ax):
        for i, (name, runs) in enumerate(series.items()):
            length = min(len(r) for r in runs)
            if length == 0:
                continue
            arr = np.array([_finite(r[:length]) for r in runs])
            x = np.arange(1, length + 1)
            color = COLORS[i % len(COLORS)]
            ax.plot(x, np.nanmean(arr, 0), color=color, lw=1.6, label=name)
            ax.fill_between(x, np.nanmin(arr, 0), np.nanmax(arr, 0), color=color, alpha=0.15)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        return to_uri(fig, grow=False)


def series_by_layer(
    x: list[float], by_layer: dict[str, list[float]], ylabel: str, log: bool = False,
    xlabel: str = "epoch",
) -> str:  # fmt: skip
    """One line per layer against ``x`` (fractional epochs, to share the learning curves'
    axis); non-finite samples are gaps."""
    with figure() as (fig, ax):
        for i, (layer, values) in enumerate(by_layer.items()):
            ys = _finite(values)
            ax.plot(x[: len(ys)], ys, label=layer, color=COLORS[i % len(COLORS)], lw=1.3)
        if log:
            _log_y(ax)
        if xlabel == "epoch":  # fractional epochs between samples; ticks at whole ones
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        return to_uri(fig, grow=False)


def bars(
    labels: list[str],
    values: list[float],
    ylabel: str,
    highlight: int | None = None,
    errors: list[float] | None = None,
    horizontal: bool = False,
    colors: list[str] | None = None,
) -> str:
    with figure(6.0, max(2.4, 0.35 * len(labels)) if horizontal else 3.0) as (fig, ax):
        if colors is None:
            colors = [COLORS[1] if i == highlight else COLORS[0] for i in range(len(labels))]
        short = [label[:28] for label in labels]
        if horizontal:
            ax.barh(short, values, xerr=errors, color=colors)
            ax.invert_yaxis()
            ax.set_xlabel(ylabel)
        else:
            ax.bar(short, values, yerr=errors, color=colors, capsize=3)
            ax.set_ylabel(ylabel)
            ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        ax.grid(alpha=0.3, axis="x" if horizontal else "y")
        return to_uri(fig)


def ladder(
    names: list[str],
    means: list[float],
    lows: list[float],
    highs: list[float],
    ylabel: str,
    joined: bool = True,
) -> str:
    """Each variant's metric with its 95 % CI; ``joined`` draws a line through ladder steps
    (each builds on the one before), never through a grid's independent variants."""
    with figure(6.5, 3.4) as (fig, ax):
        x = np.arange(len(names))
        err = [np.subtract(means, lows), np.subtract(highs, means)]
        ax.errorbar(x, means, yerr=err, fmt="o-" if joined else "o", color=COLORS[0], capsize=4)
        ax.set_xticks(x, [n[:24] for n in names], rotation=30 if len(names) > 6 else 0,
                      ha="right" if len(names) > 6 else "center", fontsize=8)  # fmt: skip
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        return to_uri(fig, grow=False)


def improve_ladder(
    steps: list[tuple[str, float, float, float]],
    rejected: list[tuple[int, str, float, float, float]],
    ylabel: str,
) -> str:
    """``hone improve``: the adopted steps (label, mean, low, high) as a ladder, joined; each
    rejected candidate (round, label, ...) as a hollow grey mark beside the step its round
    started from, never on the line."""
    with figure(6.5, 3.4) as (fig, ax):
        x = np.arange(len(steps))
        means = [s[1] for s in steps]
        err = [np.subtract(means, [s[2] for s in steps]), np.subtract([s[3] for s in steps], means)]
        ax.errorbar(x, means, yerr=err, fmt="o-", color=COLORS[0], capsize=4,
                    label="adopted (each builds on the one before)")  # fmt: skip
        by_round: dict[int, int] = {}
        for i, (rnd, label, mean, low, high) in enumerate(rejected):
            k = by_round.get(rnd, 0)
            by_round[rnd] = k + 1
            xr = rnd - 0.5 + 0.12 * (k + 1)  # between the step it tried on and the next
            ax.errorbar([xr], [mean], yerr=[[mean - low], [high - mean]], fmt="o", mfc="white",
                        color="#9ca3af", capsize=3, label=None if i else "rejected")  # fmt: skip
            ax.annotate(label, (xr, mean), xytext=(4, 0), textcoords="offset points",
                        fontsize=7, color="#6b7280", va="center")  # fmt: skip
        ax.set_xticks(x, [s[0] for s in steps], fontsize=8)
        ax.set_xlim(-0.5, max(len(steps) - 0.5, max(by_round, default=0) + 0.2))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        return to_uri(fig)


def scatter(
    x: list[float],
    y: list[float],
    xlabel: str,
    ylabel: str,
    log_x: bool = False,
    best_line: list[float] | None = None,
    categories: list[str] | None = None,
    integer_x: bool = False,
    pruned: tuple[list[float], list[float]] | None = None,
) -> str:
    """``categories``: x holds indices into it, drawn as a categorical axis with a little
    jitter so equal points stay visible."""
    with figure(4.2, 3.0) as (fig, ax):
        if categories is not None:
            jitter = np.random.default_rng(0).uniform(-0.08, 0.08, len(x))
            x = [xi + j for xi, j in zip(x, jitter, strict=True)]
            ax.set_xticks(range(len(categories)))
            ax.set_xticklabels(categories, rotation=30 if len(categories) > 3 else 0,
                               ha="right" if len(categories) > 3 else "center")  # fmt: skip
            ax.set_xlim(-0.5, len(categories) - 0.5)
        elif integer_x:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.scatter(x, y, s=14, color=COLORS[0], alpha=0.8, label="complete")
        if pruned is not None and pruned[0]:  # at the last value each pruned trial reported
            ax.scatter(*pruned, s=16, marker="x", color="#6b7280", label="pruned (last report)")
        if best_line is not None:
            ax.plot(x, best_line, color=COLORS[1], lw=1.2, label="best so far")
        if best_line is not None or (pruned is not None and pruned[0]):
            ax.legend(fontsize=7)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        return to_uri(fig, grow=False)


def parallel(
    params: list[str],
    rows: list[list[float]],
    values: list[float],
    metric: str = "metric",
    categories: dict[str, list[str]] | None = None,
    logs: list[str] | None = None,
) -> str:
    """Parallel coordinates: each trial a line across its parameters, coloured by its metric
    with a colour bar. Every axis is labelled with its values (lowest at the bottom, highest
    at the top; a log-scale parameter on a log axis, its values in its own units); a
    categorical parameter's rows hold indices into ``categories[param]``, named along its
    axis."""
    categories, logs = categories or {}, logs or []
    with figure(7.4, 3.8) as (fig, ax):
        arr = np.asarray(rows, dtype=float)
        for j, p in enumerate(params):
            if p in logs:
                arr[:, j] = np.log10(np.where(arr[:, j] > 0, arr[:, j], np.nan))
        low, high = np.nanmin(arr, 0), np.nanmax(arr, 0)
        for j, p in enumerate(params):
            if p in categories:  # the whole category range, not just the values the top used
                low[j], high[j] = 0, max(1, len(categories[p]) - 1)
        norm = (arr - low) / np.where(high > low, high - low, 1)
        cmap = plt.get_cmap("viridis")
        scale = matplotlib.colors.Normalize(min(values), max(values) + 1e-12)
        for i in np.argsort(values):
            ax.plot(range(len(params)), norm[i], color=cmap(scale(values[i])), lw=1.2, alpha=0.85)
        for j, p in enumerate(params):
            ax.axvline(j, color="#9ca3af", lw=0.8, zorder=0)
            names = categories.get(p)
            if names is None:  # the axis's own range, in the parameter's units
                ends = (10 ** low[j], 10 ** high[j]) if p in logs else (low[j], high[j])
                names = [f"{ends[0]:.3g}", f"{ends[1]:.3g}"]
            for k, name in enumerate(names):
                where = k / max(1, len(names) - 1)
                ax.text(j + 0.03, where, name, fontsize=7, va="center", color="#374151")
        labels = [_wrap(p) + ("\n(log axis)" if p in logs else "") for p in params]
        ax.set_xticks(range(len(params)), labels, fontsize=8)
        ax.set_yticks([])
        ax.set_ylabel("each axis: lowest → highest")
        ax.set_ylim(-0.08, 1.08)
        ax.set_xlim(-0.2, len(params) - 0.4)
        bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=scale, cmap=cmap), ax=ax)
        bar.set_label(metric, fontsize=8)
        return to_uri(fig)


def _wrap(name: str, width: int = 16) -> str:
    """A dotted key over lines at its dots, so a long name is never cut."""
    lines, line = [], ""
    for part in name.split("."):
        piece = f"{line}.{part}" if line else part
        if line and len(piece) > width:
            lines.append(line + ".")
            line = part
        else:
            line = piece
    return "\n".join([*lines, line])


def lr_find_png(
    lrs: list[float],
    losses: list[float],
    smoothed: list[float],
    marks: dict[str, float | None],
    recommended: float | None,
) -> bytes:
    """Loss against a log-scaled LR, the raw points faint, each suggestion marked and the
    recommended one drawn solid."""
    with figure(7.0, 3.8) as (fig, ax):
        ax.plot(lrs, losses, color="#94a3b8", lw=0.8, label="loss")
        ax.plot(lrs, smoothed, color=COLORS[0], lw=1.8, label="smoothed loss")
        ax.set_xscale("log")
        finite = _finite(smoothed)
        if finite:  # the exploded tail would squash the curve: clip to a sensible range
            best = smoothed.index(min(finite))
            lo, hi = min([*_finite(losses[: best + 1]), min(finite)]), finite[0]
            ax.set_ylim(lo - 0.1 * abs(hi - lo), hi + 0.5 * abs(hi - lo) + 1e-12)
        for (label, lr), color in zip(marks.items(), (COLORS[1], COLORS[2]), strict=False):
            if lr is None:
                continue
            chosen = lr == recommended
            text = f"{label} {lr:.2g}" + (" (recommended)" if chosen else "")
            style = {"ls": "-", "lw": 1.6} if chosen else {"ls": "--", "lw": 1.0}
            ax.axvline(lr, color=color, label=text, **style)
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=8, loc="upper left")
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", pad_inches=0.05)
        return buf.getvalue()
