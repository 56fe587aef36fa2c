"""``hone datacurve``, ``eval`` and ``predict``: commands that read a run or its data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hone.cli.common import (
    AddressOpt,
    BackendOpt,
    ConfigArg,
    JobsOpt,
    JsonOpt,
    QuietOpt,
    SetOpt,
    StackOpt,
    StoreOpt,
    echo_json,
    fmt,
    out,
    safe,
    show,
)
from hone.cluster import parse_backend
from hone.config import load_config, parse_set
from hone.errors import ConfigError
from hone.store.files import atomic_write_text

MAX_SHOWN_RECORDS = 10


def datacurve_cmd(
    config: ConfigArg = None,
    set_: SetOpt = None,
    fractions: Annotated[
        str, typer.Option(help="Training-set fractions, comma-separated.")
    ] = "0.1,0.25,0.5,1.0",
    seeds: Annotated[int, typer.Option(help="Seeds per fraction.", min=1)] = 2,
    jobs: JobsOpt = None,
    backend: BackendOpt = "local",
    address: AddressOpt = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    stack: StackOpt = "auto",
) -> None:
    """More data or more tuning? Validation error against training-set size."""
    from hone.experiments.datacurve import data_curve
    from hone.runs.stacking import check_stack

    check_stack(stack)
    where = parse_backend(backend, address)
    try:
        values = [float(f) for f in fractions.split(",")]
    except ValueError:
        raise ConfigError(
            f"--fractions: expected numbers like 0.1,0.5,1.0, got {fractions!r}"
        ) from None
    cfg = load_config(config, parse_set(set_ or []))
    if store is not None:  # where cached data (decoded images) lives
        cfg = cfg.model_copy(update={"store": str(store)})
    curve = data_curve(cfg, values, seeds, where, jobs, stack)
    if json_out:
        echo_json(curve.to_json())
        return
    if quiet:
        out.print(f"{curve.verdict}: {safe(curve.answer)}", highlight=False)
        return
    held = curve.evidence.get("held_back")
    if held:
        out.print(f"no validation split: {held * 100:.0f} % of the training rows were held back "
                  "to validate on; the fractions are of the rest", highlight=False)  # fmt: skip
    table = Table(title="data curve (mean over seeds)", title_justify="left")
    for col in ("fraction", "n train", "train error", "val error"):
        table.add_column(col, justify="right")
    for p in curve.points:
        table.add_row(f"{p.fraction:g}", str(p.n_train), fmt(p.mean_train), fmt(p.mean_val))
    show(table)
    if curve.fit:
        f = curve.fit
        out.print(f"fit: val error ≈ {f['a']:.3g}·n^-{f['b']:.3g} + {f['c']:.3g}")
    if curve.evidence.get("stacked"):
        out.print(f"the {seeds} seeds of each fraction trained as one stacked model")
    elif curve.evidence.get("not_stacked") not in (None, "stacking is off"):
        out.print(f"seeds trained one by one: {safe(curve.evidence['not_stacked'])}")
    out.print(f"[bold]{curve.verdict}[/]: {safe(curve.answer)}")


def eval_cmd(
    run_id: str,
    split: Annotated[str, typer.Option(help="train, val or test.")] = "test",
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Per-class precision/recall/F1, confusion matrix and summary metrics of a run."""
    from hone.evaluate.report import evaluate_model
    from hone.runs import load_run

    if split not in ("train", "val", "test"):
        raise ConfigError(f"--split: expected train, val or test, got {split!r}")
    run_id, built = load_run(run_id, store)
    reports = evaluate_model(built.model, built.data, built.output_activation, (split,))
    if split not in reports:
        raise ConfigError(f"--split: run {run_id} has no {split} split")
    report = reports[split]
    if json_out:
        echo_json({"run_id": run_id, "split": split, **report})
        return
    if "per_class" not in report:
        show(_kv_table(f"{run_id} on {split}", report))
        return
    table = Table(title=f"{run_id} on {split} (n={report['n']})", title_justify="left")
    for col in ("class", "precision", "recall", "f1", "specificity", "support"):
        table.add_column(col, justify="right")
    for cls, s in report["per_class"].items():
        table.add_row(
            safe(cls),
            fmt(s["precision"]),
            fmt(s["recall"]),
            fmt(s["f1"]),
            fmt(s["specificity"]),
            str(int(s["support"])),
        )
    for avg in ("macro", "weighted", "micro"):
        a = report["average"]
        table.add_row(
            f"[dim]{avg} avg[/]",
            fmt(a["precision"][avg]),
            fmt(a["recall"][avg]),
            fmt(a["f1"][avg]),
            "",
            "",
        )
    show(table)
    cm = Table(title="confusion matrix (rows: true, columns: predicted)", title_justify="left")
    cm.add_column("")
    for cls in report["classes"]:
        cm.add_column(safe(cls), justify="right")
    for cls, row in zip(report["classes"], report["confusion_matrix"], strict=True):
        cm.add_row(safe(cls), *(str(v) for v in row))
    show(cm)
    summary = {k: v for k, v in report.items() if isinstance(v, float)}
    show(_kv_table("summary", summary))


