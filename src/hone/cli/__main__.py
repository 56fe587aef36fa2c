"""``python -m hone.cli``."""

from hone.cli.app import main

main()
