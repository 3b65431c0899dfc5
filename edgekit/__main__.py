"""``python -m edgekit`` and the ``edgekit`` console script.

Why a module of its own: the script's entry point is imported before any of the
CLI's code runs, so a Ctrl-C while the CLI itself is being imported (its first
~0.1 s) would print Python's KeyboardInterrupt traceback; importing the CLI here,
inside ``run``, lets that early Ctrl-C end like a later one.
"""

import sys


def run() -> None:
    """Import the CLI and run it; exit 130 with one line on a Ctrl-C during the import."""
    try:
        from edgekit.cli import main
    except KeyboardInterrupt:
        print("cancelled (Ctrl-C)", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