def _kv_table(title: str, values: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    for key, value in values.items():
        if not isinstance(value, dict | list):
            table.add_row(key, fmt(value))
    return table


def predict_cmd(
    run_id: str,
    index: Annotated[int | None, typer.Option(help="Row of --split to show.")] = None,
    split: Annotated[str, typer.Option(help="train, val or test.")] = "test",
    input_: Annotated[
        Path | None, typer.Option("--input", help="A .npy, .csv or image file.")
    ] = None,
    out_csv: Annotated[
        Path | None,
        typer.Option("--out", help="Write every record's prediction to this CSV file."),
    ] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The model's output for a record as a bar chart (the textbook's "record 19" check), or
    for every row of --input (a CSV in the training format works) with --out FILE.csv."""
    from hone.evaluate.predict_input import load_inputs
    from hone.evaluate.report import predict_outputs
    from hone.runs import load_run

    if (index is None) == (input_ is None):
        raise ConfigError("give exactly one of --index N (a stored record) or --input FILE")
    run_id, built = load_run(run_id, store)
    data = built.data
    truth: list[Any] = []
    if input_ is not None:
        columns = (data.report or {}).get("columns")
        x = load_inputs(input_, data.input_shape, data.preprocess, columns)
        x = x.to(data.train.x.device)
    else:
        part = getattr(data, split, None)
        if part is None or not 0 <= index < len(part):  # type: ignore[operator]
            size = 0 if part is None else len(part)
            raise ConfigError(f"--index: {split} has {size} records; give 0..{size - 1}")
        x = part.x[index : index + 1]  # type: ignore[operator]
        truth = part.y[index : index + 1].tolist()  # type: ignore[operator]
    outputs = predict_outputs(built.model, x, built.output_activation).cpu()
    rows = []
    for i, row in enumerate(outputs):
        entry: dict[str, Any] = {"outputs": row.tolist()}
        if data.classes:
            entry["predicted"] = data.classes[int(row.argmax())]
            if truth:
                entry["true"] = data.classes[int(truth[i])]
        elif truth:  # regression: the recorded target, in its own units
            entry["true"] = truth[i]
        rows.append(entry)
    if out_csv is not None:
        _write_predictions(out_csv, rows, data.classes)
    if json_out:
        echo_json({"run_id": run_id, "classes": data.classes, "records": rows})
        return
    if out_csv is not None:
        out.print(f"wrote {len(rows)} predictions to {safe(out_csv)}", soft_wrap=True)
        return
    if len(rows) > MAX_SHOWN_RECORDS:
        out.print(
            f"{len(rows)} records; showing the first {MAX_SHOWN_RECORDS} "
            "(--out FILE.csv writes them all)"
        )
    if not data.classes:
        _show_values(rows[:MAX_SHOWN_RECORDS], index, built.config.data.target)
        return
    for i, (entry, row) in enumerate(
        zip(rows[:MAX_SHOWN_RECORDS], outputs[:MAX_SHOWN_RECORDS], strict=True)
    ):
        title = f"record {index if index is not None else i}"
        if "true" in entry:
            title += f" (true: {entry['true']})"
        out.print(
            f"[bold]{safe(title)}[/] -> predicted [bold]{safe(entry.get('predicted', ''))}[/]"
        )
        labels = data.classes or [f"output {j}" for j in range(len(row))]
        width = max(len(label) for label in labels)
        for label, p in zip(labels, row.tolist(), strict=True):
            bar = "█" * round(40 * max(0.0, min(1.0, p)))
            mark = " ◀ true" if entry.get("true") == label else ""
            out.print(f"  {safe(label):>{width}} {p:7.4f} {bar}{mark}", highlight=False)


def _show_values(rows: list[dict[str, Any]], index: int | None, target: str | None) -> None:
    """A regression's predictions, one line per record, in the target's units."""
    for i, entry in enumerate(rows):
        values = entry["outputs"]
        names = [target] if target and len(values) == 1 else [f"output {j}" for j in
                                                              range(len(values))]  # fmt: skip
        shown = ", ".join(f"{safe(n)} {v:.6g}" for n, v in zip(names, values, strict=True))
        true = entry.get("true")
        if true is not None:
            shown += " (true: " + ", ".join(f"{v:.6g}" for v in true) + ")"
        out.print(f"[bold]record {index if index is not None else i}[/] -> {shown}",
                  highlight=False)  # fmt: skip


def _write_predictions(path: Path, rows: list[dict[str, Any]], classes: list[str]) -> None:
    """One line per record: its index, the predicted class and each output."""
    import csv
    import io

    if path.is_dir():
        raise ConfigError(f"--out: {path} is a folder; give a file name such as predictions.csv")
    if not path.parent.is_dir():
        raise ConfigError(f"--out: the folder {path.parent} does not exist")
    n_out = len(rows[0]["outputs"]) if rows else 0
    names = [f"p_{c}" for c in classes] if classes else [f"output_{j}" for j in range(n_out)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["record", *(["predicted"] if classes else []), *names])
    for i, entry in enumerate(rows):
        head = [i, entry["predicted"]] if classes else [i]
        writer.writerow([*head, *(f"{v:.6g}" for v in entry["outputs"])])
    atomic_write_text(path, buffer.getvalue())
