"""``python -m edgekit`` = the ``edgekit`` command."""

from edgekit.cli import run

run()
