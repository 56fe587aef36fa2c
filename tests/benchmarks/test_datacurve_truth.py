"""The data-curve study's measured answer: the remedy that measured, from three arms."""

from __future__ import annotations

import pytest

from benchmarks.datacurve_truth import helps, truth


@pytest.mark.parametrize(
    ("as_is", "rows", "epochs", "expected"),
    [
        ([0.064, 0.064], [0.050, 0.050], [0.060, 0.060], "more_data"),  # rows beat epochs
        ([0.30, 0.30], [0.26, 0.26], [0.22, 0.22], "underfitting"),  # epochs beat rows
        ([0.156, 0.156], [0.155, 0.155], [0.157, 0.157], "plateau"),  # neither helps
        ([0.10, 0.10], [0.094, 0.094], [0.094, 0.094], "underfitting"),  # a tie: the cheaper
    ],
)
def test_the_measured_answer_is_the_remedy_that_helped(
    as_is: list[float], rows: list[float], epochs: list[float], expected: str
) -> None:
    found, data, longer = truth({"as is": as_is, "2x rows": rows, "2x epochs": epochs})
    assert found == expected
    assert data == pytest.approx(as_is[0] - rows[0]) and longer == pytest.approx(
        as_is[0] - epochs[0]
    )


def test_an_answer_helps_where_its_own_remedy_measured() -> None:
    assert helps("underfitting", data=0.018, longer=0.0085)  # helps, though data helps more
    assert not helps("plateau", data=0.0145, longer=0.001)
    assert helps("plateau", data=0.002, longer=0.0)
    assert not helps("more_data", data=0.002, longer=0.0)
