"""The Python API (``hone.run``, ``hone.compare``, ``hone.tune``, ``hone.diagnose``): typed
results equal to what the commands record, HTML that Jupyter can show, and one unambiguous
way in for config overrides (``overrides={...}``, any key; keyword arguments for the rest)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

import hone
from hone.errors import ConfigError
from hone.experiments.compare import summarize_experiment
from hone.store import RunStore
from tests.conftest import tiny


class _Checker(HTMLParser):
    """Fails on unbalanced tags; collects the text, so escaping can be checked."""

    VOID = frozenset({"br", "hr", "img"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, tag

    def handle_data(self, data: str) -> None:
        self.text += data


def _check_html(html: str) -> str:
    parser = _Checker()
    parser.feed(html)
    parser.close()
    assert not parser.stack and "<script" not in html
    return parser.text


def test_compare_returns_what_the_store_records(store: Path) -> None:
    result = hone.compare(tiny(**{"train.epochs": 3}), vary={"train.optimizer.lr": [0.001, 0.1]},
                          seeds=3, store=store)  # fmt: skip
    assert [v.name for v in result.variants] == [
        "baseline", "train.optimizer.lr=0.001", "train.optimizer.lr=0.1"
    ]  # fmt: skip
    with RunStore(store) as rs:
        summary = summarize_experiment(rs, result.experiment_id)
        assert rs.get_experiment(result.experiment_id).status == "completed"
    low = result["train.optimizer.lr=0.001"]
    row = summary["variants"][1]
    assert low.values == row["values"] and len(low.run_ids) == 3
    assert low.mean == pytest.approx(row["summary"]["mean"])
    assert low.verdict == row["vs"]["verdict"] and low.compare_to == "baseline"
    text = _check_html(result._repr_html_())
    assert "train.optimizer.lr=0.1" in text and result.metric in text
    with pytest.raises(KeyError, match="have: 'baseline'"):
        result["nope"]


def test_named_variants_as_a_ladder(store: Path) -> None:
    result = hone.compare(
        tiny(**{"train.epochs": 2}),
        variants={"sgd": {"train.optimizer.name": "sgd"}, "+lr": {"train.optimizer.lr": 0.1}},
        ladder=True, seeds=1, store=store,
    )  # fmt: skip
    assert result.kind == "ladder"
    assert result["+lr"].patch == {"train.optimizer.name": "sgd", "train.optimizer.lr": 0.1}
    assert result["+lr"].compare_to == "sgd"


def test_compare_needs_variants(store: Path) -> None:
    with pytest.raises(ConfigError, match="vary="):
        hone.compare(tiny(), store=store)
    with pytest.raises(ConfigError, match="list of values"):
        hone.compare(tiny(), vary={"train.optimizer.lr": 0.1}, store=store)  # type: ignore[dict-item]


def test_tune_with_a_space_mapping(store: Path) -> None:
    space = {"train.optimizer.lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True}}
    outcome = hone.tune(tiny(**{"train.epochs": 2}), space=space, trials=3, seeds_final=2,
                        store=store)  # fmt: skip
    assert outcome.study.counts.get("complete", 0) + outcome.study.counts.get("pruned", 0) == 3
    assert set(outcome.best_params) == {"train.optimizer.lr"}
    assert outcome.final is not None and outcome.final.variants[-1].name == "best"
    assert len(outcome.final["best"].values) == 2
    _check_html(outcome._repr_html_())


def test_without_a_validation_split_compare_and_tune_hold_back_training_rows(
    store: Path,
) -> None:
    """The Keras-style 80/20 (train and test): ``compare`` and ``tune`` compare on a fifth
    of the training rows held back from every run, where they refused to start."""
    noval = tiny(**{"train.epochs": 2, "data.split": "8:2"})
    result = hone.compare(noval, vary={"train.optimizer.lr": [0.1]}, seeds=2, store=store)
    with RunStore(store) as rs:
        spec = rs.get_experiment(result.experiment_id).spec
    assert result.metric == "val_accuracy" and spec["held_back"] == 0.2
    assert spec["config"]["data"]["split"]["val"] == pytest.approx(0.16)
    space = {"train.optimizer.lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}}
    outcome = hone.tune(noval, space=space, trials=2, seeds_final=0, store=store)
    assert outcome.best_value is not None and outcome.best_params
    with RunStore(store) as rs:  # the best trial trained on the held-back split
        trained = rs.get_run(str(outcome.study.best_run), with_history=False)
    assert trained.config["data"]["split"]["val"] == pytest.approx(0.16)


def test_diagnose_is_callable_and_renders(store: Path) -> None:
    import hone.diagnose.rules  # importing the package must keep it callable

    run = hone.run(tiny(**{"train.epochs": 3, "name": "<script>alert(1)</script>"}), store=store)
    diagnosis = hone.diagnose(run.run_id[-6:], store=store)
    assert diagnosis.run_id == run.run_id and diagnosis.findings
    text = _check_html(diagnosis._repr_html_())
    assert diagnosis.findings[0].code in text
    assert _check_html(diagnosis.findings[0]._repr_html_())
    run_text = _check_html(run._repr_html_())
    assert "<script>alert(1)</script>" in run_text  # shown as text, never as markup


def test_a_variant_is_found_by_the_name_written_and_results_print_short(store: Path) -> None:
    """tiny's lr is 0.01: the variant "train.optimizer.lr=0.01" equals the baseline and is shown
    as "... (same as baseline)", yet found by the name the user wrote (the README's example)."""
    result = hone.compare(tiny(**{"train.epochs": 3}), vary={"train.optimizer.lr": [0.01, 0.003]},
                          seeds=3, store=store)  # fmt: skip
    same = result["train.optimizer.lr=0.01"]
    assert same.name == "train.optimizer.lr=0.01 (same as baseline)"
    assert result["train.optimizer.lr=1e-2"] is same  # the same value written another way
    other = result["train.optimizer.lr=0.003"]
    vs = result.summary["variants"][2]["vs"]
    assert (other.diff_ci_low, other.diff_ci_high) == (vs["t_ci_low"], vs["t_ci_high"])
    assert other.detectable == vs["detectable"] and other.n == 3
    with pytest.raises(KeyError, match=r"have: 'baseline', 'train.optimizer.lr=0.01 \(same"):
        result["train.optimizer.lr=0.5"]
    text = repr(result)
    assert text.count("\n") == len(result.variants) + 1 and "values" not in text
    assert "vs baseline" in repr(other) and "p " in repr(other)
    run = hone.run(tiny(), store=store)
    assert "\n" not in repr(run) and "history" not in repr(run) and run.run_id in repr(run)
    assert len(repr(run)) < 200 and run.history  # the full data stays one attribute away
    assert repr(hone.diagnose(run.run_id, store=store)).startswith(f"Diagnosis(run {run.run_id}")


def test_dir_lists_the_public_names() -> None:
    names = dir(hone)
    for name in ("run", "compare", "tune", "diagnose", "load", "resume", "VariantResult"):
        assert name in names
        getattr(hone, name)


def test_a_module_and_data_without_a_config_get_defaults_that_fit_and_say_so(store: Path) -> None:
    import numpy as np
    from torch import nn

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Linear(3, 2)

        def forward(self, x: object) -> object:
            return self.layer(x)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    with pytest.warns(hone.HoneWarning, match="defaults for data given from Python"):
        run = hone.run(model=Tiny(), data=(x, y), store=store, **{"train.epochs": 30})
    cfg = run.config
    assert cfg.name == "Tiny-on-200x3" and cfg.data.split.val and cfg.data.split.val > 0
    assert cfg.train.early_stopping is not None and cfg.train.epochs == 30  # overrides win
    assert "val_accuracy" in run.metrics and "defaults" in run.notes


def test_overrides_take_any_key_including_store(tmp_path: Path) -> None:
    result = hone.run(tiny(), overrides={"store": str(tmp_path / "a"), "train.epochs": 1,
                                         "model": {"hidden": [4]}})  # fmt: skip
    assert result.store == tmp_path / "a" and result.config.model.hidden == [4]
    assert result.epochs_run == 1
    same = hone.run(tiny(), store=str(tmp_path / "b"), **{"train.epochs": 1, "seed": 3})
    assert same.store == tmp_path / "b" and same.config.seed == 3


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"overrides": {"train.epochs": 1}, "train__epochs": 2}, "train.epochs: given twice"),
        ({"overrides": {"store": "/a"}, "store": "/b"}, "store: given as store="),
        ({"model": {"hidden": [4]}}, r"model=: takes your own nn.Module.*overrides="),
        ({"data": {"dataset": "digits"}}, r"data=: takes your own data.*overrides="),
        ({"overrides": ["train.epochs=1"]}, "overrides: give a mapping"),
    ],
)
def test_ambiguous_or_misplaced_overrides_are_clear_errors(
    tmp_path: Path, kwargs: dict[str, object], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        hone.run(tiny(), **{"store": str(tmp_path / "s"), **kwargs})  # type: ignore[arg-type]


def test_compare_takes_overrides_too(tmp_path: Path) -> None:
    result = hone.compare(tiny(), vary={"train.optimizer.lr": [0.01]}, seeds=1,
                          overrides={"store": str(tmp_path / "c"), "train.epochs": 1})  # fmt: skip
    assert result.complete and (tmp_path / "c" / "runs.db").is_file()


def test_datacurve_answers_as_the_command_does() -> None:
    """``hone.datacurve`` is ``hone datacurve``: the same points, verdict and JSON."""
    cfg = tiny(**{"train.epochs": 3, "data.params.n_samples": 300})
    curve = hone.datacurve(cfg, fractions=[0.5, 1.0], seeds=2)
    assert [p.fraction for p in curve.points] == [0.5, 1.0]
    assert curve.verdict in ("underfitting", "more_data", "plateau") and curve.answer
    assert curve.to_json()["verdict"] == curve.verdict and curve.evidence["stacked"] == 2
    assert "datacurve" in dir(hone)
    with pytest.raises(hone.ConfigError, match="fractions"):
        hone.datacurve(cfg, fractions=[0.0, 1.0])
