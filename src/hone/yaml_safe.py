"""YAML for configs, with limits: hostile input gets a clear error, never a hang or a crash.

Limits, checked before any Python object is built from the document:

- at most ``MAX_BYTES`` (1 MB) of text;
- at most ``MAX_DEPTH`` (50) levels of nesting;
- at most ``MAX_NODES`` (100,000) values once aliases are expanded, so a few hundred bytes of
  nested ``&a``/``*a`` references (a "billion laughs" bomb) cannot expand to gigabytes;
- integers of at most 100 digits.

The loader also drops YAML 1.1's base-60 numbers, so ``split: 6:2:2`` stays a string.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "YamlLimitError", "yaml_load"]

MAX_BYTES = 1_000_000
MAX_DEPTH = 50
MAX_NODES = 100_000
MAX_DIGITS = 100


class YamlLimitError(ValueError):
    """The document is larger, deeper or more expansive than a config can be."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without base-60 numbers."""


_Loader.yaml_implicit_resolvers = {
    key: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)"
        r"(?:[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _measure(root: yaml.Node) -> None:
    """Count the values the document expands to (aliases counted every time they are used)
    and its depth, without recursion, memoising shared nodes so the count itself is cheap."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if depth > MAX_DEPTH:
            raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep")
        key = id(node)
        if key in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int"):
            digits = sum(ch.isalnum() for ch in str(node.value))
            if digits > MAX_DIGITS:
                raise YamlLimitError(f"an integer with more than {MAX_DIGITS} digits")
        if not expanded and children:
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in children)
            continue
        sizes[key] = 1 + sum(sizes[id(c)] for c in children)
        depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
        if sizes[key] > MAX_NODES:
            raise YamlLimitError(
                f"expands to more than {MAX_NODES:,} values (aliases such as *a are counted "
                "each time they are used)"
            )
        if depths[key] > MAX_DEPTH:
            raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep")


def yaml_load(text: str) -> Any:
    """Parse one YAML document within the limits above; raises ``yaml.YAMLError`` for bad
    syntax and ``YamlLimitError`` for a document beyond the limits."""
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"{len(text):,} characters; a config is at most {MAX_BYTES:,}")
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep") from None
        if node is None:
            return None
        _measure(node)
        try:
            return loader.construct_document(node)
        except ValueError as exc:  # e.g. an int beyond Python's digit limit
            raise YamlLimitError(str(exc)) from None
        except RecursionError:
            raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
