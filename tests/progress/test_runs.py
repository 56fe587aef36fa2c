"""A command's progress over its runs: per-run pulses, one line per finished run and a heartbeat
in a log, batches that add up (improve's rounds), and text said above the display."""

from __future__ import annotations

import io
import time

from rich.console import Console

from hone.progress import Pulse, RunsBar


def log_bar(heartbeat: float = 30.0) -> tuple[RunsBar, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    return RunsBar("compare abc123", False, console=console, heartbeat=heartbeat), buffer


def test_a_log_gets_a_line_when_each_run_ends_not_when_its_unit_does() -> None:
    bar, buffer = log_bar()
    with bar:
        bar("", 0, 3, [])
        for seed in range(3):  # three runs trained one after another in one unit
            bar.pulse(Pulse(f"v1 seed {seed}", 0, 10))
            bar.pulse(Pulse(f"v1 seed {seed}", 10, 10, logs={"val_accuracy": 0.9}))
            bar.pulse(Pulse(f"v1 seed {seed}", 10, 10, ended=True, status="completed"))
        for seed in range(3):  # the experiment counts them when the unit returns
            bar(f"v1 seed {seed}: completed", seed + 1, 3, [])
    lines = buffer.getvalue().splitlines()
    assert [line.split(" - ")[0] for line in lines] == [
        f"compare abc123 {n}/3 runs" for n in (1, 2, 3)
    ]
    assert lines[0].endswith("v1 seed 0: completed") and "eta" in lines[0]


def test_runs_without_pulses_get_their_line_from_the_count() -> None:
    bar, buffer = log_bar()
    with bar:
        bar("trial 0: complete", 1, 2, [])
        bar("trial 1: pruned", 2, 2, [])
    assert buffer.getvalue().splitlines()[-1].endswith("2/2 runs - 0:00 - trial 1: pruned")


def test_a_heartbeat_while_nothing_finishes_says_what_runs() -> None:
    bar, buffer = log_bar(heartbeat=0.3)
    with bar:
        bar("", 0, 2, [])
        bar.pulse(Pulse("v1 seed 0", 2.5, 10, loss=0.4321))
        time.sleep(2.5)
    beats = [line for line in buffer.getvalue().splitlines() if "running:" in line]
    assert beats and "v1 seed 0  epoch 2/10  loss 0.4321" in beats[0]
    assert 1 <= len(beats) <= 3  # at most one a second (the check's tick), not a flood


def test_batches_add_up_and_the_eta_counts_work_inside_runs() -> None:
    bar, _ = log_bar()
    with bar:
        bar("", 0, 3, [])
        bar("baseline seed 2: completed", 3, 3, [])
        bar("", 0, 6, [])  # improve's next round
        assert bar.line is not None
        assert (bar.line.done, bar.line.total) == (3, 9)
        bar.pulse(Pulse("r1 seed 0", 5, 10))
        assert bar.line.partial == 0.5
        bar("r1 seed 0: completed", 1, 6, [])
        assert (bar.line.done, bar.line.total) == (4, 9)


def test_said_text_lands_above_a_live_display(tmp_path: object) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80, color_system=None)
    with RunsBar("improve", False, console=console) as bar:
        bar("", 0, 3, [])
        bar.pulse(Pulse("baseline seed 0", 1.5, 50, loss=0.25))
        bar.say("baseline: seeds run one by one, not stacked: train.augment")
        bar("baseline seed 0: completed", 1, 3, [])
    text = buffer.getvalue()
    note = "baseline: seeds run one by one, not stacked: train.augment"
    before = text[: text.index(note)]
    assert before.endswith(("\n", "\r", "\x1b[2K")), repr(before[-40:])


def test_a_stack_of_trials_in_flight_shows_at_most_a_screenful() -> None:
    """Stacked trials report no pulses: the display listed every trial in flight, 32 lines
    for a stack of 32 (256 on a GPU), each as a "job"."""
    bar, _ = log_bar()
    bar("trial 0: complete", 1, 64, [f"trial {n}" for n in range(1, 33)])
    screen = io.StringIO()
    Console(file=screen, force_terminal=True, width=80, color_system=None).print(bar)
    lines = screen.getvalue().splitlines()
    assert lines[1:] == [f"  trial {n}" for n in range(1, 9)] + ["  … and 24 more in progress"]
