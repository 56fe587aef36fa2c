"""Datasets: sources (generators, IDX, CSV, NPZ, download), splitting and preprocessing."""

from hone.data.base import DataBundle, RawData, Split
from hone.data.load import load_data, load_raw

__all__ = ["DataBundle", "RawData", "Split", "load_data", "load_raw"]
