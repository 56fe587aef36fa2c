"""Gather what the run and experiment pages show (the study page: ``study``). Everything here
is data for the templates; plots are data URIs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import yaml

from hone.config import load_config
from hone.diagnose import diagnose_run
from hone.errors import ConfigError, HoneError
from hone.experiments.compare import loss_measured_alike, recorded_each_epoch
from hone.experiments.probe_verdicts import probed_before
from hone.experiments.variants import Variant
from hone.report import charts, plots
from hone.store.runstore import RunStore

DataCache = dict[str, Any]  # hone.runs.DataCache: data bundles by store and data config

__all__ = ["experiment_context", "run_context"]


def _best_epoch(history: dict[str, list[Any]]) -> int | None:
    val = [(v, i) for i, v in enumerate(history.get("val_loss", [])) if v is not None]
    return min(val)[1] + 1 if val else None


def _learning_curves(record: Any) -> list[dict[str, str]]:
    h = record.history
    epochs = h.get("epoch", [])
    if not epochs:
        return []
    marks: dict[str, int] = {}
    best = _best_epoch(h)
    if best:
        marks[f"best val loss (epoch {best})"] = best
    stopped = (record.extra.get("early_stopping") or {}).get("stopped_epoch")
    if stopped:
        marks[f"early stop (epoch {stopped})"] = stopped
    figures = [
        {
            "title": "Loss",
            "uri": plots.curves(
                epochs, {k: h[k] for k in ("train_loss", "val_loss") if k in h}, "loss", marks
            ),
        }
    ]
    acc = {k: h[k] for k in ("train_accuracy", "val_accuracy") if k in h}
    if acc:
        figures.append({"title": "Accuracy", "uri": plots.curves(epochs, acc, "accuracy", marks)})
    lrs = [v for v in h.get("lr", []) if v is not None]
    if lrs and max(lrs) > min(lrs):  # a constant LR is stated in the headline, not plotted
        figures.append(
            {
                "title": "Learning rate per epoch",
                "uri": plots.curves(epochs, {"lr": h["lr"]}, "learning rate", log=True),
            }
        )
    return figures


def _constant_lr(history: dict[str, list[Any]]) -> float | None:
    lrs = [v for v in history.get("lr", []) if v is not None]
    return lrs[0] if lrs and max(lrs) == min(lrs) else None


def _as_epochs(samples: list[dict[str, Any]]) -> list[float]:
    """Global steps as fractional epochs (steps per epoch from the completed epochs), so the
    telemetry plots share the learning curves' axis."""
    epochs = max(int(s.get("epoch") or 1) for s in samples)
    done = [s["step"] for s in samples if int(s.get("epoch") or 1) < epochs]
    per_epoch = max(done) / (epochs - 1) if done and epochs > 1 else max(s["step"] for s in samples)
    return [s["step"] / max(per_epoch, 1) for s in samples]


