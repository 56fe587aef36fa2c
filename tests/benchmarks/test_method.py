"""The benchmark method: interleaved contenders, rotated order, wall and CPU per sample."""

from __future__ import annotations

from typing import Any

from benchmarks.common import interleaved


def test_contenders_interleave_and_rotate_their_order() -> None:
    calls: list[str] = []
    prepared: list[str] = []

    def contender(name: str) -> Any:
        def run(arg: str) -> dict[str, Any]:
            assert arg == f"built for {name}"  # prepare's result is the argument
            calls.append(name)
            sum(range(20_000))
            return {"accuracy": 0.5}

        return run

    res = interleaved(
        {k: contender(k) for k in "abc"},
        3,
        prepare=lambda name: prepared.append(name) or f"built for {name}",
    )
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert prepared == calls
    for r in res.values():
        assert r["n"] == 3 and len(r["wall_s"]) == len(r["cpu_s"]) == 3
        assert r["min_s"] <= r["median_s"] and r["spread"] >= 1 and r["accuracy"] == 0.5
        assert r["median_cpu_s"] >= 0
