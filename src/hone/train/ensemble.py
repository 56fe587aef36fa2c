"""Ensembles: how members differ (seed, init, hyper-parameters) and how they vote."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hone.config import Config
from hone.errors import ConfigError

__all__ = ["LR_FACTORS", "combine", "member_configs"]

# vary: hyperparams spreads the learning rate around the configured one.
LR_FACTORS = (1.0, 0.5, 2.0, 0.25, 4.0)


def member_configs(cfg: Config) -> list[tuple[Config, int]]:
    """Each member's config and the seed of its initial weights.

    ``seed``: every member gets its own seed (init and batch order differ);
    ``init``: only the initial weights differ, batches come in the same order;
    ``hyperparams``: own seed and a learning rate scaled by ``LR_FACTORS``.
    """
    ens = cfg.train.ensemble
    if ens is None:
        raise ValueError("config has no train.ensemble")
    members = []
    for i in range(ens.members):
        member = cfg.model_copy(deep=True)
        member.train.ensemble = None
        member.name = f"{cfg.name}-member{i + 1}"
        init_seed = cfg.seed + i
        if ens.vary in ("seed", "hyperparams"):
            member.seed = cfg.seed + i
        if ens.vary == "hyperparams":
            member.train.optimizer.lr = cfg.train.optimizer.lr * LR_FACTORS[i % len(LR_FACTORS)]
        members.append((member, init_seed))
    return members


def combine(
    outputs: list[torch.Tensor], how: str, task: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Combine members' outputs (probabilities, or predictions for regression).

    Returns (predicted class indices or regression outputs, mean probabilities or None).
    ``mean_prob`` averages the probabilities (soft voting); ``vote`` takes the majority class
    (ties go to the lowest class index).
    """
    if task == "regression":
        if how == "vote":
            raise ConfigError("train.ensemble.combine: 'vote' needs classes; use mean_prob")
        mean = torch.stack(outputs).mean(0)
        return mean, None
    mean = torch.stack(outputs).mean(0)
    if how == "mean_prob":
        return mean.argmax(1), mean
    votes = torch.stack([o.argmax(1) for o in outputs], 1)  # (N, members)
    counts = F.one_hot(votes, outputs[0].shape[1]).sum(1)
    return counts.argmax(1), None
