"""Strict value types shared by every config section.

YAML and ``--set`` values are checked strictly: a boolean is never a number (``epochs: true``
is an error, not 1 epoch), floats must be finite (no NaN or inf), strings may not hold NUL
bytes and have a length limit, and sizes have upper bounds so that a typo cannot ask for a
billion units. Integral floats such as ``1e3`` are still accepted where an integer is wanted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "F32_MAX",
    "MAX_INT",
    "MAX_SEED",
    "Finite",
    "Int",
    "NonNegFinite",
    "NonNegInt",
    "PosFinite",
    "PosInt",
    "Seed",
    "Strict",
    "TensorFinite",
    "TensorNonNeg",
    "TensorPos",
    "Text",
    "Unit",
    "names_schema",
    "or_shorthand",
]

MAX_SEED = 2**63 - 1  # torch and NumPy take seeds up to 64 bits
MAX_INT = 10**9  # beyond any sensible count (epochs, batch size, patience)
MAX_TEXT = 1000  # names, paths and labels
F32_MAX = 3.4028234663852886e38  # the largest float32: weights and losses are float32 tensors


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
    return value


def _integral(value: Any) -> Any:
    """Accept 1e3 (1000.0) for an integer, reject 2.5 and booleans."""
    value = _no_bool(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("expected a whole number, got a non-finite value")
        if not value.is_integer():
            raise ValueError(f"expected a whole number, got {value:g}")
        return int(value)
    if isinstance(value, str):
        raise ValueError(f"expected a whole number, got the text {value[:40]!r}")
    return value


def _float32(value: float) -> float:
    if abs(value) > F32_MAX:
        raise ValueError(
            f"{value:g} is beyond float32's range (±3.4e38); this value becomes a float32 "
            "tensor (a weight, a loss term, a clipping bound), so give a smaller one"
        )
    return value


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL byte")
    return value


_NUMBER = BeforeValidator(_no_bool)
_INTEGER = BeforeValidator(_integral)
_FINITE = Field(allow_inf_nan=False)

Int = Annotated[int, _INTEGER]
PosInt = Annotated[int, _INTEGER, Field(gt=0, le=MAX_INT)]
NonNegInt = Annotated[int, _INTEGER, Field(ge=0, le=MAX_INT)]
Seed = Annotated[int, _INTEGER, Field(ge=0, le=MAX_SEED)]
Finite = Annotated[float, _NUMBER, _FINITE]
PosFinite = Annotated[float, _NUMBER, _FINITE, Field(gt=0)]
NonNegFinite = Annotated[float, _NUMBER, _FINITE, Field(ge=0)]
Unit = Annotated[float, _NUMBER, _FINITE, Field(ge=0, le=1)]
# Values that become float32 tensors (or scale them): bounded by float32's range.
TensorFinite = Annotated[float, _NUMBER, _FINITE, AfterValidator(_float32)]
TensorPos = Annotated[float, _NUMBER, _FINITE, Field(gt=0), AfterValidator(_float32)]
TensorNonNeg = Annotated[float, _NUMBER, _FINITE, Field(ge=0), AfterValidator(_float32)]
Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_text)]


# ---- the JSON Schema (hone.config.schema) --------------------------------------------------
# A key's meaning is the docstring under it (``use_attribute_docstrings``): it becomes the
# schema's description, which editors show on hover and the config reference prints.

JsonDict = dict[str, Any]


def names_schema(names: Iterable[str]) -> JsonDict:
    """``json_schema_extra`` for a name a registry checks (an activation, a loss): the schema
    lists the valid names, so an editor completes them."""
    return {"enum": list(names)}


def or_shorthand(alternative: JsonDict) -> Callable[..., None]:
    """``json_schema_extra`` for a value a ``mode="before"`` validator also accepts in a short
    form (``split: "6:2:2"``, ``telemetry: false``): the schema allows either."""

    def extra(schema: JsonDict, *_: Any) -> None:
        whole = dict(schema)
        schema.clear()
        for key in ("title", "description", "default"):
            if key in whole:
                schema[key] = whole.pop(key)
        schema["anyOf"] = [whole, alternative]

    return extra


class Strict(BaseModel):
    """A config section: unknown keys are errors, defaults are validated, floats are finite."""

    model_config = ConfigDict(
        extra="forbid",
        validate_default=True,
        allow_inf_nan=False,
        strict=False,
        use_attribute_docstrings=True,
    )
