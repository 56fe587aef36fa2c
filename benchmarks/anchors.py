"""Optional anchors for the engine benchmark: the same MNIST epoch in PyTorch Lightning and in
Keras 3 on its torch backend, the tools a hone user would otherwise reach for. Each is skipped
(``None``) when its package is not installed; neither is a hone dependency.

    pip install pytorch-lightning keras   # then: python -m benchmarks.suite --only engine

Both train the same architecture (784-200-10, LeakyReLU 0.02, LayerNorm after the activation,
sigmoid outputs with BCE, Adam at 1e-3) on the same tensors with the same batch size, shuffle
every epoch and evaluate the validation split once per epoch, as hone does.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from hone.api import BuiltRun

__all__ = ["available_anchors"]

Loop = Callable[[BuiltRun, int, int], Any]


def _lightning_loop(built: BuiltRun, epochs: int, batch: int) -> None:
    import logging

    import pytorch_lightning as pl

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    net, data = built.model, built.data

    class Module(pl.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def training_step(self, batch_: Any, _: int) -> torch.Tensor:
            x, y = batch_
            return F.binary_cross_entropy_with_logits(self.net(x), F.one_hot(y, 10).float())

        def validation_step(self, batch_: Any, _: int) -> None:
            x, y = batch_
            F.binary_cross_entropy_with_logits(self.net(x), F.one_hot(y, 10).float())

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.net.parameters(), lr=1e-3)

    train = DataLoader(TensorDataset(data.train.x, data.train.y), batch_size=batch, shuffle=True)
    val = None
    if data.val is not None:
        val = DataLoader(TensorDataset(data.val.x, data.val.y), batch_size=len(data.val))
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(Module(), train, val)


def _keras_loop(built: BuiltRun, epochs: int, batch: int) -> dict[str, float]:
    """Keras trains its own model: its test accuracy is returned, not hone's model's."""
    os.environ.setdefault("KERAS_BACKEND", "torch")  # must be set before keras is imported
    import keras

    data = built.data
    x = data.train.x.reshape(len(data.train), -1).numpy()
    y = F.one_hot(data.train.y, 10).float().numpy()
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            keras.layers.Dense(200),
            keras.layers.LeakyReLU(negative_slope=0.02),
            keras.layers.LayerNormalization(),
            keras.layers.Dense(10, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    val = None
    if data.val is not None:
        xv = data.val.x.reshape(len(data.val), -1).numpy()
        val = (xv, F.one_hot(data.val.y, 10).float().numpy())
    model.fit(x, y, batch_size=batch, epochs=epochs, validation_data=val, verbose=0, shuffle=True)
    xt = data.test.x.reshape(len(data.test), -1).numpy()
    predicted = model.predict(xt, batch_size=1024, verbose=0).argmax(1)
    return {"test_accuracy": float((predicted == data.test.y.numpy()).mean())}


def available_anchors() -> dict[str, Loop]:
    """The anchors whose packages are installed here."""
    found: dict[str, Loop] = {}
    if importlib.util.find_spec("pytorch_lightning") is not None:
        found["Lightning"] = _lightning_loop
    if importlib.util.find_spec("keras") is not None:
        found["Keras 3 (torch)"] = _keras_loop
    return found
