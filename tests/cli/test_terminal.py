"""What a user sees: progress lines at any width, plain lines in a log, tables that keep ids and
numbers whole, and commands that say what happened."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from hone.cli.common import set_args
from hone.progress import ProgressLine, clock, shorten
from hone.train.callbacks.progress import ProgressBar, metrics_text
from hone.train.state import TrainState
from tests.cli.test_safety import cli, one_run
from tests.conftest import in_pty, screen_text, tiny

LOGS = {"train_loss": 0.36, "train_accuracy": 0.8417, "val_loss": 0.4358, "val_accuracy": 0.875}


def render(line: ProgressLine, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
    console.print(line)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return str(text).rstrip("\n")


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_bar_count_and_eta_always_fit(width: int) -> None:
    line = ProgressLine("a-very-long-experiment-name-for-a-run 0ae507", 300, "epochs")
    line.done = 300
    line.tail = lambda room: metrics_text(LOGS, room)
    text = render(line, width)
    assert "\n" not in text and len(text) <= width
    assert "300/300 epochs" in text and "eta 0:00" in text
    if width >= 60:
        assert "━" * 10 in text
    if width >= 80:
        assert "loss 0.3600" in text
    if width >= 120:  # room for every metric once the bar is drawn
        assert "val_acc 0.8750" in text and "0ae507" in text


def test_metrics_are_abbreviated_then_dropped() -> None:
    full = metrics_text(LOGS, 200)
    assert full == "loss 0.3600 acc 0.8417 val_loss 0.4358 val_acc 0.8750"
    short = metrics_text(LOGS, 30)
    assert len(short) <= 30 and short
    assert metrics_text(LOGS, 3) == ""
    assert metrics_text({"train_loss": float("nan")}, 20) == "loss nan"


def test_shorten_and_clock() -> None:
    assert shorten("abc", 10) == "abc"
    cut = shorten("blobs-baseline-with-a-long-name 0ae507", 20)
    assert len(cut) == 20 and cut.endswith("0ae507") and "…" in cut
    assert clock(None) == "-:--" and clock(65) == "1:05" and clock(3725) == "1:02:05"


def test_a_log_gets_one_plain_line_per_epoch() -> None:
    buffer = io.StringIO()
    bar = ProgressBar("run abc", Console(file=buffer, force_terminal=False, width=80))
    import torch

    model = torch.nn.Linear(2, 2)
    state = TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
                       steps_per_epoch=1)  # fmt: skip
    bar.on_train_begin(state)
    for epoch in (1, 2, 3):
        state.epoch, state.logs = epoch, dict(LOGS)
        bar.on_epoch_end(state)
    bar.on_train_end(state)
    lines = buffer.getvalue().splitlines()
    assert [line.split(" - ")[0] for line in lines] == [f"run abc {e}/3 epochs" for e in (1, 2, 3)]
    assert all("━" not in line and "val_acc 0.8750" in line for line in lines)


def test_long_runs_in_a_log_print_every_nth_epoch_and_the_last() -> None:
    buffer = io.StringIO()
    bar = ProgressBar("r", Console(file=buffer, force_terminal=False))
    import torch

    model = torch.nn.Linear(2, 2)
    state = TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1), epochs=301,
                       steps_per_epoch=1)  # fmt: skip
    bar.on_train_begin(state)
    for epoch in range(1, 302):
        state.epoch, state.logs = epoch, dict(LOGS)
        bar.on_epoch_end(state)
    bar.on_train_end(state)
    lines = buffer.getvalue().splitlines()
    assert 40 <= len(lines) <= 80
    assert lines[0].startswith("r 1/301") and lines[-1].startswith("r 301/301")


def test_set_args_paste_into_a_shell_with_rounded_numbers() -> None:
    text = set_args({"train.optimizer.lr": 13.333333333333334, "model.hidden": [128, 128],
                     "train.optimizer.betas": [0.9, 0.99912345]})  # fmt: skip
    assert "--set train.optimizer.lr=13.33" in text
    assert "--set 'model.hidden=[128, 128]'" in text
    assert "0.9991" in text and "0.99912345" not in text


def test_run_says_where_early_stopping_stopped_and_what_it_restored(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    cfg = tiny(**{"train.epochs": 200, "train.early_stopping.patience": 3})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, out, _ = cli(capsys, "run", str(path), "--store", str(store))
    assert code == 0
    m = re.search(r"early stopping: stopped after epoch (\d+); restored the weights of epoch (\d+)",
                  out)  # fmt: skip
    assert m and int(m.group(2)) == int(m.group(1)) - 3


def test_a_diverged_run_says_what_to_try(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    cfg = tiny(**{"train.optimizer": {"name": "sgd", "lr": 1000.0}, "train.epochs": 3})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, _, err = cli(capsys, "run", str(path), "--store", str(store))
    assert code == 1 and "diverged" in err
    assert "try:" in err and "--set train.optimizer.lr=" in err
    assert "hone diagnose" in err


@pytest.mark.parametrize("columns", [80, 120])
def test_runs_list_on_a_terminal_keeps_names_apart_and_drops_the_least_useful_columns(
    store: Path, columns: int
) -> None:
    """In a pty: distinct names that share a long start and end stay distinct (cut where they
    agree), each run shows its seed, ids and statuses stay whole and apart from the name."""
    head = "an-experiment-with-a-very-long-name/+ model.hidden="
    names = [f"{head}[32, 32, 32] + train.optimizer.lr=0.003 (same as baseline)",
             f"{head}[64, 32, 32] + train.optimizer.lr=0.003 (same as baseline)"]  # fmt: skip
    ids = [one_run(store, name=name, seed=seed) for seed, name in enumerate(names, start=7)]
    code, chunks = in_pty([sys.executable, "-m", "hone.cli", "runs", "list", "--store",
                           str(store)], columns=columns)  # fmt: skip
    lines = [ln for ln in screen_text(chunks) if any(i in ln for i in ids)]
    assert code == 0 and len(lines) == 2, lines
    assert all(len(ln) <= columns for ln in lines)
    header = next(p for p in screen_text(chunks) if p.lstrip().startswith("id "))
    assert "seed" in header and "val_acc" in header
    assert ("created" in header) == (columns >= 120)  # the first to go at 80 columns
    cells = [re.split(r" {2,}", ln.strip()) for ln in lines]
    assert [c[0] for c in cells] == ids[::-1]  # ids whole, in their own cell, newest first
    assert cells[0][1] != cells[1][1]  # the names are told apart ...
    assert "…" in cells[0][1] or columns > 80  # ... though cut
    assert [c[2] for c in cells] == ["8", "7"]  # the seed column
    assert all(c[3] == "completed" for c in cells)  # never glued to the name


def test_experiments_show_prints_the_variants_table(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny(**{"train.epochs": 2})))
    code, out, _ = cli(capsys, "compare", str(path), "--vary", "train.optimizer.lr=0.001,0.1",
                       "--seeds", "3", "--store", str(store), "--quiet")  # fmt: skip
    assert code == 0 and out == ""
    code, listing, _ = cli(capsys, "experiments", "list", "--store", str(store), "--json")
    exp_id = json.loads(listing)[0]["id"]
    code, out, _ = cli(capsys, "experiments", "show", exp_id[-6:], "--store", str(store))
    assert code == 0
    assert "v1" in out and "v2" in out and "train.optimizer.lr=0.1" in out and "9/9 runs" in out
    code, out, _ = cli(capsys, "experiments", "show", exp_id, "--store", str(store), "--json")
    assert json.loads(out)["summary"]["runs_done"] == 9


def test_lr_find_writes_a_plot_and_recommends_one_rate(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny()))
    plot = tmp_path / "lr.png"
    code, out, _ = cli(capsys, "lr-find", str(path), "--steps", "60", "--plot", str(plot),
                       "--store", str(store))  # fmt: skip
    assert code == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "recommended:" in out and "--set train.optimizer.lr=" in out
    code, out, _ = cli(capsys, "lr-find", str(path), "--steps", "60", "--plot", str(plot),
                       "--json", "--store", str(store))  # fmt: skip
    found = json.loads(out)
    assert found["recommended"] in (found["steepest"], found["min_over_10"])
    assert found["reason"]


def test_studies_list_names_each_study_and_its_best_run(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    code, out, err = cli(capsys, "studies", "list", "--store", str(store))
    assert code == 0 and "no studies" in err
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny(**{"train.epochs": 2})))
    space = tmp_path / "space.yaml"
    space.write_text("train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}\n")
    code, _, _ = cli(capsys, "tune", str(path), "--space", str(space), "--trials", "2",
                     "--seeds-final", "0", "--store", str(store), "--quiet")  # fmt: skip
    assert code == 0
    code, out, _ = cli(capsys, "studies", "list", "--store", str(store), "--json")
    (study,) = json.loads(out)
    assert study["name"] == "tiny-tune" and study["states"] == {"complete": 2}
    import optuna

    from hone.store.studies import open_storage

    loaded = optuna.load_study(
        study_name="tiny-tune", storage=open_storage(str(store / "studies.journal"))
    )
    assert all(t.user_attrs["run_id"] for t in loaded.trials)
    assert study["best_run"] in {t.user_attrs["run_id"] for t in loaded.trials}


def test_flags_show_as_flags_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "run", "--help")
    assert code == 0
    json_line = next(line for line in out.splitlines() if "--json" in line)
    assert "<bool>" not in json_line


def test_install_hints_in_help_keep_their_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    """Rich reads ``[ray]`` as a style tag and drops it unless escaped."""
    code, out, _ = cli(capsys, "tune", "--help")
    assert code == 0
    assert "hone[ray]" in "".join(out.split())


@pytest.mark.parametrize("command", ["datacurve", "lr-find", "run", "compare", "tune", "improve"])
def test_every_training_command_has_quiet_and_store(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = cli(capsys, command, "--help")
    assert code == 0
    assert "--quiet" in out and "--store" in out and "--json" in out


def _csv_run(tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    import numpy as np

    rng = np.random.default_rng(0)
    lines = ["size,colour,weight,label"]
    for _ in range(120):
        colour = str(rng.choice(["red", "green", "blue"]))
        size = rng.normal()
        label = "big" if size + (colour == "red") > 0.5 else "small"
        weight = "" if rng.random() < 0.05 else f"{rng.normal():.3f}"
        lines.append(f"{size:.3f},{colour},{weight},{label}")
    data = tmp_path / "t.csv"
    data.write_text("\n".join(lines) + "\n")
    cfg = tiny(**{"data": {"dataset": "csv", "path": str(data), "target": "label",
                           "missing": "mean", "split": "6:2:2"}})  # fmt: skip
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, out, _ = cli(capsys, "run", str(path), "--store", str(store))
    assert code == 0
    run_id = re.search(r"run (\d{8}-\d{6}-\w{6})", out).group(1)  # type: ignore[union-attr]
    return run_id, out


def test_run_lists_one_hot_columns_and_predict_reads_the_training_csv_format(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    run_id, out = _csv_run(tmp_path, store, capsys)
    assert "one-hot encoded: colour (3: blue, green, red)" in out
    new = tmp_path / "new.csv"  # another column order, no label, a missing cell
    new.write_text("weight,colour,size\n0.1,red,2.0\n,blue,-2.0\n0.3,green,0.1\n")
    out_csv = tmp_path / "pred.csv"
    code, out, err = cli(capsys, "predict", run_id, "--input", str(new), "--out", str(out_csv),
                         "--store", str(store))  # fmt: skip
    assert code == 0, err
    table = out_csv.read_text().splitlines()
    assert table[0] == "record,predicted,p_big,p_small" and len(table) == 4
    assert table[1].split(",")[1] == "big" and table[2].split(",")[1] == "small"
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("size,colour,weight\n1.0,purple,0.0\n")
    code, _, err = cli(capsys, "predict", run_id, "--input", str(unknown), "--store", str(store))
    assert code == 2 and "purple" in err and "known: blue, green, red" in err
    header_only = tmp_path / "header.csv"
    header_only.write_text("size,colour,weight\n")
    code, _, err = cli(capsys, "predict", run_id, "--input", str(header_only), "--store",
                       str(store))  # fmt: skip
    assert code == 2 and "no rows to predict on" in err
    missing = tmp_path / "missing.csv"
    missing.write_text("size,weight\n1.0,0.0\n")
    code, _, err = cli(capsys, "predict", run_id, "--input", str(missing), "--store", str(store))
    assert code == 2 and "missing column(s)" in err and "colour" in err


def test_model_needs_no_dataset_files_for_a_fixed_shape(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "mnist_mlp.yaml"
    code, out, err = cli(capsys, "model", str(example), "--set",
                         f"data.path={tmp_path / 'absent'}", "--json")  # fmt: skip
    assert code == 0, err
    shown = json.loads(out)
    assert shown["input_shape"] == [1, 28, 28] and shown["layers"][-1]["output_shape"] == [10]


def test_lr_find_plots_in_the_store_are_linked_from_the_index(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny()))
    code, _, _ = cli(capsys, "lr-find", str(path), "--steps", "30", "--store", str(store))
    assert code == 0 and (store / "lr-find").is_dir()
    code, _, _ = cli(capsys, "report", "--all", "--store", str(store))
    index = (store / "reports" / "index.html").read_text()
    (png,) = (store / "lr-find").glob("*.png")
    assert f'href="../lr-find/{png.name}"' in index


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def test_compare_on_a_terminal_shows_each_seed_live_at_80_columns(tmp_path: Path) -> None:
    """The display says what runs now (variant, seed, epoch, live loss) while it runs, keeps
    turning between numbers, and never draws past 80 columns."""
    cfg = tiny(**{"data.params.n_samples": 3000, "train.epochs": 40, "model.hidden": [32]})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, chunks = in_pty([sys.executable, "-m", "hone.cli", "compare", str(path), "--vary",
                           "model.hidden=[16]", "--seeds", "3", "--store",
                           str(tmp_path / "store")])  # fmt: skip
    pieces = screen_text(chunks)
    assert code == 0, pieces[-20:]
    live = [p for p in pieces if re.search(r"baseline seed [012]  epoch (\d+)/40  loss", p)]
    mid = [p for p in live if int(re.search(r"epoch (\d+)/", p).group(1)) < 40]  # type: ignore[union-attr]
    assert mid, "no line showed a seed while it trained"
    assert {p for p in pieces if "model.hidden=[16] seed 2  epoch" in p}
    assert len({p[0] for p in pieces if p[0] in SPINNER}) >= 3  # redrawn, not only at the ends
    assert max(len(p) for p in pieces) <= 80
    # counted as runs end (a narrower model is a stack of its own: its seeds end later)
    assert any("3/6 runs" in p for p in pieces)


def test_improve_notes_never_glue_to_the_live_line(tmp_path: Path) -> None:
    """A note printed while the display is live lands on its own line above it. (A budget of
    7: the baseline's 3 runs, one candidate's 3, and the final test run.)"""
    cfg = tiny(**{"train.epochs": 15, "train.augment": {"noise": 0.05}})  # not stackable
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, chunks = in_pty([sys.executable, "-m", "hone.cli", "improve", str(path), "--budget",
                           "7", "--seeds", "3", "--store", str(tmp_path / "store")])  # fmt: skip
    pieces = screen_text(chunks)
    assert code == 0, pieces[-20:]
    # A note starts its own line ("baseline: seeds run ...", or "round 1: ..." wrapped between
    # words); glued to the live line it would follow "completed" or a spinner on one line.
    notes = [p for p in pieces if "not stacked" in p or "seeds run one by one" in p]
    assert len(notes) >= 2, pieces
    for p in notes:
        assert not re.search(r"runs|completed|epoch|[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]", p), p
    live = [p for p in pieces if p[0] in SPINNER or "  epoch " in p]
    assert live and max(len(p) for p in live) <= 80


def test_diagnose_lines_under_a_finding_stay_indented_when_wrapped(store: Path) -> None:
    """At 80 columns a probe result or a list of causes takes two lines: the second stays
    under the first, not at the left edge where findings' titles start."""
    import hone

    cfg = tiny(**{"data.params.n_samples": 600, "model.dropout": 0.9, "train.epochs": 30})
    run_id = hone.run(cfg, store=str(store)).run_id
    hone.diagnose(run_id, store, probe=True)  # the screen below reads this probe
    code, chunks = in_pty([sys.executable, "-m", "hone.cli", "diagnose", run_id, "--probe",
                           "--store", str(store)], columns=80)  # fmt: skip
    lines = screen_text(chunks)
    assert code == 0, lines[-20:]
    at = [i for i, ln in enumerate(lines) if ln.startswith("  probe: ")]
    assert at, lines
    for i in at:
        assert len(lines[i]) <= 80 and lines[i + 1].startswith("  ") and lines[i + 1][2] != " "
        assert not re.match(r"\s*\d\. ", lines[i + 1]), "the summary was not wrapped"


def test_a_study_whose_every_trial_diverged_says_there_is_no_best(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny(**{"train.epochs": 2, "train.optimizer.name": "sgd"})))
    space = tmp_path / "space.yaml"
    space.write_text("train.optimizer.lr: {type: float, low: 1.0e+4, high: 1.0e+6, log: true}\n")
    code, out, err = cli(capsys, "tune", str(path), "--space", str(space), "--trials", "2",
                         "--seeds-final", "0", "--store", str(store))  # fmt: skip
    assert code == 0 and "Traceback" not in out + err
    assert "2 diverged" in out and "to use it" not in out
    assert "no trial completed, so there is no best val_accuracy" in out
