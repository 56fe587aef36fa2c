"""Model building blocks: activations, initialisers and the MLP/CNN builder."""

from hone.nn.activations import ACTIVATIONS, make_activation
from hone.nn.build import build_model, describe_model

__all__ = ["ACTIVATIONS", "build_model", "describe_model", "make_activation"]
