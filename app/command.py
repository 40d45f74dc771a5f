"""The ``revmentor`` program: the command line, loaded with the cycle collector paused."""

from __future__ import annotations


def main() -> None:
    from app.heap import pause_collection

    # The import command turns the collector back on once its code is loaded; every other
    # command as it starts (``app.cli``).
    pause_collection()
    from app.cli import main as run_command

    run_command()
