"""Settings as causes, read from a config: how strongly each points at a run's problem."""

from __future__ import annotations

import pytest

from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.settings import (
    STRONG,
    clipping,
    regularisation,
    tiny_batch_norm,
)


def _evidence(hidden: list[int], dropout: float) -> Evidence:
    cfg = Config().to_dict()
    cfg["model"].update(hidden=hidden, dropout=dropout)
    return Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.5]}, {},
                    data={"task": "classification"})  # fmt: skip


@pytest.mark.parametrize(
    ("hidden", "dropout", "strong"),
    [([16], 0.755, True),  # keeps about 4 of 16 units a step: as narrow as a bottleneck
     ([16], 0.5, False),  # keeps 8
     ([256], 0.755, False),  # keeps about 63: strong only by its rate (0.8 and up)
     ([256], 0.85, True),
     ([256, 8], 0.3, False)],  # below the rate at which dropout is a suspect at all
)  # fmt: skip
def test_dropout_is_a_strong_suspect_by_its_rate_or_the_units_it_leaves(
    hidden: list[int], dropout: float, strong: bool
) -> None:
    found = [s for s in regularisation(_evidence(hidden, dropout)) if s.key == "model.dropout"]
    assert bool(found and found[0].weight >= STRONG) == strong


def _clipped(optimizer: str, clip: float, norms: list[float]) -> Evidence:
    cfg = Config().to_dict()
    cfg["train"].update(optimizer={"name": optimizer, "lr": 0.1}, grad_clip={"norm": clip})
    samples = [{"epoch": i // 4 + 1, "grad_norm": n} for i, n in enumerate(norms)]
    return Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.9, 0.8]}, {},
                    telemetry={"samples": samples}, data={"task": "classification"})  # fmt: skip


@pytest.mark.parametrize(
    ("optimizer", "clip", "norms", "suspect"),
    [("sgd", 0.001, [0.001] * 20, True),  # every recorded norm is the clip's: it bound
     ("momentum", 0.001, [0.001] * 17 + [0.0004] * 3, True),  # 85 % of the steps
     ("sgd", 0.001, [0.001] * 10 + [0.0004] * 10, False),  # half: the gradients are small
     ("sgd", 2.0, [2.0] * 20, False),  # a clip of 2 leaves SGD's steps their size
     ("adam", 0.001, [0.001] * 20, False),  # Adam divides the scale back out
     ("sgd", 0.001, [0.001] * 3, False)],  # too few samples to tell
)  # fmt: skip
def test_a_clip_that_binds_on_nearly_every_sgd_step_is_a_suspect(
    optimizer: str, clip: float, norms: list[float], suspect: bool
) -> None:
    found = clipping(_clipped(optimizer, clip, norms))
    assert (found is not None) == suspect
    if found is not None:
        assert found.key == "train.grad_clip" and found.weight >= STRONG
        assert found.remedies[0].patch == {"train.grad_clip": {"norm": 1.0}}


def _value_clipped(optimizer: str, clip: float, rms: list[float | None]) -> Evidence:
    """Samples of two weight layers (60 and 40 weights) whose gradient RMS is ``rms``
    (``None``: a sample without its layers' numbers)."""
    cfg = Config().to_dict()
    cfg["train"].update(optimizer={"name": optimizer, "lr": 0.1}, grad_clip={"value": clip})
    samples = [
        {
            "epoch": i // 4 + 1,
            "layers": {}
            if r is None
            else {
                "hidden1.dense": {"grad_norm": r * 60**0.5, "numel": 60},
                "output": {"grad_norm": r * 40**0.5, "numel": 40},
            },
        }
        for i, r in enumerate(rms)
    ]
    return Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.9, 0.8]}, {},
                    telemetry={"samples": samples}, data={"task": "classification"})  # fmt: skip


@pytest.mark.parametrize(
    ("optimizer", "clip", "rms", "suspect"),
    [("sgd", 1e-4, [1e-4] * 20, True),  # every weight's gradient cut to the value
     ("sgd", 1e-4, [6e-5] * 17 + [1e-5] * 3, True),  # most of them, on 85 % of the steps
     ("sgd", 1e-4, [1e-5] * 20, False),  # gradients far below the value: it never cut
     ("adam", 1e-4, [1e-4] * 20, False),  # Adam divides the scale back out
     ("sgd", 2.0, [2.0] * 20, False),  # a value of 2 leaves SGD's steps their size
     ("sgd", 1e-4, [1e-4] * 3 + [None] * 17, False)],  # too few samples to tell
)  # fmt: skip
def test_a_value_clip_that_cuts_every_sgd_step_is_a_suspect(
    optimizer: str, clip: float, rms: list[float | None], suspect: bool
) -> None:
    """SGD at 0.1 with ``grad_clip: {value: 1e-4}`` on blobs (val 0.25, a step of 2e-5 of
    the weights' size) was a rate too low: the remedy was a larger rate, where every
    weight's step was cut to lr x 1e-4 by the clip."""
    found = clipping(_value_clipped(optimizer, clip, rms))
    assert (found is not None) == suspect
    if found is not None:
        assert found.key == "train.grad_clip" and found.weight >= STRONG
        assert found.remedies[0].patch == {"train.grad_clip": {"norm": 1.0, "value": None}}
        assert "value 0.0001" in found.why


@pytest.mark.parametrize(("norm", "batch", "suspect"),
                         [("batch", 2, True), ("batch", 4, True), ("batch", 8, False),
                          ("layer", 2, False), ("batch", "full", False)])  # fmt: skip
def test_batch_norm_over_a_few_rows_is_a_suspect(
    norm: str, batch: int | str, suspect: bool
) -> None:
    cfg = Config().to_dict()
    cfg["model"]["norm"], cfg["train"]["batch_size"] = norm, batch
    ev = Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.9]}, {},
                  data={"task": "classification"})  # fmt: skip
    found = tiny_batch_norm(ev)
    assert (found is not None) == suspect
    if found is not None:
        assert found.remedies[0].patch == {"model.norm": "layer"}


@pytest.mark.parametrize(
    ("augment", "strong"),
    [({"noise": 2.0}, True),  # twice the standardised inputs' spread
     ({"noise": 0.1}, False),
     ({"rotate": 180.0, "vflip": True}, True),  # a 6 turned into a 9
     ({"rotate": 15.0, "translate": 0.1}, False),  # the usual mild jitter
     ({"translate": 0.3}, True),
     ({"scale": 0.6}, True),
     (None, False)],
)  # fmt: skip
def test_augmentation_that_hides_what_it_varies_is_a_regulariser_suspect(
    augment: dict[str, object] | None, strong: bool
) -> None:
    cfg = Config().to_dict()
    cfg["train"]["augment"] = augment
    data = {"task": "classification", "stats": {"train": {"std": [1.0, 1.0]}}}
    ev = Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.9]}, {}, data=data)
    found = [s for s in regularisation(ev) if s.key == "train.augment"]
    assert bool(found) == strong
    if found:
        assert found[0].weight >= STRONG and found[0].remedies[0].patch == {"train.augment": None}
