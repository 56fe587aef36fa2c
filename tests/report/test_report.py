"""Report pages rendered from real tiny runs: structure, numbers, escaping, and a browser."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

import hone
from hone.config import load_config
from hone.experiments.compare import plan_experiment, run_pending
from hone.experiments.improve import improve
from hone.experiments.tune import load_space, tune
from hone.experiments.variants import grid
from hone.report import render_report
from hone.store import RunStore
from tests.conftest import tiny

EVIL = "<script>alert(1)</script>"


def evil_csv(folder: Path) -> str:
    """Two classes, one of them labelled with markup."""
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{EVIL if i % 2 else 'ok'}" for i in range(80)]
    path = folder / "evil.csv"
    path.write_text("\n".join(rows) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One page of each type, from real runs in one store (built once for the module)."""
    tmp_path = tmp_path_factory.mktemp("reports")
    store = tmp_path / "store"
    run = hone.run(
        {
            "name": f"run {EVIL}",
            "data": {
                "dataset": "csv",
                "path": evil_csv(tmp_path),
                "target": "label",
                "split": "6:2:2",
            },
            "model": {"hidden": [8]},
            "train": {"epochs": 4},
        },
        store=str(store),
    )
    image_run = hone.run(
        {
            "data": {"dataset": "digits", "split": "6:2:2"},
            "model": {"hidden": [16]},
            "train": {"epochs": 3, "schedule": "cosine"},
        },
        store=str(store),
    )
    base = load_config(tiny(**{"train.epochs": 3, "telemetry": False}))
    with RunStore(store) as rs:
        exp = plan_experiment(
            rs, "compare", base, grid(base, ["model.hidden=[4]"]), [0, 1], "val_accuracy"
        )
        run_pending(rs, exp)
        imp = improve(rs, base, seeds=2, metric="val_accuracy", budget_runs=4)["experiment"]
        space = tmp_path / "space.yaml"
        space.write_text(
            "train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}\n"
            "model.hidden: {type: categorical, choices: [[4], [16]]}\n"
        )
        tune(
            base,
            load_space(space, base),
            trials=4,
            metric="val_accuracy",
            store=str(store),
            storage=None,
            study_name="study1",
            sampler="random",
            pruner="none",
        )
        out = {
            "run": render_report(rs, run.run_id),
            "image_run": render_report(rs, image_run.run_id, index=5),
            "experiment": render_report(rs, exp),
            "improve": render_report(rs, imp),
            "study": render_report(rs, "study1", tmp_path / "study.html"),
        }
        out["store"] = store
        out["run_id"] = run.run_id  # type: ignore[assignment]
    return out


def sections(text: str) -> set[str]:
    return set(re.findall(r'<section id="([^"]+)"', text))


def test_run_page_sections_numbers_and_escaping(pages: dict[str, Path]) -> None:
    text = pages["run"].read_text()
    assert {
        "headline",
        "diagnosis",
        "learning-curves",
        "evaluation",
        "predictions",
        "telemetry",
        "config",
    } <= sections(text)
    assert EVIL not in text and html.escape(EVIL) in text  # label and run name escaped
    assert "<script" not in text.lower()
    with RunStore(pages["store"]) as rs:
        record = rs.get_run(str(pages["run_id"]))
    assert f"{record.metrics['test_accuracy']:.4f}" in text
    assert record.id in text and "per-class" in text
    assert len(text.encode()) < 5 * 2**20
    _patches_paste_into_a_shell(text)


