"""On-device, batched, label-preserving augmentation of training images.

Every transform draws its randomness from its own seeded generator, so a run is repeatable,
and is applied by the engine to training batches only: val and test never pass through here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hone.config import AugmentConfig
from hone.errors import ConfigError

__all__ = ["Augmenter"]

_IMAGE_ONLY = ("hflip", "vflip", "rotate", "translate", "scale", "crop_padding")


class Augmenter:
    def __init__(
        self, cfg: AugmentConfig, input_shape: tuple[int, ...], seed: int, device: torch.device
    ) -> None:
        used = [k for k in _IMAGE_ONLY if getattr(cfg, k)]
        if used and len(input_shape) != 3:
            raise ConfigError(
                f"train.augment: {', '.join(used)} need image data (C, H, W); this dataset's "
                f"samples have shape {input_shape}. Only noise applies to tabular data."
            )
        self.cfg = cfg
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def _uniform(self, n: int, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
        u = torch.rand(n, generator=self.generator, device=like.device, dtype=like.dtype)
        return low + (high - low) * u

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        cfg, n = self.cfg, x.shape[0]
        if cfg.hflip:
            x = torch.where(self._coin(n, x), x.flip(3), x)
        if cfg.vflip:
            x = torch.where(self._coin(n, x), x.flip(2), x)
        if cfg.rotate or cfg.translate or cfg.scale:
            x = self._affine(x)
        if cfg.crop_padding:
            x = self._random_crop(x, cfg.crop_padding)
        if cfg.brightness:
            x = x + self._uniform(n, -cfg.brightness, cfg.brightness, x).view(
                n, *[1] * (x.dim() - 1)
            )
        if cfg.noise:
            x = x + cfg.noise * torch.randn(
                x.shape, generator=self.generator, device=x.device, dtype=x.dtype
            )
        return x

    def _coin(self, n: int, x: torch.Tensor) -> torch.Tensor:
        return (self._uniform(n, 0.0, 1.0, x) < 0.5).view(n, 1, 1, 1)

    def _affine(self, x: torch.Tensor) -> torch.Tensor:
        """Rotation, translation and zoom in one ``grid_sample`` (bilinear, edges replicated)."""
        cfg, n = self.cfg, x.shape[0]
        angle = self._uniform(n, -cfg.rotate, cfg.rotate, x) * (math.pi / 180)
        zoom = self._uniform(n, 1 - cfg.scale, 1 + cfg.scale, x)
        # grid coordinates span [-1, 1], so a shift by a fraction f of the size is 2f.
        tx = self._uniform(n, -cfg.translate, cfg.translate, x) * 2
        ty = self._uniform(n, -cfg.translate, cfg.translate, x) * 2
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def _random_crop(self, x: torch.Tensor, pad: int) -> torch.Tensor:
        """Zero-pad by ``pad`` pixels, then cut an H x W window at a random offset per image."""
        n, c, h, w = x.shape
        padded = F.pad(x, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=self.generator, device=x.device)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=self.generator, device=x.device)
        rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        out = padded.gather(2, rows.expand(n, c, h, w + 2 * pad))
        return out.gather(3, cols.expand(n, c, h, w))