def _telemetry(tele: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Figures (or, for one that would be empty, a sentence saying why it is left out)."""
    if not tele or not tele.get("samples"):
        return []
    samples = tele["samples"]
    steps = _as_epochs(samples)
    figures: list[dict[str, Any]] = []
    grads = {
        layer: [s["layers"][layer]["grad_norm"] for s in samples if layer in s["layers"]]
        for layer in tele.get("layers", [])
    }
    figures.append(
        {
            "title": "Gradient norm per layer (x: epochs, as in the learning curves)",
            "uri": plots.series_by_layer(steps, grads, "gradient norm", log=True),
        }
    )
    for key, title in (
        ("dead", "Dead ReLU units (share of units)"),
        ("saturated", "Saturated outputs (share)"),
    ):
        by_layer = {
            name: [s["activations"].get(name, {}).get(key, math.nan) for s in samples]
            for name in tele.get("activation_kinds", {})
        }
        by_layer = {k: v for k, v in by_layer.items() if any(not math.isnan(x) for x in v)}
        if by_layer:
            uri = plots.series_by_layer(steps, by_layer, "share")
            figures.append({"title": f"{title} (x: epochs)", "uri": uri})
        else:  # say why a plot is missing rather than draw an empty one
            kind = "ReLU-family" if key == "dead" else "sigmoid or tanh"
            figures.append({"title": title, "note": f"not drawn: no {kind} layers in this model"})
    at_init = tele.get("at_init") or {}
    if at_init:
        names = list(at_init)
        stds = [at_init[n]["std"] for n in names]
        figures.append({"title": "Activation std per layer at initialisation",
                        "bars": charts.bar_rows(names, stds)})  # fmt: skip
    return figures


class IndexOutOfRange(ConfigError):
    """``--index`` names no record of the test split."""


def _predictions(
    run_id: str, store: RunStore, index: int, cache: DataCache | None
) -> dict[str, Any]:
    """Test-split predictions: the most confident mistakes first, and one record's outputs."""
    from hone.evaluate.report import predict_outputs
    from hone.runs import load_run

    _, built = load_run(run_id, store.root, cache)
    data = built.data
    if data.task != "classification":
        return {}
    probs = predict_outputs(built.model, data.test.x, built.output_activation).cpu().numpy()
    y = data.test.y.cpu().numpy()
    pred, conf = probs.argmax(1), probs.max(1)
    wrong = np.flatnonzero(pred != y)
    right = np.flatnonzero(pred == y)
    order = list(wrong[np.argsort(-conf[wrong])]) + list(right[np.argsort(-conf[right])])
    shown = order[:18]
    cards = [
        {
            "index": int(i),
            "true": data.classes[y[i]],
            "predicted": data.classes[pred[i]],
            "p": float(conf[i]),
            "correct": bool(pred[i] == y[i]),
        }
        for i in shown
    ]
    out: dict[str, Any] = {"cards": cards, "mistakes": len(wrong), "n": len(y)}
    if len(data.input_shape) == 3:  # each card gets its image
        for card, i in zip(cards, shown, strict=True):
            card["image"] = charts.thumbnail(data.test.x[i].cpu().numpy())
    if not -len(y) <= index < len(y):  # it was clamped without a word
        raise IndexOutOfRange(f"--index {index}: the test split has {len(y)} records; give 0 to "
                          f"{len(y) - 1} (or -1 for the last)")  # fmt: skip
    index %= len(y)
    colors = _record_colors(len(data.classes), int(y[index]), int(pred[index]))
    out["record"] = {
        "index": index,
        "true": data.classes[y[index]],
        "predicted": data.classes[pred[index]],
        "bars": charts.bar_rows(data.classes, probs[index].tolist(), colors),
    }
    return out


def _diagnosis(store: RunStore, evidence: Any) -> dict[str, Any]:
    """The findings (ranked by a probe of the run, when one has run), and what is achievable
    on the data with the reference models' scores."""
    found = diagnose_run(evidence)
    found = probed_before(store, evidence.run_id, found) or found
    reference = found.reference
    split = reference.get("split") or "val"
    target = reference.get("achievable") or {}
    metric = target.get("metric", "accuracy")
    models = {k: v.get(f"{split}_{metric}") for k, v in (reference.get("models") or {}).items()
              if isinstance(v, dict) and f"{split}_{metric}" in v}  # fmt: skip
    return {"findings": found.findings, "reference": reference, "reference_models": models,
            "unverified": not found.probed and any(p.patch for f in found.findings
                                                   for p in f.prescriptions)}  # fmt: skip


def run_context(
    store: RunStore, run_id: str, index: int = 0, cache: DataCache | None = None
) -> dict[str, Any]:
    """What the run page shows; ``cache`` holds data already loaded for other runs' pages."""
    from hone.runs import evidence_of

    evidence = evidence_of(store, store.resolve_id(run_id), cache)  # completes deferred evaluation
    record = store.get_run(evidence.run_id)
    evaluation = evidence.evaluation
    split = "test" if "test" in evaluation else next(iter(evaluation), None)
    report = evaluation.get(split) if split else None
    ctx: dict[str, Any] = {
        "kind": "run",
        "record": record,
        "config_yaml": yaml.safe_dump(record.config, sort_keys=False),
        "metrics": record.metrics,
        "curves": _learning_curves(record),
        "constant_lr": _constant_lr(record.history),
        "telemetry": _telemetry(evidence.telemetry),
        **_diagnosis(store, evidence),
        "timeline": _timeline(record.extra),
        "repair_of": record.extra.get("repair_of"),
        "repaired_by": record.extra.get("repaired_by"),
        "repair": record.extra.get("repair")
        if isinstance(record.extra.get("repair"), dict)
        else None,
        "split": split,
        "report": report,
        "notes": {
            k: v
            for k, v in record.extra.items()
            if k
            in ("task", "target_scale", "init_from", "class_weights", "sampler", "early_stopping")
        },
    }
    if report and "confusion_matrix" in report:
        ctx["confusion"] = charts.heatmap(report["confusion_matrix"], report["classes"])
        ctx["classes"] = report["classes"]
    try:
        ctx["predictions"] = (
            _predictions(record.id, store, index, cache) if record.status != "diverged" else {}
        )
    except IndexOutOfRange:
        raise
    except HoneError as exc:  # data moved or weights missing: the rest of the page still stands
        ctx["predictions"] = {"error": str(exc)}
    return ctx


def experiment_context(store: RunStore, exp_id: str) -> dict[str, Any]:
    from hone.experiments.compare import summarize_experiment

    record = store.get_experiment(exp_id)
    summary = summarize_experiment(store, record.id)
    rows = summary["variants"]
    metric = summary["metric"]
    done = [r for r in rows if r["summary"]["n"]]
    ctx: dict[str, Any] = {
        "kind": "experiment",
        "record": record,
        "summary": summary,
        "metric": metric,
        "improve": record.summary if record.kind == "improve" else None,
    }
    # Short labels (base, v1, ...) on the figures; the variants table is their key.
    labels = {r["name"]: f"v{i}" if i else "base" for i, r in enumerate(rows)}
    ctx["labels"] = labels
    ctx["comparisons"] = _comparisons(rows, labels, record.kind)
    if done and record.kind == "improve":
        ctx["ladder"] = _improve_ladder(done, labels, record.summary, metric)
    elif done:
        ctx["ladder"] = plots.ladder(
            [labels[r["name"]] for r in done],
            [r["summary"]["mean"] for r in done],
            [r["summary"]["ci_low"] for r in done],
            [r["summary"]["ci_high"] for r in done],
            metric,
            joined=record.kind == "ladder",
        )
        ctx.update(_variant_curves(store, record, done, labels, metric))
    return ctx


def _variant_curves(
    store: RunStore, record: Any, done: list[dict[str, Any]], labels: dict[str, str], metric: str
) -> dict[str, Any]:
    """Each variant's validation curve, mean and band over seeds: the metric itself where
    every epoch records it, else its per-epoch counterpart (R² and balanced accuracy are
    measured once, when a run ends), said beside it. Loss curves of variants that measure the
    loss differently (a Huber delta) are on different scales: none then, said why."""
    if recorded_each_epoch(metric) and metric.startswith("val_"):
        key = metric
    else:
        key = "val_accuracy" if "accuracy" in metric else "val_loss"
    note = None if key == metric else f"{key} each epoch: {metric} is measured when a run ends"
    if key == "val_loss":
        base = load_config(record.spec["config"])
        variants = [Variant(v["name"], v["patch"]) for v in record.spec["variants"]]
        if not all(loss_measured_alike(base, v.config(base)) for v in variants):
            return {"curves_note": "no curves: the variants measure the loss differently, so "
                                   "their losses are on different scales"}  # fmt: skip
    series = {
        labels[r["name"]]: [store.get_run(rid).history.get(key, []) for rid in r["run_ids"]]
        for r in done
    }
    if not any(run for runs in series.values() for run in runs):
        return {"curves_note": f"no curves: no run recorded {key} each epoch"}
    return {"curves": plots.band_curves(series, key), "curves_note": note}


def _comparisons(rows: list[dict[str, Any]], labels: dict[str, str], kind: str) -> list[str]:
    """What each p value compares, and where Holm's correction applies, from the rows
    themselves (an improve candidate is compared with the step it would build on)."""
    notes = []
    if kind == "improve":
        notes.append(
            "Each candidate is compared with the step it would build on (the vs column): the "
            "baseline in round 1, then the change adopted before."
        )
    elif kind == "ladder":
        notes.append("Each step is compared with the step before it (the vs column).")
    corrected: dict[str, int] = {}
    for r in rows:
        if r.get("vs") and "holm" in r["vs"]:
            ref = labels.get(r["vs"]["variant"], r["vs"]["variant"])
            corrected[ref] = corrected.get(ref, 0) + 1
    for ref, k in corrected.items():
        if kind == "improve":
            notes.append(f"The p values are uncorrected: improve judges each candidate on its "
                         f"own paired test against {ref}, not with Holm's correction for the "
                         f"{k} comparisons.")  # fmt: skip
            continue
        notes.append(f"The {k} variants compared with {ref} are judged with Holm's correction "
                     f"for {k} comparisons.")  # fmt: skip
    return notes


def _improve_ladder(
    done: list[dict[str, Any]], labels: dict[str, str], result: dict[str, Any], metric: str
) -> str:
    """The ladder of adopted steps (baseline, then each adopted change, joined); the rejected
    candidates of each round drawn apart, above the round that tried them."""
    adopted = {a["name"] for a in result.get("adopted") or []}
    steps, rejected = [], []
    for r in done:
        name, s = r["name"], r["summary"]
        point = (labels[name], s["mean"], s["ci_low"], s["ci_high"])
        if name == "baseline" or name in adopted:
            steps.append(point)
        else:
            rejected.append((_round_of(name), *point))
    return plots.improve_ladder(steps, rejected, metric)


def _round_of(name: str) -> int:
    head = name.split(":", 1)[0]  # "round 2: ..."
    return int(head.split()[-1]) if head.startswith("round ") and head.split()[-1].isdigit() else 0


def _timeline(extra: dict[str, Any]) -> list[dict[str, Any]]:
    """What live diagnosis saw while the run trained, in the order it first appeared."""
    watch = extra.get("watch")
    entries = watch.get("timeline") if isinstance(watch, dict) else None
    return [t for t in entries or [] if isinstance(t, dict) and "code" in t]


def _record_colors(n: int, true: int, predicted: int) -> list[str]:
    """Green for the true class; red only for a wrong prediction; the rest neutral."""
    colors = ["#94a3b8"] * n
    if predicted != true:
        colors[predicted] = "#dc2626"
    colors[true] = "#16a34a"
    return colors
