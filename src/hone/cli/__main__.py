"""``python -m hone.cli``."""

from hone.cli import main

main()
