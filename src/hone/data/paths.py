"""Where a dataset's files are: ``data.path`` checked before anything is read, and an error
that names the absolute path tried and what was wrong with it."""

from __future__ import annotations

from pathlib import Path

from hone.errors import DataError

__all__ = ["existing"]

RULE = (
    "relative paths in a config file are read from that file's folder; from --set, from the "
    "working directory"
)


def existing(path: str | None, want: str, dataset: str) -> Path:
    """``path`` as an existing ``want`` ("file" or "folder") for ``dataset``; else a
    ``DataError`` naming the absolute path, what is wrong and the nearest folder that exists."""
    if not path:
        raise DataError(f"data.path: dataset '{dataset}' needs data.path (the {want} to read)")
    p = Path(path).expanduser()
    full = p.resolve()
    how = "" if p.is_absolute() else f" ({path!r} relative to the working directory {Path.cwd()})"
    if not full.exists():
        parent = next((q for q in full.parents if q.is_dir()), None)
        near = f"; the nearest folder that exists is {parent}" if parent else ""
        raise DataError(f"data.path: {full}{how} does not exist{near} ({RULE})")
    if want == "file" and not full.is_file():
        raise DataError(f"data.path: {full} is a folder; dataset '{dataset}' reads a file")
    if want == "folder" and not full.is_dir():
        raise DataError(f"data.path: {full} is a file; dataset '{dataset}' reads a folder")
    return full