def _patches_paste_into_a_shell(text: str) -> None:
    """Every --set line on a page splits like bash would and parses as hone's --set."""
    import shlex

    from hone.config import parse_set

    for code in re.findall(r"<code>(--set [^<]*)</code>", text):
        words = shlex.split(html.unescape(code))
        assert words[::2] == ["--set"] * (len(words) // 2), code
        parse_set(words[1::2])


def test_image_run_page_has_the_prediction_grid_and_lr(pages: dict[str, Path]) -> None:
    text = pages["image_run"].read_text()
    assert "most confident mistakes first" in text and "Record 5:" in text
    assert "Learning rate per epoch" in text  # a cosine schedule varies
    assert text.count("data:image/png;base64,") >= 6


def test_experiment_and_improve_pages(pages: dict[str, Path]) -> None:
    text = pages["experiment"].read_text()
    assert {"variants", "ladder", "curves"} <= sections(text)
    assert "hidden=[4]" in html.unescape(text) and "95 % CI" in text
    improve_text = pages["improve"].read_text()
    assert "improve" in sections(improve_text) and "Rejected, and why" in improve_text


def test_study_page(pages: dict[str, Path]) -> None:
    text = pages["study"].read_text()
    assert {"best", "history", "slices", "importances", "parallel", "trials"} <= sections(text)
    trials = text.split('id="trials"')[1]
    assert trials.count("<tr>") >= 3 and re.search(r'href="\d{8}-\d{6}-\w{6}\.html"', trials)


def test_unknown_id(tmp_path: Path) -> None:
    with (
        RunStore(tmp_path) as rs,
        pytest.raises(hone.StoreError, match="not a run, an experiment or a study"),
    ):
        render_report(rs, "nothing-here")


def test_a_record_index_outside_the_test_split_is_refused_and_minus_one_is_the_last(
    pages: dict[str, Path],
) -> None:
    """``--index 99999`` showed record 199 and ``-1`` record 0, without a word."""
    with RunStore(pages["store"]) as rs:
        run_id = str(pages["run_id"])
        with pytest.raises(hone.ConfigError, match=r"--index 99999: the test split has \d+ rec"):
            render_report(rs, run_id, index=99999)
        last = render_report(rs, run_id, Path(str(pages["store"])) / "last.html", index=-1)
    assert "Record" in last.read_text()


def test_a_prefix_of_several_runs_is_called_ambiguous_with_how_many(tmp_path: Path) -> None:
    """``hone report PREFIX`` said "not a run" where the other commands say ambiguous."""
    with RunStore(tmp_path) as rs:
        ids = [rs.create_run("r", {"name": "r"}) for _ in range(7)]
        prefix = ids[0][:4]  # the year: every run's
        with pytest.raises(hone.StoreError, match=rf"'{prefix}' is ambiguous: .* and 2 more"):
            render_report(rs, prefix)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package: chromium)")
def test_pages_in_a_real_browser(pages: dict[str, Path], tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for name in ("run", "image_run", "experiment", "improve", "study"):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                errors: list[str] = []
                requests: list[str] = []
                page.on(
                    "console",
                    lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None,
                )
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.on("request", lambda r, requests=requests: requests.append(r.url))
                url = pages[name].resolve().as_uri()
                page.goto(url)
                # Nothing spills out of its section (a table or figure wider than the page).
                spilled = page.evaluate(
                    "() => [...document.querySelectorAll('section')]"
                    ".filter(s => s.scrollWidth > s.clientWidth + 1).map(s => s.id)"
                )
                assert spilled == [], (name, spilled)
                shot = tmp_path / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                page.close()
                assert errors == [], (name, errors)
                assert requests == [url], (name, requests)  # nothing beyond the file itself
                assert shot.stat().st_size > 10_000
        finally:
            browser.close()


def test_report_replaces_a_planted_link_instead_of_following_it(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run_id = hone.run(tiny(**{"train.epochs": 2}), store=str(store)).run_id
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (store / "reports").mkdir()
    link = store / "reports" / f"{run_id}.html"
    link.symlink_to(victim)
    with RunStore(store) as rs:
        path = render_report(rs, run_id)
    assert path == link and not link.is_symlink() and "<html" in link.read_text()
    assert victim.read_text() == "precious"
    with RunStore(store) as rs, pytest.raises(hone.StoreError, match="is a folder"):
        render_report(rs, run_id, tmp_path)


def test_a_constant_learning_rate_is_shown_rounded(tmp_path: Path) -> None:
    """A tuned LR has 16 digits; the page shows four significant ones."""
    run = hone.run(tiny(**{"train.epochs": 2, "train.optimizer.lr": 0.004430375245218269}),
                   store=str(tmp_path))  # fmt: skip
    with RunStore(tmp_path) as rs:
        text = render_report(rs, run.run_id).read_text()
    assert "learning rate constant at 0.00443<" in text
    assert "constant at 0.004430375" not in text  # the config section keeps every digit


def test_a_regression_compared_on_r2_shows_loss_curves_only_on_one_scale(tmp_path: Path) -> None:
    """val_r2 is measured when a run ends: the curves are val_loss's, said so. Variants
    that change what the loss measures (a Huber delta) have losses on different scales:
    no curves, said why, never an empty plot."""
    base = load_config(tiny(**{"data.dataset": "regression", "train.loss": "huber",
                               "train.epochs": 2, "telemetry": False,
                               "data.params": {"n_samples": 100}}))  # fmt: skip
    texts = {}
    with RunStore(tmp_path) as rs:
        for vary in ("train.optimizer.lr=0.03", "train.huber_delta=0.01"):
            exp = plan_experiment(rs, "compare", base, grid(base, [vary]), [0, 1], "val_r2")
            run_pending(rs, exp)
            texts[vary] = render_report(rs, exp).read_text()
    rates, deltas = texts["train.optimizer.lr=0.03"], texts["train.huber_delta=0.01"]
    assert "val_loss each epoch: val_r2 is measured when a run ends" in rates
    assert 'alt="curves per variant"' in rates
    assert "no curves: the variants measure the loss differently" in deltas
    assert 'alt="curves per variant"' not in deltas
