"""String-keyed registries that map config names (``"leaky_relu"``, ``"adam"``) to factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from hone.errors import ConfigError, suggest

__all__ = ["Registry", "check_name", "unknown_name"]

T = TypeVar("T")


def unknown_name(kind: str, name: str, valid: list[str] | tuple[str, ...]) -> str:
    """``unknown activation 'relux'; did you mean 'relu'?; valid names: ...``."""
    return f"unknown {kind} '{name}'{suggest(name, list(valid))}; valid names: {', '.join(valid)}"


def check_name(kind: str, name: str, valid: list[str] | tuple[str, ...]) -> str:
    """``name`` if it is one of ``valid``; else ``ValueError`` naming the valid ones (for
    pydantic validators, which add the field path themselves)."""
    if name not in valid:
        raise ValueError(unknown_name(kind, name, valid))
    return name


class Registry(Generic[T]):
    """A named table of entries; unknown names raise a ``ConfigError`` listing the valid ones."""

    def __init__(self, kind: str, field: str) -> None:
        self.kind = kind  # e.g. "activation"
        self.field = field  # config path used in error messages, e.g. "model.activation"
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._entries[name] = entry
            return entry

        return add

    def add(self, name: str, entry: T) -> None:
        self.register(name)(entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        return f"{self.field}: {self._unknown(name)}"

    def check(self, name: str) -> str:
        """Return ``name`` if registered; else raise ``ValueError`` (for pydantic validators,
        which add the field path themselves)."""
        return check_name(self.kind, name, self.names())

    def _unknown(self, name: str) -> str:
        return unknown_name(self.kind, name, self.names())

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
