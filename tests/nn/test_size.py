"""A convolution that does not fit the feature map it receives is refused before anything
is built, naming the layer, the size it gets and what fits."""

from __future__ import annotations

from pathlib import Path

import pytest

import hone
from hone.config import load_config
from hone.errors import ConfigError
from hone.nn.size import check_conv_shapes


def _shapes(conv: list[dict[str, object]], shape: tuple[int, int, int] = (1, 8, 8)) -> object:
    return check_conv_shapes(load_config({"model": {"kind": "cnn", "conv": conv}}).model, shape)


@pytest.mark.parametrize(
    ("conv", "needle"),
    [
        ([{"filters": 4, "kernel": 50}], r"conv\[0\] \(layer conv1\) receives a 8x8 .* 50x50 "
                                         r"kernel.*largest kernel that fits is 8"),
        ([{"filters": 4, "kernel": 9, "padding": "valid"}], r"largest kernel that fits is 8"),
        ([{"filters": 4, "pool": "max2"}] * 3 + [{"filters": 4, "kernel": 3}],
         r"conv\[3\] \(layer conv4\) receives a 1x1 .*largest kernel that fits is 1"),
        ([{"filters": 4, "stride": 9}], r"stride 9 is too large.*largest stride that fits is 7"),
        ([{"filters": 4, "kernel": 3, "stride": 8}], r"largest stride that fits is 7"),
    ],
)  # fmt: skip
def test_a_kernel_or_stride_larger_than_its_input_is_refused(
    conv: list[dict[str, object]], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        _shapes(conv)


def test_kernels_that_fit_are_kept() -> None:
    assert _shapes([{"filters": 4, "pool": "max2"}] * 3) == [(4, 4, 4), (4, 2, 2), (4, 1, 1)]
    assert _shapes([{"filters": 4, "kernel": 8, "padding": "valid"}]) == [(4, 1, 1)]
    assert _shapes([{"filters": 4, "kernel": 4, "stride": 2}], (1, 28, 28)) == [(4, 15, 15)]


def test_a_run_with_kernel_50_on_8x8_digits_is_refused_before_it_is_recorded(
    tmp_path: Path,
) -> None:
    cfg = {"data": {"dataset": "digits"}, "model": {"kind": "cnn", "conv": [{"filters": 4,
           "kernel": 50}], "hidden": [8]}, "train": {"epochs": 1}}  # fmt: skip
    with pytest.raises(ConfigError, match="8x8 feature map"):
        hone.run(cfg, store=str(tmp_path / "s"))
    assert not (tmp_path / "s" / "runs").exists()
