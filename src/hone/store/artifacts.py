"""A run's folder beside its index row: the weights (safetensors, no pickled code) and JSON
documents (evaluation, telemetry, data), each written atomically and read with an error that
names the run and the file when it is missing or damaged; and run folders the index does not
list (what ``hone store repair`` indexes)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hone.errors import StoreError
from hone.store.files import atomic_write, atomic_write_text
from hone.store.records import strict_json

__all__ = ["ArtifactsMixin"]


class ArtifactsMixin:
    root: Path
    _db: sqlite3.Connection
    run_dir: Callable[[str], Path]
    resolve_id: Callable[[str], str]
    require_writable: Callable[..., None]

    def unindexed_folders(self) -> list[str]:
        """Run folders the index does not list (``hone store repair`` indexes them)."""
        folder = self.root / "runs"
        if not folder.is_dir():
            return []
        known = {r[0] for r in self._db.execute("SELECT id FROM runs").fetchall()}
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in known)

    def _unlisted_folders(self, text: str) -> list[str]:
        folder = self.root / "runs"
        if not folder.is_dir() or "/" in text or text in (".", ".."):
            return []
        return sorted(
            p.name
            for p in folder.iterdir()
            if (p.name.startswith(text) or p.name.endswith(text)) and p.is_dir()
        )

    def save_weights(self, run_id: str, state_dict: dict[str, Any]) -> Path:
        """Write weights with safetensors (no pickled code), atomically: a full disk leaves
        the previous file (or none) and raises ``DiskFullError`` naming the path and size."""
        from safetensors import SafetensorError
        from safetensors.torch import save_file

        self.require_writable()
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
        needed = sum(t.numel() * t.element_size() for t in tensors.values()) + 64 * len(tensors)
        path = self.run_dir(run_id) / "weights.safetensors"
        return atomic_write(
            path, lambda tmp: save_file(tensors, tmp), needed=needed, errors=(SafetensorError,)
        )

    def load_weights(self, run_id: str) -> dict[str, Any]:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        run_id = self.resolve_id(run_id)
        path = self.run_dir(run_id) / "weights.safetensors"
        if not path.is_file():
            raise StoreError(f"run {run_id} has no saved weights ({path} is missing)")
        try:
            return dict(load_file(str(path)))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise StoreError(
                f"run {run_id}: {path} is damaged or not a safetensors file ({exc}); "
                "re-train the run or delete it"
            ) from None

    def save_json(self, run_id: str, name: str, obj: Any, indent: int | None = 1) -> Path:
        """``indent=None`` for big files read by programs (telemetry): Python's JSON encoder
        is ~10x faster without indentation."""
        self.require_writable()
        return atomic_write_text(self.run_dir(run_id) / name, strict_json(obj, indent))

    def load_json(self, run_id: str, name: str) -> Any:
        run_id = self.resolve_id(run_id)
        path = self.run_dir(run_id) / name
        if not path.is_file():
            raise StoreError(f"run {run_id} has no {name}")
        try:
            return json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise StoreError(
                f"run {run_id}: {path} is damaged ({type(exc).__name__}); it cannot be read"
            ) from None
