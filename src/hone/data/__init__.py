"""Datasets: sources (generators, IDX, CSV, NPZ, download), splitting and preprocessing."""

from hone.data.base import DataBundle, RawData, Split
from hone.data.load import load_data, load_raw
from hone.data.split import validation_from_training

__all__ = ["DataBundle", "RawData", "Split", "load_data", "load_raw", "validation_from_training"]
