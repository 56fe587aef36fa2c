"""torch.compile and mixed precision: CUDA paths, covered here by CPU-skippable tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import hone
from hone.errors import ConfigError
from tests.conftest import tiny

CUDA = torch.cuda.is_available()


def test_mixed_precision_is_refused_on_cpu(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"train\.precision: bf16 autocast is for CUDA"):
        hone.run(tiny(**{"train.precision": "bf16", "train.device": "cpu"}), store=str(tmp_path))


@pytest.mark.slow
def test_compile_trains_on_cpu(tmp_path: Path) -> None:
    plain = hone.run(tiny(**{"train.epochs": 2, "telemetry": False}), store=str(tmp_path))
    compiled = hone.run(tiny(**{"train.epochs": 2, "train.compile": True, "telemetry": False}),
                        store=str(tmp_path))  # fmt: skip
    assert compiled.status == "completed"
    assert compiled.history["train_loss"] == pytest.approx(plain.history["train_loss"], rel=1e-4)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_mixed_precision_learns(tmp_path: Path, precision: str) -> None:
    result = hone.run(tiny(**{"train.precision": precision, "train.device": "cuda",
                              "train.epochs": 20}), store=str(tmp_path))  # fmt: skip
    assert result.status == "completed"
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_cuda_data_lives_on_the_gpu(tmp_path: Path) -> None:
    from hone.api import build_run
    from hone.config import load_config

    built = build_run(load_config(tiny(**{"train.device": "cuda"})))
    assert built.data.train.x.is_cuda and next(built.model.parameters()).is_cuda
