"""Prescriptions that say what they do: a key that changes nothing is left out of a patch, a
patch that changes nothing is never offered, and the sentence is filled from the patch."""

from __future__ import annotations

from hone.config import load_config
from hone.diagnose.finding import Diagnosis, Finding, Prescription
from hone.diagnose.prescribe import disagreements, effective, fill, finalize
from tests.conftest import tiny


def _finding(*prescriptions: Prescription) -> Finding:
    return Finding("bad_init", "critical", "t", "e", {"x": 1}, list(prescriptions))


def test_keys_that_change_nothing_are_left_out_and_no_op_patches_dropped() -> None:
    config = load_config(tiny(**{"model.init": "zeros"})).to_dict()  # biases start at zero
    kept = finalize([_finding(
        Prescription("He or Xavier init ({model.init}), biases {model.bias_init}",
                     {"model.init": "auto", "model.bias_init": "zeros"}),
        Prescription("zero biases", {"model.bias_init": "zeros"}),
        Prescription("measure it (hone lr-find)"),
    )], config)[0].prescriptions  # fmt: skip
    assert [p.patch for p in kept] == [{"model.init": "auto"}, {}]
    # The sentence is made from the patch (and the config for a key left out as a no-op).
    assert kept[0].why == "He or Xavier init (auto), biases zeros"
    assert effective(config, {"train.epochs": 5, "train.batch_size": 64}) == {
        "train.batch_size": 64
    }


def test_a_sentence_states_only_what_its_patch_sets() -> None:
    patch = {"train.optimizer": {"name": "adam", "lr": 0.01}}
    assert fill("Adam adapts the step per weight (at lr {train.optimizer.lr})", patch) == (
        "Adam adapts the step per weight (at lr 0.01)"
    )
    assert disagreements("Adam at its usual learning rate (0.001)", patch) == ["0.001"]
    assert disagreements("a smaller learning rate (0.0513)", {"train.optimizer.lr": 0.05128}) == []
    assert disagreements("stop near epoch 7 and keep its weights", {"x": 3}) == []


def test_the_top_prescription_is_the_first_a_probe_did_not_refute() -> None:
    """Seed 20's one verified-worse run: standardised inputs, refuted by the probe (-0.05,
    interval below zero), were still what the run would have been patched with."""
    scale = Prescription("standardise the inputs", {"data.preprocess.scale": "standard"})
    leaky = Prescription("LeakyReLU", {"model.activation": "leaky_relu"})
    probed = Finding("saturation", "info", "t", "e", {}, [scale, leaky],
                     probe={"verdict": "refuted", "patch": dict(scale.patch)})  # fmt: skip
    assert probed.refuted(scale) and not probed.refuted(leaky)
    assert Diagnosis("r", [probed], probed=True).top_prescription() is leaky
    unprobed = Finding("saturation", "info", "t", "e", {}, [scale, leaky])
    assert Diagnosis("r", [unprobed]).top_prescription() is scale
    assert Diagnosis("r", [Finding("healthy", "info", "t", "e", {})]).top_prescription() is None
