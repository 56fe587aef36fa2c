"""A run's reference — what is achievable on its data (``hone.evaluate.reference``) — computed
once per dataset and split and cached in ``<store>/cache/references/``, so every run on the
same data reads it for free. Diagnosis reads it as evidence; it is fitted here, in the layer
that may rebuild a run's data, never by the rules."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hone.assemble import load_run_data
from hone.config import load_config
from hone.errors import HoneError
from hone.store.files import atomic_write_text
from hone.store.runstore import RunStore

__all__ = ["VERSION", "reference_of"]

VERSION = 4  # of the reference models: a cache written by other models is fitted again


def reference_of(store: RunStore, config: dict[str, Any]) -> dict[str, Any] | None:
    """The cached reference for a run's data, fitted now when there is none yet; ``None``
    for data given from Python (its config cannot load it again) or data that no longer
    loads. A store that cannot be written keeps nothing and says nothing: the reference is
    fitted again next time."""
    cfg = load_config(config)
    if cfg.data.dataset == "python":
        return None
    identity = json.dumps({"data": cfg.data.model_dump(mode="json"), "models": VERSION},
                          sort_keys=True, default=str)  # fmt: skip
    key = hashlib.sha256(identity.encode()).hexdigest()[:20]
    path = store.root / "cache" / "references" / f"{key}.json"
    try:
        cached = json.loads(path.read_text())
        if isinstance(cached, dict) and cached.get("models"):
            return cached
    except (OSError, ValueError):
        pass
    from hone.evaluate.reference import fit_references  # scikit-learn: on first use only

    try:
        data = load_run_data(cfg.model_copy(update={"store": str(store.root)}))
    except (HoneError, OSError):
        return None
    found = fit_references(data, seed=cfg.data.split.seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(found))
    except (OSError, HoneError):
        pass
    return found
