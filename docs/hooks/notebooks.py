"""A lesson notebook as a Markdown page: its text, its code and the outputs it was committed
with (tables as HTML, figures as inline PNGs), so the site shows real results without running
anything and builds offline."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

__all__ = ["notebook_markdown"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _fence(text: str, lang: str = "text") -> str:
    text = _ANSI.sub("", text).rstrip("\n")
    ticks = "````" if "```" in text else "```"
    return f"{ticks}{lang}\n{text}\n{ticks}"


_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+\.) ")


def _markdown(text: str) -> str:
    """Jupyter's Markdown (CommonMark) starts a list right under a paragraph; Python-Markdown
    needs a blank line first, or the items run into the paragraph."""
    lines: list[str] = []
    for line in text.splitlines():
        previous = lines[-1] if lines else ""
        if (_LIST_ITEM.match(line) and previous.strip() and not _LIST_ITEM.match(previous)
                and not previous.startswith((" ", "\t"))):  # fmt: skip
            lines.append("")
        lines.append(line)
    return "\n".join(lines)


def _html_block(text: str) -> str:
    """Raw HTML that Markdown passes through: no blank lines inside, one wrapper."""
    body = "\n".join(line for line in text.splitlines() if line.strip())
    return f'<div class="nb-output" markdown="0">\n{body}\n</div>'


def _output(out: dict[str, Any]) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return _fence(_text(out.get("text", "")))
    if kind == "error":
        return _fence("\n".join(out.get("traceback", [])) or out.get("evalue", ""))
    data = out.get("data", {})
    if "image/png" in data:
        alt = html.escape(_text(data.get("text/plain", "figure")).strip()[:80], quote=True)
        png = _text(data["image/png"]).replace("\n", "")
        return f'<img class="nb-figure" alt="{alt}" src="data:image/png;base64,{png}">'
    if "text/html" in data:
        return _html_block(_text(data["text/html"]))
    if "text/markdown" in data:
        return _text(data["text/markdown"])
    if "text/plain" in data:
        return _fence(_text(data["text/plain"]))
    return ""


def notebook_markdown(path: Path) -> str:
    """The page for one notebook; cells tagged ``remove-input`` show only their output."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for i, cell in enumerate(nb.get("cells", [])):
        source = _text(cell.get("source", "")).strip("\n")
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "markdown":
            parts.append(_markdown(source))
            if i == 0:
                parts.append(
                    f"[Download this lesson as a notebook]({path.name}){{ .md-button }}"
                    " (the page shows its committed full-budget run)"
                )
            continue
        if cell.get("cell_type") != "code":
            continue
        if source and "remove-input" not in tags:
            parts.append(_fence(source, "python"))
        parts += [shown for out in cell.get("outputs", []) if (shown := _output(out))]
    return "\n\n".join(parts) + "\n"
