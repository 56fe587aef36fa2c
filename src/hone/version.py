"""The version of hone (one place: the package, reports and ``hone --version`` read it)."""

__version__ = "0.2.0"
